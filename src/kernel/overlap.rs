//! The halo of a `map_overlap` block: which elements of the array (or of the boundary rule)
//! surround a block, as boxes to evaluate and place, and the assembly and trimming of the
//! extended block.
//!
//! Along one axis a block `[s, e)` of an axis of length `n` extended by `d` on both sides
//! covers `[s - d, e + d)`. The part inside the array, `[max(s - d, 0), min(e + d, n))`, is
//! one contiguous range; what lies outside comes from the boundary rule: a reversed range
//! near the edge (reflect, mirror), a range at the other end (periodic), the edge element
//! repeated (nearest), a constant, or nothing (none). The extended block is the outer
//! product of these per-axis segments: one box per combination, usually just one (an
//! interior block), at most 3^ndim at a corner.

use ndarray::{Axis, Slice};

use crate::block::Block;
use crate::dtype::Element;
use crate::error::{Error, Result};
use crate::expr::{Boundary, Overlap};
use crate::grid::Region;

/// One piece of an extended axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Segment {
    /// Elements `start..start + len` of the array, reversed when `reversed`.
    Source {
        start: usize,
        len: usize,
        reversed: bool,
    },
    /// Element `index` repeated `len` times.
    Repeat { index: usize, len: usize },
    /// `len` constants.
    Constant { len: usize },
}

impl Segment {
    fn len(&self) -> usize {
        match *self {
            Segment::Source { len, .. }
            | Segment::Repeat { len, .. }
            | Segment::Constant { len } => len,
        }
    }
}

/// The segments of block `[start, start + len)` of an axis of length `n` extended by
/// `depth`, and the halo lengths added before and after the block.
fn axis_segments(
    start: usize,
    len: usize,
    n: usize,
    depth: usize,
    boundary: Boundary,
) -> (Vec<Segment>, (usize, usize)) {
    let end = start + len;
    let lo = start.saturating_sub(depth);
    let hi = (end + depth).min(n);
    let missing_lo = depth.saturating_sub(start);
    let missing_hi = (end + depth).saturating_sub(n);
    let outside = |m: usize, before: bool| -> Option<Segment> {
        if m == 0 {
            return None;
        }
        Some(match boundary {
            Boundary::None => return None,
            Boundary::Constant(_) => Segment::Constant { len: m },
            Boundary::Nearest => Segment::Repeat {
                index: if before { 0 } else { n - 1 },
                len: m,
            },
            // -k -> k - 1 and n - 1 + k -> n - k: the m elements at the edge, reversed.
            Boundary::Reflect => Segment::Source {
                start: if before { 0 } else { n - m },
                len: m,
                reversed: true,
            },
            // -k -> k and n - 1 + k -> n - 1 - k: the m elements after the edge one.
            Boundary::Mirror => Segment::Source {
                start: if before { 1 } else { n - 1 - m },
                len: m,
                reversed: true,
            },
            Boundary::Periodic => Segment::Source {
                start: if before { n - m } else { 0 },
                len: m,
                reversed: false,
            },
        })
    };
    let mut segments = Vec::with_capacity(3);
    let before = outside(missing_lo, true);
    let after = outside(missing_hi, false);
    segments.extend(before);
    segments.push(Segment::Source {
        start: lo,
        len: hi - lo,
        reversed: false,
    });
    segments.extend(after);
    let halo = (
        start - lo + before.map_or(0, |s| s.len()),
        hi - end + after.map_or(0, |s| s.len()),
    );
    (segments, halo)
}

/// One box of an extended block: where it goes, and what fills it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    /// Its position in the extended block.
    pub offset: Vec<usize>,
    /// Its shape in the extended block.
    pub shape: Vec<usize>,
    /// The array elements to evaluate (`None`: the boundary constant). Along repeated
    /// axes the region has length 1 and is broadcast.
    pub region: Option<Region>,
    /// Axes along which the evaluated region is reversed.
    pub reversed: Vec<bool>,
}

/// How a block is extended: its pieces, the extended shape and the halo on each side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Halo {
    /// The boxes making up the extended block.
    pub pieces: Vec<Piece>,
    /// The extended block's shape.
    pub shape: Vec<usize>,
    /// Per axis, the halo added before and after the block.
    pub halo: Vec<(usize, usize)>,
}

impl Halo {
    /// The extension of `block` (a region of an array of shape `array`) by `overlap`.
    pub fn of(block: &Region, array: &[usize], overlap: &Overlap) -> Halo {
        let per_axis: Vec<(Vec<Segment>, (usize, usize))> = (0..array.len())
            .map(|d| {
                axis_segments(
                    block.start[d],
                    block.shape[d],
                    array[d],
                    overlap.depth[d],
                    overlap.boundary,
                )
            })
            .collect();
        let shape: Vec<usize> = per_axis
            .iter()
            .map(|(segs, _)| segs.iter().map(Segment::len).sum())
            .collect();
        let mut pieces = Vec::new();
        let mut pick = vec![0usize; array.len()];
        loop {
            if per_axis.iter().all(|(segs, _)| !segs.is_empty()) {
                pieces.push(piece(&per_axis, &pick));
            }
            // Odometer over the segment choices per axis.
            let mut d = array.len();
            loop {
                if d == 0 {
                    return Halo {
                        pieces: pieces
                            .into_iter()
                            .filter(|p| p.shape.iter().all(|&n| n > 0))
                            .collect(),
                        shape,
                        halo: per_axis.iter().map(|(_, h)| *h).collect(),
                    };
                }
                d -= 1;
                pick[d] += 1;
                if pick[d] < per_axis[d].0.len() {
                    break;
                }
                pick[d] = 0;
            }
        }
    }

    /// True when the extended block is the single region `region` of the array, read as is.
    pub fn plain_region(&self) -> Option<&Region> {
        match self.pieces.as_slice() {
            [
                Piece {
                    region: Some(r),
                    reversed,
                    shape,
                    ..
                },
            ] if !reversed.contains(&true) && *shape == self.shape && r.shape == *shape => Some(r),
            _ => None,
        }
    }
}

fn piece(per_axis: &[(Vec<Segment>, (usize, usize))], pick: &[usize]) -> Piece {
    let n = per_axis.len();
    let (mut offset, mut shape) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut start, mut len, mut reversed) = (Vec::new(), Vec::new(), Vec::new());
    let mut constant = false;
    for (d, (segs, _)) in per_axis.iter().enumerate() {
        offset.push(segs[..pick[d]].iter().map(Segment::len).sum());
        let seg = segs[pick[d]];
        shape.push(seg.len());
        let (s, l, r) = match seg {
            Segment::Source {
                start,
                len,
                reversed,
            } => (start, len, reversed),
            Segment::Repeat { index, .. } => (index, 1, false),
            Segment::Constant { .. } => {
                constant = true;
                (0, 0, false)
            }
        };
        start.push(s);
        len.push(l);
        reversed.push(r);
    }
    Piece {
        offset,
        shape,
        region: (!constant).then_some(Region { start, shape: len }),
        reversed,
    }
}

/// Assembles an extended block of `dtype` from its pieces: `eval` produces the array
/// elements of a region (C order, the region's shape); constants fill the rest.
///
/// # Errors
/// What `eval` returns; a piece of another dtype or shape (a bug in the caller).
pub fn assemble(
    halo: &Halo,
    dtype: crate::dtype::DType,
    boundary: Boundary,
    eval: &mut dyn FnMut(&Region) -> Result<Block>,
) -> Result<Block> {
    let mut out = Block::zeros(dtype, &halo.shape);
    if let Boundary::Constant(c) = boundary
        && c != 0.0
        && halo.pieces.iter().any(|p| p.region.is_none())
    {
        crate::dispatch_block!(&mut out, a => a.fill(Element::from_f64(c)));
    }
    for p in &halo.pieces {
        let Some(region) = &p.region else { continue };
        let part = eval(region)?;
        crate::dispatch_dtype!(dtype, T => {
            use crate::block::BlockElement;
            let src = T::view(&part)
                .ok_or_else(|| Error::internal("a halo piece of another dtype"))?;
            let mut src = src.view();
            for (d, &r) in p.reversed.iter().enumerate() {
                if r {
                    src.invert_axis(Axis(d));
                }
            }
            let dst = T::view_mut(&mut out).expect("built with this dtype");
            let mut dst = dst.slice_each_axis_mut(|ax| {
                let d = ax.axis.index();
                Slice::from(p.offset[d]..p.offset[d] + p.shape[d])
            });
            let src = src.broadcast(dst.raw_dim()).ok_or_else(|| {
                Error::internal(format!(
                    "a halo piece of shape {:?} for a box of shape {:?}",
                    part.shape(),
                    p.shape
                ))
            })?;
            dst.assign(&src);
        });
    }
    Ok(out)
}

/// The block's own elements of an extended result: `halo` trimmed from each side.
pub fn trim(result: Block, halo: &[(usize, usize)]) -> Block {
    if halo.iter().all(|&(a, b)| a == 0 && b == 0) {
        return result;
    }
    crate::dispatch_block!(result, a => {
        let v = a.slice_each_axis(|ax| {
            let d = ax.axis.index();
            let (lo, hi) = halo[d];
            Slice::from(lo..ax.len - hi)
        });
        crate::block::BlockElement::wrap(v.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extend(values: &[i64], start: usize, len: usize, depth: usize, b: Boundary) -> Vec<i64> {
        let overlap = Overlap {
            depth: vec![depth],
            boundary: b,
        };
        let block = Region {
            start: vec![start],
            shape: vec![len],
        };
        let halo = Halo::of(&block, &[values.len()], &overlap);
        let data = ndarray::Array1::from(values.to_vec()).into_dyn();
        let out = assemble(&halo, crate::dtype::DType::I64, b, &mut |r| {
            let s = r.start[0];
            Ok(Block::I64(
                data.slice(ndarray::s![s..s + r.shape[0]])
                    .to_owned()
                    .into_dyn(),
            ))
        })
        .unwrap();
        out.into_typed::<i64>().iter().copied().collect()
    }

    #[test]
    fn boundaries_follow_numpy_pad() {
        let x = [1, 2, 3, 4];
        // np.pad(x, 2, mode="symmetric") == dask "reflect"
        assert_eq!(
            extend(&x, 0, 4, 2, Boundary::Reflect),
            [2, 1, 1, 2, 3, 4, 4, 3]
        );
        // np.pad(x, 2, mode="reflect") == scipy "mirror"
        assert_eq!(
            extend(&x, 0, 4, 2, Boundary::Mirror),
            [3, 2, 1, 2, 3, 4, 3, 2]
        );
        assert_eq!(
            extend(&x, 0, 4, 2, Boundary::Periodic),
            [3, 4, 1, 2, 3, 4, 1, 2]
        );
        assert_eq!(
            extend(&x, 0, 4, 2, Boundary::Nearest),
            [1, 1, 1, 2, 3, 4, 4, 4]
        );
        assert_eq!(
            extend(&x, 0, 4, 2, Boundary::Constant(9.0)),
            [9, 9, 1, 2, 3, 4, 9, 9]
        );
        assert_eq!(extend(&x, 0, 4, 2, Boundary::None), [1, 2, 3, 4]);
    }

    #[test]
    fn inner_blocks_take_their_neighbours_and_edges_part_of_the_rule() {
        let x = [1, 2, 3, 4, 5, 6];
        assert_eq!(extend(&x, 2, 2, 1, Boundary::Reflect), [2, 3, 4, 5]);
        // Block [1, 2) with depth 2: one real element before it, one from the rule.
        assert_eq!(extend(&x, 1, 1, 2, Boundary::Reflect), [1, 1, 2, 3, 4]);
        assert_eq!(extend(&x, 1, 1, 2, Boundary::Periodic), [6, 1, 2, 3, 4]);
        assert_eq!(extend(&x, 1, 1, 2, Boundary::None), [1, 2, 3, 4]);
        assert_eq!(extend(&x, 5, 1, 1, Boundary::Mirror), [5, 6, 5]);
    }

    #[test]
    fn a_corner_block_is_assembled_from_boxes() {
        let overlap = Overlap {
            depth: vec![1, 1],
            boundary: Boundary::Periodic,
        };
        let block = Region {
            start: vec![0, 0],
            shape: vec![2, 2],
        };
        let halo = Halo::of(&block, &[3, 3], &overlap);
        assert_eq!(halo.shape, [4, 4]);
        assert_eq!(halo.pieces.len(), 4);
        assert_eq!(halo.halo, [(1, 1), (1, 1)]);
        assert!(halo.plain_region().is_none());
        let inner = Halo::of(
            &Region {
                start: vec![1, 1],
                shape: vec![1, 1],
            },
            &[3, 3],
            &overlap,
        );
        assert_eq!(
            inner.plain_region(),
            Some(&Region {
                start: vec![0, 0],
                shape: vec![3, 3]
            })
        );
    }
}
