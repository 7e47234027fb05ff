//! Choosing the intermediate chunks of a two-pass, bounded-memory rechunk.
//!
//! A rechunk whose output chunks each need many input chunks (rows → columns) cannot be
//! written directly within a memory limit. It is written in two passes through a temporary
//! store (the algorithm of the rechunker project and Cubed): the source is copied into
//! intermediate chunks, which are then copied into the target chunks. Per axis the
//! intermediate chunk lies between the smaller and the larger of the source and target
//! chunks; the smallest choice, their elementwise minimum, always fits but makes many small
//! objects (40 000 of 80 kB for a 20000² float64 array going from (100, 20000) to
//! (20000, 100)), and every object costs a file create, an encode and a rename. Larger
//! intermediate chunks mean fewer objects but more memory per pass: pass 1 holds the
//! source chunks one intermediate chunk spans, pass 2 the intermediate chunks one target
//! chunk spans.
//!
//! [`choose`] tries candidates from the fewest objects to the most and keeps the first
//! whose two passes are both predicted (by the planner and scheduler that will run them,
//! pass 2 planned over a stand-in for the not yet written intermediate store) to stay
//! within the limit without spilling or re-reading sources. When none does, it returns the
//! elementwise minimum.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::block::Block;
use crate::config::ComputeOptions;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::expr::{self, ExprRef};
use crate::grid::ChunkGrid;
use crate::plan::{InlineReads, OutputWrite};
use crate::store::BlockRead;

use super::write::{encode_write, intermediate_options};
use super::{Copies, prepare};
use crate::store::WriteOptions;

/// Whether a write from chunks `own` to `target` could gain from two passes through an
/// intermediate store: not when the smallest intermediate (their elementwise minimum) is
/// one of the two.
pub(super) fn two_passes_help(own: &[usize], target: &[usize]) -> bool {
    let smallest: Vec<usize> = own
        .iter()
        .zip(target)
        .map(|(&a, &b)| a.min(b).max(1))
        .collect();
    smallest != own && smallest != target
}

/// At most this many candidates are planned (each plan builds both passes' task graphs).
const MAX_PLANNED: usize = 40;

/// The intermediate chunk shape for rechunking `e` to `target` (the write shape: chunks, or
/// shards) written with `options`, under `opts`' memory limit.
///
/// Greedy growth from the elementwise minimum of the two chunk shapes: each step grows one
/// axis to its next candidate size (see [`axis_sizes`]), choosing among the growths whose
/// two passes fit the one with the fewest intermediate chunks, then the more even shape;
/// it stops when no growth fits. Fitting is monotone (larger chunks hold more in both
/// passes), so the walk only plans the neighbours of shapes that fit.
///
/// # Errors
/// Planning errors of the candidate passes (not a candidate that does not fit).
pub(super) fn choose(
    e: &ExprRef,
    target: &[usize],
    options: &WriteOptions,
    remote: bool,
    opts: &ComputeOptions,
) -> Result<Vec<usize>> {
    let pass2 = Pass2 {
        grid: expr::regular_grid(&e.shape(), target)?,
        write: encode_write(options, e.dtype(), target, remote),
    };
    choose_for(e, target, opts, &pass2)
}

/// True when both passes of writing `e` to `target` (the write shape) with `options`
/// through intermediate chunks `inter` are predicted to fit `opts`' memory limit without
/// spilling or re-reading sources (as [`choose`] asks of its candidates): whether the
/// intermediate store an interrupted run made under another limit can be reused.
///
/// # Errors
/// Planning errors of the passes.
pub(super) fn fits_write(
    e: &ExprRef,
    inter: &[usize],
    target: &[usize],
    options: &WriteOptions,
    remote: bool,
    opts: &ComputeOptions,
) -> Result<bool> {
    let pass2 = Pass2 {
        grid: expr::regular_grid(&e.shape(), target)?,
        write: encode_write(options, e.dtype(), target, remote),
    };
    fits(e, inter, &pass2, opts, opts.effective_memory_limit())
}

/// How the second pass writes: the blocks it computes (from the intermediate store) and
/// what writing one costs. A plain write computes the regular grid of the target chunks;
/// a region write ([`crate::Array::to_zarr_region`]) the region cut at the target's chunk
/// boundaries, and reads, modifies and writes the chunks it covers partly.
pub(super) struct Pass2 {
    /// The grid of the output blocks, over the array's shape.
    pub(super) grid: ChunkGrid,
    /// Their write cost.
    pub(super) write: OutputWrite,
}

/// [`choose`] for a second pass that writes as `pass2` says.
///
/// # Errors
/// As [`choose`].
pub(super) fn choose_for(
    e: &ExprRef,
    target: &[usize],
    opts: &ComputeOptions,
    pass2: &Pass2,
) -> Result<Vec<usize>> {
    let own = e.grid().max_chunk_shape();
    let shape = e.shape();
    let sizes = axis_sizes(&own, target, &shape);
    let limit = opts.effective_memory_limit();
    let at = |pos: &[usize]| -> Vec<usize> { pos.iter().zip(&sizes).map(|(&i, v)| v[i]).collect() };
    let count = |c: &[usize]| -> u128 {
        c.iter()
            .zip(&shape)
            .map(|(&k, &n)| n.div_ceil(k.max(1)).max(1) as u128)
            .product()
    };
    // How far each axis's size strays from the geometric middle of the two chunk sizes
    // (log scale, 0 to 1 per axis), summed: the tie-break towards even shapes.
    let uneven = |c: &[usize]| -> f64 {
        c.iter()
            .zip(own.iter().zip(target))
            .map(|(&k, (&a, &b))| {
                let (lo, hi) = (a.min(b).max(1) as f64, a.max(b).max(1) as f64);
                if hi <= lo {
                    0.0
                } else {
                    ((k as f64).ln() - (lo * hi).sqrt().ln()).abs() / (hi / lo).ln()
                }
            })
            .sum()
    };
    let mut pos = vec![0usize; shape.len()];
    let mut planned = 0;
    // The smallest chunks always fit a task, but their task graph may not fit the limit:
    // until a size fits, the climb goes on towards fewer blocks. When none fits, the
    // smallest are returned (and the write is refused with what they need).
    let smallest = at(&pos);
    let mut fitting = fits(e, &smallest, pass2, opts, limit)?;
    loop {
        let mut best: Option<(u128, f64, Vec<usize>)> = None;
        let mut fewest: Option<(u128, Vec<usize>)> = None;
        for d in 0..pos.len() {
            if pos[d] + 1 >= sizes[d].len() || planned >= MAX_PLANNED {
                continue;
            }
            let mut next = pos.clone();
            next[d] += 1;
            let c = at(&next);
            // The source's or the target's own chunks are the one-pass rechunk that did not fit.
            if c == own || c == target {
                continue;
            }
            planned += 1;
            if opts.is_cancelled() {
                return Err(Error::Cancelled);
            }
            if !fits(e, &c, pass2, opts, limit)? {
                if fewest.as_ref().is_none_or(|(n, _)| count(&c) < *n) {
                    fewest = Some((count(&c), next));
                }
                continue;
            }
            let key = (count(&c), uneven(&c));
            if best
                .as_ref()
                .is_none_or(|(n, u, _)| key.0 < *n || (key.0 == *n && key.1 < *u))
            {
                best = Some((key.0, key.1, next));
            }
        }
        match (best, fewest) {
            (Some((_, _, next)), _) => {
                pos = next;
                fitting = true;
            }
            (None, Some((_, next))) if !fitting => pos = next,
            (None, _) if fitting => return Ok(at(&pos)),
            (None, _) => return Ok(smallest),
        }
    }
}

/// Candidate intermediate chunk sizes per axis, ascending: the smaller of the source and
/// target chunk sizes times powers of two below the larger, then the larger (capped at the
/// axis length).
fn axis_sizes(own: &[usize], target: &[usize], shape: &[usize]) -> Vec<Vec<usize>> {
    own.iter()
        .zip(target)
        .zip(shape)
        .map(|((&a, &b), &n)| {
            let (lo, hi) = (a.min(b).max(1), a.max(b).max(1).min(n.max(1)));
            let mut v = Vec::new();
            let mut c = lo;
            while c < hi {
                v.push(c);
                c = c.saturating_mul(2);
            }
            v.push(hi.max(lo));
            v
        })
        .collect()
}

/// True when both passes through intermediate chunks `inter` are predicted to stay within
/// `limit` without spilling and without re-reading sources.
fn fits(
    e: &ExprRef,
    inter: &[usize],
    pass2: &Pass2,
    opts: &ComputeOptions,
    limit: u64,
) -> Result<bool> {
    let pass_fits = |node: ExprRef, write: OutputWrite| -> Result<bool> {
        let prepared = match prepare(&node, opts, write, Copies::Skip, None) {
            Ok(p) => p,
            // The task graph alone does not fit.
            Err(Error::PlanExceedsMemory { .. }) => return Ok(false),
            Err(e) => return Err(e),
        };
        let f = &prepared.scheduled.footprint;
        let avail = limit.saturating_sub(prepared.held());
        Ok(prepared.plan.inline_reads == InlineReads::None
            && f.peak <= avail
            && f.largest_task <= avail)
    };
    let [(first, w1), (second, w2)] = passes(e, inter, pass2)?;
    Ok(pass_fits(first, w1)? && pass_fits(second, w2)?)
}

/// What the two passes of writing `e` through intermediate chunks `inter` compute and how
/// each writes: `e` into the intermediate store, then a stand-in for that store (see
/// [`PlannedStore`]) into `pass2`'s blocks.
///
/// # Errors
/// Chunks that do not fit the array.
pub(super) fn passes(
    e: &ExprRef,
    inter: &[usize],
    pass2: &Pass2,
) -> Result<[(ExprRef, OutputWrite); 2]> {
    let first = expr::rechunk_node(e, expr::regular_grid(&e.shape(), inter)?)?;
    let write = encode_write(
        &intermediate_options(inter.to_vec()),
        e.dtype(),
        inter,
        false,
    );
    let stand_in = PlannedStore {
        path: PathBuf::from("(intermediate store)"),
        shape: e.shape(),
        dtype: e.dtype(),
        chunks: inter.to_vec(),
        shards: None,
    };
    let second = expr::rechunk_node(&expr::source(Arc::new(stand_in)), pass2.grid.clone())?;
    Ok([(first, write), (second, pass2.write.clone())])
}

/// A stand-in for the intermediate store while planning pass 2: its shape, dtype and
/// chunks, no data (reading it is a bug).
#[derive(Debug)]
pub(super) struct PlannedStore {
    pub(super) path: PathBuf,
    pub(super) shape: Vec<usize>,
    pub(super) dtype: DType,
    pub(super) chunks: Vec<usize>,
    /// The shard shape the store will be written in, if sharded.
    pub(super) shards: Option<Vec<usize>>,
}

impl BlockRead for PlannedStore {
    fn path(&self) -> &Path {
        &self.path
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn dtype(&self) -> DType {
        self.dtype
    }
    fn chunk_shape(&self) -> &[usize] {
        &self.chunks
    }
    fn read_chunk(&self, chunk: &[usize]) -> Result<Block> {
        Err(Error::internal(format!(
            "chunk {chunk:?} of a store that is only being planned was read"
        )))
    }
    fn decoded_chunk_bytes(&self) -> u64 {
        crate::store::planned_chunk_bytes(
            &self.shape,
            self.dtype,
            &self.chunks,
            self.shards.as_deref(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_sizes_double_from_the_smaller_to_the_larger() {
        let s = axis_sizes(&[100, 20000], &[20000, 100], &[20000, 20000]);
        let want: Vec<usize> = (0..8).map(|k| 100 << k).chain([20000]).collect();
        assert_eq!(s, vec![want.clone(), want]);
        // Capped at the axis length; equal sizes give one candidate.
        assert_eq!(
            axis_sizes(&[10, 7, 5], &[3, 50, 5], &[25, 20, 9]),
            vec![vec![3, 6, 10], vec![7, 14, 20], vec![5]]
        );
    }

    fn rows(n: usize, r: usize) -> ExprRef {
        expr::source(Arc::new(PlannedStore {
            path: PathBuf::from("rows"),
            shape: vec![n, n],
            dtype: DType::F64,
            chunks: vec![r, n],
            shards: None,
        }))
    }

    #[test]
    fn rows_to_columns_chooses_the_largest_intermediate_that_fits() -> Result<()> {
        // 2000 x 2000 float64 (32 MB) from rows of 20 to columns of 20 under 4 MiB.
        let e = rows(2000, 20);
        let opts = ComputeOptions::default().with_memory_limit(4 << 20);
        let options = WriteOptions::default();
        let inter = choose(&e, &[2000, 20], &options, false, &opts)?;
        assert!(inter.iter().product::<usize>() > 20 * 20, "{inter:?}");
        let pass2 = Pass2 {
            grid: expr::regular_grid(&[2000, 2000], &[2000, 20])?,
            write: encode_write(&options, DType::F64, &[2000, 20], false),
        };
        assert!(fits(&e, &inter, &pass2, &opts, 4 << 20)?);
        // Doubling either axis does not fit any more (or is not a candidate).
        for d in 0..2 {
            let mut bigger = inter.clone();
            bigger[d] = (bigger[d] * 2).min(2000);
            if bigger != inter && bigger != [20, 2000] && bigger != [2000, 20] {
                assert!(!fits(&e, &bigger, &pass2, &opts, 4 << 20)?, "{bigger:?}");
            }
        }
        // A tiny limit leaves the elementwise minimum.
        let tiny = ComputeOptions::default().with_memory_limit(400 << 10);
        assert_eq!(
            choose(&e, &[2000, 20], &options, false, &tiny)?,
            vec![20, 20]
        );
        Ok(())
    }
}
