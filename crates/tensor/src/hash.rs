//! rust_circuit-compatible tensor hashing.
//!
//! The recipe is rust_circuit's `hash_tensor_impl` for a CPU tensor: blake3 over a fixed
//! UUID string, the shape as 8-byte big-endian signed integers, a second UUID, the 7-byte
//! dtype tag, the device string `cpu`, a third UUID, then the raw little-endian bytes in
//! C order. We always hash as if the tensor lived on the CPU, so the same data has one hash
//! whatever device it later lives on.

use std::fmt;

use crate::{DType, TensorError};

const UUID_SHAPE: &[u8] = b"c3c5ce3e-7d06-4939-8340-2a7e6b2984b4";
const UUID_DTYPE: &[u8] = b"fb782993-5fe7-43ac-acc2-d57fb429c2fc";
const UUID_DATA: &[u8] = b"9430f5c7-3c58-4339-b863-5449a4d74ee6";

/// A 32-byte tensor content hash, printed as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorHash(pub [u8; 32]);

impl TensorHash {
    /// Hashes raw C-order little-endian element bytes of a tensor with this shape and dtype.
    pub fn compute(shape: &[usize], dtype: DType, data_le: &[u8]) -> TensorHash {
        let mut hasher = HashWriter::new(shape, dtype);
        hasher.update(data_le);
        hasher.finish()
    }

    /// The 64-character lowercase hex form.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
            s.push(char::from_digit(u32::from(b & 15), 16).unwrap_or('0'));
        }
        s
    }

    /// Parses a full 64-digit hex hash.
    ///
    /// # Errors
    /// [`TensorError::InvalidHash`] if the string is not exactly 64 hex digits.
    pub fn from_hex(s: &str) -> Result<TensorHash, TensorError> {
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return Err(TensorError::InvalidHash(s.to_string()));
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks(2).enumerate() {
            let hi = hex_val(pair[0]).ok_or_else(|| TensorError::InvalidHash(s.to_string()))?;
            let lo = hex_val(pair[1]).ok_or_else(|| TensorError::InvalidHash(s.to_string()))?;
            out[i] = (hi << 4) | lo;
        }
        Ok(TensorHash(out))
    }

    /// The first `n` hex digits (at most 64).
    pub fn prefix(&self, n: usize) -> String {
        let mut hex = self.to_hex();
        hex.truncate(n.min(64));
        hex
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for TensorHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for TensorHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TensorHash({})", self.prefix(16))
    }
}

/// Incremental hashing: feed the header once, then the data bytes in pieces (used when
/// streaming a file so it need not be held twice in memory).
pub(crate) struct HashWriter {
    hasher: blake3::Hasher,
}

impl HashWriter {
    pub(crate) fn new(shape: &[usize], dtype: DType) -> HashWriter {
        let mut hasher = blake3::Hasher::new();
        hasher.update(UUID_SHAPE);
        for &d in shape {
            // rust_circuit writes each dim as an 8-byte big-endian signed integer.
            hasher.update(&(d as i64).to_be_bytes());
        }
        hasher.update(UUID_DTYPE);
        hasher.update(dtype.hash_tag());
        hasher.update(b"cpu");
        hasher.update(UUID_DATA);
        HashWriter { hasher }
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
    }

    pub(crate) fn finish(self) -> TensorHash {
        TensorHash(*self.hasher.finalize().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_rust_circuit_for_int64_vector() {
        // Hash of torch.tensor([1,2,3,3,2,1]) (int64, cpu) as computed by rust_circuit 0.4.3;
        // it is the file name of a tensor shipped with the format examples.
        let data: Vec<u8> = [1i64, 2, 3, 3, 2, 1].iter().flat_map(|v| v.to_le_bytes()).collect();
        let h = TensorHash::compute(&[6], DType::I64, &data);
        assert_eq!(h.to_hex(), "292d9fdb22d57c8b600197ef739f4df2b5db1b729caa1fd8d50cae3ab4c4b87f");
    }

    #[test]
    fn hex_round_trip() {
        let h = TensorHash::compute(&[2, 3], DType::F32, &[0u8; 24]);
        assert_eq!(TensorHash::from_hex(&h.to_hex()).unwrap(), h);
        assert!(TensorHash::from_hex("xyz").is_err());
        assert_eq!(h.prefix(10).len(), 10);
    }
}
