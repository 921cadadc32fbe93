//! Parsing GeneralFunction spec strings (`gen_index_at_-1_batch_x_c`, `cast_from_…`, ...).

use circuit_tensor::DType;

use crate::kinds::general_function::{DeviceDtype, GfSpec, SimpleFn};
use crate::{IrError, Result, Shape};

fn unknown(text: &str) -> IrError {
    IrError::UnknownGeneralFunction(text.to_string())
}

pub(crate) fn parse(text: &str) -> Result<GfSpec> {
    if let Some(f) = SimpleFn::ALL.iter().find(|f| f.name() == text) {
        return Ok(GfSpec::Simple(*f));
    }
    if text == "pow" {
        return Ok(GfSpec::Pow);
    }
    if let Some(rest) = text.strip_prefix("gen_index_at_") {
        return parse_gen_index(text, rest);
    }
    if let Some(rest) = text.strip_prefix("explicit_index_at_") {
        let (rest, check) = match rest.strip_suffix("_c") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let (dim, n) = rest.split_once("_x_non_b_").ok_or_else(|| unknown(text))?;
        return Ok(GfSpec::ExplicitIndex {
            index_dim: dim.parse().map_err(|_| unknown(text))?,
            x_non_batch_dims: n.parse().map_err(|_| unknown(text))?,
            check_index_ints: check,
        });
    }
    if let Some(rest) = text.strip_prefix("cast_from_") {
        let (from, to) = rest.split_once("_to_").ok_or_else(|| unknown(text))?;
        return Ok(GfSpec::Cast {
            from: parse_device_dtype(text, from)?,
            to: parse_device_dtype(text, to)?,
        });
    }
    if let Some(rest) = text.strip_prefix("multinomial") {
        let (rest, replacement) = match rest.strip_prefix("_no_replace") {
            Some(r) => (r, false),
            None => (rest, true),
        };
        let dims = rest
            .strip_prefix("_[")
            .and_then(|r| r.strip_suffix(']'))
            .ok_or_else(|| unknown(text))?;
        let shape: Shape = if dims.trim().is_empty() {
            Shape::new()
        } else {
            dims.split(',')
                .map(|d| d.trim().parse::<usize>().map_err(|_| unknown(text)))
                .collect::<Result<_>>()?
        };
        return Ok(GfSpec::Multinomial { replacement, shape });
    }
    if text.contains(" at ") {
        return Err(IrError::UnknownGeneralFunction(format!(
            "{text} (a Python GeneralFunction spec; circuit has no Python, so only built-in functions are available)"
        )));
    }
    Err(unknown(text))
}

fn parse_gen_index(text: &str, rest: &str) -> Result<GfSpec> {
    let mut rest = rest;
    let check = match rest.strip_suffix("_c") {
        Some(r) => {
            rest = r;
            true
        }
        None => false,
    };
    let batch_index = match rest.strip_suffix("_no_batch_index") {
        Some(r) => {
            rest = r;
            false
        }
        None => true,
    };
    let batch_x = match rest.strip_suffix("_batch_x") {
        Some(r) => {
            rest = r;
            true
        }
        None => false,
    };
    let index_dim: i64 = rest.parse().map_err(|_| unknown(text))?;
    Ok(GfSpec::GenIndex { index_dim, batch_x, batch_index, check_index_ints: check })
}

fn parse_device_dtype(text: &str, part: &str) -> Result<DeviceDtype> {
    let inner =
        part.strip_prefix('{').and_then(|p| p.strip_suffix('}')).ok_or_else(|| unknown(text))?;
    let (dev, ty) = inner.split_once(',').ok_or_else(|| unknown(text))?;
    let dev = dev.trim().strip_prefix("device:").ok_or_else(|| unknown(text))?.trim();
    let ty = ty.trim().strip_prefix("dtype:").ok_or_else(|| unknown(text))?.trim();
    let device = (dev != "None").then(|| dev.to_string());
    let dtype =
        if ty == "None" { None } else { Some(DType::from_name(ty).map_err(|_| unknown(text))?) };
    Ok(DeviceDtype { device, dtype })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for s in [
            "sigmoid",
            "log_exp_p_1",
            "gen_index_at_0_batch_x_c",
            "gen_index_at_-1_batch_x_no_batch_index_c",
            "gen_index_at_2",
            "explicit_index_at_0_x_non_b_2_c",
            "cast_from_{device:cpu,dtype:None}_to_{device:None,dtype:float32}",
            "cast_from_{device:cuda:0,dtype:None}_to_{device:None,dtype:float32}",
            "pow",
            "multinomial_no_replace_[3, 4]",
            "multinomial_[]",
        ] {
            assert_eq!(parse(s).unwrap().name(), s);
        }
        assert!(parse("nope").is_err());
        assert!(parse("MyFn at my.module:Class").is_err());
    }
}
