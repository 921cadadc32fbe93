//! Einsum: a generalised tensor contraction with integer axis labels, including repeated
//! input labels (diagonals/traces) and repeated output labels (diagonal outputs).

use smallvec::SmallVec;

use crate::{Circuit, IrError, Result, Shape};

/// Axis labels of one operand (or of the output).
pub type Axes = SmallVec<[u8; 6]>;

/// An Einsum's payload: labels per operand and for the output.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Einsum {
    /// Labels of each operand, in child order.
    pub in_axes: Vec<Axes>,
    /// Labels of the output.
    pub out_axes: Axes,
}

/// The character for a label: `a`–`z` (0–25), `A`–`Z` (26–51), Greek `α`–`ψ` (52–75) as
/// in rust_circuit; beyond that (our extension, so every `u8` label prints) the Latin
/// Extended-A and -B letters U+0100.. (76–255).
pub fn label_char(label: u8) -> char {
    let l = u32::from(label);
    let code = match l {
        0..=25 => 'a' as u32 + l,
        26..=51 => 'A' as u32 + (l - 26),
        52..=75 => 0x3B1 + (l - 52),
        _ => 0x100 + (l - 76),
    };
    char::from_u32(code).unwrap_or('?')
}

/// The label of a character in the alphabet of [`label_char`].
pub fn label_from_char(c: char) -> Option<u8> {
    let code = c as u32;
    let label = match c {
        'a'..='z' => code - 'a' as u32,
        'A'..='Z' => code - 'A' as u32 + 26,
        '\u{3B1}'..='\u{3C8}' => code - 0x3B1 + 52,
        '\u{100}'..='\u{1B3}' => code - 0x100 + 76,
        _ => return None,
    };
    u8::try_from(label).ok()
}

/// The size of each label seen, with the operand that first fixed it. Einsums use few
/// distinct labels, so a short list beats a 256-entry table that must be cleared per node.
#[derive(Default)]
pub(crate) struct LabelSizes {
    entries: SmallVec<[(u8, usize, usize); 8]>,
}

impl LabelSizes {
    fn get_entry(&self, label: u8) -> Option<(u8, usize, usize)> {
        self.entries.iter().copied().find(|e| e.0 == label)
    }

    /// The size of a label, if some operand has it.
    pub(crate) fn get(&self, label: u8) -> Option<usize> {
        self.get_entry(label).map(|e| e.1)
    }
}

fn label_name(label: u8) -> String {
    label_char(label).to_string()
}

impl Einsum {
    /// Parses a plain einsum string such as `ab,bc->ac` (spaces are ignored; `->` alone
    /// means no operands).
    ///
    /// # Errors
    /// [`IrError::Invalid`] for a missing `->` or a character outside the label alphabet.
    pub fn parse(spec: &str) -> Result<Einsum> {
        if let Some(e) = Einsum::parse_ascii(spec.as_bytes()) {
            return Ok(e);
        }
        let err = |msg: String| IrError::Invalid { kind: "Einsum", node: format!("'{spec}'"), msg };
        let compact: String = spec.chars().filter(|c| !c.is_whitespace()).collect();
        let (lhs, rhs) = compact.split_once("->").ok_or_else(|| err("expected '->'".into()))?;
        let parse_axes = |s: &str| -> Result<Axes> {
            s.chars()
                .map(|c| {
                    label_from_char(c).ok_or_else(|| err(format!("'{c}' is not an axis letter")))
                })
                .collect()
        };
        let in_axes = if lhs.is_empty() {
            Vec::new()
        } else {
            lhs.split(',').map(parse_axes).collect::<Result<_>>()?
        };
        Ok(Einsum { in_axes, out_axes: parse_axes(rhs)? })
    }

    /// The common case without allocating a compacted copy: ASCII letters, `,` and one
    /// `->`, no spaces. Anything else (including every error) takes the general path.
    fn parse_ascii(spec: &[u8]) -> Option<Einsum> {
        // One pass: letters go to the current operand, `,` starts the next one, `->`
        // switches to the output. Anything else (spaces, a second `->`) means "general path".
        let mut in_axes: Vec<Axes> = Vec::with_capacity(2);
        let mut cur = Axes::new();
        let mut i = 0;
        while let Some(&b) = spec.get(i) {
            match b {
                b'a'..=b'z' => cur.push(b - b'a'),
                b'A'..=b'Z' => cur.push(b - b'A' + 26),
                b',' => in_axes.push(std::mem::take(&mut cur)),
                b'-' if spec.get(i + 1) == Some(&b'>') => {
                    // `->` alone means no operands; otherwise the last operand ends here.
                    if i > 0 {
                        in_axes.push(std::mem::take(&mut cur));
                    }
                    let mut out_axes = Axes::new();
                    for &b in &spec[i + 2..] {
                        out_axes.push(match b {
                            b'a'..=b'z' => b - b'a',
                            b'A'..=b'Z' => b - b'A' + 26,
                            _ => return None,
                        });
                    }
                    return Some(Einsum { in_axes, out_axes });
                }
                _ => return None,
            }
            i += 1;
        }
        None
    }

    /// Parses the word form `first second, first third -> first`: words become labels in
    /// order of first appearance.
    ///
    /// # Errors
    /// [`IrError::Invalid`] for a missing `->` or more than 256 distinct words.
    pub fn parse_fancy(spec: &str) -> Result<Einsum> {
        let err = |msg: String| IrError::Invalid { kind: "Einsum", node: format!("'{spec}'"), msg };
        let (lhs, rhs) = spec.split_once("->").ok_or_else(|| err("expected '->'".into()))?;
        let mut words: Vec<String> = Vec::new();
        let mut label_of = |w: &str| -> Result<u8> {
            if let Some(i) = words.iter().position(|x| *x == w) {
                return u8::try_from(i).map_err(|_| err("too many axis names".into()));
            }
            words.push(w.to_string());
            u8::try_from(words.len() - 1).map_err(|_| err("more than 256 axis names".into()))
        };
        let mut in_axes = Vec::new();
        if !lhs.trim().is_empty() {
            for operand in lhs.split(',') {
                in_axes
                    .push(operand.split_whitespace().map(&mut label_of).collect::<Result<Axes>>()?);
            }
        }
        let out_axes = rhs.split_whitespace().map(&mut label_of).collect::<Result<Axes>>()?;
        Ok(Einsum { in_axes, out_axes })
    }

    /// The plain string form, `ab,bc->ac`.
    pub fn to_spec_string(&self) -> String {
        let mut s = String::with_capacity(4 * self.in_axes.len() + 8);
        self.write_spec(&mut s);
        s
    }

    /// Appends the plain string form to `out`.
    pub fn write_spec(&self, out: &mut String) {
        for (i, axes) in self.in_axes.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.extend(axes.iter().map(|&l| label_char(l)));
        }
        out.push_str("->");
        out.extend(self.out_axes.iter().map(|&l| label_char(l)));
    }

    /// Sizes of every label, after checking operand ranks and consistency.
    pub(crate) fn label_sizes(
        &self,
        children: &[Circuit],
        node: &str,
        sizes: &mut LabelSizes,
    ) -> Result<()> {
        if children.len() != self.in_axes.len() {
            return Err(IrError::WrongNumChildren {
                kind: "Einsum",
                node: node.into(),
                expected: self.in_axes.len().to_string(),
                got: children.len(),
            });
        }
        for (operand, (child, axes)) in children.iter().zip(&self.in_axes).enumerate() {
            if child.rank() != axes.len() {
                return Err(IrError::EinsumRankMismatch {
                    node: node.into(),
                    operand,
                    shape: child.shape().to_vec(),
                    n_axes: axes.len(),
                });
            }
            for (&size, &label) in child.shape().iter().zip(axes) {
                match sizes.get_entry(label) {
                    None => sizes.entries.push((label, size, operand)),
                    Some((_, first, _)) if first == size => {}
                    Some((_, first, first_operand)) => {
                        return Err(IrError::EinsumAxisSizeDifferent {
                            node: node.into(),
                            label: label_name(label),
                            first: crate::size::format_size(first),
                            first_operand,
                            second: crate::size::format_size(size),
                            operand,
                        })
                    }
                }
            }
        }
        Ok(())
    }

    pub(crate) fn infer_shape(&self, children: &[Circuit], node: &str) -> Result<Shape> {
        let mut sizes = LabelSizes::default();
        self.label_sizes(children, node, &mut sizes)?;
        let mut shape = Shape::new();
        for &l in &self.out_axes {
            shape.push(sizes.get(l).ok_or_else(|| IrError::EinsumOutputNotSubset {
                node: node.into(),
                label: label_name(l),
            })?);
        }
        Ok(shape)
    }

    /// For each operand axis, the output axis it is (label once in the operand and once
    /// in the output), else `None`.
    pub fn child_axis_map(&self) -> Vec<Vec<Option<usize>>> {
        self.in_axes
            .iter()
            .map(|axes| {
                axes.iter()
                    .map(|l| {
                        let once_in = axes.iter().filter(|x| *x == l).count() == 1;
                        let out_pos: SmallVec<[usize; 2]> = self
                            .out_axes
                            .iter()
                            .enumerate()
                            .filter(|(_, x)| *x == l)
                            .map(|(i, _)| i)
                            .collect();
                        (once_in && out_pos.len() == 1).then(|| out_pos[0])
                    })
                    .collect()
            })
            .collect()
    }

    /// One more than the largest label used (a fresh label).
    pub fn next_label(&self) -> usize {
        self.in_axes
            .iter()
            .flatten()
            .chain(self.out_axes.iter())
            .map(|&l| usize::from(l) + 1)
            .max()
            .unwrap_or(0)
    }

    /// Labels summed away (in some input, not in the output), ascending.
    pub fn reduced_labels(&self) -> Vec<u8> {
        let mut out: Vec<u8> =
            self.in_axes.iter().flatten().copied().filter(|l| !self.out_axes.contains(l)).collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_round_trips() {
        for l in 0..=255u8 {
            assert_eq!(label_from_char(label_char(l)), Some(l), "label {l}");
        }
        assert_eq!(label_char(52), 'α');
        assert_eq!(label_char(75), 'ψ');
    }

    #[test]
    fn parse_plain_and_fancy() {
        let e = Einsum::parse("ab, bc,cd-> ad").unwrap();
        assert_eq!(e.in_axes.len(), 3);
        assert_eq!(e.to_spec_string(), "ab,bc,cd->ad");
        let empty = Einsum::parse("->").unwrap();
        assert!(empty.in_axes.is_empty());
        let f = Einsum::parse_fancy("first second, first third -> first").unwrap();
        assert_eq!(f.to_spec_string(), "ab,ac->a");
        assert!(Einsum::parse("ab,b1->a").is_err());
        assert_eq!(Einsum::parse("a,ab,->b").unwrap().in_axes.len(), 3);
    }
}
