//! Running one task: dispatch on its stage's kind (read, program, reduction, scan,
//! contraction, gather, user function...), counting the bytes it read.

use std::sync::Arc;

use super::inputs::{Inputs, read_chunk};
use super::map::{map_arg, map_blocks};
use super::tiles::{eval_tiled, reduce_tiled};
use crate::block::{Block, BlockElement};
use crate::error::{Error, Result};
use crate::kernel::reduce::Partial;
use crate::kernel::{Value, contract, reduce, scan};
use crate::plan::{Plan, StageId, StageKind};
use crate::schedule::{TaskGraph, TaskId};

/// Runs task `t` on `inputs` (the outputs of its input tasks) and returns its value with
/// the bytes it read from stores: its chunk for a read task, the chunks read inline
/// otherwise.
pub(crate) fn run_counted(
    plan: &Plan,
    graph: &TaskGraph,
    t: TaskId,
    inputs: &[(TaskId, Arc<Value>)],
) -> Result<(Value, u64)> {
    let mut task_inputs = Inputs::new(graph, inputs);
    let value = run_task(plan, graph, t, &mut task_inputs)?;
    let read = task_inputs.read_bytes
        + match plan.stages[graph.stage[t as usize] as usize].kind {
            StageKind::Read { .. } => value.nbytes() as u64,
            _ => 0,
        };
    Ok((value, read))
}

/// Runs task `t` on its inputs.
pub(super) fn run_task(
    plan: &Plan,
    graph: &TaskGraph,
    t: TaskId,
    inputs: &mut Inputs,
) -> Result<Value> {
    let stage = &plan.stages[graph.stage[t as usize] as usize];
    let block = graph.block_index(plan, t);
    match &stage.kind {
        StageKind::Read { source } => read_chunk(source.as_ref(), &block),
        StageKind::Map { program } => {
            let region = program.grid.region(&block);
            inputs.read_inline(plan, program, &region)?;
            Ok(Value::Block(eval_tiled(plan, program, &region, inputs)?))
        }
        StageKind::ReducePartial { program, spec } => {
            let region = program.grid.region(&block);
            inputs.read_inline(plan, program, &region)?;
            Ok(Value::Partial(reduce_tiled(
                plan, program, spec, &region, inputs,
            )?))
        }
        StageKind::Concat { .. } => {
            let Some((program, region)) = stage.program_regions(&block).pop() else {
                return Ok(Value::Block(Block::zeros(
                    stage.dtype,
                    &stage.grid.block_shape(&block),
                )));
            };
            inputs.read_inline(plan, program, &region)?;
            Ok(Value::Block(eval_tiled(plan, program, &region, inputs)?))
        }
        StageKind::Reshape { program, map } => {
            let region = program.grid.region(&map.input_block(&block));
            inputs.read_inline(plan, program, &region)?;
            let value = eval_tiled(plan, program, &region, inputs)?;
            Ok(Value::Block(
                value.into_shape(&stage.grid.block_shape(&block))?,
            ))
        }
        StageKind::Scan { program, op, axis } => {
            let region = program.grid.region(&block);
            inputs.read_inline(plan, program, &region)?;
            let mut out = eval_tiled(plan, program, &region, inputs)?;
            let own = graph.stage[t as usize] as StageId;
            let before = match block[*axis] {
                0 => None,
                i => {
                    let mut b = block.clone();
                    b[*axis] = i - 1;
                    Some(inputs.block(own, stage.grid.linear(&b))?)
                }
            };
            scan::scan(*op, &mut out, *axis, before)?;
            Ok(Value::Block(out))
        }
        StageKind::Contract { spec, .. } => {
            let regions = stage.program_regions(&block);
            for (program, region) in &regions {
                inputs.read_inline(plan, program, region)?;
            }
            // Operands that are whole blocks of an earlier stage are multiplied in place.
            let inputs = &*inputs;
            let mut operands = Vec::with_capacity(2);
            for (program, region) in &regions {
                operands.push(map_arg(plan, program, region, inputs)?);
            }
            let product = contract::contract_refs(spec, operands[0].get(), operands[1].get())?;
            let terms = operands[0].get().shape().iter().product::<usize>() / product.len().max(1);
            drop(operands);
            if stage.grid.ndim() == spec.out.len() {
                return Ok(Value::Block(product));
            }
            // A partial of the sum over the contracted blocks: length-1 contracted axes.
            let shape = stage.grid.block_shape(&block);
            let acc = crate::dispatch_block!(product, a => BlockElement::wrap(
                a.into_shape_with_order(ndarray::IxDyn(&shape))
                    .map_err(|e| Error::internal(format!("contraction partial: {e}")))?));
            Ok(Value::Partial(Partial {
                count: terms as u64,
                acc,
                m2: None,
            }))
        }
        StageKind::MapBlocks {
            inputs: programs,
            spec,
        } => Ok(Value::Block(map_blocks(
            plan, stage, programs, spec, &block, inputs,
        )?)),
        StageKind::ReduceCombine { spec, finalize, .. } => {
            let mut parts = inputs.values().map(|v| match v {
                Value::Partial(p) => Ok(p),
                Value::Block(_) | Value::Mapped(_) => {
                    Err(Error::internal("expected a partial, got a block"))
                }
            });
            let first = parts
                .next()
                .ok_or_else(|| Error::internal("combine task without inputs"))??;
            let mut acc = first.clone();
            for p in parts {
                acc = reduce::combine(spec, acc, p?)?;
            }
            Ok(if *finalize {
                Value::Block(reduce::finalize(spec, acc, stage.dtype))
            } else {
                Value::Partial(acc)
            })
        }
    }
}
