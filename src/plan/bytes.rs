//! Bytes each task holds, known before anything runs: its output, and the scratch it needs
//! while running (decode buffers, tile temporaries, accumulators). Inputs are the outputs of
//! other tasks and are counted there. These estimates drive the pre-flight check, the
//! simulated peak and the executor's admission of tasks under a memory limit.

use super::{OutputWrite, Plan, Program, Reads, Stage, StageKind};
use crate::expr::ReduceOp;
use crate::grid::Region;
use crate::kernel::contract::Groups;
use crate::kernel::overlap::Halo;

/// Elements per tile of a fused program (see `exec::eval`): every temporary of a program is
/// at most this many elements.
pub const TILE_ELEMS: usize = 8192;

/// Bytes per element of a partial reduction's accumulator (float64, int64 or uint64; min/max
/// keep the input dtype, at most 8 bytes) times the number of arrays it keeps.
fn partial_elem_bytes(op: ReduceOp) -> u64 {
    match op {
        ReduceOp::Var | ReduceOp::Std => 16,
        ReduceOp::Sum | ReduceOp::Prod | ReduceOp::Min | ReduceOp::Max | ReduceOp::Mean => 8,
    }
}

impl Stage {
    /// Bytes of the output of block `block` of this stage.
    pub fn output_bytes(&self, block: &[usize]) -> u64 {
        let elems = self.grid.block_shape(block).iter().product::<usize>() as u64;
        match &self.kind {
            StageKind::ReducePartial { spec, .. }
            | StageKind::ReduceCombine {
                spec,
                finalize: false,
                ..
            } => elems * partial_elem_bytes(spec.op),
            StageKind::Read { .. }
            | StageKind::Map { .. }
            | StageKind::Contract { .. }
            | StageKind::Scan { .. }
            | StageKind::Concat { .. }
            | StageKind::Reshape { .. }
            | StageKind::MapBlocks { .. }
            | StageKind::ReduceCombine { .. } => elems * self.dtype.size() as u64,
        }
    }

    /// Bytes a read of block `block` of this stage decodes: the block, or more when the
    /// source decodes whole stored chunks larger than the block
    /// ([`BlockRead::decoded_chunk_bytes`](crate::store::BlockRead::decoded_chunk_bytes)).
    fn decoded_bytes(&self, block: &[usize]) -> u64 {
        let out = self.output_bytes(block);
        if let StageKind::Read { source } = &self.kind {
            out.max(source.decoded_chunk_bytes())
        } else {
            out
        }
    }

    /// Scratch bytes one task of this stage needs while it runs, besides inputs and output:
    /// the encoded and the decoded bytes of the chunk for reads (zarrs reads the stored
    /// bytes, decodes them, then the block is built from the decoded bytes), none for a
    /// chunk the source memory-maps; one tile per program node for fused programs; a copy of
    /// the accumulator for combines.
    pub fn scratch_bytes(&self, block: &[usize]) -> u64 {
        let tile = |nodes: usize, region_elems: usize| {
            (nodes * TILE_ELEMS.min(region_elems.max(1)) * 8) as u64
        };
        match &self.kind {
            // A mapped chunk is read in place: no stored or decoded copy.
            StageKind::Read { source } if source.maps_chunk(block) => 0,
            StageKind::Read { .. } => self.decoded_bytes(block).saturating_mul(2),
            // A scan accumulates in its output block: its scratch is the program's tiles.
            StageKind::Map { program } | StageKind::Scan { program, .. } => {
                let elems = program.grid.block_shape(block).iter().product();
                tile(program.nodes.len(), elems)
            }
            // The block is evaluated in the input's shape and reshaped in place.
            StageKind::Concat { .. } | StageKind::Reshape { .. } => self
                .program_regions(block)
                .iter()
                .map(|(p, r)| tile(p.nodes.len(), r.len()))
                .sum(),
            StageKind::ReducePartial { program, spec } => {
                let elems = program.grid.block_shape(block).iter().product();
                tile(program.nodes.len() + 2, elems)
                    + self
                        .output_bytes(block)
                        .min(TILE_ELEMS as u64 * partial_elem_bytes(spec.op))
            }
            StageKind::Contract { spec, .. } => {
                // Both operand blocks, evaluated whole; copies of those not in the kernel's
                // axis order, and of the product when the result's order differs.
                let groups = Groups::of(spec);
                let size = self.dtype.size() as u64;
                let mut bytes = 0;
                let orders = [
                    (&spec.lhs, groups.lhs_order()),
                    (&spec.rhs, groups.rhs_order()),
                ];
                for ((_, region), (labels, order)) in self.program_regions(block).iter().zip(orders)
                {
                    let operand = region.len() as u64 * size;
                    bytes += if *labels == order {
                        operand
                    } else {
                        2 * operand
                    };
                }
                if spec.out != groups.out_order() {
                    bytes += self.output_bytes(block);
                }
                bytes
            }
            StageKind::MapBlocks { inputs, spec } => {
                // Each input block assembled whole (with its halo), the function's result
                // (extended, for map_overlap, before it is trimmed into the output) and
                // the temporaries the function declares, each as large as its result.
                let mut bytes = 0;
                let mut extended = self.grid.block_shape(block).iter().product::<usize>() as u64;
                for program in inputs {
                    let core = program.grid.region(&self.input_block(spec, program, block));
                    let elems = match &spec.overlap {
                        Some(o) => Halo::of(&core, &program.grid.shape(), o)
                            .shape
                            .iter()
                            .product(),
                        None => core.len(),
                    };
                    bytes += elems as u64 * program.dtype.size() as u64
                        + tile(program.nodes.len(), elems);
                    if spec.overlap.is_some() {
                        extended = elems as u64;
                    }
                }
                let result = extended * self.dtype.size() as u64;
                let trimmed = if spec.overlap.is_some() { result } else { 0 };
                bytes + trimmed + result * spec.func.temporaries as u64
            }
            StageKind::ReduceCombine { .. } => self.output_bytes(block),
        }
    }
}

impl Plan {
    /// Bytes of the source chunks a program reads inline over `region` (plus one chunk's
    /// encoded and decoded buffers), when the plan reads sources inline. A chunk the source
    /// memory-maps ([`BlockRead::maps_chunk`](crate::store::BlockRead::maps_chunk)) counts
    /// only what touching the region's elements maps, in units of what one fault maps
    /// ([`map_fault_bytes`](crate::store::map_fault_bytes): up to 2 MiB, so a chunk of at
    /// most that counts whole), and decodes nothing.
    pub fn inline_read_bytes(&self, program: &Program, region: &Region) -> u64 {
        let mut total = 0;
        let mut largest = 0;
        self.for_each_leaf_chunk(program, region, Reads::Inline, |s, view, c| {
            let st = &self.stages[s];
            let StageKind::Read { source } = &st.kind else {
                return;
            };
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
                largest = largest.max(st.decoded_bytes(c));
            }
        });
        total.saturating_add(largest.saturating_mul(2))
    }

    /// Scratch bytes of block `block` of stage `stage`, including inline reads.
    pub fn scratch_bytes(&self, stage: usize, block: &[usize]) -> u64 {
        let st = &self.stages[stage];
        st.scratch_bytes(block) + self.stage_inline_read_bytes(st, block)
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
    pub fn stage_inline_read_bytes(&self, stage: &Stage, block: &[usize]) -> u64 {
        stage
            .program_regions(block)
            .iter()
            .map(|(program, region)| self.inline_read_bytes(program, region))
            .sum()
    }
}
