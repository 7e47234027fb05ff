//! Lowering: expression graph → stages, with fusion, view pushdown and reduction trees.

use std::collections::HashMap;

use super::program::{PNode, Program};
use super::stage::Stage;
use super::stage::{
    Concat, Contract, Map, MapBlocks, Read, ReduceCombine, ReducePartial, Reshape, Scan,
};
use super::{Plan, StageId};
use crate::error::Result;
use crate::expr::{AxisIndex, ContractSpec, Expr, ExprKind, ExprRef, ReduceOp, ReduceSpec};
use crate::grid::{AxisChunks, ChunkGrid};
use crate::kernel::gather::{AxisMap, ViewMap};

/// Lowers the expression rooted at `root` to a plan whose output stage produces `root`'s
/// blocks.
///
/// # Errors
/// Currently infallible for graphs built through the public API; the `Result` leaves room
/// for operations that can only be checked when lowered.
pub fn lower(root: &ExprRef) -> Result<Plan> {
    lower_many(std::slice::from_ref(root))
}

/// Lowers several expressions to one plan with an output per root, in order. Lowering is
/// memoized per expression node, so what the roots share (a source, an intermediate
/// reduction) is one stage, read or computed once for all of them.
///
/// # Errors
/// As [`lower`].
pub fn lower_many(roots: &[ExprRef]) -> Result<Plan> {
    let mut l = Lowerer::default();
    let mut outputs = Vec::with_capacity(roots.len());
    for root in roots {
        outputs.push(super::Output::new(l.stage_for(root)?));
    }
    // Nodes shared by several roots count once per root here (dask's merged graph would
    // count them once): the figure is informative only.
    let naive_tasks = roots.iter().map(naive_task_count).sum();
    Ok(Plan {
        stages: l.stages,
        outputs,
        naive_tasks,
        inline_reads: super::InlineReads::None,
    })
}

/// The number of block tasks a lowering without culling and fusion would have: one per
/// block per operation, plus the reduction trees (what `len(x.dask)` counts).
pub fn naive_task_count(root: &ExprRef) -> u64 {
    Expr::post_order(root)
        .iter()
        .map(|n| match n.kind() {
            ExprKind::Reduce { input, spec } => {
                let levels = tree_levels(input.grid(), spec);
                levels.iter().map(|g| g.nblocks() as u64).sum::<u64>() + n.grid().nblocks() as u64
            }
            ExprKind::Contract { lhs, spec, .. } => {
                let (expanded, sum) = contract_tree(n, lhs, spec);
                if sum.axes.is_empty() {
                    return n.grid().nblocks() as u64;
                }
                let levels = tree_levels(&expanded, &sum);
                levels.iter().map(|g| g.nblocks() as u64).sum::<u64>() + n.grid().nblocks() as u64
            }
            _ => n.grid().nblocks() as u64,
        })
        .sum()
}

#[derive(Default)]
struct Lowerer {
    stages: Vec<Stage>,
    materialized: HashMap<u64, StageId>,
}

/// The grid of a contraction's partial products before the sum over the contracted blocks
/// (the result grid followed by the chunks of each contracted label), and that sum as a
/// reduction over the trailing axes.
fn contract_tree(node: &Expr, lhs: &Expr, spec: &ContractSpec) -> (ChunkGrid, ReduceSpec) {
    let mut axes = node.grid().axes().to_vec();
    let contracted = spec.contracted();
    for l in &contracted {
        let d = spec
            .lhs
            .iter()
            .position(|x| x == l)
            .expect("a contracted label is in lhs");
        axes.push(lhs.grid().axes()[d].clone());
    }
    let out_ndim = spec.out.len();
    let sum = ReduceSpec {
        op: ReduceOp::Sum,
        axes: (out_ndim..out_ndim + contracted.len()).collect(),
        keepdims: false,
        ddof: 0.0,
        split_every: spec.split_every,
    };
    (ChunkGrid::from_axes(axes), sum)
}

/// The grids of a reduction tree's partial and intermediate combine levels (keepdims, one
/// element per block along reduced axes), from the partials up to the first level with at
/// most `split_every` blocks per reduced axis, which the final aggregate combines.
fn tree_levels(input: &ChunkGrid, spec: &ReduceSpec) -> Vec<ChunkGrid> {
    let partial_axes = |counts: &dyn Fn(usize, &AxisChunks) -> usize| {
        ChunkGrid::from_axes(
            input
                .axes()
                .iter()
                .enumerate()
                .map(|(d, a)| {
                    if spec.axes.contains(&d) {
                        AxisChunks::from_sizes(&vec![1; counts(d, a)])
                    } else {
                        a.clone()
                    }
                })
                .collect(),
        )
    };
    let mut levels = vec![partial_axes(&|_, a| a.nchunks())];
    loop {
        let last = levels.last().expect("non-empty");
        if spec
            .axes
            .iter()
            .all(|&d| last.axes()[d].nchunks() <= spec.split_every)
        {
            return levels;
        }
        let counts: Vec<usize> = last.axes().iter().map(AxisChunks::nchunks).collect();
        levels.push(partial_axes(&|d, _| counts[d].div_ceil(spec.split_every)));
    }
}

impl Lowerer {
    fn push(&mut self, stage: Stage) -> StageId {
        self.stages.push(stage);
        self.stages.len() - 1
    }

    /// The stage that materializes `node`'s blocks (memoized per node).
    fn stage_for(&mut self, node: &ExprRef) -> Result<StageId> {
        if let Some(&s) = self.materialized.get(&node.id()) {
            return Ok(s);
        }
        let id = match node.kind() {
            ExprKind::Source { source } => self.push(Stage {
                grid: node.grid().clone(),
                dtype: node.dtype(),
                op: Box::new(Read {
                    source: source.clone(),
                }),
                name: format!("read {}", source.path().display()),
            }),
            ExprKind::Reduce { input, spec } => self.reduce_stages(node, input, spec)?,
            ExprKind::Contract { lhs, rhs, spec } => self.contract_stages(node, lhs, rhs, spec)?,
            ExprKind::Concat { inputs, axis } => {
                let mut parts = Vec::with_capacity(inputs.len());
                let mut offsets = Vec::with_capacity(inputs.len());
                let mut names = Vec::new();
                let mut next = 0;
                for x in inputs {
                    let (program, name) = self.program(x)?;
                    offsets.push(next);
                    if x.shape()[*axis] > 0 {
                        next += x.grid().axes()[*axis].nchunks();
                    }
                    parts.push(program);
                    names.push(name);
                }
                self.push(Stage {
                    grid: node.grid().clone(),
                    dtype: node.dtype(),
                    op: Box::new(Concat {
                        parts,
                        axis: *axis,
                        offsets,
                    }),
                    name: format!("concatenate({})", names.join(", ")),
                })
            }
            ExprKind::MapBlocks { inputs, spec } => {
                let mut programs = Vec::with_capacity(inputs.len());
                let mut names = Vec::with_capacity(inputs.len());
                for x in inputs {
                    let (program, name) = self.program(x)?;
                    programs.push(program);
                    names.push(name);
                }
                self.push(Stage {
                    grid: node.grid().clone(),
                    dtype: node.dtype(),
                    op: Box::new(MapBlocks {
                        inputs: programs,
                        spec: spec.clone(),
                    }),
                    name: format!("{}({})", spec.func.name, names.join(", ")),
                })
            }
            ExprKind::Reshape { input, map } => {
                let (program, inner) = self.program(input)?;
                self.push(Stage {
                    grid: node.grid().clone(),
                    dtype: node.dtype(),
                    op: Box::new(Reshape {
                        program,
                        map: map.clone(),
                    }),
                    name: format!("reshape({inner})"),
                })
            }
            ExprKind::Scan { input, op, axis } => {
                let (program, inner) = self.program(input)?;
                self.push(Stage {
                    grid: node.grid().clone(),
                    dtype: node.dtype(),
                    op: Box::new(Scan {
                        program,
                        op: *op,
                        axis: *axis,
                    }),
                    name: format!("{}({inner})", op.name()),
                })
            }
            _ => {
                let (program, name) = self.program(node)?;
                self.push(Stage {
                    grid: node.grid().clone(),
                    dtype: node.dtype(),
                    op: Box::new(Map { program }),
                    name,
                })
            }
        };
        self.materialized.insert(node.id(), id);
        Ok(id)
    }

    fn reduce_stages(
        &mut self,
        node: &ExprRef,
        input: &ExprRef,
        spec: &ReduceSpec,
    ) -> Result<StageId> {
        let (program, inner) = self.program(input)?;
        let levels = tree_levels(input.grid(), spec);
        let first = self.push(Stage {
            grid: levels[0].clone(),
            dtype: node.dtype(),
            op: Box::new(ReducePartial {
                program,
                spec: spec.clone(),
            }),
            name: format!("{}-partial({inner})", spec.op.name()),
        });
        Ok(self.combine_stages(node, first, &levels, spec, spec.op.name()))
    }

    /// The stages of a contraction: partial products of block pairs, summed by a
    /// reduction tree over the blocks of the contracted labels (none for an outer product).
    fn contract_stages(
        &mut self,
        node: &ExprRef,
        lhs: &ExprRef,
        rhs: &ExprRef,
        spec: &ContractSpec,
    ) -> Result<StageId> {
        let (lp, lname) = self.program(lhs)?;
        let (rp, rname) = self.program(rhs)?;
        let (expanded, sum) = contract_tree(node, lhs, spec);
        let contracted = spec.contracted();
        let axis_of = |l: &u32| match spec.out.iter().position(|x| x == l) {
            Some(p) => p,
            None => spec.out.len() + contracted.iter().position(|x| x == l).unwrap_or(0),
        };
        let op = Box::new(Contract {
            lhs: lp,
            rhs: rp,
            lhs_axes: spec.lhs.iter().map(axis_of).collect(),
            rhs_axes: spec.rhs.iter().map(axis_of).collect(),
            spec: spec.clone(),
        });
        let name = format!("{}({lname}, {rname})", spec.name);
        if contracted.is_empty() {
            return Ok(self.push(Stage {
                grid: node.grid().clone(),
                dtype: node.dtype(),
                op,
                name,
            }));
        }
        let levels = tree_levels(&expanded, &sum);
        let first = self.push(Stage {
            grid: levels[0].clone(),
            dtype: node.dtype(),
            op,
            name: format!("{name}-partial"),
        });
        Ok(self.combine_stages(node, first, &levels, &sum, spec.name))
    }

    /// The combine levels of a reduction tree over `levels` (the first is `first`'s grid)
    /// and its final aggregate into `node`'s blocks.
    fn combine_stages(
        &mut self,
        node: &ExprRef,
        first: StageId,
        levels: &[ChunkGrid],
        spec: &ReduceSpec,
        name: &str,
    ) -> StageId {
        let mut prev = first;
        for grid in &levels[1..] {
            prev = self.push(Stage {
                grid: grid.clone(),
                dtype: node.dtype(),
                op: Box::new(ReduceCombine {
                    input: prev,
                    spec: spec.clone(),
                    finalize: false,
                }),
                name: format!("{name}-combine"),
            });
        }
        self.push(Stage {
            grid: node.grid().clone(),
            dtype: node.dtype(),
            op: Box::new(ReduceCombine {
                input: prev,
                spec: spec.clone(),
                finalize: true,
            }),
            name: format!("{name}-aggregate"),
        })
    }

    /// Fuses everything from `root` down to the next materialization points into one
    /// program over `root`'s grid. Returns the program and a description of what it fused.
    fn program(&mut self, root: &ExprRef) -> Result<(Program, String)> {
        let mut b = ProgramBuilder {
            nodes: Vec::new(),
            memo: HashMap::new(),
            ops: Vec::new(),
        };
        b.visit(self, root, ViewMap::identity(root.ndim()))?;
        let name = b.ops.join("+");
        Ok((
            Program {
                grid: root.grid().clone(),
                dtype: root.dtype(),
                nodes: b.nodes,
            },
            name,
        ))
    }
}

struct ProgramBuilder {
    nodes: Vec<PNode>,
    memo: HashMap<(u64, ViewMap), usize>,
    ops: Vec<String>,
}

impl ProgramBuilder {
    fn add(&mut self, node: PNode) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn note(&mut self, op: String) {
        if !self.ops.contains(&op) {
            self.ops.push(op);
        }
    }

    /// Adds the nodes computing `node` as seen through `view` (`view` maps `node`'s axes).
    fn visit(&mut self, l: &mut Lowerer, node: &ExprRef, view: ViewMap) -> Result<usize> {
        let key = (node.id(), view.clone());
        if let Some(&i) = self.memo.get(&key) {
            return Ok(i);
        }
        let i = match node.kind() {
            ExprKind::Generator { generator } => {
                self.note(node.op_name());
                self.add(PNode::Generator {
                    generator: generator.clone(),
                    dtype: node.dtype(),
                    shape: node.shape(),
                    view,
                })
            }
            ExprKind::Memory { data } => {
                self.note(node.op_name());
                self.add(PNode::Memory {
                    data: data.clone(),
                    view,
                })
            }
            ExprKind::Source { .. }
            | ExprKind::Reduce { .. }
            | ExprKind::Contract { .. }
            | ExprKind::Concat { .. }
            | ExprKind::Reshape { .. }
            | ExprKind::MapBlocks { .. }
            | ExprKind::Scan { .. } => {
                let stage = l.stage_for(node)?;
                self.note(node.op_name());
                self.add(PNode::Blocks { stage, view })
            }
            ExprKind::Rechunk { input } => self.visit(l, input, view)?,
            ExprKind::BroadcastTo { input } => {
                self.note(node.op_name());
                self.visit(l, input, broadcast_view(&view, node, input))?
            }
            ExprKind::Cast { input } => {
                let x = self.visit(l, input, view)?;
                self.note(node.op_name());
                self.add(PNode::Cast {
                    input: x,
                    dtype: node.dtype(),
                })
            }
            ExprKind::Unary { op, input } => {
                let x = self.visit(l, input, broadcast_view(&view, node, input))?;
                self.note(node.op_name());
                self.add(PNode::Unary { op: *op, input: x })
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let a = self.visit(l, lhs, broadcast_view(&view, node, lhs))?;
                let b = self.visit(l, rhs, broadcast_view(&view, node, rhs))?;
                self.note(node.op_name());
                self.add(PNode::Binary {
                    op: *op,
                    lhs: a,
                    rhs: b,
                })
            }
            ExprKind::Where { cond, x, y } => {
                let c = self.visit(l, cond, broadcast_view(&view, node, cond))?;
                let a = self.visit(l, x, broadcast_view(&view, node, x))?;
                let b = self.visit(l, y, broadcast_view(&view, node, y))?;
                self.note(node.op_name());
                self.add(PNode::Where {
                    cond: c,
                    x: a,
                    y: b,
                })
            }
            ExprKind::Transpose { input, perm } => {
                self.note(node.op_name());
                let mut axes = vec![AxisMap::Fixed(0); perm.len()];
                for (d, &p) in perm.iter().enumerate() {
                    axes[p] = view.axes[d];
                }
                let v = ViewMap {
                    axes,
                    out_ndim: view.out_ndim,
                };
                self.visit(l, input, v)?
            }
            ExprKind::Index { input, axes } => {
                self.note(node.op_name());
                self.visit(l, input, index_view(&view, axes))?
            }
        };
        self.memo.insert(key, i);
        Ok(i)
    }
}

/// The view of a broadcast operand `child` of `node` (right-aligned axes; a length-1 axis
/// that `node` stretches is pinned to element 0).
fn broadcast_view(view: &ViewMap, node: &Expr, child: &Expr) -> ViewMap {
    let (ns, cs) = (node.shape(), child.shape());
    let off = ns.len() - cs.len();
    let axes = (0..cs.len())
        .map(|j| {
            if cs[j] == 1 && ns[j + off] != 1 {
                AxisMap::Fixed(0)
            } else {
                view.axes[j + off]
            }
        })
        .collect();
    ViewMap {
        axes,
        out_ndim: view.out_ndim,
    }
}

/// The view of an indexed array's input: integer indices pin an axis, slices compose.
fn index_view(view: &ViewMap, index: &[AxisIndex]) -> ViewMap {
    let mut kept = view.axes.iter();
    let axes = index
        .iter()
        .map(|ix| match *ix {
            AxisIndex::Index(i) => AxisMap::Fixed(i),
            AxisIndex::Slice { start, step, .. } => {
                let (s, st) = (start as i64, step as i64);
                match *kept.next().expect("one view axis per kept axis") {
                    AxisMap::Fixed(k) => AxisMap::Fixed((s + st * k as i64) as usize),
                    AxisMap::Map { out, offset, step } => AxisMap::Map {
                        out,
                        offset: s + st * offset,
                        step: st * step,
                    },
                }
            }
        })
        .collect();
    ViewMap {
        axes,
        out_ndim: view.out_ndim,
    }
}
