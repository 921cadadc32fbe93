//! A content-addressed tensor store: a flat directory of `<64-hex-hash>.npy` files, named
//! by [`Tensor::hash`] (the rust_circuit tensor hash).
//!
//! Files are written to a temporary name in the same directory and renamed into place,
//! so readers never see a half-written file, and loads re-hash the data while reading
//! so a corrupted or truncated file is reported instead of silently used. Anything in
//! the directory not named `<64 lowercase hex>.npy` is ignored (temporary files included).

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, BufWriter, ErrorKind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::npy::{read_header, read_npy_from, write_npy_to};
use crate::{DType, Result, Tensor, TensorError, TensorHash, DEFAULT_MAX_TENSOR_BYTES};

/// Environment variable naming the store directory.
pub const TENSOR_DIR_ENV: &str = "CIRCUIT_TENSOR_DIR";

/// How many candidates an [`TensorError::AmbiguousPrefix`] error lists.
const MAX_CANDIDATES: usize = 8;

/// A directory of tensors named by content hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorStore {
    dir: PathBuf,
}

impl TensorStore {
    /// A store in `dir`. Nothing is created until the first [`TensorStore::save`].
    pub fn open(dir: impl Into<PathBuf>) -> TensorStore {
        TensorStore { dir: dir.into() }
    }

    /// The store named by the environment: `$CIRCUIT_TENSOR_DIR`, else
    /// `$XDG_CACHE_HOME/circuit/tensors`, else `$HOME/.cache/circuit/tensors`, else
    /// `./.circuit-tensors`. Empty variables count as unset.
    pub fn from_env() -> TensorStore {
        TensorStore::open(dir_from_env(|name| std::env::var_os(name)))
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path a tensor with this hash is (or would be) stored at.
    pub fn path_of(&self, hash: &TensorHash) -> PathBuf {
        self.dir.join(format!("{}.npy", hash.to_hex()))
    }

    /// Whether a tensor with this hash is stored.
    pub fn contains(&self, hash: &TensorHash) -> bool {
        self.path_of(hash).is_file()
    }

    /// Stores a tensor (a no-op if it is already present) and returns its hash.
    ///
    /// # Errors
    /// [`TensorError::Io`] if the directory or file cannot be written.
    pub fn save(&self, t: &Tensor) -> Result<TensorHash> {
        let hash = t.hash();
        let path = self.path_of(&hash);
        if path.is_file() {
            return Ok(hash);
        }
        fs::create_dir_all(&self.dir).map_err(TensorError::io(&self.dir))?;
        let (tmp_path, file) = self.create_temp(&hash)?;
        let written = write_file(file, t).map_err(TensorError::io(&tmp_path));
        // Renaming over an existing file is atomic on Unix; a concurrent writer of the same
        // hash wrote identical bytes, so whichever rename lands last is fine.
        let renamed =
            written.and_then(|()| fs::rename(&tmp_path, &path).map_err(TensorError::io(&path)));
        if let Err(e) = renamed {
            let _ = fs::remove_file(&tmp_path);
            // On platforms where rename refuses to replace, a racing writer may have won.
            if path.is_file() {
                return Ok(hash);
            }
            return Err(e);
        }
        Ok(hash)
    }

    /// Creates a fresh temporary file next to the final one. Its name starts with `.` and
    /// ends in `.tmp`, so listings and prefix lookups never mistake it for a stored tensor.
    fn create_temp(&self, hash: &TensorHash) -> Result<(PathBuf, File)> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let tmp = self.dir.join(format!(".{}.{}-{n}.tmp", hash.prefix(16), std::process::id()));
            match OpenOptions::new().write(true).create_new(true).open(&tmp) {
                Ok(f) => return Ok((tmp, f)),
                // Left over from a crashed process with a recycled pid: pick another name.
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(TensorError::Io { path: tmp, source: e }),
            }
        }
    }

    /// Resolves a hex prefix (1 to 64 digits, any case) to the one stored hash it starts.
    ///
    /// Scans the directory listing once; file contents are not read.
    ///
    /// # Errors
    /// [`TensorError::InvalidHash`] for an empty, over-long or non-hex prefix,
    /// [`TensorError::NotFound`] if nothing matches, [`TensorError::AmbiguousPrefix`] if
    /// several tensors match, [`TensorError::Io`] if the directory cannot be read.
    pub fn resolve_prefix(&self, prefix: &str) -> Result<TensorHash> {
        let lower = prefix.to_ascii_lowercase();
        if lower.is_empty() || lower.len() > 64 || !lower.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(TensorError::InvalidHash(prefix.to_string()));
        }
        let not_found =
            || TensorError::NotFound { prefix: prefix.to_string(), dir: self.dir.clone() };
        if lower.len() == 64 {
            let hash = TensorHash::from_hex(&lower)?;
            return if self.contains(&hash) { Ok(hash) } else { Err(not_found()) };
        }
        let mut matches: Vec<TensorHash> = Vec::new();
        self.scan(|hex| {
            if hex.starts_with(&lower) {
                if let Ok(h) = TensorHash::from_hex(hex) {
                    matches.push(h);
                }
            }
        })?;
        match matches.len() {
            0 => Err(not_found()),
            1 => Ok(matches[0]),
            count => {
                matches.sort_unstable();
                let candidates =
                    matches.iter().take(MAX_CANDIDATES).map(TensorHash::to_hex).collect();
                Err(TensorError::AmbiguousPrefix { prefix: prefix.to_string(), candidates, count })
            }
        }
    }

    /// Shape and dtype of a stored tensor, from the `.npy` header alone.
    ///
    /// # Errors
    /// [`TensorError::Io`] (e.g. not stored) or [`TensorError::Format`].
    pub fn header(&self, hash: &TensorHash) -> Result<(Vec<usize>, DType)> {
        let path = self.path_of(hash);
        let file = File::open(&path).map_err(TensorError::io(&path))?;
        let (header, _) = read_header(&mut BufReader::new(file), &path.display().to_string())?;
        Ok((header.shape, header.dtype))
    }

    /// Loads a stored tensor, verifying while reading that its contents hash to `hash`.
    ///
    /// # Errors
    /// [`TensorError::Corrupt`] if the contents do not match the hash,
    /// [`TensorError::Format`] for malformed or truncated files, [`TensorError::Io`]
    /// (e.g. not stored), [`TensorError::TooLarge`].
    pub fn load(&self, hash: &TensorHash) -> Result<Tensor> {
        let path = self.path_of(hash);
        let file = File::open(&path).map_err(TensorError::io(&path))?;
        let len = file.metadata().map_err(TensorError::io(&path))?.len();
        let source = path.display().to_string();
        let (t, actual) =
            read_npy_from(&mut BufReader::new(file), len, &source, DEFAULT_MAX_TENSOR_BYTES, true)?;
        let actual = actual.unwrap_or_else(|| t.hash());
        if actual != *hash {
            return Err(TensorError::Corrupt { path, expected: *hash, actual });
        }
        Ok(Tensor::with_known_hash(t.data().clone(), actual))
    }

    /// [`TensorStore::resolve_prefix`] followed by [`TensorStore::load`].
    ///
    /// # Errors
    /// As those two.
    pub fn load_prefix(&self, prefix: &str) -> Result<Tensor> {
        self.load(&self.resolve_prefix(prefix)?)
    }

    /// All stored hashes, sorted. A missing directory is an empty store.
    ///
    /// # Errors
    /// [`TensorError::Io`] if the directory exists but cannot be read.
    pub fn list(&self) -> Result<Vec<TensorHash>> {
        let mut out = Vec::new();
        self.scan(|hex| {
            if let Ok(h) = TensorHash::from_hex(hex) {
                out.push(h);
            }
        })?;
        out.sort_unstable();
        Ok(out)
    }

    /// Calls `f` with the hex part of every `<64 lowercase hex>.npy` file name.
    fn scan(&self, mut f: impl FnMut(&str)) -> Result<()> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(TensorError::Io { path: self.dir.clone(), source: e }),
        };
        for entry in entries {
            let entry = entry.map_err(TensorError::io(&self.dir))?;
            let name = entry.file_name();
            if let Some(hex) = name.to_str().and_then(stored_hex) {
                f(hex);
            }
        }
        Ok(())
    }
}

/// The hash part of a store file name, if the name has the `<64 lowercase hex>.npy` form.
fn stored_hex(name: &str) -> Option<&str> {
    let hex = name.strip_suffix(".npy")?;
    (hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then_some(hex)
}

fn write_file(file: File, t: &Tensor) -> std::io::Result<()> {
    let mut w = BufWriter::new(file);
    write_npy_to(&mut w, t)?;
    let file = w.into_inner().map_err(std::io::IntoInnerError::into_error)?;
    // Make the data durable before the rename publishes it.
    file.sync_all()
}

/// The store directory given an environment lookup (separate from [`TensorStore::from_env`]
/// so tests need not mutate the process environment).
fn dir_from_env(get: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    let var = |name: &str| get(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var(TENSOR_DIR_ENV) {
        return dir;
    }
    // The XDG spec says relative values are invalid and must be ignored.
    if let Some(cache) = var("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        return cache.join("circuit").join("tensors");
    }
    if let Some(home) = var("HOME") {
        return home.join(".cache").join("circuit").join("tensors");
    }
    PathBuf::from(".circuit-tensors")
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
