//! The blocks a task reads ([`Inputs`]): its input tasks' outputs, and the source chunks it
//! reads inline, memory-mapped where the source allows it.

use std::sync::Arc;

use crate::block::BlockRef;
use crate::error::{Error, Result};
use crate::grid::Region;
use crate::kernel::Datum;
use crate::plan::program::Program;
use crate::plan::{Plan, Reads, StageId};
use crate::store::BlockRead;

/// The blocks a task reads, looked up by (stage, linear block): the outputs of its input
/// tasks, and the source chunks it reads itself when the plan reads sources inline.
pub(crate) struct Inputs {
    entries: Vec<(StageId, usize, Arc<Datum>)>,
    /// Bytes of source chunks read by the task.
    read_bytes: u64,
}

impl Inputs {
    /// The outputs of a task's input tasks, each with its (stage, linear block).
    pub(crate) fn new(entries: Vec<(StageId, usize, Arc<Datum>)>) -> Self {
        Inputs {
            entries,
            read_bytes: 0,
        }
    }

    /// Bytes of the source chunks the task read itself (inline, or as a read task).
    pub(crate) fn read_bytes(&self) -> u64 {
        self.read_bytes
    }

    pub(crate) fn block(&self, stage: StageId, linear: usize) -> Result<BlockRef<'_>> {
        match self
            .entries
            .iter()
            .find(|(s, l, _)| *s == stage && *l == linear)
        {
            Some((_, _, v)) => v
                .as_block()
                .ok_or_else(|| Error::internal("expected a block, got a partial")),
            None => Err(Error::internal(format!(
                "input block {linear} of stage {stage} is missing"
            ))),
        }
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &Datum> + '_ {
        self.entries.iter().map(|(_, _, v)| v.as_ref())
    }

    /// Reads the source chunks that `program` (of stage `consumer`) needs over `region`
    /// from the stages it reads inline.
    pub(crate) fn read_inline(
        &mut self,
        plan: &Plan,
        consumer: StageId,
        program: &Program,
        region: &Region,
    ) -> Result<()> {
        let mut chunks = Vec::new();
        plan.for_each_leaf_chunk(consumer, program, region, Reads::Inline, |s, _, c| {
            chunks.push((s, c.to_vec()));
        });
        for (s, c) in chunks {
            let Some(read) = plan.stages[s].as_read() else {
                continue;
            };
            let lin = plan.stages[s].grid.linear(&c);
            if self.entries.iter().any(|(st, l, _)| *st == s && *l == lin) {
                continue;
            }
            let value = self.read_chunk(read.source.as_ref(), &c)?;
            self.entries.push((s, lin, Arc::new(value)));
        }
        Ok(())
    }

    /// Reads a source chunk, memory-mapped where the source allows it, else into memory,
    /// and counts its bytes as read by the task.
    pub(crate) fn read_chunk(&mut self, source: &dyn BlockRead, chunk: &[usize]) -> Result<Datum> {
        let value = match source.map_chunk(chunk)? {
            Some(m) => Datum::Mapped(m),
            None => Datum::Block(source.read_chunk(chunk)?),
        };
        self.read_bytes += value.nbytes() as u64;
        Ok(value)
    }
}
