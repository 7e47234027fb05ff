//! User functions applied block by block (`map_blocks`, `map_overlap`): the output's dtype,
//! axes and chunks, and the checks of the halo.

use super::grid::{check_blocks, rechunk};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::expr::kind::ExprKind;
use crate::expr::map::{BlockFunction, Boundary, MapSpec, Overlap};
use crate::expr::{Expr, ExprRef};
use crate::grid::fmt_shape;
use crate::grid::{AxisChunks, ChunkGrid};

/// The output side of a `map_blocks` node: its dtype, axes and chunks.
pub(crate) struct MapOutput<'a> {
    /// The function.
    pub(crate) func: BlockFunction,
    /// The dtype the function returns.
    pub(crate) dtype: DType,
    /// Input axes the output drops (normalized).
    pub(crate) drop_axis: &'a [usize],
    /// Output axes that are new (normalized in the output's numbering).
    pub(crate) new_axis: &'a [usize],
    /// The output's chunks per axis; by default those of the loop axes, and one element
    /// per new axis.
    pub(crate) chunks: Option<&'a [Vec<usize>]>,
    /// The halo of a `map_overlap`.
    pub(crate) overlap: Option<Overlap>,
    /// Per input, the axes along which it is passed whole: one block, paired with every
    /// block of the others along the axis, whatever its length (dask's broadcasting of
    /// single-block arguments in `blockwise`). Empty: none.
    pub(crate) whole: &'a [Vec<usize>],
}

/// A user function applied block by block to aligned inputs. The inputs are chunked alike
/// (common refinement) along every axis where their lengths agree; an input of length 1
/// along an axis broadcasts (its one block goes with every block along the axis), as does
/// an input passed whole along an axis ([`MapOutput::whole`]); axes the output drops are
/// made one block.
pub(crate) fn map_blocks(inputs: &[ExprRef], out: MapOutput<'_>) -> Result<ExprRef> {
    let what = |msg: String| Error::invalid(format!("{} '{}': {msg}", op_of(&out), out.func.name));
    let first = inputs
        .first()
        .ok_or_else(|| what("needs at least one input array".into()))?;
    let ndim = first.ndim();
    if let Some(x) = inputs.iter().find(|x| x.ndim() != ndim) {
        return Err(Error::ShapeMismatch {
            op: op_of(&out).into(),
            lhs: first.shape(),
            rhs: x.shape(),
            hint: "the input arrays must have the same number of dimensions".into(),
        });
    }
    // The loop grid: per axis, the length every input has or broadcasts to, and the common
    // refinement of the chunks of the inputs of that length.
    let whole = |i: usize, d: usize| out.whole.get(i).is_some_and(|axes| axes.contains(&d));
    if out.whole.iter().flatten().any(|&d| d >= ndim) || out.whole.len() > inputs.len() {
        return Err(what(format!(
            "an input passed whole along an axis it does not have ({} axes)",
            ndim
        )));
    }
    let mut loop_axes = Vec::with_capacity(ndim);
    for d in 0..ndim {
        let looped = || {
            inputs
                .iter()
                .enumerate()
                .filter(move |&(i, _)| !whole(i, d))
                .map(|(_, x)| x)
        };
        let len = looped()
            .map(|x| x.shape()[d])
            .max()
            .or_else(|| inputs.iter().map(|x| x.shape()[d]).max())
            .unwrap_or(0);
        let full: Vec<&ExprRef> = looped().filter(|x| x.shape()[d] == len).collect();
        let full = if full.is_empty() {
            inputs.iter().filter(|x| x.shape()[d] == len).collect()
        } else {
            full
        };
        if let Some(x) = looped().find(|x| x.shape()[d] != len && x.shape()[d] != 1) {
            return Err(Error::ShapeMismatch {
                op: op_of(&out).into(),
                lhs: full[0].shape(),
                rhs: x.shape(),
                hint: format!("axis {d} neither matches nor broadcasts (length 1)"),
            });
        }
        if out.overlap.is_some() && (full.len() != inputs.len() || !out.whole.is_empty()) {
            return Err(what(format!(
                "the inputs must have the same shape (axis {d} broadcasts)"
            )));
        }
        let axis = if out.drop_axis.contains(&d) {
            AxisChunks::regular(len, len.max(1))
        } else {
            full.iter()
                .map(|x| x.grid().axes()[d].clone())
                .reduce(|a, b| a.refine(&b))
                .unwrap_or_else(|| AxisChunks::regular(len, len.max(1)))
        };
        loop_axes.push(axis);
    }
    let aligned: Vec<ExprRef> = inputs
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let axes = (0..ndim)
                .map(|d| {
                    let len = x.shape()[d];
                    if whole(i, d) {
                        AxisChunks::regular(len, len.max(1))
                    } else if len == loop_axes[d].len() {
                        loop_axes[d].clone()
                    } else {
                        AxisChunks::regular(1, 1)
                    }
                })
                .collect();
            rechunk(x, ChunkGrid::from_axes(axes))
        })
        .collect::<Result<_>>()?;
    // Output axes: new ones, and the loop axes not dropped, in order.
    let out_ndim = ndim + out.new_axis.len() - out.drop_axis.len();
    if let Some(&a) = out.new_axis.iter().find(|&&a| a >= out_ndim) {
        return Err(Error::InvalidAxis {
            axis: a as isize,
            ndim: out_ndim,
            hint: "new_axis (in the output's numbering)".into(),
        });
    }
    let mut kept = (0..ndim).filter(|d| !out.drop_axis.contains(d));
    let out_axes: Vec<Option<usize>> = (0..out_ndim)
        .map(|o| match out.new_axis.contains(&o) {
            true => None,
            false => kept.next(),
        })
        .collect();
    let mut kept_blocks = vec![None; out_ndim];
    let axes: Vec<AxisChunks> = match out.chunks {
        None => out_axes
            .iter()
            .map(|a| match a {
                Some(d) => loop_axes[*d].clone(),
                None => AxisChunks::regular(1, 1),
            })
            .collect(),
        Some(chunks) => {
            if chunks.len() != out_ndim {
                return Err(what(format!(
                    "chunks has {} axes, the output has {out_ndim}",
                    chunks.len()
                )));
            }
            let mut axes = Vec::with_capacity(out_ndim);
            for (o, (sizes, a)) in chunks.iter().zip(&out_axes).enumerate() {
                let want = a.map_or(1, |d| loop_axes[d].nchunks());
                if sizes.len() != want {
                    return Err(what(format!(
                        "chunks of output axis {o} has {} blocks, the inputs have {want} along it",
                        sizes.len()
                    )));
                }
                // Blocks declared empty are not computed (the grid has no empty chunks).
                let kept: Vec<usize> = (0..sizes.len()).filter(|&i| sizes[i] > 0).collect();
                if !kept.is_empty() && kept.len() < sizes.len() {
                    kept_blocks[o] = Some(kept.into());
                }
                axes.push(AxisChunks::from_sizes(sizes));
            }
            axes
        }
    };
    let grid = ChunkGrid::from_axes(axes);
    check_blocks(&grid)?;
    if let Some(overlap) = &out.overlap {
        check_overlap(overlap, &first.shape(), &what)?;
        if out_ndim != ndim || out.chunks.is_some() {
            return Err(what(
                "map_overlap keeps the blocks' shapes (no new, dropped or re-chunked axes)".into(),
            ));
        }
    }
    Ok(Expr::new(
        ExprKind::MapBlocks {
            inputs: aligned,
            spec: MapSpec {
                func: out.func,
                out_axes,
                overlap: out.overlap,
                kept_blocks,
            },
        },
        out.dtype,
        grid,
    ))
}

pub(super) fn op_of(out: &MapOutput<'_>) -> &'static str {
    match out.overlap {
        Some(_) => "map_overlap",
        None => "map_blocks",
    }
}

/// The halo must fit the array where the boundary rule takes it from the array itself.
pub(super) fn check_overlap(
    overlap: &Overlap,
    shape: &[usize],
    what: &dyn Fn(String) -> Error,
) -> Result<()> {
    if overlap.depth.len() != shape.len() {
        return Err(Error::RankMismatch {
            op: "map_overlap".into(),
            what: "depth".into(),
            expected: shape.len(),
            found: overlap.depth.len(),
            hint: format!("the arrays' shape is {}", fmt_shape(shape)),
        });
    }
    for (d, (&depth, &len)) in overlap.depth.iter().zip(shape).enumerate() {
        let most = match overlap.boundary {
            Boundary::Reflect | Boundary::Periodic => len,
            Boundary::Mirror => len.saturating_sub(1),
            // The edge element repeated: there must be one.
            Boundary::Nearest if len == 0 => 0,
            Boundary::None | Boundary::Constant(_) | Boundary::Nearest => usize::MAX,
        };
        if depth > most {
            return Err(what(format!(
                "a depth of {depth} on axis {d} exceeds what boundary '{}' can take from an axis of length {len} (at most {most})",
                overlap.boundary.name()
            )));
        }
    }
    Ok(())
}
