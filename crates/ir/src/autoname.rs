//! rust_circuit's automatic names: `a + b` for Add, `a * b` for Einsum, `a ++ b` for
//! Concat, postfix forms (`x idx`, `x rearrange`) and function forms (`sigmoid(x)`,
//! `K2(a, b)`), with parentheses by operator priority. Leaves never get autonames, and a
//! node with an unnamed child gets none.

use crate::node::Name;
use crate::ops::Op;
use crate::Circuit;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Infix(u8),
    AmbiguousInfix,
    Postfix,
    Function,
    NotOperator,
}

fn style(op: &Op) -> Style {
    match op {
        Op::Add => Style::Infix(0),
        Op::Einsum(_) => Style::Infix(1),
        Op::Concat(_) => Style::AmbiguousInfix,
        Op::Rearrange(_)
        | Op::Index(_)
        | Op::Scatter(_)
        | Op::SetSymbolicShape(_)
        | Op::Tag(_)
        | Op::DiscreteVar => Style::Postfix,
        Op::GeneralFunction(_)
        | Op::Module(_)
        | Op::Cumulant
        | Op::Conv(_)
        | Op::StoredCumulantVar(_) => Style::Function,
        Op::Array(_) | Op::Scalar(_) | Op::Symbol(_) => Style::NotOperator,
    }
}

fn needs_parens(parent: Style, child: Style) -> bool {
    match (parent, child) {
        (Style::Postfix, Style::Infix(_) | Style::AmbiguousInfix) => true,
        (Style::AmbiguousInfix, Style::Infix(_)) => true,
        (Style::Infix(_), Style::AmbiguousInfix) => true,
        (Style::Infix(p), Style::Infix(c)) => p > c,
        _ => false,
    }
}

const MAX_CHILD_NAME: usize = 100;

fn truncated(name: &str) -> String {
    if name.chars().count() <= MAX_CHILD_NAME {
        name.to_string()
    } else {
        let cut: String = name.chars().take(MAX_CHILD_NAME).collect();
        format!("{cut}...")
    }
}

/// The automatic name for a node with this payload and these children, if any.
pub(crate) fn autoname(op: &Op, children: &[Circuit]) -> Option<Name> {
    let parent = style(op);
    if parent == Style::NotOperator {
        return None;
    }
    let mut names: Vec<String> = Vec::with_capacity(children.len());
    let skip = usize::from(matches!(op, Op::Module(_)));
    for c in children.iter().skip(skip) {
        let n = c.name()?;
        let n = if children.len() > 1 { truncated(n) } else { n.to_string() };
        if needs_parens(parent, style(c.op())) {
            names.push(format!("({n})"));
        } else {
            names.push(n);
        }
    }
    let name = match op {
        Op::Add => names.join(" + "),
        Op::Einsum(_) => names.join(" * "),
        Op::Concat(_) => names.join(" ++ "),
        Op::Rearrange(_) => format!("{} rearrange", names.first()?),
        Op::Index(_) => format!("{} idx", names.first()?),
        Op::Scatter(_) => format!("{} scatter", names.first()?),
        Op::SetSymbolicShape(_) => format!("{} set_shape", names.first()?),
        Op::Tag(_) => format!("{} tag", names.first()?),
        Op::DiscreteVar => format!("{} var", names.first()?),
        Op::GeneralFunction(g) => format!("{}({})", g.spec.name(), names.join(", ")),
        Op::Module(_) => format!("{}({})", children.first()?.name()?, names.join(", ")),
        Op::Cumulant => format!("K{}({})", children.len(), names.join(", ")),
        Op::Conv(_) => format!("Conv({})", names.join(", ")),
        Op::StoredCumulantVar(v) => {
            let parts: Vec<String> =
                v.orders.iter().zip(&names).map(|(k, n)| format!("{k}: {n}")).collect();
            format!("StoredCumulantVar({})", parts.join(", "))
        }
        Op::Array(_) | Op::Scalar(_) | Op::Symbol(_) => return None,
    };
    Some(Name::from(name))
}
