//! Content hashes for many nodes at once. Hashing one node is a chain of BLAKE3
//! compressions that cannot overlap, so a builder that makes many nodes (the parser)
//! defers their hashes and computes them here, level by level (a node after its
//! children), eight nodes at a time in the lanes of AVX2 registers where the CPU has
//! them. The bytes hashed are exactly those of [`crate::hashing::node_hash`], and each
//! lane computes standard BLAKE3 (checked against the `blake3` crate in the tests).

use crate::node::{Circuit, NodeHash};
use crate::ops::Op;
use crate::{BuildNodeHasher, NodeMap};

/// Computes the hash of every node in `nodes` that has none yet (nodes built with
/// [`Circuit::build_unhashed`]), and of anything unhashed below them.
pub fn hash_all<'a>(nodes: impl IntoIterator<Item = &'a Circuit>) {
    // Levels: a node's height is above its children's, so hashing by increasing height
    // finds every child's hash ready (nodes below that are not in the list are hashed on
    // demand, by `Circuit::hash`). Sorted by each node's height, read once.
    let mut pending: Vec<(u32, &Circuit)> =
        nodes.into_iter().filter(|c| !c.has_hash()).map(|c| (c.height(), c)).collect();
    pending.sort_unstable_by_key(|p| p.0);
    let mut level: Vec<&Circuit> = Vec::new();
    for same_height in pending.chunk_by(|a, b| a.0 == b.0) {
        level.clear();
        level.extend(same_height.iter().map(|p| p.1));
        for chunk in level.chunks(CHUNK) {
            hash_chunk(chunk);
        }
    }
}

/// Nodes serialized and hashed together (their bytes stay in cache).
const CHUNK: usize = 64;

fn hash_chunk(chunk: &[&Circuit]) {
    let mut bytes: Vec<u8> = Vec::with_capacity(chunk.len() * 160);
    let mut ends: Vec<usize> = Vec::with_capacity(chunk.len());
    for c in chunk {
        crate::hashing::serialize_node(c, &mut bytes);
        ends.push(bytes.len());
    }
    let inputs: Vec<&[u8]> = ends
        .iter()
        .scan(0, |start, &end| {
            let s = *start;
            *start = end;
            Some(&bytes[s..end])
        })
        .collect();
    let mut out = vec![[0u8; 32]; inputs.len()];
    hash_many(&inputs, &mut out);
    for (c, h) in chunk.iter().zip(out) {
        c.set_hash(NodeHash(h));
    }
}

/// The unhashed nodes below (and including) `root`, each once.
pub(crate) fn unhashed_below(root: &Circuit) -> Vec<Circuit> {
    let mut seen: NodeMap<usize, ()> = NodeMap::with_hasher(BuildNodeHasher::default());
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(c) = stack.pop() {
        if c.has_hash() || seen.insert(c.addr(), ()).is_some() {
            continue;
        }
        for d in dependencies(&c) {
            if !d.has_hash() {
                stack.push(d.clone());
            }
        }
        out.push(c);
    }
    out
}

/// The nodes whose hashes a node's hash includes: its children and, for a Module, its
/// argument symbols.
pub(crate) fn dependencies(c: &Circuit) -> impl Iterator<Item = &Circuit> {
    let symbols: &[crate::kinds::ModuleArgSpec] = match c.op() {
        Op::Module(m) => &m.arg_specs,
        _ => &[],
    };
    c.children().iter().chain(symbols.iter().map(|a| &a.symbol))
}

/// BLAKE3 of each input (`out[i]` for `inputs[i]`).
pub(crate) fn hash_many(inputs: &[&[u8]], out: &mut [[u8; 32]]) {
    #[cfg(target_arch = "x86_64")]
    {
        if inputs.len() >= 3 && std::arch::is_x86_feature_detected!("avx2") {
            lanes::hash_many_avx2(inputs, out);
            return;
        }
    }
    for (i, o) in inputs.iter().zip(out.iter_mut()) {
        *o = *blake3::hash(i).as_bytes();
    }
}

#[cfg(target_arch = "x86_64")]
mod lanes {
    //! BLAKE3 of single-chunk inputs (up to 1 KiB), eight at a time. The vector helpers
    //! are `unsafe` only because they need AVX2: they are called from `hash8` alone, which
    //! runs only where AVX2 was detected (and they are inlined into it).

    use std::arch::x86_64::{
        __m256i, _mm256_add_epi32, _mm256_loadu_si256, _mm256_or_si256, _mm256_set1_epi32,
        _mm256_set_epi8, _mm256_setzero_si256, _mm256_shuffle_epi8, _mm256_slli_epi32,
        _mm256_srli_epi32, _mm256_storeu_si256, _mm256_xor_si256,
    };

    const IV: [u32; 8] = [
        0x6A09_E667,
        0xBB67_AE85,
        0x3C6E_F372,
        0xA54F_F53A,
        0x510E_527F,
        0x9B05_688C,
        0x1F83_D9AB,
        0x5BE0_CD19,
    ];
    /// The message word order of each of the 7 rounds.
    const SCHEDULE: [[usize; 16]; 7] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8],
        [3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1],
        [10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6],
        [12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4],
        [9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7],
        [11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13],
    ];
    const CHUNK_START: u32 = 1;
    const CHUNK_END: u32 = 2;
    const ROOT: u32 = 8;
    const BLOCK: usize = 64;
    /// One BLAKE3 chunk: longer inputs take the `blake3` crate.
    const MAX_LEN: usize = 1024;

    pub(super) fn hash_many_avx2(inputs: &[&[u8]], out: &mut [[u8; 32]]) {
        // Lanes run the same number of compressions: group inputs by block count.
        let mut order: Vec<(usize, usize)> = Vec::with_capacity(inputs.len());
        for (i, inp) in inputs.iter().enumerate() {
            if inp.len() > MAX_LEN {
                out[i] = *blake3::hash(inp).as_bytes();
            } else {
                order.push((inp.len().div_ceil(BLOCK).max(1), i));
            }
        }
        order.sort_unstable();
        for group in order.chunk_by(|a, b| a.0 == b.0) {
            for eight in group.chunks(8) {
                if eight.len() < 3 {
                    for &(_, i) in eight {
                        out[i] = *blake3::hash(inputs[i]).as_bytes();
                    }
                    continue;
                }
                // Idle lanes repeat the first input; their results are dropped.
                let lane = |l: usize| inputs[eight.get(l).unwrap_or(&eight[0]).1];
                let batch: [&[u8]; 8] = std::array::from_fn(lane);
                // SAFETY: the caller checked that the CPU has AVX2.
                let hashes = unsafe { hash8(&batch) };
                for (&(_, i), h) in eight.iter().zip(hashes) {
                    out[i] = h;
                }
            }
        }
    }

    #[inline(always)]
    unsafe fn rot16(x: __m256i) -> __m256i {
        // SAFETY: AVX2 (see the module documentation).
        unsafe {
            _mm256_shuffle_epi8(
                x,
                _mm256_set_epi8(
                    13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2, 13, 12, 15, 14, 9, 8, 11,
                    10, 5, 4, 7, 6, 1, 0, 3, 2,
                ),
            )
        }
    }

    #[inline(always)]
    unsafe fn rot8(x: __m256i) -> __m256i {
        // SAFETY: AVX2 (see the module documentation).
        unsafe {
            _mm256_shuffle_epi8(
                x,
                _mm256_set_epi8(
                    12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1, 12, 15, 14, 13, 8, 11,
                    10, 9, 4, 7, 6, 5, 0, 3, 2, 1,
                ),
            )
        }
    }

    #[inline(always)]
    unsafe fn rot12(x: __m256i) -> __m256i {
        // SAFETY: AVX2 (see the module documentation).
        unsafe { _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20)) }
    }

    #[inline(always)]
    unsafe fn rot7(x: __m256i) -> __m256i {
        // SAFETY: AVX2 (see the module documentation).
        unsafe { _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25)) }
    }

    /// The quarter-round on columns or diagonals of the state.
    #[inline(always)]
    #[allow(clippy::many_single_char_names)]
    unsafe fn g(
        v: &mut [__m256i; 16],
        a: usize,
        b: usize,
        c: usize,
        d: usize,
        x: __m256i,
        y: __m256i,
    ) {
        // SAFETY: AVX2 (see the module documentation).
        unsafe {
            v[a] = _mm256_add_epi32(_mm256_add_epi32(v[a], v[b]), x);
            v[d] = rot16(_mm256_xor_si256(v[d], v[a]));
            v[c] = _mm256_add_epi32(v[c], v[d]);
            v[b] = rot12(_mm256_xor_si256(v[b], v[c]));
            v[a] = _mm256_add_epi32(_mm256_add_epi32(v[a], v[b]), y);
            v[d] = rot8(_mm256_xor_si256(v[d], v[a]));
            v[c] = _mm256_add_epi32(v[c], v[d]);
            v[b] = rot7(_mm256_xor_si256(v[b], v[c]));
        }
    }

    #[inline(always)]
    unsafe fn compress(cv: &mut [__m256i; 8], m: &[__m256i; 16], block_len: __m256i, flags: u32) {
        // SAFETY: AVX2 (see the module documentation).
        unsafe {
            let splat = |x: u32| _mm256_set1_epi32(x as i32);
            let mut v = [
                cv[0],
                cv[1],
                cv[2],
                cv[3],
                cv[4],
                cv[5],
                cv[6],
                cv[7],
                splat(IV[0]),
                splat(IV[1]),
                splat(IV[2]),
                splat(IV[3]),
                _mm256_setzero_si256(),
                _mm256_setzero_si256(),
                block_len,
                splat(flags),
            ];
            for s in &SCHEDULE {
                g(&mut v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
                g(&mut v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
                g(&mut v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
                g(&mut v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
                g(&mut v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
                g(&mut v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
                g(&mut v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
                g(&mut v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
            }
            for i in 0..8 {
                cv[i] = _mm256_xor_si256(v[i], v[i + 8]);
            }
        }
    }

    /// BLAKE3 of eight inputs of up to 1 KiB, all with the same number of blocks.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    unsafe fn hash8(inputs: &[&[u8]; 8]) -> [[u8; 32]; 8] {
        let n_blocks = inputs[0].len().div_ceil(BLOCK).max(1);
        // SAFETY: AVX2 is the caller's guarantee; every load and store below is of a
        // whole `[u32; 8]` array (32 bytes).
        unsafe {
            let mut cv = [_mm256_setzero_si256(); 8];
            for (v, &iv) in cv.iter_mut().zip(&IV) {
                *v = _mm256_set1_epi32(iv as i32);
            }
            for b in 0..n_blocks {
                // Transpose: word `w` of every lane's block into one vector.
                let mut words = [[0u32; 8]; 16];
                let mut lens = [0u32; 8];
                for (l, inp) in inputs.iter().enumerate() {
                    let rest = inp.get(b * BLOCK..).unwrap_or_default();
                    let mut padded = [0u8; BLOCK];
                    // A full block is read in place; only the last, partial one is copied.
                    let block: &[u8] = if rest.len() >= BLOCK {
                        &rest[..BLOCK]
                    } else {
                        padded[..rest.len()].copy_from_slice(rest);
                        &padded
                    };
                    lens[l] = rest.len().min(BLOCK) as u32;
                    for (w, bytes) in block.chunks_exact(4).enumerate() {
                        words[w][l] = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                    }
                }
                let mut m = [_mm256_setzero_si256(); 16];
                for (v, w) in m.iter_mut().zip(&words) {
                    *v = _mm256_loadu_si256(w.as_ptr().cast());
                }
                let mut flags = 0;
                if b == 0 {
                    flags |= CHUNK_START;
                }
                if b + 1 == n_blocks {
                    flags |= CHUNK_END | ROOT;
                }
                compress(&mut cv, &m, _mm256_loadu_si256(lens.as_ptr().cast()), flags);
            }
            let mut t = [[0u32; 8]; 8];
            for (row, v) in t.iter_mut().zip(&cv) {
                _mm256_storeu_si256(row.as_mut_ptr().cast(), *v);
            }
            let mut out = [[0u8; 32]; 8];
            for (l, o) in out.iter_mut().enumerate() {
                for (i, row) in t.iter().enumerate() {
                    o[4 * i..4 * i + 4].copy_from_slice(&row[l].to_le_bytes());
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_agree_with_blake3() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut byte = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        };
        // Every length up to two chunks, in batches mixing lengths.
        let data: Vec<Vec<u8>> =
            (0..=2100usize).map(|len| (0..len).map(|_| byte()).collect()).collect();
        for batch in data.chunks(13) {
            let inputs: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
            let mut out = vec![[0u8; 32]; inputs.len()];
            hash_many(&inputs, &mut out);
            for (i, o) in inputs.iter().zip(&out) {
                assert_eq!(o, blake3::hash(i).as_bytes(), "length {}", i.len());
            }
        }
        // Many inputs of one length (full groups of eight).
        for len in [1usize, 63, 64, 65, 80, 128, 149, 1023, 1024] {
            let inputs: Vec<&[u8]> =
                data[len..len + 1].iter().cycle().take(19).map(Vec::as_slice).collect();
            let mut out = vec![[0u8; 32]; inputs.len()];
            hash_many(&inputs, &mut out);
            for o in &out {
                assert_eq!(o, blake3::hash(&data[len]).as_bytes(), "length {len}");
            }
        }
    }
}
