//! Parsing the kind-specific payload text of a node line into an [`Op`].

use std::cell::Cell;
use std::sync::Arc;

use circuit_ir::kinds::{
    Array, Concat, Conv, Einsum, GeneralFunction, GfSpec, Index, IndexTensor, Rearrange,
    RearrangeSpec, Scalar, Scatter, SetSymbolicShape, Slice, StoredCumulantVar, Symbol, Tag,
    TensorAxisIndex, TensorLoader,
};
use circuit_ir::{Circuit, Kind, Op, Shape};
use circuit_tensor::{DType, Tensor, TensorError, TensorHash, TensorStore};
use uuid::Uuid;

use crate::ParseOptions;

/// Loads store-backed Arrays lazily.
pub(crate) struct StoreLoader(pub(crate) TensorStore);

impl TensorLoader for StoreLoader {
    fn load(&self, hash: &TensorHash) -> Result<Tensor, TensorError> {
        self.0.load(hash)
    }
}

/// Parses a number the way rust_circuit does: underscores allowed after the first
/// character, then Rust's `f64` syntax (`1`, `1.`, `-3.5e-2`, `inf`, `NaN`).
pub(crate) fn parse_number(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let mut chars = t.chars();
    let first = chars.next().ok_or("expected a number")?;
    let parsed = if t[first.len_utf8()..].contains('_') {
        let clean: String = std::iter::once(first).chain(chars.filter(|&c| c != '_')).collect();
        clean.parse::<f64>()
    } else {
        t.parse::<f64>()
    };
    parsed.map_err(|_| format!("'{t}' is not a number"))
}

fn parse_int(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let clean: String = t.chars().filter(|&c| c != '_').collect();
    if t.starts_with('_') || clean.is_empty() {
        return Err(format!("'{t}' is not an integer"));
    }
    clean.parse::<i64>().map_err(|_| format!("'{t}' is not an integer"))
}

fn parse_uuid(text: &str) -> Result<Uuid, String> {
    Uuid::parse_str(text.trim()).map_err(|_| format!("'{}' is not a uuid", text.trim()))
}

fn expect_empty(kind: Kind, payload: &str) -> Result<(), String> {
    if payload.is_empty() {
        Ok(())
    } else {
        Err(format!("{} takes no payload, found '{payload}'", kind.name()))
    }
}

fn required_shape(kind: Kind, shape: Option<&Shape>) -> Result<Shape, String> {
    shape
        .map(|s| Shape::from_slice(s))
        .ok_or_else(|| format!("{} needs its shape, e.g. `[2,3]`, before the kind", kind.name()))
}

fn resolve_tensor(prefix: &str, opts: &ParseOptions) -> Result<Tensor, String> {
    let store = opts.store();
    store.load_prefix(prefix).map_err(|e| format!("tensor t{prefix}: {e}"))
}

/// Parses an index string `[0, 1:3, :, t1a2b3c [6]]`.
pub(crate) fn parse_index(text: &str, opts: &ParseOptions) -> Result<Vec<TensorAxisIndex>, String> {
    let t = text.trim();
    let inner = t
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .ok_or_else(|| format!("expected an index like `[0,1:3,:]`, found '{t}'"))?;
    let mut out = Vec::new();
    for entry in inner.split(',') {
        let e = entry.trim();
        if e.is_empty() {
            continue;
        }
        if let Some(rest) = e.strip_prefix('t') {
            let prefix: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
            if prefix.is_empty() {
                return Err(format!("expected a tensor hash prefix after 't' in '{e}'"));
            }
            let tensor = resolve_tensor(&prefix, opts)?;
            let it = IndexTensor::new(tensor).map_err(|e| e.to_string())?;
            out.push(TensorAxisIndex::Tensor(it));
        } else if let Some((a, b)) = e.split_once(':') {
            let start = if a.trim().is_empty() { None } else { Some(parse_int(a)?) };
            let stop = if b.trim().is_empty() { None } else { Some(parse_int(b)?) };
            out.push(TensorAxisIndex::Slice(Slice { start, stop }));
        } else {
            out.push(TensorAxisIndex::Int(parse_int(e)?));
        }
    }
    Ok(out)
}

fn parse_array(
    payload: &str,
    shape: Option<&Shape>,
    opts: &ParseOptions,
    seeds: &Cell<u64>,
) -> Result<Op, String> {
    let random = payload == "rand"
        || (opts.tensors_as_random && (payload.is_empty() || opts.allow_hash_with_random));
    if opts.tensors_as_random
        && !payload.is_empty()
        && payload != "rand"
        && !opts.allow_hash_with_random
    {
        return Err(
            "with tensors_as_random, Array payloads must be empty (or set allow_hash_with_random)"
                .into(),
        );
    }
    if random {
        let shape = required_shape(Kind::Array, shape)?;
        let dims: Vec<usize> = shape.to_vec();
        circuit_tensor::check_alloc(&dims, DType::F32, opts.max_tensor_bytes)
            .map_err(|e| e.to_string())?;
        let n = seeds.get();
        seeds.set(n + 1);
        let seed = opts.random_seed_for(n);
        let t = Tensor::randn(&dims, DType::F32, seed).map_err(|e| e.to_string())?;
        return Ok(Op::Array(Array::from_tensor(t)));
    }
    if payload.is_empty() {
        return Err("Array needs a tensor hash prefix (or `rand`)".into());
    }
    if !payload.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("'{payload}' is not a tensor hash prefix"));
    }
    let store = opts.store();
    let hash = store.resolve_prefix(payload).map_err(|e| e.to_string())?;
    let (dims, dtype) = store.header(&hash).map_err(|e| e.to_string())?;
    let shape: Shape = dims.into_iter().collect();
    Ok(Op::Array(Array::lazy(hash, shape, dtype, Arc::new(StoreLoader(store)))))
}

fn parse_conv(payload: &str) -> Result<Op, String> {
    // `stride=[1,1] padding=[0:0,1:1]`
    let bad = || format!("expected `stride=[..] padding=[lo:hi,..]`, found '{payload}'");
    let mut stride = None;
    let mut padding = None;
    for part in payload.split_whitespace() {
        if let Some(v) = part.strip_prefix("stride=") {
            let inner = v.strip_prefix('[').and_then(|v| v.strip_suffix(']')).ok_or_else(bad)?;
            let s: Result<Vec<usize>, _> = inner
                .split(',')
                .filter(|x| !x.is_empty())
                .map(|x| x.trim().parse::<usize>())
                .collect();
            stride = Some(s.map_err(|_| bad())?);
        } else if let Some(v) = part.strip_prefix("padding=") {
            let inner = v.strip_prefix('[').and_then(|v| v.strip_suffix(']')).ok_or_else(bad)?;
            let mut pads = Vec::new();
            for p in inner.split(',').filter(|x| !x.is_empty()) {
                let (a, b) = p.split_once(':').ok_or_else(bad)?;
                pads.push((
                    a.trim().parse::<usize>().map_err(|_| bad())?,
                    b.trim().parse::<usize>().map_err(|_| bad())?,
                ));
            }
            padding = Some(pads);
        } else {
            return Err(bad());
        }
    }
    Ok(Op::Conv(Conv { stride: stride.ok_or_else(bad)?, padding: padding.ok_or_else(bad)? }))
}

/// Builds the payload of a node (everything but Module, which the parser assembles).
pub(crate) fn parse_op(
    kind: Kind,
    payload: &str,
    shape: Option<&Shape>,
    children: &[Circuit],
    opts: &ParseOptions,
    seeds: &Cell<u64>,
) -> Result<Op, String> {
    Ok(match kind {
        Kind::Scalar => {
            let shape = required_shape(kind, shape)?;
            Op::Scalar(Scalar { value: parse_number(payload)?, shape })
        }
        Kind::Array => parse_array(payload, shape, opts, seeds)?,
        Kind::Symbol => {
            let shape = required_shape(kind, shape)?;
            let uuid = match payload {
                "" => Uuid::nil(),
                "rand" => Uuid::new_v4(),
                p => parse_uuid(p)?,
            };
            Op::Symbol(Symbol { shape, uuid })
        }
        Kind::Einsum => {
            let mut e = match payload.strip_prefix("fancy:") {
                Some(words) => Einsum::parse_fancy(words),
                None => Einsum::parse(payload),
            }
            .map_err(|e| e.to_string())?;
            if e.in_axes.is_empty() && children.len() == 1 {
                e.in_axes.push(Default::default());
            }
            Op::Einsum(e)
        }
        Kind::Add => {
            expect_empty(kind, payload)?;
            Op::Add
        }
        Kind::Rearrange => Op::Rearrange(Rearrange {
            spec: RearrangeSpec::parse(payload).map_err(|e| e.to_string())?,
        }),
        Kind::Index => Op::Index(Index { index: parse_index(payload, opts)? }),
        Kind::Scatter => {
            let shape = required_shape(kind, shape)?;
            Op::Scatter(Scatter { index: parse_index(payload, opts)?, shape })
        }
        Kind::Concat => {
            let axis = parse_int(payload)?;
            let rank = children.first().map_or(0, Circuit::rank);
            Op::Concat(Concat {
                axis: Concat::resolve_axis(axis, rank, "concat").map_err(|e| e.to_string())?,
            })
        }
        Kind::GeneralFunction => Op::GeneralFunction(GeneralFunction {
            spec: GfSpec::parse(payload).map_err(|e| e.to_string())?,
        }),
        Kind::Conv => parse_conv(payload)?,
        Kind::SetSymbolicShape => {
            expect_empty(kind, payload)?;
            Op::SetSymbolicShape(SetSymbolicShape { shape: required_shape(kind, shape)? })
        }
        Kind::Tag => Op::Tag(Tag { uuid: parse_uuid(payload)? }),
        Kind::DiscreteVar => {
            expect_empty(kind, payload)?;
            Op::DiscreteVar
        }
        Kind::Cumulant => {
            expect_empty(kind, payload)?;
            Op::Cumulant
        }
        Kind::StoredCumulantVar => {
            let (orders, uuid) = payload
                .split_once('|')
                .ok_or_else(|| format!("expected `1, 2|<uuid>`, found '{payload}'"))?;
            let orders: Vec<usize> = orders
                .split(',')
                .map(|o| {
                    o.trim()
                        .parse::<usize>()
                        .map_err(|_| format!("'{}' is not a cumulant order", o.trim()))
                })
                .collect::<Result<_, _>>()?;
            Op::StoredCumulantVar(StoredCumulantVar { orders, uuid: parse_uuid(uuid)? })
        }
        Kind::Module => return Err("internal: modules are assembled by the parser".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("1_000.5").unwrap(), 1000.5);
        assert_eq!(parse_number("1.").unwrap(), 1.0);
        assert!(parse_number("-0.0").unwrap().is_sign_negative());
        assert!(parse_number("1d").is_err());
        assert!(parse_number("").is_err());
        assert!(parse_number("NaN").unwrap().is_nan());
    }

    #[test]
    fn index_strings() {
        let opts = ParseOptions::default();
        let idx = parse_index("[0:5, -1, :, 1:]", &opts).unwrap();
        assert_eq!(idx.len(), 4);
        assert!(parse_index("a[:3,:6]", &opts).is_err());
        assert_eq!(parse_index("[]", &opts).unwrap().len(), 0);
    }
}
