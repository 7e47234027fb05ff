//! Routing output blocks: an output stage's value as a block, handed to every sink that
//! asked for it.

use crate::error::{Error, Result};
use crate::kernel::Datum;
use crate::plan::Plan;
use crate::store::Sink;

/// An output stage's value as the block its sinks take.
pub(super) fn output_block(value: Datum) -> Result<crate::block::Block> {
    match value {
        Datum::Block(b) => Ok(b),
        Datum::Mapped(m) => Ok(m.to_block()),
        Datum::Partial(_) => Err(Error::internal("the output stage produced a partial")),
    }
}

/// Hands output block `index` of stage `stage` to every sink of that stage (usually one;
/// the same array asked for twice gets a copy); returns the bytes handed over.
pub(super) fn to_sinks(
    plan: &Plan,
    sinks: &[&dyn Sink],
    stage: usize,
    index: &[usize],
    block: crate::block::Block,
) -> Result<u64> {
    let mut bytes = 0;
    let mut sinks = plan
        .outputs
        .iter()
        .zip(sinks)
        .filter(|(o, _)| o.stage == stage)
        .map(|(_, s)| s)
        .peekable();
    while let Some(sink) = sinks.next() {
        bytes += block.nbytes() as u64;
        if sinks.peek().is_some() {
            sink.consume(index, block.clone())?;
        } else {
            sink.consume(index, block)?;
            break;
        }
    }
    Ok(bytes)
}
