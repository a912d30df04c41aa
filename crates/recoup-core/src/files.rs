//! Shared by every stage that writes files or checks schemas: atomic file writes and the
//! feature-schema hash.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// An I/O failure on a named file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct FileError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl FileError {
    pub fn new(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self {
            path: path.into(),
            source,
        }
    }
}

/// A file being written under a temporary name (`NAME.tmp-<pid>` in the destination folder)
/// until [`AtomicFile::commit`] flushes, syncs and renames it over `NAME`. Dropping an
/// unfinished writer removes the temporary, so a reader never sees a partial file.
#[derive(Debug)]
pub struct AtomicFile {
    tmp: PathBuf,
    dest: PathBuf,
    file: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(dest: &Path) -> Result<Self, FileError> {
        let name = dest
            .file_name()
            .ok_or_else(|| FileError::new(dest, std::io::Error::other("not a file path")))?;
        let tmp = dest.with_file_name(format!(
            "{}.tmp-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = File::create(&tmp).map_err(|e| FileError::new(&tmp, e))?;
        Ok(Self {
            tmp,
            dest: dest.to_path_buf(),
            file: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    pub fn writer(&mut self) -> &mut BufWriter<File> {
        self.file.as_mut().expect("the file is open until commit")
    }

    /// Flushes, syncs and renames the temporary over the destination.
    pub fn commit(mut self) -> Result<(), FileError> {
        let mut w = self.file.take().expect("commit runs once");
        w.flush().map_err(|e| FileError::new(&self.tmp, e))?;
        let f = w
            .into_inner()
            .map_err(|e| FileError::new(&self.tmp, e.into_error()))?;
        f.sync_all().map_err(|e| FileError::new(&self.tmp, e))?;
        drop(f);
        std::fs::rename(&self.tmp, &self.dest).map_err(|e| FileError::new(&self.dest, e))
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `bytes` to `dest` atomically.
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let mut f = AtomicFile::create(dest)?;
    f.writer()
        .write_all(bytes)
        .map_err(|e| FileError::new(dest, e))?;
    f.commit()
}

/// The hash of a feature schema: FNV-1a 64 of `name:dtype\n` for every column, in order, as
/// 16 hex digits. Tiny and stable across platforms and releases; enough to detect a change.
/// Feature tables and model files both carry it, so they can be checked against each other.
pub fn schema_hash<'a>(columns: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, dtype) in columns {
        for b in name
            .bytes()
            .chain([b':'])
            .chain(dtype.bytes())
            .chain([b'\n'])
        {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_hash_is_fnv1a_of_the_canonical_text() {
        // FNV-1a 64 of the empty string is its offset basis.
        assert_eq!(schema_hash([]), "cbf29ce484222325");
        assert_ne!(
            schema_hash([("a", "int64"), ("b", "float64")]),
            schema_hash([("b", "float64"), ("a", "int64")])
        );
    }

    #[test]
    fn atomic_writes_leave_no_temporary() {
        let dir = std::env::temp_dir().join(format!("recoup-core-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dest = dir.join("out.txt");
        write_atomic(&dest, b"hello").unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"hello");
        drop(AtomicFile::create(&dir.join("never.txt")).unwrap());
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.txt")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
