//! Tests for the content-addressed store.

use super::*;
use crate::test_util::{data_file, TempDir};

fn t(values: &[i64]) -> Tensor {
    Tensor::from_vec(&[values.len()], values.to_vec()).unwrap()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn save_load_round_trip_and_hash_matches() {
    let tmp = TempDir::new("store");
    let store = TensorStore::open(tmp.path().join("nested/store"));
    assert!(!store.dir().exists(), "open must not create the directory");
    assert_eq!(store.list().unwrap(), vec![]);
    for dtype in DType::ALL {
        for shape in [&[][..], &[0, 2][..], &[2, 3][..]] {
            let x = Tensor::full(shape, 3.0, dtype);
            let h = store.save(&x).unwrap();
            assert_eq!(h, x.hash());
            assert!(store.contains(&h));
            let path = store.path_of(&h);
            // The stored file is a plain .npy whose content hash is the file name.
            assert_eq!(crate::read_npy(&path).unwrap().hash(), h);
            let back = store.load(&h).unwrap();
            assert!(back.content_eq(&x));
            assert_eq!(back.hash(), h);
            assert_eq!(store.header(&h).unwrap(), (shape.to_vec(), dtype));
        }
    }
    assert_eq!(store.list().unwrap().len(), DType::ALL.len() * 3);
}

#[test]
fn saving_twice_is_a_no_op_and_leaves_no_temp_files() {
    let tmp = TempDir::new("store");
    let store = TensorStore::open(tmp.path());
    let x = t(&[1, 2, 3]);
    let h = store.save(&x).unwrap();
    let mtime = fs::metadata(store.path_of(&h)).unwrap().modified().unwrap();
    assert_eq!(store.save(&x).unwrap(), h);
    assert_eq!(fs::metadata(store.path_of(&h)).unwrap().modified().unwrap(), mtime);
    store.save(&t(&[4])).unwrap();
    let names = files_in(tmp.path());
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().all(|n| stored_hex(n).is_some()), "{names:?}");
}

#[test]
fn reads_a_numpy_written_store_entry() {
    // Written by numpy.save; the name is rust_circuit's hash of torch.tensor([1,2,3,3,2,1]).
    let store = TensorStore::open(data_file("store"));
    let x = store.load_prefix("292D9F").unwrap();
    assert_eq!(x.to_i64_vec(), vec![1, 2, 3, 3, 2, 1]);
    assert_eq!(x.hash(), t(&[1, 2, 3, 3, 2, 1]).hash());
}

/// Saves `n` small distinct tensors and returns their hashes.
fn populate(store: &TensorStore, n: i64) -> Vec<TensorHash> {
    (0..n).map(|i| store.save(&t(&[i])).unwrap()).collect()
}

#[test]
fn prefix_lookup_unique_ambiguous_missing() {
    let tmp = TempDir::new("store");
    let store = TensorStore::open(tmp.path());
    let hashes = populate(&store, 40);
    // Noise the scanner must ignore.
    fs::write(tmp.path().join("README.txt"), "x").unwrap();
    fs::write(tmp.path().join(format!("{}.npy.bak", hashes[0])), "x").unwrap();
    fs::write(tmp.path().join(format!("{}.npy", hashes[0].to_hex().to_uppercase())), "x").unwrap();
    fs::create_dir(tmp.path().join("sub")).unwrap();
    assert_eq!(store.list().unwrap().len(), 40);

    for h in &hashes {
        assert_eq!(store.resolve_prefix(&h.to_hex()).unwrap(), *h);
        assert_eq!(store.resolve_prefix(&h.prefix(12).to_uppercase()).unwrap(), *h);
    }
    // 40 hashes over 16 first digits: some digit is shared.
    let digit = (0..16)
        .map(|d| char::from_digit(d, 16).unwrap())
        .find(|&c| hashes.iter().filter(|h| h.to_hex().starts_with(c)).count() > 1)
        .unwrap();
    match store.resolve_prefix(&digit.to_string()) {
        Err(TensorError::AmbiguousPrefix { candidates, count, .. }) => {
            assert!(count > 1 && candidates.len() == count.min(MAX_CANDIDATES));
            assert!(candidates.windows(2).all(|w| w[0] < w[1]));
            assert!(candidates.iter().all(|c| c.starts_with(digit)));
        }
        other => panic!("expected ambiguity, got {other:?}"),
    }
    // A prefix no hash has: extend some hash's first 10 digits with a differing digit.
    let h = hashes[0].to_hex();
    let missing = format!("{}{}", &h[..10], if &h[10..11] == "0" { "1" } else { "0" });
    if !hashes.iter().any(|x| x.to_hex().starts_with(&missing)) {
        assert!(matches!(store.resolve_prefix(&missing), Err(TensorError::NotFound { .. })));
    }
    let absent = Tensor::scalar(0.5f64).hash();
    assert!(matches!(store.resolve_prefix(&absent.to_hex()), Err(TensorError::NotFound { .. })));
    for bad in ["", "xyz", "12 3", &"a".repeat(65)] {
        assert!(matches!(store.resolve_prefix(bad), Err(TensorError::InvalidHash(_))), "{bad:?}");
    }
    let empty = TensorStore::open(tmp.path().join("does-not-exist"));
    assert!(matches!(empty.resolve_prefix("ab"), Err(TensorError::NotFound { .. })));
}

#[test]
fn flipped_byte_is_reported_as_corrupt() {
    let tmp = TempDir::new("store");
    let store = TensorStore::open(tmp.path());
    let x = Tensor::from_vec(&[2, 2], vec![1.0f32, 2.0, 3.0, 4.0]).unwrap();
    let h = store.save(&x).unwrap();
    let path = store.path_of(&h);
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    fs::write(&path, &bytes).unwrap();
    match store.load(&h) {
        Err(TensorError::Corrupt { expected, actual, path: p }) => {
            assert_eq!((expected, p), (h, path.clone()));
            assert_ne!(actual, h);
        }
        other => panic!("expected corruption, got {other:?}"),
    }
    // A flipped shape digit in the header is caught too (different hash or bad header).
    bytes[last] ^= 0x01;
    let pos = bytes.windows(6).position(|w| w == b"(2, 2)").unwrap();
    bytes[pos + 1] = b'1';
    fs::write(&path, &bytes).unwrap();
    assert!(store.load(&h).is_err());
}

#[test]
fn corrupt_bool_bytes_are_detected() {
    let tmp = TempDir::new("store");
    let store = TensorStore::open(tmp.path());
    let h = store.save(&Tensor::from_vec(&[2], vec![true, false]).unwrap()).unwrap();
    let path = store.path_of(&h);
    let mut bytes = fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 2] = 7; // still "true" when decoded, but not what was stored
    fs::write(&path, &bytes).unwrap();
    assert!(matches!(store.load(&h), Err(TensorError::Corrupt { .. })));
}

#[test]
fn truncated_file_is_an_error() {
    let tmp = TempDir::new("store");
    let store = TensorStore::open(tmp.path());
    let h = store.save(&t(&[1, 2, 3, 4])).unwrap();
    let path = store.path_of(&h);
    let bytes = fs::read(&path).unwrap();
    for cut in [1, 8, bytes.len() - 5, bytes.len()] {
        fs::write(&path, &bytes[..bytes.len() - cut]).unwrap();
        let err = store.load(&h).unwrap_err();
        assert!(matches!(err, TensorError::Format { .. }), "cut {cut}: {err}");
    }
}

#[test]
fn loading_an_absent_hash_is_an_io_error() {
    let tmp = TempDir::new("store");
    let store = TensorStore::open(tmp.path());
    let h = t(&[9]).hash();
    assert!(!store.contains(&h));
    assert!(matches!(store.load(&h), Err(TensorError::Io { .. })));
    assert!(matches!(store.header(&h), Err(TensorError::Io { .. })));
}

#[test]
fn directory_from_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| OsString::from(v))
    };
    assert_eq!(
        dir_from_env(env(&[
            ("CIRCUIT_TENSOR_DIR", "/t"),
            ("XDG_CACHE_HOME", "/c"),
            ("HOME", "/h")
        ])),
        PathBuf::from("/t")
    );
    assert_eq!(
        dir_from_env(env(&[("CIRCUIT_TENSOR_DIR", ""), ("XDG_CACHE_HOME", "/c"), ("HOME", "/h")])),
        PathBuf::from("/c/circuit/tensors")
    );
    assert_eq!(
        dir_from_env(env(&[("XDG_CACHE_HOME", "relative"), ("HOME", "/h")])),
        PathBuf::from("/h/.cache/circuit/tensors")
    );
    assert_eq!(dir_from_env(env(&[])), PathBuf::from(".circuit-tensors"));
}

#[test]
fn stored_name_filter() {
    let hex = "a".repeat(64);
    assert_eq!(stored_hex(&format!("{hex}.npy")), Some(hex.as_str()));
    assert_eq!(stored_hex(&format!("{}.npy", "A".repeat(64))), None);
    assert_eq!(stored_hex(&format!("{}.npy", "a".repeat(63))), None);
    assert_eq!(stored_hex(&format!(".{}.tmp", "a".repeat(16))), None);
    assert_eq!(stored_hex(&hex), None);
}
