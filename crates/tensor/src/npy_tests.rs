//! Tests for `.npy` I/O, including interop with files written by NumPy (see
//! `tests/data/gen_npy.py`).

use half::{bf16, f16};
use proptest::prelude::*;

use super::*;
use crate::test_util::{data_file, TempDir};

fn read_ref(name: &str) -> Tensor {
    read_npy(&data_file(name)).unwrap()
}

#[test]
fn reads_numpy_reference_files() {
    let t = read_ref("f4_2x3.npy");
    assert_eq!((t.shape(), t.dtype()), (&[2, 3][..], DType::F32));
    assert_eq!(t.to_f64_vec(), vec![-1.0, -0.5, 0.0, 0.5, 1.0, 1.5]);

    let t = read_ref("f2_4.npy");
    assert_eq!(t.dtype(), DType::F16);
    assert_eq!(t.to_f64_vec(), vec![0.5, -1.0, 65504.0, f64::INFINITY]);

    let t = read_ref("f8_scalar.npy");
    assert_eq!((t.shape(), t.to_f64_vec()), (&[][..], vec![3.5]));

    let t = read_ref("f4_empty_0x3.npy");
    assert_eq!((t.shape(), t.numel()), (&[0, 3][..], 0));

    assert_eq!(read_ref("i1_4.npy").to_i64_vec(), vec![-128, -1, 0, 127]);
    assert_eq!(read_ref("i2_3.npy").to_i64_vec(), vec![-32768, 1, 32767]);
    assert_eq!(read_ref("i8_3.npy").to_i64_vec(), vec![-(1 << 62), 0, (1 << 62) + 5]);
    assert_eq!(read_ref("u1_5.npy").to_i64_vec(), vec![0, 1, 127, 128, 255]);
    let t = read_ref("b1_1x3.npy");
    assert_eq!((t.shape(), t.dtype()), (&[1, 3][..], DType::Bool));
    assert_eq!(t.to_i64_vec(), vec![1, 0, 1]);
}

#[test]
fn reads_fortran_order_as_c_order() {
    let t = read_ref("f8_fortran_3x4.npy");
    assert_eq!(t.shape(), &[3, 4]);
    assert_eq!(t.to_f64_vec(), (0..12).map(f64::from).collect::<Vec<_>>());
    let t = read_ref("i2_fortran_2x3x4.npy");
    assert_eq!((t.shape(), t.dtype()), (&[2, 3, 4][..], DType::I16));
    assert_eq!(t.to_i64_vec(), (0..24).collect::<Vec<_>>());
    assert!(t.as_array::<i16>().unwrap().is_standard_layout());
    let header = read_npy_header(&data_file("i2_fortran_2x3x4.npy")).unwrap();
    assert!(header.fortran_order);
}

#[test]
fn reads_big_endian() {
    let t = read_ref("i4_be_4.npy");
    assert_eq!((t.dtype(), t.to_i64_vec()), (DType::I32, vec![1, -2, 3, 70000]));
    let t = read_ref("f8_be_2x2.npy");
    let v = t.to_f64_vec();
    assert_eq!(&v[..3], &[1.5, -2.25, 1e300]);
    assert!(v[3] == 0.0 && v[3].is_sign_negative());
    // Hash is defined on little-endian bytes, whatever the file's byte order.
    let le = Tensor::from_vec(&[4], vec![1i32, -2, 3, 70000]).unwrap();
    assert_eq!(read_ref("i4_be_4.npy").hash(), le.hash());
}

#[test]
fn reads_versions_2_and_3() {
    assert_eq!(read_ref("i2_v2_3.npy").to_i64_vec(), vec![7, -8, 9]);
    assert_eq!(read_ref("f4_v3_2.npy").to_f64_vec(), vec![0.25, -4.0]);
}

#[test]
fn writes_the_same_bytes_as_numpy_save() {
    for name in [
        "f4_2x3.npy",
        "f2_4.npy",
        "f8_scalar.npy",
        "f4_empty_0x3.npy",
        "i1_4.npy",
        "i2_3.npy",
        "i8_3.npy",
        "u1_5.npy",
        "b1_1x3.npy",
    ] {
        let expected = std::fs::read(data_file(name)).unwrap();
        let t = read_npy_bytes(&expected, name).unwrap();
        assert_eq!(to_npy_bytes(&t), expected, "{name}");
    }
    // Re-saving a Fortran-order or big-endian input gives the plain C-order LE file.
    let t = read_ref("f8_fortran_3x4.npy");
    let back = read_npy_bytes(&to_npy_bytes(&t), "x").unwrap();
    assert!(back.content_eq(&t));
}

#[test]
fn header_only_read() {
    let h = read_npy_header(&data_file("f4_2x3.npy")).unwrap();
    assert_eq!(
        h,
        NpyHeader { shape: vec![2, 3], dtype: DType::F32, fortran_order: false, data_offset: 128 }
    );
    let h = read_npy_header(&data_file("i2_v2_3.npy")).unwrap();
    assert_eq!((h.shape, h.dtype, h.data_offset % 64), (vec![3], DType::I16, 0));
}

fn sample(dtype: DType, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let values: Vec<f64> = (0..n).map(|i| (i as f64) * 1.5 - 3.0).collect();
    Tensor::from_vec(shape, values).unwrap().cast(dtype)
}

#[test]
fn round_trips_every_dtype_through_a_file() {
    let dir = TempDir::new("npy");
    for dtype in DType::ALL {
        for shape in [&[][..], &[0][..], &[3][..], &[2, 0, 4][..], &[2, 3, 4][..]] {
            let t = sample(dtype, shape);
            let path = dir.path().join(format!("{dtype}.npy"));
            write_npy(&path, &t).unwrap();
            let back = read_npy(&path).unwrap();
            assert!(back.content_eq(&t), "{dtype} {shape:?}");
            assert_eq!(back.hash(), t.hash());
            assert_eq!(std::fs::read(&path).unwrap(), to_npy_bytes(&t));
        }
    }
}

#[test]
fn bf16_is_stored_as_void2() {
    let t = Tensor::from_vec(&[2], vec![bf16::from_f32(1.5), bf16::from_f32(-2.0)]).unwrap();
    let bytes = to_npy_bytes(&t);
    let text = String::from_utf8_lossy(&bytes[10..60]).into_owned();
    assert!(text.contains("'descr': '<V2'"), "{text}");
    let back = read_npy_bytes(&bytes, "bf16").unwrap();
    assert_eq!(back.dtype(), DType::BF16);
    assert!(back.content_eq(&t));
}

#[test]
fn permuted_views_are_written_in_c_order() {
    let t = Tensor::from_vec(&[2, 3], vec![1i64, 2, 3, 4, 5, 6]).unwrap();
    let view = Tensor::new(TensorData::I64(t.as_array::<i64>().unwrap().clone().reversed_axes()));
    let back = read_npy_bytes(&to_npy_bytes(&view), "x").unwrap();
    assert_eq!(back.shape(), &[3, 2]);
    assert_eq!(back.to_i64_vec(), vec![1, 4, 2, 5, 3, 6]);
}

#[test]
fn very_high_rank_falls_back_to_version_2() {
    // 30 000 dims of 1 cannot fit a 65 535-byte header.
    let shape = vec![1usize; 30_000];
    let t = Tensor::full(&shape, 2.0, DType::F32);
    let bytes = to_npy_bytes(&t);
    assert_eq!(&bytes[6..8], &[2, 0]);
    let back = read_npy_bytes(&bytes, "x").unwrap();
    assert_eq!(back.shape().len(), 30_000);
    assert!(back.content_eq(&t));
}

/// A version-1.0 file with the given header dict text and data.
fn handmade(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(data);
    out
}

fn format_error(bytes: &[u8]) -> String {
    match read_npy_bytes(bytes, "test.npy") {
        Err(TensorError::Format { msg, .. }) => msg,
        other => panic!("expected a format error, got {other:?}"),
    }
}

#[test]
fn accepts_equivalent_header_spellings() {
    let data: Vec<u8> = [1i16, 2, 3, 4].iter().flat_map(|v| v.to_le_bytes()).collect();
    for dict in [
        "{'shape': (2, 2), 'fortran_order': False, 'descr': '<i2'}\n",
        "{\"descr\":\"<i2\",\"fortran_order\":False,\"shape\":[2,2]}",
        "{'descr': '=i2', 'fortran_order': False, 'shape': (2L, 2L), }   \n",
    ] {
        let t = read_npy_bytes(&handmade(dict, &data), "x").unwrap();
        assert_eq!(t.to_i64_vec(), vec![1, 2, 3, 4], "{dict}");
    }
}

#[test]
fn malformed_headers_are_format_errors() {
    let d = [0u8; 64];
    for dict in [
        "",
        "not a dict",
        "{'descr': '<f4', 'fortran_order': False}",
        "{'descr': '<f4', 'shape': (2,)}",
        "{'fortran_order': False, 'shape': (2,)}",
        "{'descr': '<c8', 'fortran_order': False, 'shape': (2,)}",
        "{'descr': '<u4', 'fortran_order': False, 'shape': (2,)}",
        "{'descr': '>V2', 'fortran_order': False, 'shape': (2,)}",
        "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}",
        "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': ('2',)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': 2}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,",
        "{1: '<f4'}",
    ] {
        let msg = format_error(&handmade(dict, &d));
        assert!(!msg.is_empty(), "{dict}");
    }
    assert!(format_error(b"\x93NUMPY").contains("truncated"));
    assert!(format_error(b"PK\x03\x04 zip file, not npy").contains("magic"));
    assert!(format_error(b"\x93NUMPY\x04\x00\x00\x00").contains("version"));
    // Header length claims more bytes than there are.
    assert!(format_error(b"\x93NUMPY\x01\x00\xff\x00{}").contains("truncated"));
}

#[test]
fn truncated_data_is_detected_before_allocating() {
    let full = std::fs::read(data_file("f4_2x3.npy")).unwrap();
    let msg = format_error(&full[..full.len() - 1]);
    assert!(msg.contains("truncated"), "{msg}");
    // A header promising 2^40 doubles in a file of a few bytes must not allocate 8 TiB.
    let huge =
        handmade("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,)}", &[0; 8]);
    assert!(format_error(&huge).contains("truncated"));
    let overflow = handmade(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551615, 18446744073709551615, 4)}",
        &[],
    );
    assert!(format_error(&overflow).contains("too large"));
}

#[test]
fn missing_file_is_an_io_error() {
    let err = read_npy(Path::new("/nonexistent/x.npy")).unwrap_err();
    assert!(matches!(err, TensorError::Io { .. }));
    assert!(err.to_string().contains("/nonexistent/x.npy"));
}

fn arb_tensor() -> impl Strategy<Value = Tensor> {
    (proptest::sample::select(DType::ALL.to_vec()), proptest::collection::vec(0usize..4, 0..4))
        .prop_flat_map(|(dtype, shape)| {
            let n: usize = shape.iter().product();
            proptest::collection::vec(any::<u8>(), n * dtype.size_in_bytes()).prop_map(
                move |mut bytes| {
                    if dtype == DType::Bool {
                        bytes.iter_mut().for_each(|b| *b &= 1);
                    }
                    Tensor::from_le_bytes(&shape, dtype, &bytes).unwrap()
                },
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn npy_round_trip(t in arb_tensor()) {
        let bytes = to_npy_bytes(&t);
        prop_assert_eq!(bytes.len() % 64, t.size_in_bytes() % 64);
        let back = read_npy_bytes(&bytes, "prop").unwrap();
        prop_assert_eq!(back.shape(), t.shape());
        prop_assert_eq!(back.dtype(), t.dtype());
        prop_assert_eq!(back.to_le_bytes(), t.to_le_bytes());
    }

    #[test]
    fn corrupted_files_never_panic(pos in 0usize..200, byte in any::<u8>(), cut in 0usize..200) {
        let mut bytes = std::fs::read(data_file("f4_2x3.npy")).unwrap();
        let len = bytes.len();
        bytes[pos % len] = byte;
        bytes.truncate(len - cut % len);
        let _ = read_npy_bytes(&bytes, "fuzz");
    }
}

#[test]
fn f16_values_survive() {
    let t = Tensor::from_vec(&[2], vec![f16::from_f32(0.1), f16::NAN]).unwrap();
    let back = read_npy_bytes(&to_npy_bytes(&t), "x").unwrap();
    assert_eq!(back.to_le_bytes(), t.to_le_bytes());
}
