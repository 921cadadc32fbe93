//! Rearrange and its spec: an einops-style *repeat* pattern with integer axis labels
//! ("ints"). Each input dimension is a group of ints whose sizes multiply to the
//! dimension; each output dimension likewise. Output-only ints are repeats.

use std::fmt;

use smallvec::SmallVec;

use crate::kinds::einsum::label_char;
use crate::size::{checked_product, format_size};
use crate::{IrError, Result, Shape};

/// A group of ints forming one dimension.
pub type Group = SmallVec<[u8; 4]>;

/// The rearrange pattern. `int_sizes[i]` is the size of int `i` if known (a wildcard
/// otherwise; at most one wildcard per input group, resolved from the input shape).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RearrangeSpec {
    /// Groups of the input dimensions.
    pub input_ints: Vec<Group>,
    /// Groups of the output dimensions.
    pub output_ints: Vec<Group>,
    /// Known sizes, indexed by int.
    pub int_sizes: Vec<Option<usize>>,
}

/// A Rearrange's payload.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rearrange {
    /// The pattern.
    pub spec: RearrangeSpec,
}

fn spec_err(msg: impl Into<String>) -> IrError {
    IrError::Rearrange { node: String::new(), msg: msg.into() }
}

impl RearrangeSpec {
    /// Builds and validates a spec.
    ///
    /// # Errors
    /// [`IrError::Rearrange`] when an int repeats within a side, an input int is missing
    /// from the output (unless its size is 1), an output-only int has no size, a group has
    /// two wildcards, or an int has no slot in `int_sizes`.
    pub fn new(
        input_ints: Vec<Group>,
        output_ints: Vec<Group>,
        int_sizes: Vec<Option<usize>>,
    ) -> Result<RearrangeSpec> {
        let spec = RearrangeSpec { input_ints, output_ints, int_sizes };
        spec.validate()?;
        Ok(spec)
    }

    fn validate(&self) -> Result<()> {
        let n = self.int_sizes.len();
        let check_side = |side: &[Group], what: &str| -> Result<()> {
            let mut seen = vec![false; n];
            for &i in side.iter().flatten() {
                let slot = seen
                    .get_mut(usize::from(i))
                    .ok_or_else(|| spec_err(format!("int {i} has no size slot")))?;
                if *slot {
                    return Err(spec_err(format!(
                        "axis '{}' repeats in the {what}",
                        label_char(i)
                    )));
                }
                *slot = true;
            }
            Ok(())
        };
        check_side(&self.input_ints, "input")?;
        check_side(&self.output_ints, "output")?;
        for &i in self.input_ints.iter().flatten() {
            let in_output = self.output_ints.iter().flatten().any(|&o| o == i);
            if !in_output && self.int_sizes[usize::from(i)] != Some(1) {
                return Err(spec_err(format!(
                    "input axis '{}' is missing from the output (rearrange cannot reduce)",
                    label_char(i)
                )));
            }
        }
        for &o in self.output_ints.iter().flatten() {
            let in_input = self.input_ints.iter().flatten().any(|&i| i == o);
            if !in_input && self.int_sizes[usize::from(o)].is_none() {
                return Err(spec_err(format!("output-only axis '{}' needs a size", label_char(o))));
            }
        }
        for group in &self.input_ints {
            if group.iter().filter(|&&i| self.int_sizes[usize::from(i)].is_none()).count() > 1 {
                return Err(spec_err("an input group has more than one axis of unknown size"));
            }
        }
        Ok(())
    }

    /// Resolves every int's size against an input shape.
    ///
    /// # Errors
    /// [`IrError::Rearrange`] when the rank differs or a group's sizes don't multiply
    /// to the dimension.
    pub fn conform(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if input_shape.len() != self.input_ints.len() {
            return Err(spec_err(format!(
                "input has rank {} but the pattern has {} input dimensions",
                input_shape.len(),
                self.input_ints.len()
            )));
        }
        let mut sizes: Vec<Option<usize>> = self.int_sizes.clone();
        for (group, &dim) in self.input_ints.iter().zip(input_shape) {
            let known = checked_product(group.iter().filter_map(|&i| sizes[usize::from(i)]))?;
            match group.iter().find(|&&i| sizes[usize::from(i)].is_none()) {
                Some(&wild) => {
                    if known == 0 || dim % known != 0 {
                        return Err(spec_err(format!(
                            "input dimension of size {} is not divisible by {}",
                            format_size(dim),
                            format_size(known)
                        )));
                    }
                    sizes[usize::from(wild)] = Some(dim / known);
                }
                None if known != dim => {
                    return Err(spec_err(format!(
                        "input dimension of size {} does not match the pattern's size {}",
                        format_size(dim),
                        format_size(known)
                    )));
                }
                None => {}
            }
        }
        Ok(sizes.into_iter().map(|s| s.unwrap_or(1)).collect())
    }

    /// The output shape for an input shape.
    ///
    /// # Errors
    /// See [`RearrangeSpec::conform`].
    pub fn output_shape(&self, input_shape: &[usize]) -> Result<Shape> {
        let sizes = self.conform(input_shape)?;
        self.output_ints
            .iter()
            .map(|g| checked_product(g.iter().map(|&i| sizes[usize::from(i)])))
            .collect()
    }

    /// The same spec with ints numbered by first appearance (input, then output) and no
    /// unused size slots; `None` when it already is.
    pub fn renumbered(&self) -> Option<RearrangeSpec> {
        let mut map: Vec<Option<u8>> = vec![None; self.int_sizes.len()];
        let mut next = 0usize;
        let mut canonical = true;
        for &i in self.input_ints.iter().flatten().chain(self.output_ints.iter().flatten()) {
            let slot = map.get_mut(usize::from(i))?;
            if slot.is_none() {
                canonical &= usize::from(i) == next;
                *slot = Some(u8::try_from(next).ok()?);
                next += 1;
            }
        }
        if canonical && next == self.int_sizes.len() {
            return None;
        }
        let remap =
            |g: &Group| -> Group { g.iter().map(|&i| map[usize::from(i)].unwrap_or(i)).collect() };
        let mut int_sizes = vec![None; next];
        for (old, new) in map.iter().enumerate() {
            if let Some(n) = new {
                int_sizes[usize::from(*n)] = self.int_sizes[old];
            }
        }
        Some(RearrangeSpec {
            input_ints: self.input_ints.iter().map(remap).collect(),
            output_ints: self.output_ints.iter().map(remap).collect(),
            int_sizes,
        })
    }

    /// Whether input and output are the same groups (the identity).
    pub fn is_identity(&self) -> bool {
        self.input_ints == self.output_ints
    }

    /// Whether the spec only permutes whole dimensions (every group a singleton, same ints).
    pub fn is_permute(&self) -> bool {
        self.input_ints.iter().chain(&self.output_ints).all(|g| g.len() == 1)
            && self.input_ints.len() == self.output_ints.len()
    }

    /// For each input dim, the output dim it is when both are the same single int.
    pub fn child_axis_map(&self) -> Vec<Option<usize>> {
        self.input_ints
            .iter()
            .map(|g| {
                if g.len() != 1 {
                    return None;
                }
                self.output_ints.iter().position(|o| o.len() == 1 && o[0] == g[0])
            })
            .collect()
    }

    /// The identity spec of a rank.
    pub fn identity(rank: usize) -> Result<RearrangeSpec> {
        let ints: Vec<Group> = (0..rank)
            .map(|i| u8::try_from(i).map(|i| SmallVec::from_slice(&[i])))
            .collect::<Result<_, _>>()
            .map_err(|_| spec_err("rank above 256"))?;
        Ok(RearrangeSpec {
            input_ints: ints.clone(),
            output_ints: ints,
            int_sizes: vec![None; rank],
        })
    }

    /// Parses the text form: `(a b:3) c -> c (a b:3) 4`.
    ///
    /// Tokens: a word starting with a letter is a named int (optionally `word:size`; the
    /// size may appear on either side); a bare size (`10`, `0s`, `2*1s`) is a fresh int of
    /// that size; `( … )` is a group; `()` an empty group (a size-1 dimension). Ints are
    /// numbered in order of first appearance. Unlike rust_circuit, characters that form no
    /// token are an error rather than silently skipped.
    ///
    /// # Errors
    /// [`IrError::Rearrange`] describing the first problem.
    pub fn parse(text: &str) -> Result<RearrangeSpec> {
        crate::kinds::rearrange_parse::parse(text)
    }

    /// Formats with letters per int and sizes where known (the printer's form).
    pub fn to_text(&self) -> String {
        self.to_text_with(|i| label_char(i).to_string())
    }

    /// Formats with a custom name per int.
    pub fn to_text_with(&self, mut name: impl FnMut(u8) -> String) -> String {
        let in_ints: Vec<u8> = self.input_ints.iter().flatten().copied().collect();
        let mut token = |i: u8, both_sides: bool| -> String {
            let size = self.int_sizes.get(usize::from(i)).copied().flatten();
            match (both_sides, size) {
                (true, Some(s)) => format!("{}:{}", name(i), format_size(s)),
                (true, None) => name(i),
                (false, Some(s)) => format_size(s),
                (false, None) => name(i),
            }
        };
        let mut side = |groups: &[Group], is_input: bool| -> String {
            let out_ints: Vec<u8> = self.output_ints.iter().flatten().copied().collect();
            groups
                .iter()
                .map(|g| {
                    let toks: Vec<String> = g
                        .iter()
                        .map(|&i| {
                            let both = in_ints.contains(&i) && out_ints.contains(&i);
                            token(i, both || is_input)
                        })
                        .collect();
                    if g.len() == 1 {
                        toks.join(" ")
                    } else {
                        format!("({})", toks.join(" "))
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        let lhs = side(&self.input_ints, true);
        let rhs = side(&self.output_ints, false);
        format!("{lhs} -> {rhs}")
    }
}

impl fmt::Display for RearrangeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}
