//! Structural hashes of matchers: matchers compare and hash by these 32-byte digests, so
//! memo tables keyed on `(node hash, matcher)` are cheap and two independently built but
//! identical matchers share entries.

/// A blake3 digest builder with length-delimited fields.
pub(crate) struct StructHasher(blake3::Hasher);

impl StructHasher {
    /// Starts a digest for one variant, identified by a short tag.
    pub(crate) fn new(tag: &str) -> StructHasher {
        let mut h = blake3::Hasher::new();
        h.update(b"circuit-match\0");
        h.update(tag.as_bytes());
        h.update(b"\0");
        StructHasher(h)
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.update(&(b.len() as u64).to_le_bytes());
        self.0.update(b);
        self
    }

    pub(crate) fn u64(&mut self, x: u64) -> &mut Self {
        self.0.update(&x.to_le_bytes());
        self
    }

    pub(crate) fn opt_u64(&mut self, x: Option<u64>) -> &mut Self {
        match x {
            Some(v) => self.u64(1).u64(v),
            None => self.u64(0),
        }
    }

    pub(crate) fn bool(&mut self, b: bool) -> &mut Self {
        self.0.update(&[u8::from(b)]);
        self
    }

    pub(crate) fn finish(&self) -> [u8; 32] {
        *self.0.finalize().as_bytes()
    }
}

/// A usize as u64 (lossless on every supported platform; saturates otherwise).
pub(crate) fn u64_of(x: usize) -> u64 {
    u64::try_from(x).unwrap_or(u64::MAX)
}
