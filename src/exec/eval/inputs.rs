//! The blocks a task reads ([`Inputs`]): its input tasks' outputs, and the source chunks it
//! reads inline, memory-mapped where the source allows it.

use std::sync::Arc;

use crate::block::BlockRef;
use crate::error::{Error, Result};
use crate::grid::Region;
use crate::kernel::Value;
use crate::plan::{Plan, Program, Reads, StageId, StageKind};
use crate::schedule::{TaskGraph, TaskId};
use crate::store::BlockRead;

/// The blocks a task reads, looked up by (stage, linear block): the outputs of its input
/// tasks, and the source chunks it reads itself when the plan reads sources inline.
pub(super) struct Inputs {
    entries: Vec<(StageId, usize, Arc<Value>)>,
    /// Bytes of source chunks read inline.
    pub(super) read_bytes: u64,
}

impl Inputs {
    pub(super) fn new(graph: &TaskGraph, deps: &[(TaskId, Arc<Value>)]) -> Self {
        Inputs {
            entries: deps
                .iter()
                .map(|(d, v)| {
                    let (stage, block) = (graph.stage[*d as usize], graph.block[*d as usize]);
                    (stage as StageId, block as usize, v.clone())
                })
                .collect(),
            read_bytes: 0,
        }
    }

    pub(super) fn block(&self, stage: StageId, linear: usize) -> Result<BlockRef<'_>> {
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

    pub(super) fn values(&self) -> impl Iterator<Item = &Value> + '_ {
        self.entries.iter().map(|(_, _, v)| v.as_ref())
    }

    /// Reads the source chunks that `program` needs over `region` from the stages the plan
    /// reads inline.
    pub(super) fn read_inline(
        &mut self,
        plan: &Plan,
        program: &Program,
        region: &Region,
    ) -> Result<()> {
        let mut chunks = Vec::new();
        plan.for_each_leaf_chunk(program, region, Reads::Inline, |s, _, c| {
            chunks.push((s, c.to_vec()));
        });
        for (s, c) in chunks {
            let StageKind::Read { source } = &plan.stages[s].kind else {
                continue;
            };
            let lin = plan.stages[s].grid.linear(&c);
            if self.entries.iter().any(|(st, l, _)| *st == s && *l == lin) {
                continue;
            }
            let value = read_chunk(source.as_ref(), &c)?;
            self.read_bytes += value.nbytes() as u64;
            self.entries.push((s, lin, Arc::new(value)));
        }
        Ok(())
    }
}

/// Reads a source chunk: memory-mapped where the source allows it, else into memory.
pub(super) fn read_chunk(source: &dyn BlockRead, chunk: &[usize]) -> Result<Value> {
    Ok(match source.map_chunk(chunk)? {
        Some(m) => Value::Mapped(m),
        None => Value::Block(source.read_chunk(chunk)?),
    })
}
