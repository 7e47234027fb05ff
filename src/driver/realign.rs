//! Realigning copies: the driver's side of [`crate::plan::passes::realign`]. The pass finds
//! the sources a plan reads against their chunking; here each is copied, within the limit,
//! into a temporary uncompressed store with the chunks its consumers need (it is read
//! once or twice and removed with the plan), and the plan is pointed at the copy. When
//! explaining, the copy is planned and described instead of written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::rechunk::PlannedStore;
use super::{Copies, Prepared, TempSource, prepare};
use crate::config::ComputeOptions;
use crate::error::{Error, Result};
use crate::expr;
use crate::grid::fmt_shape;
use crate::metrics::Metrics;
use crate::plan::stage::Read;
use crate::plan::{Plan, passes};
use crate::store::{BlockRead, Codec, WriteOptions, ZarrSource};

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
    strips: bool,
) -> Result<Metrics> {
    let mut metrics = Metrics::default();
    for (s, chunks) in passes::misaligned(plan, opts.effective_memory_limit(), strips) {
        let Some(Read { source }) = plan.stages[s].as_read() else {
            continue;
        };
        let source = source.clone();
        let copy: Arc<dyn BlockRead> = match copies {
            Copies::Skip => continue,
            Copies::Make => {
                let Some((copy, m)) = make_copy(source, &chunks, opts)? else {
                    continue;
                };
                metrics = metrics.then(&m);
                Arc::new(copy)
            }
            Copies::Describe => {
                // Planned as it is written: a block per shard (or chunk).
                let write = copy_options(&chunks, source.chunk_shape());
                let write_shape = write.shards.clone().unwrap_or_else(|| chunks.clone());
                let target = expr::rechunk_node(
                    &expr::source(source.clone()),
                    expr::regular_grid(source.shape(), &write_shape)?,
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
                        super::write::encode_write(&write, source.dtype(), &write_shape, false),
                        Copies::Skip,
                        None,
                    )?,
                });
                Arc::new(PlannedStore {
                    path: source.path().to_path_buf(),
                    shape: source.shape().to_vec(),
                    dtype: source.dtype(),
                    chunks: chunks.clone(),
                    shards: write.shards,
                })
            }
        };
        passes::read_copy(plan, s, copy, &chunks);
    }
    Ok(metrics)
}

/// Writes `source` into a temporary store of `chunks`, uncompressed, kept in the page
/// cache (it is read back at once); `None` when no copy is made (under MPI, see
/// [`copy_parent`]).
fn make_copy(
    source: Arc<dyn BlockRead>,
    chunks: &[usize],
    opts: &ComputeOptions,
) -> Result<Option<(TempSource, Metrics)>> {
    let original: PathBuf = source.path().to_path_buf();
    let dir = super::shared_dir(opts, || {
        let Some((parent, required)) = copy_parent(&original, opts)? else {
            return Ok(None);
        };
        match tempfile::Builder::new()
            .prefix(&crate::store::temp::prefix("realign", &original, !required))
            .tempdir_in(&parent)
        {
            Ok(d) => Ok(Some(d)),
            // Beside a source under MPI, where it could not be made: read as chunked.
            Err(_) if !required => Ok(None),
            Err(source) => Err(Error::Temporary {
                path: parent.clone(),
                detail: format!(
                    "cannot create a directory there for a realigned copy of {} (read against \
                     its chunking); put it elsewhere with tmp_dir (--tmp-dir)",
                    original.display()
                ),
                source,
            }),
        }
    })?;
    let Some(dir) = dir else {
        return Ok(None);
    };
    let path = dir.path().join("copy.zarr");
    let write = copy_options(chunks, source.chunk_shape());
    let m = super::write::write_one(
        &expr::source(source),
        &path,
        &write,
        opts,
        Copies::Skip,
        None,
    )
    .map_err(|e| super::full_disk_hint(e, "a realigned copy of a source"))?;
    // Messages name the original.
    let copy = TempSource::new(ZarrSource::open(&path)?, original, dir);
    Ok(Some((copy, m)))
}

/// Where a realigned copy of the source at `original` goes, and whether that place was
/// asked for (an error to create it is the run's error): `opts.tmp_dir`, else
/// `opts.spill_dir`, else the system's temporary directory. Under MPI with several ranks,
/// every rank writes into the copy and reads from it, so it must be on storage they all
/// see: `opts.tmp_dir`, else beside the source (a hidden directory; when it cannot be
/// made there, as in a read-only directory, the source is read as it is chunked); `None`
/// for a source on an object store without `tmp_dir` (read as chunked).
fn copy_parent(original: &Path, opts: &ComputeOptions) -> Result<Option<(PathBuf, bool)>> {
    if let Some(dir) = &opts.tmp_dir {
        return Ok(Some((dir.clone(), true)));
    }
    #[cfg(feature = "mpi")]
    if crate::exec::mpi::ranks(opts)?.is_some() {
        if crate::store::is_remote(original) {
            return Ok(None);
        }
        let beside = match original.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        return Ok(Some((beside, false)));
    }
    let _ = original;
    let parent = opts.spill_dir.clone().unwrap_or_else(std::env::temp_dir);
    Ok(Some((parent, true)))
}

/// How a realigned copy is written: in `chunks`, uncompressed, through the page cache (it
/// is read back at once), in shards of about the source's chunks (`source_chunks` rounded
/// up to whole `chunks`). A copy task reads one source chunk and writes one shard file:
/// copying a 3.2 GB store in (100, 20000) chunks into (100, 79) strips made 50,800 files of
/// 62 KiB and spent most of a minute in the kernel creating them; in shards it is 200 files
/// and seconds. Readers take the inner chunks they need (a ranged read each).
fn copy_options(chunks: &[usize], source_chunks: &[usize]) -> WriteOptions {
    let shards: Vec<usize> = chunks
        .iter()
        .zip(source_chunks)
        .map(|(&c, &s)| s.max(c).div_ceil(c.max(1)) * c.max(1))
        .collect();
    WriteOptions {
        chunks: Some(chunks.to_vec()),
        shards: (shards != chunks).then_some(shards),
        codec: Codec::None,
        overwrite: true,
        direct_io: false,
        ..WriteOptions::default()
    }
}
