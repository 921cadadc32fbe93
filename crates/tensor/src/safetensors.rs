//! Reading and writing `.safetensors` files.
//!
//! Layout: an 8-byte little-endian header length `n`, `n` bytes of JSON
//! (`{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//! "__metadata__": {..}}`), then the data buffer; offsets are relative to its start.
//! Supported dtypes: F16, BF16, F32, F64, I8, I16, I32, I64, U8, BOOL.
//!
//! Every offset and size is validated before anything is allocated: tensors must lie
//! inside the file, must not overlap, and must span exactly the bytes their shape needs.
//! Holes between tensors (which the format forbids) are tolerated when reading.
//! Our writer lays tensors out contiguously in the order given and formats the header
//! like the reference `safetensors` library, so writing tensors in that library's order
//! (largest element size first, then by name) reproduces its files byte for byte.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufReader, BufWriter, Cursor, ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde_json::Value;

use crate::bytes::{read_data, ByteOrder};
use crate::npy::write_le_data;
use crate::{check_alloc, limits, DType, Result, Tensor, TensorError, DEFAULT_MAX_TENSOR_BYTES};

/// Largest JSON header we accept (the reference implementation's limit).
const MAX_HEADER_LEN: u64 = 100_000_000;
const METADATA_KEY: &str = "__metadata__";

/// The header of a safetensors file: tensor descriptions and free-form metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SafetensorsHeader {
    /// `(name, shape, dtype)` for each tensor, in file (data offset) order.
    pub tensors: Vec<(String, Vec<usize>, DType)>,
    /// The `__metadata__` map (non-string values are kept as their JSON text).
    pub metadata: BTreeMap<String, String>,
}

/// One validated header entry.
struct Entry {
    name: String,
    dtype: DType,
    shape: Vec<usize>,
    begin: u64,
    end: u64,
}

/// Reads every tensor of a safetensors file, in file order.
///
/// # Errors
/// [`TensorError::Io`], [`TensorError::Format`] for malformed headers, bad offsets or
/// unsupported dtypes, [`TensorError::TooLarge`].
pub fn read_safetensors(path: &Path) -> Result<Vec<(String, Tensor)>> {
    let (mut r, len) = open(path)?;
    read_all(&mut r, len, &path.display().to_string())
}

/// Reads every tensor of a safetensors file held in memory.
///
/// # Errors
/// As [`read_safetensors`].
pub fn read_safetensors_bytes(bytes: &[u8], source_name: &str) -> Result<Vec<(String, Tensor)>> {
    read_all(&mut Cursor::new(bytes), bytes.len() as u64, source_name)
}

/// Reads one named tensor, touching only its bytes.
///
/// # Errors
/// [`TensorError::NoSuchTensor`] if the file has no such tensor; otherwise as
/// [`read_safetensors`].
pub fn read_safetensors_tensor(path: &Path, name: &str) -> Result<Tensor> {
    let (mut r, len) = open(path)?;
    let source = path.display().to_string();
    let (entries, _, data_start) = read_layout(&mut r, len, &source)?;
    let entry = entries.iter().find(|e| e.name == name).ok_or_else(|| {
        TensorError::NoSuchTensor { path: source.clone(), name: name.to_string() }
    })?;
    r.seek(SeekFrom::Start(data_start + entry.begin)).map_err(TensorError::io(path))?;
    read_data(&mut r, &entry.shape, entry.dtype, ByteOrder::Little, None, &source).map(Tensor::new)
}

/// Reads only the header (tensor names, shapes, dtypes and metadata).
///
/// # Errors
/// [`TensorError::Io`] or [`TensorError::Format`].
pub fn read_safetensors_header(path: &Path) -> Result<SafetensorsHeader> {
    let (mut r, len) = open(path)?;
    let (entries, metadata, _) = read_layout(&mut r, len, &path.display().to_string())?;
    let tensors = entries.into_iter().map(|e| (e.name, e.shape, e.dtype)).collect();
    Ok(SafetensorsHeader { tensors, metadata })
}

/// Writes tensors (laid out in the given order) to a safetensors file.
///
/// # Errors
/// [`TensorError::InvalidTensorName`] for duplicate names or `__metadata__`,
/// [`TensorError::Io`] if the file cannot be written.
pub fn write_safetensors<S: AsRef<str>>(path: &Path, tensors: &[(S, &Tensor)]) -> Result<()> {
    write_safetensors_with_metadata(path, tensors, &BTreeMap::new())
}

/// [`write_safetensors`] with a `__metadata__` map (omitted from the file when empty).
///
/// # Errors
/// As [`write_safetensors`].
pub fn write_safetensors_with_metadata<S: AsRef<str>>(
    path: &Path,
    tensors: &[(S, &Tensor)],
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    let header = header_bytes(tensors, metadata)?;
    let file = File::create(path).map_err(TensorError::io(path))?;
    let mut w = BufWriter::new(file);
    let mut write = || -> std::io::Result<()> {
        w.write_all(&header)?;
        for (_, t) in tensors {
            write_le_data(&mut w, t)?;
        }
        w.flush()
    };
    write().map_err(TensorError::io(path))
}

/// The bytes [`write_safetensors_with_metadata`] would write.
///
/// # Errors
/// [`TensorError::InvalidTensorName`] for duplicate names or `__metadata__`.
pub fn to_safetensors_bytes<S: AsRef<str>>(
    tensors: &[(S, &Tensor)],
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>> {
    let mut out = header_bytes(tensors, metadata)?;
    for (_, t) in tensors {
        // Writing into a Vec cannot fail.
        let _ = write_le_data(&mut out, t);
    }
    Ok(out)
}

fn open(path: &Path) -> Result<(BufReader<File>, u64)> {
    let file = File::open(path).map_err(TensorError::io(path))?;
    let len = file.metadata().map_err(TensorError::io(path))?.len();
    Ok((BufReader::new(file), len))
}

fn read_all<R: Read + Seek>(
    r: &mut R,
    total_len: u64,
    source: &str,
) -> Result<Vec<(String, Tensor)>> {
    let (entries, _, data_start) = read_layout(r, total_len, source)?;
    let mut pos = data_start;
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        // Entries are sorted and usually contiguous; seek only across holes.
        if e.begin + data_start != pos {
            pos = r
                .seek(SeekFrom::Start(data_start + e.begin))
                .map_err(|err| TensorError::Io { path: source.into(), source: err })?;
        }
        let t = read_data(r, &e.shape, e.dtype, ByteOrder::Little, None, source)?;
        pos += e.end - e.begin;
        out.push((e.name, Tensor::new(t)));
    }
    Ok(out)
}

/// Reads and validates the header; returns the entries sorted by offset, the metadata
/// and the absolute offset of the data buffer.
fn read_layout<R: Read>(
    r: &mut R,
    total_len: u64,
    source: &str,
) -> Result<(Vec<Entry>, BTreeMap<String, String>, u64)> {
    let fail = |msg: String| TensorError::format(source, msg);
    let mut read = |buf: &mut [u8], what: &str| {
        r.read_exact(buf).map_err(|e| match e.kind() {
            ErrorKind::UnexpectedEof => fail(format!("truncated file: missing {what}")),
            _ => TensorError::Io { path: source.into(), source: e },
        })
    };
    let mut len_buf = [0u8; 8];
    read(&mut len_buf, "the header length")?;
    let header_len = u64::from_le_bytes(len_buf);
    if header_len > MAX_HEADER_LEN {
        return Err(fail(format!(
            "header of {header_len} bytes exceeds the limit of {MAX_HEADER_LEN}"
        )));
    }
    let data_start = 8 + header_len;
    if data_start > total_len {
        return Err(fail(format!("truncated file: header of {header_len} bytes does not fit")));
    }
    let mut raw = vec![0u8; header_len as usize];
    read(&mut raw, "part of the header")?;
    let json: Value =
        serde_json::from_slice(&raw).map_err(|e| fail(format!("invalid JSON header: {e}")))?;
    let Value::Object(map) = json else {
        return Err(fail("header is not a JSON object".to_string()));
    };
    let data_len = total_len - data_start;
    let mut metadata = BTreeMap::new();
    let mut entries = Vec::with_capacity(map.len());
    for (name, value) in map {
        if name == METADATA_KEY {
            let Value::Object(m) = value else {
                return Err(fail("'__metadata__' is not a JSON object".to_string()));
            };
            for (k, v) in m {
                let v = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                metadata.insert(k, v);
            }
            continue;
        }
        let entry = parse_entry(name, &value).map_err(&fail)?;
        if entry.end > data_len {
            return Err(fail(format!(
                "tensor '{}' ends at byte {} of a {data_len}-byte data buffer (truncated file?)",
                entry.name, entry.end
            )));
        }
        check_alloc(&entry.shape, entry.dtype, DEFAULT_MAX_TENSOR_BYTES)?;
        entries.push(entry);
    }
    // File order is data order; empty tensors sort before a tensor starting where they do.
    entries.sort_by(|a, b| (a.begin, a.end, &a.name).cmp(&(b.begin, b.end, &b.name)));
    for pair in entries.windows(2) {
        if let [a, b] = pair {
            if b.begin < a.end {
                return Err(fail(format!("tensors '{}' and '{}' overlap", a.name, b.name)));
            }
        }
    }
    Ok((entries, metadata, data_start))
}

fn parse_entry(name: String, value: &Value) -> std::result::Result<Entry, String> {
    let field = |key: &str| value.get(key).ok_or_else(|| format!("tensor '{name}' has no '{key}'"));
    let dtype = match field("dtype")?.as_str() {
        Some(s) => {
            parse_dtype(s).ok_or_else(|| format!("tensor '{name}' has unsupported dtype '{s}'"))?
        }
        None => return Err(format!("tensor '{name}': 'dtype' is not a string")),
    };
    let bad_shape = || format!("tensor '{name}': 'shape' is not a list of non-negative integers");
    let shape = field("shape")?
        .as_array()
        .ok_or_else(bad_shape)?
        .iter()
        .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()).ok_or_else(bad_shape))
        .collect::<std::result::Result<Vec<usize>, String>>()?;
    let bad_offsets =
        || format!("tensor '{name}': 'data_offsets' is not a pair of non-negative integers");
    let (begin, end) = match field("data_offsets")?.as_array().map(Vec::as_slice) {
        Some([b, e]) => (b.as_u64().ok_or_else(bad_offsets)?, e.as_u64().ok_or_else(bad_offsets)?),
        _ => return Err(bad_offsets()),
    };
    if end < begin {
        return Err(format!("tensor '{name}': data_offsets end {end} before begin {begin}"));
    }
    let needed = limits::byte_len(&shape, dtype);
    if needed != Some(u128::from(end - begin)) {
        return Err(format!(
            "tensor '{name}' of shape {shape:?} and dtype {dtype} needs {} bytes but its data_offsets span {}",
            needed.map_or_else(|| "too many".to_string(), |n| n.to_string()),
            end - begin
        ));
    }
    Ok(Entry { name, dtype, shape, begin, end })
}

fn parse_dtype(s: &str) -> Option<DType> {
    Some(match s {
        "F16" => DType::F16,
        "BF16" => DType::BF16,
        "F32" => DType::F32,
        "F64" => DType::F64,
        "I8" => DType::I8,
        "I16" => DType::I16,
        "I32" => DType::I32,
        "I64" => DType::I64,
        "U8" => DType::U8,
        "BOOL" => DType::Bool,
        _ => return None,
    })
}

fn dtype_tag(dtype: DType) -> &'static str {
    match dtype {
        DType::F16 => "F16",
        DType::BF16 => "BF16",
        DType::F32 => "F32",
        DType::F64 => "F64",
        DType::I8 => "I8",
        DType::I16 => "I16",
        DType::I32 => "I32",
        DType::I64 => "I64",
        DType::U8 => "U8",
        DType::Bool => "BOOL",
    }
}

/// The length prefix and JSON header (space-padded to a multiple of 8 bytes, like the
/// reference implementation, so the data buffer starts aligned).
fn header_bytes<S: AsRef<str>>(
    tensors: &[(S, &Tensor)],
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>> {
    let quote = |s: &str| Value::String(s.to_string()).to_string();
    let mut seen = HashSet::new();
    let mut json = String::from("{");
    if !metadata.is_empty() {
        let items: Vec<String> =
            metadata.iter().map(|(k, v)| format!("{}:{}", quote(k), quote(v))).collect();
        json.push_str(&format!("{}:{{{}}}", quote(METADATA_KEY), items.join(",")));
    }
    let mut offset: u64 = 0;
    for (name, t) in tensors {
        let name = name.as_ref();
        if name == METADATA_KEY {
            return Err(TensorError::InvalidTensorName {
                name: name.to_string(),
                reason: "reserved by safetensors",
            });
        }
        if !seen.insert(name) {
            return Err(TensorError::InvalidTensorName {
                name: name.to_string(),
                reason: "duplicate name",
            });
        }
        let end = offset + t.size_in_bytes() as u64;
        let shape: Vec<String> = t.shape().iter().map(usize::to_string).collect();
        if json.len() > 1 {
            json.push(',');
        }
        json.push_str(&format!(
            "{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{offset},{end}]}}",
            quote(name),
            dtype_tag(t.dtype()),
            shape.join(",")
        ));
        offset = end;
    }
    json.push('}');
    let padded_len = json.len().next_multiple_of(8);
    let mut out = Vec::with_capacity(8 + padded_len);
    out.extend_from_slice(&(padded_len as u64).to_le_bytes());
    out.extend_from_slice(json.as_bytes());
    out.resize(8 + padded_len, b' ');
    Ok(out)
}

#[cfg(test)]
#[path = "safetensors_tests.rs"]
mod tests;
