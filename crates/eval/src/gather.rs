//! The output-axis map of `gen_index` / `explicit_index`: which x dim and which index
//! dim each output dim walks (shared by the CPU gather and by batching, which slices
//! inputs along the dims an output axis comes from).

use circuit_ir::kinds::GfSpec;

/// For each output dim: the x dim and/or index dim it walks.
pub type GatherMap = Vec<(Option<usize>, Option<usize>)>;

/// Resolves a possibly negative dim against a rank.
pub fn normalize_dim(dim: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    let d = if dim < 0 { dim + r } else { dim };
    (0..r).contains(&d).then_some(d as usize)
}

/// The indexed x dim and the output→(x dim, index dim) map of `gen_index` /
/// `explicit_index` (see the shape rules in `circuit_ir::kinds::GfSpec`); `None` when
/// the ranks do not fit the spec. Public for other backends.
pub fn gather_map(spec: &GfSpec, x_rank: usize, idx_rank: usize) -> Option<(usize, GatherMap)> {
    let skip = |j: usize, dim: usize| if j < dim { j } else { j + 1 };
    match spec {
        GfSpec::GenIndex { index_dim, batch_x, batch_index, .. } => {
            // With both batch flags the index's dims are x's leading dims and `index_dim`
            // counts within the rest (as the IR's shape rule does).
            let dim = if *batch_x && *batch_index {
                idx_rank + normalize_dim(*index_dim, x_rank.checked_sub(idx_rank)?)?
            } else {
                normalize_dim(*index_dim, x_rank)?
            };
            let map: GatherMap = if *batch_x && *batch_index {
                (0..x_rank - 1).map(|j| (Some(skip(j, dim)), (j < idx_rank).then_some(j))).collect()
            } else if *batch_index {
                (0..idx_rank)
                    .map(|t| (None, Some(t)))
                    .chain((0..x_rank - 1).map(|j| (Some(skip(j, dim)), None)))
                    .collect()
            } else {
                (0..dim)
                    .map(|j| (Some(j), None))
                    .chain((0..idx_rank).map(|t| (None, Some(t))))
                    .chain((dim + 1..x_rank).map(|j| (Some(j), None)))
                    .collect()
            };
            Some((dim, map))
        }
        GfSpec::ExplicitIndex { index_dim, x_non_batch_dims, .. } => {
            let nb = x_rank.checked_sub(*x_non_batch_dims)?;
            let dim = nb + normalize_dim(*index_dim, *x_non_batch_dims)?;
            let map: GatherMap = (0..nb)
                .map(|j| (Some(j), Some(j)))
                .chain((nb..dim).map(|j| (Some(j), None)))
                .chain((nb..idx_rank).map(|t| (None, Some(t))))
                .chain((dim + 1..x_rank).map(|j| (Some(j), None)))
                .collect();
            Some((dim, map))
        }
        _ => None,
    }
}
