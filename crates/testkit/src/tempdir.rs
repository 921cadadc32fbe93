//! A unique temporary directory, removed (with its contents) on drop.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use circuit_tensor::TensorStore;

/// A fresh directory under [`std::env::temp_dir`]; removed when dropped, also while a
/// failing test unwinds.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `<tmp>/<prefix>-<pid>-<counter>-<nanos>`.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn new(prefix: &str) -> std::io::Result<TempDir> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("{prefix}-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(TempDir { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A tensor store in this directory.
    pub fn store(&self) -> TensorStore {
        TensorStore::open(&self.path)
    }

    /// A tensor store in a fresh subdirectory (so each use sees only its own tensors).
    ///
    /// # Errors
    /// When the subdirectory cannot be created.
    pub fn sub_store(&self, name: &str) -> std::io::Result<TensorStore> {
        let dir = self.path.join(name);
        std::fs::create_dir_all(&dir)?;
        Ok(TensorStore::open(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
