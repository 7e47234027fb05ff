//! Realigning pass: finds the sources a plan reads against their chunking, and points a
//! read stage at a copy of its source in other chunks.
//!
//! `x + x.T` over row chunks (100, 20000) is dask's worst case: block (i, j) of `x.T` is a
//! column strip of *every* row chunk of `x`. Reading row chunk `j` for each output block
//! (i, j), in row-major order, touches every chunk of the array once per output row: the
//! chunks cannot stay resident under a limit far below the array, so each is read again
//! for each row — hundreds of times the array's bytes. Worse, a block that needs whole
//! lanes across the row chunks (`x.rechunk((20000, 79))`, an FFT or a median along axis 0)
//! reads a strip of every row chunk at once: more than the limit holds, in any order.
//!
//! The cure is the one the bounded rechunk uses: copy the source once, within the limit,
//! into a temporary store whose chunks match what the consumers need, then read that. A
//! source is *misaligned* when some consumer, for one of its blocks, touches at least
//! [`OVERREAD`] times the elements it needs along an axis that is not the consumer's last:
//! consumers run in row-major block order, so over-reading along the last axis is served by
//! consecutive blocks sharing a chunk, while over-reading along an earlier axis means a
//! chunk comes back only after a whole sweep, which matters when the chunks that sweep
//! touches do not fit in the limit (a rechunk from (1000, 1000) to rows of (100, 20000)
//! over-reads too, but ten consecutive blocks share each row of chunks), or when the chunks
//! one block reads together do not fit in half the limit, along any axis. Sources that fit
//! in half the limit are left alone: shared reads hold them. The copy's chunks are, per
//! axis, the smallest extent any consumer's block needs (never larger than the source's
//! chunks).
//!
//! This pass only decides and rewrites; the driver makes the copy (`crate::driver`), or,
//! when explaining, describes it.

use std::sync::Arc;

use crate::grid::{ChunkGrid, fmt_shape};
use crate::kernel::gather::AxisMap;
use crate::plan::stage::Read;
use crate::plan::{Plan, StageId};
use crate::store::BlockRead;

/// Touched / needed elements along a non-last axis from which a source is misaligned.
pub const OVERREAD: usize = 4;

/// The read stages of `plan` worth copying into other chunks under `limit`, with the chunk
/// shape for each. `strips`: also when one block reads more than half the limit of source
/// chunks at once (off for a plan that only copies a store into other chunks: that is the
/// bounded rechunk's two-pass write, which resumes and sizes its intermediate to the limit).
pub fn misaligned(plan: &Plan, limit: u64, strips: bool) -> Vec<(StageId, Vec<usize>)> {
    let mut found: Vec<(StageId, Vec<usize>, bool)> = Vec::new();
    for program in plan.stages.iter().flat_map(|s| s.programs()) {
        if program.grid.nblocks() == 0 {
            continue;
        }
        let region = program.grid.region(&vec![0; program.grid.ndim()]);
        let out_ndim = program.grid.ndim();
        for (s, view) in program.block_leaves() {
            let src = &plan.stages[s];
            let Some(Read { source }) = src.as_read() else {
                continue;
            };
            let bytes = source.shape().iter().product::<usize>() as u64 * src.dtype.size() as u64;
            if bytes <= limit / 2 {
                continue;
            }
            let touched = view.touched_chunks(&src.grid, &region);
            // The chunks one block reads at once: when they cannot be held (a column strip
            // of every row chunk), no order of the blocks helps, whichever axis it is.
            let block_bytes = touched_bytes(&touched, &src.grid, src.dtype.size());
            let entry = match found.iter_mut().position(|(f, ..)| *f == s) {
                Some(i) => &mut found[i],
                None => {
                    found.push((s, src.grid.max_chunk_shape(), false));
                    found.last_mut().expect("just pushed")
                }
            };
            for (a, m) in view.axes.iter().enumerate() {
                let AxisMap::Map { out, step, .. } = *m else {
                    continue;
                };
                let needed = (region.shape[out] * step.unsigned_abs() as usize)
                    .clamp(1, source.shape()[a].max(1));
                let read: usize = touched[a].iter().map(|&c| src.grid.axes()[a].size(c)).sum();
                let swept = out + 1 < out_ndim
                    && sweep_bytes(&program.grid, out, view, &src.grid, src.dtype.size()) > limit;
                if read >= OVERREAD * needed && (swept || (strips && block_bytes > limit / 2)) {
                    entry.2 = true;
                }
                entry.1[a] = entry.1[a].min(needed);
            }
        }
    }
    found
        .into_iter()
        .filter(|(_, _, bad)| *bad)
        .map(|(s, chunks, _)| (s, chunks))
        .collect()
}

/// Bytes of the source chunks touched by the first sweep of a consumer's blocks over the
/// axes after `out` (the blocks run between two uses of a chunk over-read along `out`).
fn sweep_bytes(
    grid: &ChunkGrid,
    out: usize,
    view: &crate::kernel::gather::ViewMap,
    src: &ChunkGrid,
    itemsize: usize,
) -> u64 {
    let first = grid.region(&vec![0; grid.ndim()]);
    let full = grid.shape();
    let sweep = crate::grid::Region {
        start: vec![0; grid.ndim()],
        shape: (0..grid.ndim())
            .map(|d| if d <= out { first.shape[d] } else { full[d] })
            .collect(),
    };
    touched_bytes(&view.touched_chunks(src, &sweep), src, itemsize)
}

/// Bytes of the source chunks `touched` (per axis, the chunk indices touched).
fn touched_bytes(touched: &[Vec<usize>], src: &ChunkGrid, itemsize: usize) -> u64 {
    touched
        .iter()
        .enumerate()
        .map(|(a, cs)| {
            cs.iter()
                .map(|&c| src.axes()[a].size(c) as u64)
                .sum::<u64>()
        })
        .product::<u64>()
        * itemsize as u64
}

/// Points read stage `stage` of `plan` at `copy`, a copy of its source in `chunks`.
pub fn read_copy(plan: &mut Plan, stage: StageId, copy: Arc<dyn BlockRead>, chunks: &[usize]) {
    let stage = &mut plan.stages[stage];
    stage.grid = ChunkGrid::regular(copy.shape(), chunks);
    stage.name = format!("{} (realigned to chunks {})", stage.name, fmt_shape(chunks));
    stage.op = Box::new(Read { source: copy });
}
