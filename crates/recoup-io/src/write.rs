//! Writing files so that a reader never sees a partial one.
//!
//! Every output is written to `NAME.tmp-<pid>` in the destination folder, flushed to disk and
//! renamed over `NAME` only when complete. Dropping an unfinished writer removes the temporary.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::TableError;

pub use recoup_core::AtomicFile;

/// Writes `text` to `dest` atomically.
pub fn write_text_atomic(dest: &Path, text: &str) -> Result<(), TableError> {
    Ok(recoup_core::write_atomic(dest, text.as_bytes())?)
}

fn parquet_writer<W: Write>(w: W) -> ParquetWriter<W> {
    ParquetWriter::new(w)
        .with_compression(ParquetCompression::Zstd(None))
        .with_statistics(StatisticsOptions::default())
}

/// Writes a whole frame to `dest` as parquet, atomically.
pub fn write_parquet_atomic(df: &mut DataFrame, dest: &Path) -> Result<(), TableError> {
    let mut f = AtomicFile::create(dest)?;
    parquet_writer(f.writer())
        .finish(df)
        .map_err(|e| TableError::polars(dest, e))?;
    Ok(f.commit()?)
}

/// Streams frames of one schema into a parquet file, one row group per batch, atomically.
pub struct ParquetTableWriter {
    dest: PathBuf,
    // Declared before `file` so the polars writer is dropped first.
    // Writes straight to a second handle of the temporary file: polars emits whole column
    // chunks, so a buffer adds nothing, and a buffer flushed on drop would hide write errors.
    writer: Option<polars::io::parquet::write::BatchedWriter<File>>,
    file: AtomicFile,
    rows: usize,
}

impl std::fmt::Debug for ParquetTableWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetTableWriter")
            .field("dest", &self.dest)
            .field("rows", &self.rows)
            .finish()
    }
}

impl ParquetTableWriter {
    pub fn create(dest: &Path, schema: &Schema) -> Result<Self, TableError> {
        let mut file = AtomicFile::create(dest)?;
        let handle = file
            .writer()
            .get_ref()
            .try_clone()
            .map_err(|e| TableError::io(dest, e))?;
        let writer = parquet_writer(handle)
            .batched(schema)
            .map_err(|e| TableError::polars(dest, e))?;
        Ok(Self {
            dest: dest.to_path_buf(),
            writer: Some(writer),
            file,
            rows: 0,
        })
    }

    pub fn write(&mut self, df: &DataFrame) -> Result<(), TableError> {
        self.rows += df.height();
        let writer = self.writer.as_mut().expect("open until finish");
        // The batched writer needs every column cut into the same chunks (joins and filters
        // can leave them uneven).
        let result = if df.should_rechunk() {
            let mut aligned = df.clone();
            aligned.align_chunks_par();
            writer.write_batch(&aligned)
        } else {
            writer.write_batch(df)
        };
        result.map_err(|e| TableError::polars(&self.dest, e))
    }

    /// Writes the footer and renames the file into place; returns the number of rows written.
    pub fn finish(mut self) -> Result<usize, TableError> {
        let w = self.writer.take().expect("finish runs once");
        w.finish().map_err(|e| TableError::polars(&self.dest, e))?;
        drop(w);
        self.file.commit()?;
        Ok(self.rows)
    }
}
