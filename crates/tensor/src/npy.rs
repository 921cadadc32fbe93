//! Reading and writing NumPy `.npy` files.
//!
//! Reading accepts format versions 1.0, 2.0 and 3.0, the dtypes `f2 f4 f8 i1 i2 i4 i8 u1
//! b1` in any byte order (`<`, `>`, `|`, `=`), Fortran-order data (converted to C order),
//! 0-d and empty arrays. Writing reproduces `numpy.save` byte for byte: version 1.0
//! (2.0 only if the header would not fit), little-endian, C order.
//!
//! bfloat16 has no NumPy dtype. We store it as the 2-byte void type `<V2`, which is what
//! `numpy.save` writes for an `ml_dtypes.bfloat16` array, and read `<V2`/`|V2` back as
//! bfloat16 (`arr.view(ml_dtypes.bfloat16)` recovers it on the Python side).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufReader, BufWriter, ErrorKind, Read, Write};
use std::path::Path;

use crate::bytes::{read_data, ByteOrder};
use crate::hash::HashWriter;
use crate::pyliteral::{self, PyValue};
use crate::tensor::Element;
use crate::{dispatch_data, limits, DType, Result, Tensor, TensorData, TensorError, TensorHash};

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// NumPy aligns the data start to this many bytes.
const ARRAY_ALIGN: usize = 64;
/// NumPy pads headers so the first dimension can grow to this many digits in place.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;
/// Longest header we accept; NumPy's own reader refuses more than 10 000 bytes by
/// default, but its writer can produce longer ones for very high-rank arrays.
const MAX_HEADER_LEN: usize = 1 << 20;

/// The parsed header of a `.npy` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// Array shape (empty for 0-d arrays).
    pub shape: Vec<usize>,
    /// Element type.
    pub dtype: DType,
    /// Whether the data is stored in Fortran (column-major) order.
    pub fortran_order: bool,
    /// Byte offset of the first data byte.
    pub data_offset: usize,
}

/// Reads a `.npy` file.
///
/// # Errors
/// [`TensorError::Io`] if the file cannot be read, [`TensorError::Format`] for malformed
/// or truncated files and unsupported dtypes, [`TensorError::TooLarge`] if the array
/// exceeds [`crate::DEFAULT_MAX_TENSOR_BYTES`].
pub fn read_npy(path: &Path) -> Result<Tensor> {
    let (mut r, len) = open(path)?;
    read_npy_from(&mut r, len, &path.display().to_string(), limits::DEFAULT_MAX_TENSOR_BYTES, false)
        .map(|(t, _)| t)
}

/// Reads a `.npy` file held in memory; `source_name` names it in error messages.
///
/// # Errors
/// As [`read_npy`].
pub fn read_npy_bytes(bytes: &[u8], source_name: &str) -> Result<Tensor> {
    let mut r = bytes;
    read_npy_from(&mut r, bytes.len() as u64, source_name, limits::DEFAULT_MAX_TENSOR_BYTES, false)
        .map(|(t, _)| t)
}

/// Reads only the header of a `.npy` file (cheap: the data is not touched).
///
/// # Errors
/// [`TensorError::Io`] or [`TensorError::Format`].
pub fn read_npy_header(path: &Path) -> Result<NpyHeader> {
    let (mut r, _) = open(path)?;
    read_header(&mut r, &path.display().to_string()).map(|(h, _)| h)
}

/// Writes a `.npy` file exactly as `numpy.save` would (version 1.0, little-endian,
/// C order).
///
/// # Errors
/// [`TensorError::Io`] if the file cannot be written.
pub fn write_npy(path: &Path, t: &Tensor) -> Result<()> {
    let file = File::create(path).map_err(TensorError::io(path))?;
    let mut w = BufWriter::new(file);
    write_npy_to(&mut w, t).and_then(|()| w.flush()).map_err(TensorError::io(path))
}

/// The bytes [`write_npy`] would write.
pub fn to_npy_bytes(t: &Tensor) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + t.size_in_bytes());
    // Writing into a Vec cannot fail.
    let _ = write_npy_to(&mut out, t);
    out
}

fn open(path: &Path) -> Result<(BufReader<File>, u64)> {
    let file = File::open(path).map_err(TensorError::io(path))?;
    let len = file.metadata().map_err(TensorError::io(path))?.len();
    Ok((BufReader::new(file), len))
}

/// Reads a whole `.npy` stream of `total_len` bytes. With `want_hash`, also returns the
/// content hash, computed while reading (or afterwards for Fortran-order data, whose
/// file order differs from the C order the hash is defined on).
pub(crate) fn read_npy_from<R: Read>(
    r: &mut R,
    total_len: u64,
    source: &str,
    limit: u128,
    want_hash: bool,
) -> Result<(Tensor, Option<TensorHash>)> {
    let (header, order) = read_header(r, source)?;
    let needed = limits::byte_len(&header.shape, header.dtype).ok_or_else(|| {
        TensorError::format(source, format!("shape {:?} is too large", header.shape))
    })?;
    let available = u128::from(total_len.saturating_sub(header.data_offset as u64));
    // Check before allocating: a tiny file must not be able to request a huge buffer.
    if available < needed {
        return Err(TensorError::format(
            source,
            format!(
                "truncated file: shape {:?} of {} needs {needed} data bytes but only {available} are present",
                header.shape, header.dtype
            ),
        ));
    }
    limits::check_alloc(&header.shape, header.dtype, limit)?;
    if header.fortran_order {
        // Fortran data of shape (a, b, c) is C data of shape (c, b, a), transposed.
        let reversed: Vec<usize> = header.shape.iter().rev().copied().collect();
        let data = read_data(r, &reversed, header.dtype, order, None, source)?;
        let t = Tensor::new(to_c_order(data));
        let hash = want_hash.then(|| t.hash());
        return Ok((t, hash));
    }
    let mut hasher = want_hash.then(|| HashWriter::new(&header.shape, header.dtype));
    let data = read_data(r, &header.shape, header.dtype, order, hasher.as_mut(), source)?;
    let hash = hasher.map(HashWriter::finish);
    let t = match hash {
        // Bool files may hold bytes other than 0/1, which decode to `true` and would hash
        // differently from the raw bytes; only trust the streamed hash for other dtypes.
        Some(h) if header.dtype != DType::Bool => Tensor::with_known_hash(data, h),
        _ => Tensor::new(data),
    };
    Ok((t, hash))
}

/// Transposes data read with reversed axes and copies it into C order.
fn to_c_order(data: TensorData) -> TensorData {
    fn conv<T: Element>(a: ndarray::ArcArray<T, ndarray::IxDyn>) -> TensorData {
        T::wrap(a.reversed_axes().as_standard_layout().into_owned().into_shared())
    }
    match data {
        TensorData::F16(a) => conv(a),
        TensorData::BF16(a) => conv(a),
        TensorData::F32(a) => conv(a),
        TensorData::F64(a) => conv(a),
        TensorData::I8(a) => conv(a),
        TensorData::I16(a) => conv(a),
        TensorData::I32(a) => conv(a),
        TensorData::I64(a) => conv(a),
        TensorData::U8(a) => conv(a),
        TensorData::Bool(a) => conv(a),
    }
}

/// Reads the magic, version and header dict, leaving `r` at the first data byte.
pub(crate) fn read_header<R: Read>(r: &mut R, source: &str) -> Result<(NpyHeader, ByteOrder)> {
    let fail = |msg: String| TensorError::format(source, msg);
    let mut read = |buf: &mut [u8], what: &str| {
        r.read_exact(buf).map_err(|e| match e.kind() {
            ErrorKind::UnexpectedEof => fail(format!("truncated file: missing {what}")),
            _ => TensorError::Io { path: source.into(), source: e },
        })
    };
    let mut prefix = [0u8; 8];
    read(&mut prefix, "the npy magic string")?;
    if prefix[..6] != MAGIC[..] {
        return Err(fail("not a .npy file (bad magic string)".to_string()));
    }
    let (major, minor) = (prefix[6], prefix[7]);
    let (len_bytes, utf8) = match (major, minor) {
        (1, 0) => (2, false),
        (2, 0) => (4, false),
        (3, 0) => (4, true),
        _ => return Err(fail(format!("unsupported .npy format version {major}.{minor}"))),
    };
    let mut len_buf = [0u8; 4];
    read(&mut len_buf[..len_bytes], "the header length")?;
    let header_len = u32::from_le_bytes(len_buf) as usize;
    if header_len > MAX_HEADER_LEN {
        return Err(fail(format!(
            "header of {header_len} bytes exceeds the limit of {MAX_HEADER_LEN}"
        )));
    }
    let mut raw = vec![0u8; header_len];
    read(&mut raw, "part of the header")?;
    let text = if utf8 {
        String::from_utf8(raw).map_err(|_| fail("header is not valid UTF-8".to_string()))?
    } else {
        // Versions 1.0 and 2.0 headers are latin-1, whose bytes map 1:1 to code points.
        raw.iter().map(|&b| char::from(b)).collect()
    };
    let (shape, dtype, order, fortran_order) = interpret_header(&text).map_err(fail)?;
    let data_offset = 8 + len_bytes + header_len;
    Ok((NpyHeader { shape, dtype, fortran_order, data_offset }, order))
}

/// Checks the header dict and extracts shape, dtype, byte order and layout.
fn interpret_header(
    text: &str,
) -> std::result::Result<(Vec<usize>, DType, ByteOrder, bool), String> {
    let PyValue::Dict(entries) =
        pyliteral::parse(text).map_err(|e| format!("malformed header: {e}"))?
    else {
        return Err("malformed header: expected a dict".to_string());
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    for (key, value) in entries {
        let PyValue::Str(key) = key else {
            return Err("malformed header: dict keys must be strings".to_string());
        };
        let slot = match key.as_str() {
            "descr" => &mut descr,
            "fortran_order" => &mut fortran,
            "shape" => &mut shape,
            // NumPy itself rejects headers with other keys.
            other => return Err(format!("unexpected header key '{other}'")),
        };
        if slot.replace(value).is_some() {
            return Err(format!("duplicate header key '{key}'"));
        }
    }
    let (dtype, order) = match descr {
        Some(PyValue::Str(d)) => parse_descr(&d)?,
        Some(PyValue::List(_)) => return Err("structured dtypes are not supported".to_string()),
        Some(_) => return Err("header 'descr' must be a string".to_string()),
        None => return Err("header has no 'descr' key".to_string()),
    };
    let fortran_order = match fortran {
        Some(PyValue::Bool(b)) => b,
        Some(_) => return Err("header 'fortran_order' must be True or False".to_string()),
        None => return Err("header has no 'fortran_order' key".to_string()),
    };
    let dims = match shape {
        Some(PyValue::Tuple(dims) | PyValue::List(dims)) => dims,
        Some(_) => return Err("header 'shape' must be a tuple".to_string()),
        None => return Err("header has no 'shape' key".to_string()),
    };
    let shape = dims
        .iter()
        .map(|d| match d {
            PyValue::Int(n) => {
                usize::try_from(*n).map_err(|_| format!("invalid dimension {n} in shape"))
            }
            other => Err(format!("invalid dimension {other:?} in shape")),
        })
        .collect::<std::result::Result<Vec<usize>, String>>()?;
    Ok((shape, dtype, order, fortran_order))
}

/// Parses a dtype descriptor such as `<f4`, `|b1` or `>i8`.
fn parse_descr(descr: &str) -> std::result::Result<(DType, ByteOrder), String> {
    let unsupported = || format!("unsupported dtype '{descr}'");
    let mut chars = descr.chars();
    let order = match chars.next() {
        Some('<') => ByteOrder::Little,
        Some('>') => ByteOrder::Big,
        // `|` means byte order is irrelevant (1-byte types); `=` means native order.
        Some('|') => ByteOrder::Little,
        Some('=') if cfg!(target_endian = "big") => ByteOrder::Big,
        Some('=') => ByteOrder::Little,
        _ => return Err(unsupported()),
    };
    let dtype = match chars.as_str() {
        "f2" | "e" => DType::F16,
        "f4" | "f" => DType::F32,
        "f8" | "d" => DType::F64,
        "i1" | "b" => DType::I8,
        "i2" | "h" => DType::I16,
        "i4" | "i" => DType::I32,
        "i8" | "q" => DType::I64,
        "u1" | "B" => DType::U8,
        "b1" | "?" => DType::Bool,
        // See the module docs: 2-byte void is how bfloat16 travels through .npy.
        "V2" if order == ByteOrder::Little => DType::BF16,
        _ => return Err(unsupported()),
    };
    Ok((dtype, order))
}

/// The `descr` we write for each dtype (what `numpy.dtype(...).str` gives).
fn descr(dtype: DType) -> &'static str {
    match dtype {
        DType::F16 => "<f2",
        DType::BF16 => "<V2",
        DType::F32 => "<f4",
        DType::F64 => "<f8",
        DType::I8 => "|i1",
        DType::I16 => "<i2",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::U8 => "|u1",
        DType::Bool => "|b1",
    }
}

/// The full header (magic to newline) `numpy.save` writes for this shape and dtype.
fn header_bytes(shape: &[usize], dtype: DType) -> Vec<u8> {
    let mut dict = format!("{{'descr': '{}', 'fortran_order': False, 'shape': (", descr(dtype));
    for (i, d) in shape.iter().enumerate() {
        if i > 0 {
            dict.push_str(", ");
        }
        let _ = write!(dict, "{d}");
    }
    // Python's repr of a 1-tuple keeps the trailing comma.
    dict.push_str(if shape.len() == 1 { ",), }" } else { "), }" });
    if let Some(first) = shape.first() {
        let digits = first.to_string().len();
        dict.extend(std::iter::repeat_n(' ', GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits)));
    }
    // Like NumPy: version 1.0 unless the length does not fit its 2-byte field.
    let hlen = dict.len() + 1;
    let wrap = |len_field: usize| {
        let pad = ARRAY_ALIGN - (MAGIC.len() + 2 + len_field + hlen) % ARRAY_ALIGN;
        (pad, hlen + pad)
    };
    let (version, len_field) = if wrap(2).1 <= usize::from(u16::MAX) { (1u8, 2) } else { (2u8, 4) };
    let (pad, total) = wrap(len_field);
    let mut out = Vec::with_capacity(MAGIC.len() + 2 + len_field + total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if len_field == 2 {
        out.extend_from_slice(&(total as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(total as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', pad));
    out.push(b'\n');
    out
}

/// Streams header and data (C order, little-endian) into `w`.
pub(crate) fn write_npy_to<W: Write>(w: &mut W, t: &Tensor) -> std::io::Result<()> {
    w.write_all(&header_bytes(t.shape(), t.dtype()))?;
    write_le_data(w, t)
}

/// Writes the elements as little-endian bytes in C order, in bounded chunks so large
/// tensors are not copied whole.
pub(crate) fn write_le_data<W: Write>(w: &mut W, t: &Tensor) -> std::io::Result<()> {
    fn go<T: Element, W: Write>(
        w: &mut W,
        a: &ndarray::ArcArray<T, ndarray::IxDyn>,
    ) -> std::io::Result<()> {
        const FLUSH_AT: usize = 1 << 16;
        let mut buf = Vec::with_capacity(FLUSH_AT + 8);
        for &v in a.iter() {
            v.write_le(&mut buf);
            if buf.len() >= FLUSH_AT {
                w.write_all(&buf)?;
                buf.clear();
            }
        }
        w.write_all(&buf)
    }
    dispatch_data!(t.data(), a => go(w, a))
}

#[cfg(test)]
#[path = "npy_tests.rs"]
mod tests;
