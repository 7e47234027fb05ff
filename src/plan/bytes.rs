//! Bytes each task holds, known before anything runs: its output, and the scratch it needs
//! while running (decode buffers, tile temporaries, accumulators). Inputs are the outputs of
//! other tasks and are counted there. These estimates drive the pre-flight check, the
//! simulated peak and the executor's admission of tasks under a memory limit.

use super::program::Program;
use super::stage::Stage;
use super::{OutputWrite, Plan, Reads, StageId};
use crate::expr::ReduceOp;
use crate::grid::Region;

/// Elements per tile of a fused program (see `plan::eval`): every temporary of a program is
/// at most this many elements.
pub const TILE_ELEMS: usize = 8192;

/// Bytes per element of a partial reduction's accumulator (float64, int64 or uint64; min/max
/// keep the input dtype, at most 8 bytes) times the number of arrays it keeps.
pub(crate) fn partial_elem_bytes(op: ReduceOp) -> u64 {
    match op {
        ReduceOp::Var | ReduceOp::Std => 16,
        ReduceOp::Sum | ReduceOp::Prod | ReduceOp::Min | ReduceOp::Max | ReduceOp::Mean => 8,
    }
}

/// Bytes of the tiles of a program of `nodes` nodes evaluated over `region_elems` elements:
/// one tile (at most [`TILE_ELEMS`] elements of up to 8 bytes) per node.
pub(crate) fn tile_bytes(nodes: usize, region_elems: usize) -> u64 {
    (nodes * TILE_ELEMS.min(region_elems.max(1)) * 8) as u64
}

impl Stage {
    /// Bytes of the output of block `block` of this stage ([`StageOp::output_bytes`](super::stage::StageOp::output_bytes)).
    pub fn output_bytes(&self, block: &[usize]) -> u64 {
        self.op.output_bytes(self, block)
    }

    /// Scratch bytes one task of this stage needs while it runs, besides inputs, output and
    /// inline reads: decode buffers for reads, tiles for fused programs, accumulators for
    /// reductions; each kind says what it counts
    /// ([`StageOp::scratch_bytes`](super::stage::StageOp::scratch_bytes)).
    pub fn scratch_bytes(&self, block: &[usize]) -> u64 {
        self.op.scratch_bytes(self, block)
    }
}

impl Plan {
    /// Bytes of the source chunks a program reads inline over `region` (plus one chunk's
    /// encoded and decoded buffers), when the plan reads sources inline. A chunk the source
    /// memory-maps ([`BlockRead::maps_chunk`](crate::store::BlockRead::maps_chunk)) counts
    /// only what touching the region's elements maps, in units of what one fault maps
    /// ([`map_fault_bytes`](crate::store::map_fault_bytes): up to 2 MiB, so a chunk of at
    /// most that counts whole), and decodes nothing.
    pub fn inline_read_bytes(&self, consumer: StageId, program: &Program, region: &Region) -> u64 {
        let mut total = 0;
        let mut largest = 0;
        self.for_each_leaf_chunk(consumer, program, region, Reads::Inline, |s, view, c| {
            let st = &self.stages[s];
            let Some(read) = st.as_read() else {
                return;
            };
            let source = &read.source;
            if source.maps_chunk(c) {
                total += view.touched_page_bytes(
                    &st.grid,
                    region,
                    c,
                    source.chunk_shape(),
                    st.dtype.size(),
                    crate::store::map_fault_bytes(),
                );
            } else {
                total += st.output_bytes(c);
                largest = largest.max(read.decoded_bytes(st, c));
            }
        });
        total.saturating_add(largest.saturating_mul(2))
    }

    /// Scratch bytes of block `block` of stage `stage`, including inline reads.
    pub fn scratch_bytes(&self, stage: usize, block: &[usize]) -> u64 {
        let st = &self.stages[stage];
        st.scratch_bytes(block) + self.stage_inline_read_bytes(stage, block)
    }

    /// Bytes block `block` (linear index `linear`) of `stage` holds while it is written,
    /// besides the block itself, summed over the outputs that are that stage (see
    /// [`OutputWrite`]); 0 for a stage that is not an output.
    pub fn write_bytes(&self, stage: usize, linear: usize, block_bytes: u64) -> u64 {
        let mut total = 0u64;
        for o in self.outputs.iter().filter(|o| o.stage == stage) {
            total = total.saturating_add(match &o.write {
                OutputWrite::Memory => 0,
                OutputWrite::Encode(cost) => cost.bytes(block_bytes),
                OutputWrite::Region {
                    chunk_bytes,
                    partial,
                } => {
                    let copies = if partial.get(linear).copied().unwrap_or(true) {
                        4
                    } else {
                        1
                    };
                    chunk_bytes.saturating_mul(copies)
                }
            });
        }
        total
    }

    /// Bytes of the source chunks block `block` of `stage` reads inline (see
    /// [`Plan::inline_read_bytes`]).
    pub fn stage_inline_read_bytes(&self, stage: StageId, block: &[usize]) -> u64 {
        self.stages[stage]
            .program_regions(block)
            .iter()
            .map(|(program, region)| self.inline_read_bytes(stage, program, region))
            .sum()
    }
}
