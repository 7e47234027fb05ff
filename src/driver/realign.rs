//! Realigning copies: the driver's side of [`crate::plan::passes::realign`]. The pass finds
//! the sources a plan reads against their chunking; here each is copied, within the limit,
//! into a temporary uncompressed store with the chunks its consumers need (it is read
//! once or twice and removed with the plan), and the plan is pointed at the copy. When
//! explaining, the copy is planned and described instead of written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tempfile::TempDir;

use super::rechunk::PlannedStore;
use super::{Copies, Prepared, prepare};
use crate::config::ComputeOptions;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::expr;
use crate::grid::fmt_shape;
use crate::metrics::Metrics;
use crate::plan::stage::Read;
use crate::plan::{Plan, passes};
use crate::store::{BlockRead, Codec, WriteOptions, ZarrSource};

/// A realigned copy of a source, removed when the last plan reading it is dropped.
#[derive(Debug)]
struct RealignedCopy {
    source: ZarrSource,
    /// The original's path, for messages.
    original: std::path::PathBuf,
    _dir: TempDir,
}

impl BlockRead for RealignedCopy {
    fn path(&self) -> &Path {
        &self.original
    }
    fn shape(&self) -> &[usize] {
        self.source.shape()
    }
    fn dtype(&self) -> DType {
        self.source.dtype()
    }
    fn chunk_shape(&self) -> &[usize] {
        self.source.chunk_shape()
    }
    fn read_chunk(&self, chunk: &[usize]) -> Result<crate::block::Block> {
        self.source.read_chunk(chunk)
    }
}

/// A copy of a source planned by [`realign`] while explaining: described, not written.
pub(crate) struct Described {
    /// What is copied, into which chunks.
    pub(crate) what: String,
    /// The copy's own plan.
    pub(crate) prepared: Prepared,
}

/// Copies every misaligned source of `plan` (see [`passes::realign`]) into a temporary
/// store with the chunks its consumers need, and points the plan's read stages at the
/// copies; with [`Copies::Describe`], plans the copies into `described` instead and points
/// the plan at stand-ins of the same chunks. Returns the figures of the copies (zero when
/// nothing was misaligned or nothing was written).
///
/// # Errors
/// Creating the temporary directory (under `opts.tmp_dir`, else `opts.spill_dir`, else the
/// system temporary directory) or writing the copy.
pub(crate) fn realign(
    plan: &mut Plan,
    opts: &ComputeOptions,
    copies: Copies,
    described: &mut Vec<Described>,
) -> Result<Metrics> {
    let mut metrics = Metrics::default();
    for (s, chunks) in passes::misaligned(plan, opts.effective_memory_limit()) {
        let Some(Read { source }) = plan.stages[s].as_read() else {
            continue;
        };
        let source = source.clone();
        let copy: Arc<dyn BlockRead> = match copies {
            Copies::Skip => continue,
            Copies::Make => {
                let (copy, m) = make_copy(source, &chunks, opts)?;
                metrics = metrics.then(&m);
                Arc::new(copy)
            }
            Copies::Describe => {
                let target = expr::rechunk_node(
                    &expr::source(source.clone()),
                    expr::regular_grid(source.shape(), &chunks)?,
                )?;
                described.push(Described {
                    what: format!(
                        "stage {s} reads {} against its chunking: it is first copied into \
                         chunks of {} (a temporary store)",
                        source.path().display(),
                        fmt_shape(&chunks)
                    ),
                    prepared: prepare(
                        &target,
                        opts,
                        super::write::encode_write(&copy_options(&chunks), source.dtype(), &chunks),
                        Copies::Skip,
                        None,
                    )?,
                });
                Arc::new(PlannedStore {
                    path: source.path().to_path_buf(),
                    shape: source.shape().to_vec(),
                    dtype: source.dtype(),
                    chunks: chunks.clone(),
                })
            }
        };
        passes::read_copy(plan, s, copy, &chunks);
    }
    Ok(metrics)
}

/// Writes `source` into a temporary store of `chunks`, uncompressed, kept in the page
/// cache (it is read back at once).
fn make_copy(
    source: Arc<dyn BlockRead>,
    chunks: &[usize],
    opts: &ComputeOptions,
) -> Result<(RealignedCopy, Metrics)> {
    let parent = opts
        .tmp_dir
        .clone()
        .or_else(|| opts.spill_dir.clone())
        .unwrap_or_else(std::env::temp_dir);
    let original: PathBuf = source.path().to_path_buf();
    let dir = tempfile::Builder::new()
        .prefix(&crate::store::temp::prefix("realign", &original, false))
        .tempdir_in(&parent)
        .map_err(|source| Error::Temporary {
            path: parent.clone(),
            detail: format!(
                "cannot create a directory there for a realigned copy of {} (read against its \
                 chunking); put it elsewhere with tmp_dir (--tmp-dir)",
                original.display()
            ),
            source,
        })?;
    let path = dir.path().join("copy.zarr");
    let write = copy_options(chunks);
    let m = super::write::write_one(
        &expr::source(source),
        &path,
        &write,
        opts,
        Copies::Skip,
        None,
    )
    .map_err(|e| super::full_disk_hint(e, "a realigned copy of a source"))?;
    let copy = RealignedCopy {
        source: ZarrSource::open(&path)?,
        original,
        _dir: dir,
    };
    Ok((copy, m))
}

/// How a realigned copy is written: in `chunks`, uncompressed, through the page cache (it
/// is read back at once).
fn copy_options(chunks: &[usize]) -> WriteOptions {
    WriteOptions {
        chunks: Some(chunks.to_vec()),
        codec: Codec::None,
        overwrite: true,
        direct_io: false,
        ..WriteOptions::default()
    }
}
