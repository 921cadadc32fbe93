//! The printer's output buffer: bytes appended from `&str`s and ASCII only (so always
//! UTF-8), with integer and float writers that avoid `fmt`.

/// An output buffer that only ever holds UTF-8.
#[derive(Default)]
pub(crate) struct Out(Vec<u8>);

impl Out {
    pub(crate) fn with_capacity(n: usize) -> Out {
        Out(Vec::with_capacity(n))
    }

    #[inline]
    pub(crate) fn push_str(&mut self, s: &str) {
        self.0.extend_from_slice(s.as_bytes());
    }

    #[inline]
    pub(crate) fn push(&mut self, c: char) {
        match u8::try_from(c) {
            Ok(b) if b.is_ascii() => self.0.push(b),
            _ => self.push_str(c.encode_utf8(&mut [0u8; 4])),
        }
    }

    /// Appends an ASCII byte (anything else is replaced, keeping the buffer UTF-8).
    #[inline]
    pub(crate) fn push_ascii(&mut self, b: u8) {
        self.0.push(if b.is_ascii() { b } else { b'?' });
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Truncates to `len` bytes, which must be a length the buffer had before.
    pub(crate) fn truncate(&mut self, len: usize) {
        self.0.truncate(len);
    }

    /// Removes spaces at the end, keeping at least `floor` bytes.
    pub(crate) fn trim_trailing_spaces_to(&mut self, floor: usize) {
        while self.0.len() > floor && self.0.last() == Some(&b' ') {
            self.0.pop();
        }
    }

    /// Makes room for a line. Outputs up to 64 MiB grow 8-fold, and a large one at once to
    /// at least 4 MiB, rather than 2-fold: each growth copies the text into fresh memory, and
    /// touching fresh pages costs more than the copy (pages never written cost nothing;
    /// [`Out::into_string`] gives the unused tail back).
    #[inline]
    pub(crate) fn reserve_line(&mut self) {
        let (len, cap) = (self.0.len(), self.0.capacity());
        if cap - len < 1 << 10 {
            let target = if cap >= 1 << 26 {
                // Beyond 64 MiB, 2-fold: an 8-fold step would reserve hundreds of MiB.
                cap * 2
            } else if cap >= 1 << 16 {
                (cap * 8).max(1 << 22)
            } else {
                cap.max(1 << 12) * 8
            };
            self.0.reserve(target - len);
        }
    }

    pub(crate) fn into_string(mut self) -> String {
        // Give a mostly unused buffer back; not one that is merely part-used (shrinking
        // copies the text into fresh memory, which costs as much as writing it did).
        if self.0.capacity() > 4 * self.0.len() + (1 << 12) {
            self.0.shrink_to_fit();
        }
        String::from_utf8(self.0)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// Appends the quoted, escaped name: backslash → `\\`, quote → `\'`.
    pub(crate) fn push_quoted(&mut self, name: &str) {
        self.0.push(b'\'');
        match name.bytes().position(|b| b == b'\\' || b == b'\'') {
            None => self.push_str(name),
            Some(i) => {
                self.push_str(&name[..i]);
                self.push_escaped(&name[i..]);
            }
        }
        self.0.push(b'\'');
    }

    fn push_escaped(&mut self, rest: &str) {
        for b in rest.bytes() {
            if b == b'\\' || b == b'\'' {
                self.0.push(b'\\');
            }
            self.0.push(b);
        }
    }

    /// Appends a decimal integer without going through `fmt`.
    pub(crate) fn write_usize(&mut self, v: usize) {
        // Most numbers printed (sizes, serials, digits of payloads) are small.
        if v < 10 {
            self.0.push(b'0' + v as u8);
        } else if v < 100 {
            self.0.extend_from_slice(&[b'0' + (v / 10) as u8, b'0' + (v % 10) as u8]);
        } else {
            self.write_usize_long(v);
        }
    }

    fn write_usize_long(&mut self, mut v: usize) {
        // Two digits per division, from a table of "00".."99".
        const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
            2021222324252627282930313233343536373839\
            4041424344454647484950515253545556575859\
            6061626364656667686970717273747576777879\
            8081828384858687888990919293949596979899";
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        while v >= 100 {
            let d = (v % 100) * 2;
            v /= 100;
            i -= 2;
            buf[i..i + 2].copy_from_slice(&PAIRS[d..d + 2]);
        }
        if v >= 10 {
            i -= 2;
            buf[i..i + 2].copy_from_slice(&PAIRS[v * 2..v * 2 + 2]);
        } else {
            i -= 1;
            buf[i] = b'0' + v as u8;
        }
        self.0.extend_from_slice(&buf[i..]);
    }

    /// Appends `v` exactly as `format!("{v}")` writes it.
    pub(crate) fn write_f64(&mut self, v: f64) {
        if !write_short_decimal(self, v) {
            self.push_str(&format!("{v}"));
        }
    }
}

/// Powers of ten that are exact in `f64`.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The fast path of [`Out::write_f64`] for values that are a short decimal `m / 10^k` (what
/// circuit files mostly hold), without the general float formatter. Writes nothing and
/// returns false otherwise.
///
/// Why it agrees with `Display`: `Display` prints the shortest digit string that parses
/// back to `v`, in positional form. With the fewest fractional digits `k` such that
/// `m / 10^k` parses back to `v`, that string is `m / 10^k`: fewer significant digits
/// would need fewer fractional digits at the same magnitude. The check is exact (`m` and
/// `10^k` are exact in `f64` and IEEE division rounds correctly, as parsing does), and
/// with `|v| * 10^k < 2^50` the values that parse back to `v` span less than a quarter
/// of `10^-k`, so no other `m` is a candidate.
fn write_short_decimal(out: &mut Out, v: f64) -> bool {
    const LIMIT: f64 = (1u64 << 50) as f64;
    if !v.is_finite() {
        return false;
    }
    if v == 0.0 {
        out.push_str(if v.is_sign_negative() { "-0" } else { "0" });
        return true;
    }
    let a = v.abs();
    for (k, &p) in POW10.iter().enumerate() {
        let scaled = a * p;
        if scaled >= LIMIT {
            return false;
        }
        // Round half up; `scaled + 0.5` is exact below 2^50. (Signed conversions: they
        // are single instructions, unsigned ones are not.)
        let m = (scaled + 0.5) as i64;
        let mf = m as f64;
        // A match has `|m - a * 10^k| < 1/8` and `scaled` is within 1/8 of that product,
        // so anything farther is not one: skip the division.
        if (mf - scaled).abs() >= 0.25 || mf / p != a {
            continue;
        }
        let m = m.unsigned_abs();
        if v < 0.0 {
            out.push('-');
        }
        // The digits of `m` with a point `k` digits from the right (zero-padded on the
        // left as needed), written in one piece.
        let mut buf = [b'0'; 48];
        let mut i = buf.len();
        let mut rest = m;
        let mut written = 0;
        while rest > 0 || written <= k {
            if written == k && k > 0 {
                i -= 1;
                buf[i] = b'.';
            }
            i -= 1;
            buf[i] = b'0' + (rest % 10) as u8;
            rest /= 10;
            written += 1;
        }
        out.0.extend_from_slice(&buf[i..]);
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(v: f64) {
        let mut out = Out::default();
        out.write_f64(v);
        assert_eq!(out.into_string(), format!("{v}"), "bits {:#x}", v.to_bits());
    }

    #[test]
    fn integers_print_as_display_does() {
        for v in (0..2_000usize).chain([9_999, 10_000, 123_456_789, usize::MAX]) {
            let mut out = Out::default();
            out.write_usize(v);
            assert_eq!(out.into_string(), v.to_string());
        }
    }

    #[test]
    fn numbers_print_as_display_does() {
        for v in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.25,
            3.25,
            0.1,
            0.2,
            0.3,
            1e-7,
            1e-10,
            1e15,
            1e16,
            1e22,
            1e23,
            123456.789,
            0.0013020833333333333,
            -0.0013020833333333333,
            0.125,
            2.5e-5,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            9007199254740991.0,
            1125899906842623.0,
            1125899906842624.0,
            0.95,
            0.999,
            1e-19,
            1e-20,
            1.5e-21,
            3e-22,
            1e-23,
            123e-22,
        ] {
            check(v);
        }
        // Random bit patterns, random short decimals and random integers.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..200_000 {
            let r = next();
            check(f64::from_bits(r));
            let k = (r % 18) as i32;
            let m = (next() % 10_000_000_000) as f64;
            check(m / 10f64.powi(k));
            check(-(m / 10f64.powi(k)));
            check((next() >> (next() % 64)) as f64);
            check((next() % 100_000) as f64 / 1024.0);
        }
    }
}
