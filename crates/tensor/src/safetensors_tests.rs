//! Tests for safetensors I/O, including a file written by the reference `safetensors`
//! library (see `tests/data/gen_safetensors.py`).

use half::{bf16, f16};

use super::*;
use crate::test_util::{data_file, TempDir};

#[test]
fn reads_the_reference_file_in_file_order() {
    let path = data_file("reference.safetensors");
    let tensors = read_safetensors(&path).unwrap();
    let names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["ids", "scalar", "weight", "empty", "bias", "short", "small", "bytes", "mask"]
    );
    let get = |name: &str| tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t.clone()).unwrap();
    let w = get("weight");
    assert_eq!((w.shape(), w.dtype()), (&[2, 3][..], DType::F32));
    assert_eq!(w.to_f64_vec(), vec![-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]);
    assert_eq!(get("bias").to_f64_vec(), vec![0.5, -1.0]);
    assert_eq!(get("bias").dtype(), DType::F16);
    assert_eq!(get("ids").to_i64_vec(), vec![1, -2, 3, 1 << 40]);
    assert_eq!(get("mask").to_i64_vec(), vec![1, 0, 1]);
    assert_eq!((get("scalar").shape(), get("scalar").to_f64_vec()), (&[][..], vec![2.25]));
    assert_eq!(get("bytes").to_i64_vec(), vec![0, 255]);
    assert_eq!(get("empty").shape(), &[0, 4]);
    assert_eq!(get("small").to_i64_vec(), vec![-3, 4]);
    assert_eq!(get("short").to_i64_vec(), vec![-300, 300]);

    let one = read_safetensors_tensor(&path, "ids").unwrap();
    assert!(one.content_eq(&get("ids")));
    assert!(matches!(
        read_safetensors_tensor(&path, "nope"),
        Err(TensorError::NoSuchTensor { .. })
    ));

    let header = read_safetensors_header(&path).unwrap();
    assert_eq!(header.tensors[0], ("ids".to_string(), vec![2, 2], DType::I64));
    assert_eq!(header.metadata.get("format").map(String::as_str), Some("np"));
}

#[test]
fn rewriting_in_the_same_order_reproduces_the_reference_bytes() {
    let path = data_file("reference.safetensors");
    let expected = std::fs::read(&path).unwrap();
    let tensors = read_safetensors(&path).unwrap();
    let refs: Vec<(&str, &Tensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let metadata = read_safetensors_header(&path).unwrap().metadata;
    assert_eq!(to_safetensors_bytes(&refs, &metadata).unwrap(), expected);
}

#[test]
fn round_trips_every_dtype() {
    let tmp = TempDir::new("st");
    let mut owned = Vec::new();
    for dtype in DType::ALL {
        owned.push((format!("{dtype}_2x3"), Tensor::full(&[2, 3], 1.5, dtype)));
        owned.push((format!("{dtype}_scalar"), Tensor::full(&[], -2.0, dtype)));
        owned.push((format!("{dtype}_empty"), Tensor::full(&[3, 0], 0.0, dtype)));
    }
    owned.push(("bf16".into(), Tensor::from_vec(&[1], vec![bf16::from_f32(0.1)]).unwrap()));
    owned.push(("f16".into(), Tensor::from_vec(&[1], vec![f16::from_f32(0.1)]).unwrap()));
    owned.push(("quote\"and\\slash ü".into(), Tensor::scalar(7i32)));
    let refs: Vec<(&String, &Tensor)> = owned.iter().map(|(n, t)| (n, t)).collect();
    let path = tmp.path().join("x.safetensors");
    write_safetensors(&path, &refs).unwrap();
    let back = read_safetensors(&path).unwrap();
    assert_eq!(back.len(), owned.len());
    // Zero-size tensors share offsets with their neighbours, so compare by name.
    for (name, t) in &owned {
        let (_, b) = back.iter().find(|(n, _)| n == name).unwrap();
        assert!(b.content_eq(t), "{name}");
        assert!(read_safetensors_tensor(&path, name).unwrap().content_eq(t));
    }
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(u64::from_le_bytes(bytes[..8].try_into().unwrap()) % 8, 0);
    assert_eq!(read_safetensors_bytes(&bytes, "mem").unwrap().len(), owned.len());
}

#[test]
fn rejects_bad_names() {
    let t = Tensor::scalar(1.0f32);
    let dup = to_safetensors_bytes(&[("a", &t), ("a", &t)], &BTreeMap::new());
    assert!(matches!(dup, Err(TensorError::InvalidTensorName { .. })));
    let reserved = to_safetensors_bytes(&[("__metadata__", &t)], &BTreeMap::new());
    assert!(matches!(reserved, Err(TensorError::InvalidTensorName { .. })));
}

/// A file with the given JSON header and data buffer.
fn handmade(json: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(json.as_bytes());
    out.extend_from_slice(data);
    out
}

fn format_error(bytes: &[u8]) -> String {
    match read_safetensors_bytes(bytes, "test.safetensors") {
        Err(TensorError::Format { msg, .. }) => msg,
        other => panic!("expected a format error, got {other:?}"),
    }
}

#[test]
fn validates_offsets_and_sizes() {
    let d = [0u8; 16];
    let cases = [
        (r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, "needs 8 bytes"),
        (r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}"#, "truncated"),
        (r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, "before begin"),
        (
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
            "overlap",
        ),
        (r#"{"a":{"dtype":"U16","shape":[2],"data_offsets":[0,4]}}"#, "unsupported dtype"),
        (r#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, "shape"),
        (r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#, "data_offsets"),
        (r#"{"a":{"dtype":"F32","data_offsets":[0,8]}}"#, "no 'shape'"),
        (
            r#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296,4294967296,4294967296],"data_offsets":[0,8]}}"#,
            "too many",
        ),
        (r#"{"__metadata__":[1]}"#, "__metadata__"),
        (r#"[1, 2]"#, "not a JSON object"),
        (r#"{"a": "#, "invalid JSON"),
    ];
    for (json, needle) in cases {
        let msg = format_error(&handmade(json, &d));
        assert!(msg.contains(needle), "{json}: {msg}");
    }
    assert!(format_error(&[1, 2, 3]).contains("truncated"));
    assert!(format_error(&u64::MAX.to_le_bytes()).contains("exceeds"));
    assert!(format_error(&100u64.to_le_bytes()).contains("truncated"));
    // Holes are tolerated: tensor at offset 8 with 8 unused bytes before it.
    let ok = handmade(r#"{"a":{"dtype":"I32","shape":[2],"data_offsets":[8,16]}}"#, &[9; 16]);
    let t = read_safetensors_bytes(&ok, "x").unwrap();
    assert_eq!(t[0].1.to_i64_vec(), vec![0x0909_0909, 0x0909_0909]);
}

#[test]
fn truncated_reference_file_is_an_error() {
    let bytes = std::fs::read(data_file("reference.safetensors")).unwrap();
    for cut in [1, 10, bytes.len() - 9, bytes.len() - 4] {
        let err = read_safetensors_bytes(&bytes[..bytes.len() - cut], "cut").unwrap_err();
        assert!(matches!(err, TensorError::Format { .. }), "{cut}: {err}");
    }
}
