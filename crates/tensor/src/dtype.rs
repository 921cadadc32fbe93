//! Element types.

use std::fmt;

use crate::TensorError;

/// The element type of a tensor. Names follow PyTorch (`float32`, `int64`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// IEEE half precision.
    F16,
    /// bfloat16.
    BF16,
    /// IEEE single precision (the default).
    F32,
    /// IEEE double precision.
    F64,
    /// Signed 8-bit integer.
    I8,
    /// Signed 16-bit integer.
    I16,
    /// Signed 32-bit integer.
    I32,
    /// Signed 64-bit integer (token ids, index tensors).
    I64,
    /// Unsigned 8-bit integer.
    U8,
    /// Boolean (one byte per element).
    Bool,
}

impl DType {
    /// All dtypes, in a fixed order.
    pub const ALL: [DType; 10] = [
        DType::F16,
        DType::BF16,
        DType::F32,
        DType::F64,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::Bool,
    ];

    /// Bytes per element.
    pub fn size_in_bytes(self) -> usize {
        match self {
            DType::I8 | DType::U8 | DType::Bool => 1,
            DType::F16 | DType::BF16 | DType::I16 => 2,
            DType::F32 | DType::I32 => 4,
            DType::F64 | DType::I64 => 8,
        }
    }

    /// Whether this is a floating-point type.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F16 | DType::BF16 | DType::F32 | DType::F64)
    }

    /// Whether this is a (signed or unsigned) integer type; `Bool` is not.
    pub fn is_int(self) -> bool {
        matches!(self, DType::I8 | DType::I16 | DType::I32 | DType::I64 | DType::U8)
    }

    /// The PyTorch name (`float32`, `int64`, `bool`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::U8 => "uint8",
            DType::Bool => "bool",
        }
    }

    /// Parses a PyTorch-style name; also accepts short forms such as `f32` and `i64`.
    ///
    /// # Errors
    /// [`TensorError::UnknownDType`] for any other string.
    pub fn from_name(name: &str) -> Result<DType, TensorError> {
        let ty = match name {
            "float16" | "f16" | "half" => DType::F16,
            "bfloat16" | "bf16" => DType::BF16,
            "float32" | "f32" | "float" => DType::F32,
            "float64" | "f64" | "double" => DType::F64,
            "int8" | "i8" => DType::I8,
            "int16" | "i16" => DType::I16,
            "int32" | "i32" => DType::I32,
            "int64" | "i64" | "long" => DType::I64,
            "uint8" | "u8" => DType::U8,
            "bool" => DType::Bool,
            other => return Err(TensorError::UnknownDType(other.to_string())),
        };
        Ok(ty)
    }

    /// The 7-byte tag rust_circuit's tensor hash uses for this dtype.
    ///
    /// rust_circuit has no tag for bfloat16; we use `bf16---` (documented in
    /// `docs/DIFFERENCES.md`).
    pub fn hash_tag(self) -> &'static [u8] {
        match self {
            DType::F16 => b"float16",
            DType::BF16 => b"bf16---",
            DType::F32 => b"float32",
            DType::F64 => b"float64",
            DType::I8 => b"int8---",
            DType::I16 => b"int16--",
            DType::I32 => b"int32--",
            DType::I64 => b"int64--",
            DType::U8 => b"uint8--",
            DType::Bool => b"bool---",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
