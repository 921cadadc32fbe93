//! A small open-addressing index for the parser's and printer's lookups (identifier →
//! record, node hash → slot, name → count). A bucket holds 32 bits of the key's hash and
//! the index (the keys stay in the caller's own vectors), 8 bytes in all: the table is
//! touched once per line, and fresh memory costs more here than the hashing does.

/// Buckets of `(hash bits, index + 1)`; 0 marks a free bucket (so a new table is zeroed
/// memory, which the allocator need not write). At most half full.
pub(crate) struct IndexTable {
    buckets: Vec<(u32, u32)>,
    len: usize,
    shift: u32,
}

const MIN_BITS: u32 = 4;

/// The largest index the table can hold. Callers index lines or nodes, far fewer (each
/// costs far more than 8 bytes of memory).
pub(crate) const MAX_INDEX: usize = (u32::MAX - 1) as usize;

impl IndexTable {
    /// A table with room for about `n` entries before it grows.
    pub(crate) fn with_capacity(n: usize) -> IndexTable {
        let bits = (n.max(1) * 2).next_power_of_two().trailing_zeros().max(MIN_BITS);
        IndexTable { buckets: vec![(0, 0); 1 << bits], len: 0, shift: 64 - bits }
    }

    /// The bucket for a hash, and the 32 bits of it that the bucket keeps: the high bits
    /// of the mixed hash, which also give the bucket (so growing needs no rehash).
    fn place(&self, hash: u64) -> (usize, u32) {
        // Fibonacci hashing: the high bits of the product mix every bit of the hash.
        let tag = (hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32;
        (self.bucket_of(tag), tag)
    }

    fn bucket_of(&self, tag: u32) -> usize {
        ((u64::from(tag) << 32) >> self.shift) as usize
    }

    /// The index stored under a key with this `hash` for which `is_key` holds, or else
    /// stores `new` (at most [`MAX_INDEX`]) and returns `None`.
    pub(crate) fn find_or_insert(
        &mut self,
        hash: u64,
        new: usize,
        mut is_key: impl FnMut(usize) -> bool,
    ) -> Option<usize> {
        debug_assert!(new <= MAX_INDEX);
        let mask = self.buckets.len() - 1;
        let (mut b, tag) = self.place(hash);
        loop {
            let (t, slot) = self.buckets[b];
            if slot == 0 {
                break;
            }
            if t == tag && is_key(slot as usize - 1) {
                return Some(slot as usize - 1);
            }
            b = (b + 1) & mask;
        }
        self.buckets[b] = (tag, new as u32 + 1);
        self.len += 1;
        if self.len * 2 > self.buckets.len() {
            self.grow();
        }
        None
    }

    /// The index stored under a key with this `hash` for which `is_key` holds.
    pub(crate) fn find(&self, hash: u64, mut is_key: impl FnMut(usize) -> bool) -> Option<usize> {
        let mask = self.buckets.len() - 1;
        let (mut b, tag) = self.place(hash);
        loop {
            let (t, slot) = self.buckets[b];
            if slot == 0 {
                return None;
            }
            if t == tag && is_key(slot as usize - 1) {
                return Some(slot as usize - 1);
            }
            b = (b + 1) & mask;
        }
    }

    fn grow(&mut self) {
        // Buckets are picked by the 32 stored bits, so 2^32 of them is the most (far
        // more than the entries callers can have in memory).
        if self.shift <= 32 {
            return;
        }
        let doubled = vec![(0, 0); self.buckets.len() * 2];
        let old = std::mem::replace(&mut self.buckets, doubled);
        self.shift -= 1;
        let mask = self.buckets.len() - 1;
        for (tag, slot) in old {
            if slot == 0 {
                continue;
            }
            let mut b = self.bucket_of(tag);
            while self.buckets[b].1 != 0 {
                b = (b + 1) & mask;
            }
            self.buckets[b] = (tag, slot);
        }
    }
}

/// A fast 64-bit hash of a string (a word at a time); the table mixes it further.
pub(crate) fn hash_str(s: &str) -> u64 {
    let bytes = s.as_bytes();
    let mut h: u64 = bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        h = (h.rotate_left(23) ^ u64::from_le_bytes(b)).wrapping_mul(0xA076_1D64_78BD_642F);
    }
    let mut tail = 0u64;
    for (i, &b) in words.remainder().iter().enumerate() {
        tail |= u64::from(b) << (8 * i);
    }
    h = (h.rotate_left(23) ^ tail).wrapping_mul(0xE703_7ED1_A0B4_28DB);
    h ^ (h >> 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_it_stored() {
        let keys: Vec<String> = (0..5000).map(|i| format!("k{}", i % 3000)).collect();
        let mut t = IndexTable::with_capacity(0);
        let mut first: Vec<usize> = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            let found = t.find_or_insert(hash_str(k), i, |j| keys[j] == *k);
            match found {
                Some(j) => assert_eq!(keys[j], *k),
                None => first.push(i),
            }
        }
        assert_eq!(first.len(), 3000);
        for &i in &first {
            let k = &keys[i];
            assert_eq!(t.find(hash_str(k), |j| keys[j] == *k), Some(i));
        }
        assert_eq!(t.find(hash_str("absent"), |_| true), None);
        // Equal hashes with different keys are told apart by the key test.
        let mut t = IndexTable::with_capacity(4);
        assert_eq!(t.find_or_insert(7, 0, |_| false), None);
        assert_eq!(t.find_or_insert(7, 1, |j| j == 5), None);
        assert_eq!(t.find_or_insert(7, 2, |j| j == 1), Some(1));
        // Integer keys (serial numbers) stay findable across many growths.
        let mut t = IndexTable::with_capacity(0);
        for n in 0..100_000u64 {
            assert_eq!(t.find_or_insert(n, n as usize, |j| j as u64 == n), None);
        }
        for n in (0..100_000u64).step_by(7) {
            assert_eq!(t.find(n, |j| j as u64 == n), Some(n as usize));
        }
    }
}
