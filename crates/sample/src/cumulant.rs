//! Cumulant algebra: canonical cumulants, set partitions, and the factored rewrite that
//! turns a joint cumulant into an expectation minus products of lower cumulants.

use smallvec::SmallVec;

use circuit_ir::kinds::RearrangeSpec;
use circuit_ir::{Circuit, Kind};

use crate::error::{Result, SampleError};
use crate::util::fresh_labels;

/// A Cumulant of `children` in canonical order (sorted by `(name, hash)`, the order
/// of [`Circuit`]'s `Ord`; rust_circuit's `Cumulant.new_canon`), together with the
/// permutation: `perm[j]` is the position in `children` of the canonical `j`-th child.
/// Joint cumulants are symmetric, so this only permutes the output axes.
///
/// # Errors
/// Construction errors (dtype mismatches).
pub fn cumulant_new_canon(children: Vec<Circuit>) -> Result<(Circuit, Vec<usize>)> {
    let mut perm: Vec<usize> = (0..children.len()).collect();
    perm.sort_by(|&a, &b| children[a].cmp(&children[b]).then(a.cmp(&b)));
    let sorted: Vec<Circuit> = perm.iter().map(|&i| children[i].clone()).collect();
    Ok((Circuit::cumulant(sorted)?, perm))
}

/// [`cumulant_new_canon`] wrapped in a Rearrange that permutes the axes back to the
/// order of `children` (rust_circuit's `Cumulant.new_canon_rearrange`); the Rearrange
/// is omitted when the order is already canonical.
///
/// # Errors
/// Construction errors.
pub fn cumulant_new_canon_rearrange(children: Vec<Circuit>) -> Result<Circuit> {
    let ranks: Vec<usize> = children.iter().map(Circuit::rank).collect();
    let (cum, perm) = cumulant_new_canon(children)?;
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        return Ok(cum);
    }
    let mut next = 0;
    let labels: Vec<Vec<u8>> =
        ranks.iter().map(|&r| fresh_labels(&mut next, r)).collect::<Result<_>>()?;
    let group = |l: &u8| SmallVec::from_slice(&[*l]);
    let input: Vec<SmallVec<[u8; 4]>> =
        perm.iter().flat_map(|&p| labels[p].iter().map(group)).collect();
    let output: Vec<SmallVec<[u8; 4]>> = labels.iter().flatten().map(group).collect();
    Ok(cum.rearrange(RearrangeSpec::new(input, output, vec![None; next])?)?)
}

/// Every set partition of `0..n`, each as blocks of ascending indices, blocks ordered by
/// their smallest element (restricted growth strings, in lexicographic order). There
/// are Bell(n) of them.
pub fn set_partitions(n: usize) -> Vec<Vec<Vec<usize>>> {
    let mut out = Vec::new();
    if n == 0 {
        out.push(Vec::new());
        return out;
    }
    // a[i] = block of element i; a[0] = 0, a[i] <= 1 + max(a[..i]).
    let mut a = vec![0usize; n];
    loop {
        let num_blocks = a.iter().max().map_or(0, |m| m + 1);
        let mut blocks = vec![Vec::new(); num_blocks];
        for (i, &b) in a.iter().enumerate() {
            blocks[b].push(i);
        }
        out.push(blocks);
        // Next restricted growth string: increment the last position that may grow.
        let mut i = n - 1;
        loop {
            if i == 0 {
                return out;
            }
            let max_before = a[..i].iter().copied().max().unwrap_or(0);
            if a[i] <= max_before {
                a[i] += 1;
                for x in &mut a[i + 1..] {
                    *x = 0;
                }
                break;
            }
            i -= 1;
        }
    }
}

/// The partitions of `0..n` into at least two blocks, each of size at least two: the
/// terms subtracted by [`factored_cumulant_expectation_rewrite`].
pub fn factored_partitions(n: usize) -> Vec<Vec<Vec<usize>>> {
    set_partitions(n)
        .into_iter()
        .filter(|p| p.len() >= 2 && p.iter().all(|b| b.len() >= 2))
        .collect()
}

/// Rewrites a joint cumulant of `n ≥ 2` children as an expectation of centred products
/// minus products of lower cumulants (arXiv 1701.05420):
///
/// ```text
/// κ(x1..xn) = E[∏ (xi − E[xi])] − Σ_π ∏_{B∈π} κ(B)
/// ```
///
/// over set partitions `π` of the children with at least two blocks, every block of
/// size at least two. Centring is `xi − κ(xi)` (an Add with a negated Cumulant); the
/// expectation is `κ(product)` of the outer-product Einsum of the centred children;
/// each block cumulant is built canonically ([`cumulant_new_canon`]) and each product
/// of block cumulants is an outer-product Einsum whose output axes follow the original
/// child order. The result keeps the cumulant's name. Cumulants of order `n ≤ 1` (and
/// non-Cumulants) are returned unchanged.
///
/// # Errors
/// Construction errors; more than 256 axes in total.
pub fn factored_cumulant_expectation_rewrite(cumulant: &Circuit) -> Result<Circuit> {
    let xs = cumulant.children();
    if cumulant.kind() != Kind::Cumulant || xs.len() <= 1 {
        return Ok(cumulant.clone());
    }
    let mut next = 0;
    let labels: Vec<Vec<u8>> =
        xs.iter().map(|x| fresh_labels(&mut next, x.rank())).collect::<Result<_>>()?;
    let out: Vec<u8> = labels.concat();
    let base = cumulant.name().unwrap_or("cumulant").to_string();

    let centred = xs
        .iter()
        .zip(&labels)
        .map(|(x, l)| {
            let mean = Circuit::cumulant(vec![x.clone()])?;
            Ok((x.sub(&mean)?, l.clone()))
        })
        .collect::<Result<Vec<_>>>()?;
    let product =
        Circuit::einsum_from_axes(centred, &out, Some(&format!("{base} centred product")))?;
    let expectation =
        Circuit::cumulant(vec![product])?.rename(Some(&format!("{base} centred moment")))?;

    let mut terms = vec![expectation];
    for partition in factored_partitions(xs.len()) {
        let mut operands = Vec::with_capacity(partition.len() + 1);
        for block in &partition {
            let (kappa, perm) = cumulant_new_canon(block.iter().map(|&i| xs[i].clone()).collect())?;
            let axes: Vec<u8> =
                perm.iter().flat_map(|&j| labels[block[j]].iter().copied()).collect();
            operands.push((kappa, axes));
        }
        operands.push((Circuit::scalar(-1.0, &[], None)?, Vec::new()));
        terms.push(Circuit::einsum_from_axes(operands, &out, None)?);
    }
    let result = if terms.len() == 1 {
        terms.pop().ok_or_else(|| SampleError::Invalid("internal: no terms".into()))?
    } else {
        Circuit::sum_of(terms)?
    };
    Ok(result.rename(cumulant.name())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bell_numbers_and_factored_counts() {
        let bell = [1, 1, 2, 5, 15, 52, 203];
        for (n, &b) in bell.iter().enumerate() {
            let ps = set_partitions(n);
            assert_eq!(ps.len(), b, "n = {n}");
            // Every partition covers 0..n exactly once.
            for p in &ps {
                let mut all: Vec<usize> = p.iter().flatten().copied().collect();
                all.sort_unstable();
                assert_eq!(all, (0..n).collect::<Vec<_>>());
            }
        }
        // Partitions without singletons and with ≥ 2 blocks: 0, 0, 0, 0, 3, 10, 40.
        let counts: Vec<usize> = (0..7).map(|n| factored_partitions(n).len()).collect();
        assert_eq!(counts, vec![0, 0, 0, 0, 3, 10, 40]);
        assert_eq!(
            factored_partitions(4),
            vec![
                vec![vec![0, 1], vec![2, 3]],
                vec![vec![0, 2], vec![1, 3]],
                vec![vec![0, 3], vec![1, 2]],
            ]
        );
    }
}
