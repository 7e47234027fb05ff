//! Contractions (`matmul`, `tensordot`, `einsum`): products of operand block pairs.

use super::{StageOp, TaskRun};
use crate::block::BlockElement;
use crate::error::{Error, Result};
use crate::expr::ContractSpec;
use crate::grid::Region;
use crate::kernel::Datum;
use crate::kernel::contract::{self, Groups};
use crate::kernel::reduce::Partial;
use crate::plan::eval::map_arg;
use crate::plan::program::Program;
use crate::plan::stage::Stage;

/// The product of a block of `lhs` and a block of `rhs`, summed over their contracted
/// axes: one task per result block per block of the contracted axes. The stage grid is the
/// result grid followed by one axis per contracted label with one element per block;
/// [`super::ReduceCombine`] stages sum the partial products over those axes. Without
/// contracted labels (an outer product) the stage grid is the result grid and tasks output
/// blocks instead of partials.
#[derive(Debug)]
pub struct Contract {
    /// The left operand, fused.
    pub lhs: Program,
    /// The right operand, fused.
    pub rhs: Program,
    /// For each axis of `lhs`, the stage-grid axis its block index is taken from.
    pub lhs_axes: Vec<usize>,
    /// For each axis of `rhs`, likewise.
    pub rhs_axes: Vec<usize>,
    /// The labels of the contraction.
    pub spec: ContractSpec,
}

impl StageOp for Contract {
    fn op_name(&self) -> &'static str {
        "contract"
    }

    fn programs(&self) -> Vec<&Program> {
        vec![&self.lhs, &self.rhs]
    }

    fn program_regions(&self, block: &[usize]) -> Vec<(&Program, Region)> {
        let pick = |axes: &[usize]| -> Vec<usize> { axes.iter().map(|&a| block[a]).collect() };
        vec![
            (&self.lhs, self.lhs.grid.region(&pick(&self.lhs_axes))),
            (&self.rhs, self.rhs.grid.region(&pick(&self.rhs_axes))),
        ]
    }

    /// Both operand blocks, evaluated whole; copies of those not in the kernel's axis
    /// order, and of the product when the result's order differs.
    fn scratch_bytes(&self, stage: &Stage, block: &[usize]) -> u64 {
        let spec = &self.spec;
        let groups = Groups::of(spec);
        let size = stage.dtype.size() as u64;
        let mut bytes = 0;
        let orders = [
            (&spec.lhs, groups.lhs_order()),
            (&spec.rhs, groups.rhs_order()),
        ];
        for ((_, region), (labels, order)) in self.program_regions(block).iter().zip(orders) {
            let operand = region.len() as u64 * size;
            bytes += if *labels == order {
                operand
            } else {
                2 * operand
            };
        }
        if spec.out != groups.out_order() {
            bytes += self.output_bytes(stage, block);
        }
        bytes
    }

    fn run(&self, task: &mut TaskRun<'_>) -> Result<Datum> {
        let spec = &self.spec;
        let regions = self.program_regions(task.block);
        for (program, region) in &regions {
            task.inputs
                .read_inline(task.plan, task.stage, program, region)?;
        }
        // Operands that are whole blocks of an earlier stage are multiplied in place.
        let inputs = &*task.inputs;
        let mut operands = Vec::with_capacity(2);
        for (program, region) in &regions {
            operands.push(map_arg(task.plan, program, region, inputs)?);
        }
        let product = contract::contract_refs(spec, operands[0].get(), operands[1].get())?;
        let terms = operands[0].get().shape().iter().product::<usize>() / product.len().max(1);
        drop(operands);
        let stage = task.stage();
        if stage.grid.ndim() == spec.out.len() {
            return Ok(Datum::Block(product));
        }
        // A partial of the sum over the contracted blocks: length-1 contracted axes.
        let shape = stage.grid.block_shape(task.block);
        let acc = crate::dispatch_block!(product, a => BlockElement::wrap(
            a.into_shape_with_order(ndarray::IxDyn(&shape))
                .map_err(|e| Error::internal_from("contraction partial", e))?));
        Ok(Datum::Partial(Partial {
            count: terms as u64,
            acc,
            m2: None,
        }))
    }
}
