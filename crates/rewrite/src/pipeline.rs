//! Named passes, as `circ opt -p a,b,c` runs them (LLVM-opt style): every rule name of
//! [`crate::RULES`] (the rule run to a fixed point over the whole circuit) and the
//! whole-circuit passes of [`PASSES`]. Names are kebab-case; snake_case is accepted.

use circuit_ir::{Circuit, DType, Kind};
use circuit_match::{new_traversal, Matcher};

use crate::rules::{find_rule, RULES};
use crate::utils::map_bottom_up;
use crate::{Result, RewriteError, RuleSet};

/// A whole-circuit pass.
#[derive(Clone, Copy)]
pub struct PassInfo {
    /// The kebab-case name.
    pub name: &'static str,
    /// One line for `circ opt --list`.
    pub summary: &'static str,
    /// The pass.
    pub run: fn(&Circuit) -> Result<Circuit>,
}

impl std::fmt::Debug for PassInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// The whole-circuit passes.
pub static PASSES: &[PassInfo] = &[
    PassInfo { name: "simp", summary: "the default rule set to a fixed point", run: crate::simp },
    PassInfo {
        name: "compiler-simp",
        summary: "the compiler rule set to a fixed point",
        run: crate::compiler_simp,
    },
    PassInfo {
        name: "all-rules",
        summary: "every registered rule to a fixed point",
        run: all_rules,
    },
    PassInfo {
        name: "compiler-passes",
        summary: "the evaluator's compiler passes (circuit-eval)",
        run: compiler_passes,
    },
    PassInfo {
        name: "substitute-modules",
        summary: "substitute every Module",
        run: crate::substitute_all_modules,
    },
    PassInfo {
        name: "conform-modules",
        summary: "rebind module symbols at the input shapes",
        run: crate::conform_all_modules,
    },
    PassInfo {
        name: "inline-single-callsite-modules",
        summary: "substitute modules whose spec has one call site",
        run: crate::inline_single_callsite_modules,
    },
    PassInfo {
        name: "remove-unused-inputs",
        summary: "drop module arguments the spec does not use",
        run: remove_unused_inputs,
    },
    PassInfo {
        name: "push-down-modules",
        summary: "push every module binding down to the symbols",
        run: push_down_modules_all,
    },
    PassInfo {
        name: "push-down-index",
        summary: "push every Index down as far as it goes",
        run: push_down_index_all,
    },
    PassInfo {
        name: "distribute-all",
        summary: "distribute every Einsum over its Add operands",
        run: distribute_all_deep,
    },
    PassInfo {
        name: "flatten-einsums",
        summary: "flatten nested Einsums (also shared ones)",
        run: flatten_einsums,
    },
    PassInfo {
        name: "flatten-adds",
        summary: "flatten nested Adds (also shared ones)",
        run: flatten_adds,
    },
    PassInfo {
        name: "nest-einsums-optimal",
        summary: "nest every Einsum by its optimized contraction path",
        run: nest_optimal,
    },
    PassInfo { name: "canonicalize", summary: "deep_canonicalize", run: crate::deep_canonicalize },
    PassInfo { name: "normalize", summary: "deep_normalize", run: crate::deep_normalize },
    PassInfo {
        name: "strip-names",
        summary: "strip_names_and_tags",
        run: crate::strip_names_and_tags,
    },
    PassInfo { name: "cast-f64", summary: "cast float Arrays to float64", run: cast_f64 },
];

fn all_rules(c: &Circuit) -> Result<Circuit> {
    RuleSet::all().simp(c)
}

fn compiler_passes(c: &Circuit) -> Result<Circuit> {
    crate::simplify(c, crate::COMPILER_PASSES)
        .map_err(RewriteError::construct("compiler-passes", c))
}

fn remove_unused_inputs(c: &Circuit) -> Result<Circuit> {
    crate::deep_module_remove_unused_inputs(c, false)
}

fn push_down_modules_all(c: &Circuit) -> Result<Circuit> {
    crate::push_down_modules(c, new_traversal(None, None, Matcher::never()), None)
}

fn push_down_index_all(c: &Circuit) -> Result<Circuit> {
    let options =
        crate::PushDownIndexOptions { allow_partial_pushdown: true, ..Default::default() };
    map_bottom_up(c, "push-down-index", |_, node| {
        if node.kind() != Kind::Index {
            return Ok(node.clone());
        }
        match crate::push_down_index(node, &options) {
            Ok(out) => Ok(out),
            Err(RewriteError::Unsupported { .. }) => Ok(node.clone()),
            Err(e) => Err(e),
        }
    })
}

fn distribute_all_deep(c: &Circuit) -> Result<Circuit> {
    map_bottom_up(c, "distribute-all", |_, node| {
        if node.kind() != Kind::Einsum {
            return Ok(node.clone());
        }
        Ok(crate::distribute_all(node)?.unwrap_or_else(|| node.clone()))
    })
}

fn flatten_einsums(c: &Circuit) -> Result<Circuit> {
    map_bottom_up(c, "flatten-einsums", |_, node| {
        if node.kind() != Kind::Einsum {
            return Ok(node.clone());
        }
        crate::einsum_flatten_traversal(node, crate::nest::full_traversal())
    })
}

fn flatten_adds(c: &Circuit) -> Result<Circuit> {
    map_bottom_up(c, "flatten-adds", |_, node| {
        if node.kind() != Kind::Add {
            return Ok(node.clone());
        }
        crate::add_flatten_traversal(node, crate::nest::full_traversal())
    })
}

fn nest_optimal(c: &Circuit) -> Result<Circuit> {
    map_bottom_up(c, "nest-einsums-optimal", |_, node| {
        if node.kind() != Kind::Einsum || node.children().len() < 3 {
            return Ok(node.clone());
        }
        crate::einsum_nest_path(node, None)
    })
}

fn cast_f64(c: &Circuit) -> Result<Circuit> {
    crate::cast_circuit(c, DType::F64)
}

/// One step of a pipeline: a rule (run to a fixed point) or a whole-circuit pass.
#[derive(Clone, Debug)]
pub enum Step {
    /// A rule of [`RULES`].
    Rule(&'static crate::Rule),
    /// A pass of [`PASSES`].
    Pass(&'static PassInfo),
}

impl Step {
    /// The step's name.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Rule(r) => r.name,
            Step::Pass(p) => p.name,
        }
    }

    /// Runs the step.
    ///
    /// # Errors
    /// The rule's or pass's errors.
    pub fn run(&self, c: &Circuit) -> Result<Circuit> {
        match self {
            Step::Rule(r) => RuleSet::none().include([r.name])?.simp(c),
            Step::Pass(p) => (p.run)(c),
        }
    }
}

/// Looks a step up by name.
///
/// # Errors
/// [`RewriteError::UnknownRule`] with suggestions.
pub fn find_step(name: &str) -> Result<Step> {
    let kebab = name.trim().replace('_', "-");
    if let Some(r) = find_rule(&kebab) {
        return Ok(Step::Rule(r));
    }
    if let Some(p) = PASSES.iter().find(|p| p.name == kebab) {
        return Ok(Step::Pass(p));
    }
    Err(RewriteError::UnknownRule { name: name.to_string(), suggestions: suggest(name) })
}

/// Parses a comma-separated pass list (`add-flatten,simp`).
///
/// # Errors
/// [`RewriteError::UnknownRule`] for an unknown name, [`RewriteError::InvalidArgument`]
/// for an empty list.
pub fn parse_pipeline(list: &str) -> Result<Vec<Step>> {
    let steps: Vec<Step> =
        list.split(',').filter(|s| !s.trim().is_empty()).map(find_step).collect::<Result<_>>()?;
    if steps.is_empty() {
        return Err(RewriteError::InvalidArgument {
            rule: "pipeline",
            msg: "the pass list is empty".into(),
        });
    }
    Ok(steps)
}

/// Runs the steps in order on each circuit.
///
/// # Errors
/// The first failing step's error.
pub fn run_pipeline(circuit: &Circuit, steps: &[Step]) -> Result<Circuit> {
    let mut c = circuit.clone();
    for s in steps {
        c = s.run(&c)?;
    }
    Ok(c)
}

/// Every step name: rules, then passes.
pub fn all_step_names() -> Vec<&'static str> {
    RULES.iter().map(|r| r.name).chain(PASSES.iter().map(|p| p.name)).collect()
}

/// Registered names close to `name` (edit distance at most 3, or sharing a prefix).
pub fn suggest(name: &str) -> Vec<String> {
    let kebab = name.replace('_', "-");
    let mut scored: Vec<(usize, &str)> = all_step_names()
        .into_iter()
        .map(|n| (edit_distance(&kebab, n), n))
        .filter(|&(d, n)| d <= 3 || (kebab.len() >= 4 && n.starts_with(&kebab)))
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, n)| n.to_string()).collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_in_both_spellings() {
        assert_eq!(find_step("add_flatten").map(|s| s.name()).ok(), Some("add-flatten"));
        assert_eq!(find_step("push-down-index").map(|s| s.name()).ok(), Some("push-down-index"));
        assert!(
            matches!(find_step("simpp"), Err(RewriteError::UnknownRule { ref suggestions, .. }) if suggestions.contains(&"simp".to_string()))
        );
        assert!(parse_pipeline(" , ").is_err());
        assert_eq!(parse_pipeline("simp, canonicalize").map(|v| v.len()).ok(), Some(2));
        let all = all_step_names();
        let mut dedup = all.clone();
        dedup.sort_unstable();
        dedup.dedup();
        assert_eq!(dedup.len(), all.len(), "rule and pass names must be distinct");
    }
}
