//! Reading a stored chunk: the leaves of a plan over Zarr arrays.

use std::sync::Arc;

use super::{Recompute, StageOp, TaskRun};
use crate::error::Result;
use crate::kernel::Datum;
use crate::plan::stage::Stage;
use crate::store::BlockRead;

/// Reads the chunk of a Zarr array (the stage grid is the array's chunk grid).
#[derive(Debug)]
pub struct Read {
    /// The array.
    pub source: Arc<dyn BlockRead>,
}

impl Read {
    /// Bytes a read of block `block` of `stage` (the stage holding this read) decodes: the
    /// block, or more when the source decodes whole stored chunks larger than the block
    /// ([`BlockRead::decoded_chunk_bytes`]).
    pub fn decoded_bytes(&self, stage: &Stage, block: &[usize]) -> u64 {
        stage
            .output_bytes(block)
            .max(self.source.decoded_chunk_bytes())
    }
}

impl StageOp for Read {
    fn op_name(&self) -> &'static str {
        "read"
    }

    /// The encoded and the decoded bytes of the chunk (zarrs reads the stored bytes,
    /// decodes them, then the block is built from the decoded bytes); none for a chunk the
    /// source memory-maps, which is read in place.
    fn scratch_bytes(&self, stage: &Stage, block: &[usize]) -> u64 {
        let request = if self.source.is_remote() {
            crate::store::REQUEST_BYTES
        } else {
            0
        };
        if self.source.maps_chunk(block) {
            request
        } else {
            self.decoded_bytes(stage, block)
                .saturating_mul(2)
                .saturating_add(request)
        }
    }

    fn recompute(&self) -> Recompute {
        Recompute::Reread
    }

    /// The chunk, memory-mapped where the source allows it; its bytes count as read.
    fn run(&self, task: &mut TaskRun<'_>) -> Result<Datum> {
        task.inputs.read_chunk(self.source.as_ref(), task.block)
    }
}
