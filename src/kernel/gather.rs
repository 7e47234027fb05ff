//! Views: how a consumer block addresses the elements of a source array, and gathering
//! those elements out of the source's blocks.
//!
//! A [`ViewMap`] is the composition of every slice, integer index, transpose and broadcast
//! between a fused stage's output and one of its leaves. It says, per source axis, either
//! "always element `k`" or "element `offset + step * i` where `i` is the position along
//! output axis `out`". Output axes no source axis maps to are broadcast (length 1 in the
//! gathered block). Compositions of such maps are again such maps, which is what lets the
//! planner push `(x + x.T)[::2, 5000:]` all the way down to the reads.

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Slice};

use crate::block::{Block, BlockElement, BlockRef};
use crate::dtype::DType;
use crate::grid::{AxisChunks, ChunkGrid, Region};

/// How one source axis is addressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AxisMap {
    /// Always this element.
    Fixed(usize),
    /// Element `offset + step * i` for position `i` along output axis `out`.
    Map {
        /// The output axis.
        out: usize,
        /// Source element at output position 0.
        offset: i64,
        /// Source elements per output position (never 0; may be negative).
        step: i64,
    },
}

/// A source's view from a consumer: one [`AxisMap`] per source axis.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ViewMap {
    /// Per source axis.
    pub axes: Vec<AxisMap>,
    /// Rank of the consumer.
    pub out_ndim: usize,
}

/// The elements a region selects along one source axis: `first + step * i`, `i < count`.
#[derive(Clone, Copy, Debug)]
struct Progression {
    first: i64,
    step: i64,
    count: usize,
}

impl Progression {
    /// The range of positions `i` whose element lies in `[lo, hi)`.
    fn positions_in(&self, lo: i64, hi: i64) -> (usize, usize) {
        let n = self.count as i64;
        let (a, b) = if self.step > 0 {
            let s = self.step;
            (
                (lo - self.first + s - 1).div_euclid(s),
                (hi - self.first + s - 1).div_euclid(s),
            )
        } else {
            let s = -self.step;
            (
                (self.first - hi).div_euclid(s) + 1,
                (self.first - lo).div_euclid(s) + 1,
            )
        };
        (a.clamp(0, n) as usize, b.clamp(0, n) as usize)
    }

    fn last(&self) -> i64 {
        self.first + self.step * (self.count as i64 - 1)
    }
}

impl ViewMap {
    /// The identity view of an `ndim`-dimensional array.
    pub fn identity(ndim: usize) -> Self {
        ViewMap {
            axes: (0..ndim)
                .map(|d| AxisMap::Map {
                    out: d,
                    offset: 0,
                    step: 1,
                })
                .collect(),
            out_ndim: ndim,
        }
    }

    /// True when the view is the identity.
    pub fn is_identity(&self) -> bool {
        self.axes.len() == self.out_ndim
            && self.axes.iter().enumerate().all(|(d, m)| {
                *m == AxisMap::Map {
                    out: d,
                    offset: 0,
                    step: 1,
                }
            })
    }

    /// The shape of the block gathered for `region`: the region's extent on mapped output
    /// axes, 1 on broadcast axes.
    pub fn gathered_shape(&self, region: &Region) -> Vec<usize> {
        let mut shape = vec![1; self.out_ndim];
        for m in &self.axes {
            if let AxisMap::Map { out, .. } = *m {
                shape[out] = region.shape[out];
            }
        }
        shape
    }

    fn progression(&self, axis: usize, region: &Region) -> Progression {
        match self.axes[axis] {
            AxisMap::Fixed(k) => Progression {
                first: k as i64,
                step: 1,
                count: 1,
            },
            AxisMap::Map { out, offset, step } => Progression {
                first: offset + step * region.start[out] as i64,
                step,
                count: region.shape[out],
            },
        }
    }

    /// Per source axis, the chunks of `grid` that hold elements the region selects
    /// (ascending). An empty list on any axis means the region selects nothing.
    pub fn touched_chunks(&self, grid: &ChunkGrid, region: &Region) -> Vec<Vec<usize>> {
        (0..self.axes.len())
            .map(|a| touched(&grid.axes()[a], self.progression(a, region)))
            .collect()
    }

    /// An upper bound of the bytes that reading the elements `region` selects from chunk
    /// `chunk` of `grid` through a memory map of the chunk makes resident, the chunk stored
    /// as a C-order array of shape `stored` with `elem`-byte elements, when one touched
    /// byte maps the `page` bytes around it (what one fault maps:
    /// [`map_fault_bytes`](crate::store::map_fault_bytes), far more than a page). Each run
    /// along the last axis (from the first to the last element selected there) is counted
    /// on its own, as if placed at the worst offset; the bound is never more than the whole
    /// chunk (its bytes rounded up to 4 KiB pages).
    pub fn touched_page_bytes(
        &self,
        grid: &ChunkGrid,
        region: &Region,
        chunk: &[usize],
        stored: &[usize],
        elem: usize,
        page: usize,
    ) -> u64 {
        let nd = self.axes.len();
        let (mut runs, mut span) = (1u64, elem);
        for (a, (axis, &c)) in grid.axes().iter().zip(chunk).enumerate() {
            let cs = axis.start(c) as i64;
            let ce = cs + axis.size(c) as i64;
            let p = self.progression(a, region);
            let (i0, i1) = p.positions_in(cs, ce);
            if i0 >= i1 {
                return 0;
            }
            if a + 1 < nd {
                runs = runs.saturating_mul((i1 - i0) as u64);
            } else {
                let (first, last) = (
                    p.first + p.step * i0 as i64,
                    p.first + p.step * (i1 as i64 - 1),
                );
                span = (first.abs_diff(last) as usize + 1) * elem;
            }
        }
        let pages_per_run = 1 + (span - elem).div_ceil(page) as u64;
        let whole = (stored.iter().product::<usize>() * elem).div_ceil(4096) as u64 * 4096;
        runs.saturating_mul(pages_per_run)
            .saturating_mul(page as u64)
            .min(whole)
    }

    /// The C-order affine index of the region's elements in a source of `shape` (for
    /// generators): `(base, coef)` with `coef` per output axis.
    pub fn affine(&self, shape: &[usize], region: &Region) -> (i64, Vec<i64>) {
        let mut stride = 1i64;
        let mut base = 0i64;
        let mut coef = vec![0i64; self.out_ndim];
        for a in (0..self.axes.len()).rev() {
            match self.axes[a] {
                AxisMap::Fixed(k) => base += stride * k as i64,
                AxisMap::Map { out, offset, step } => {
                    base += stride * (offset + step * region.start[out] as i64);
                    coef[out] += stride * step;
                }
            }
            stride *= shape[a] as i64;
        }
        (base, coef)
    }
}

fn touched(axis: &AxisChunks, p: Progression) -> Vec<usize> {
    if p.count == 0 || axis.is_empty() {
        return Vec::new();
    }
    let (lo, hi) = (p.first.min(p.last()), p.first.max(p.last()));
    let (c0, c1) = (axis.chunk_of(lo as usize), axis.chunk_of(hi as usize));
    if p.step.abs() == 1 {
        return (c0..=c1).collect();
    }
    (c0..=c1)
        .filter(|&c| {
            let cs = axis.start(c) as i64;
            let (i0, i1) = p.positions_in(cs, cs + axis.size(c) as i64);
            i0 < i1
        })
        .collect()
}

/// Copies the part of `src` (the block of `grid` at `chunk`) that `view` selects for
/// `region` into `dst` (shaped `view.gathered_shape(region)`).
fn copy_from_block<T: Copy>(
    view: &ViewMap,
    grid: &ChunkGrid,
    region: &Region,
    chunk: &[usize],
    src: ArrayViewD<T>,
    dst: &mut ArrayD<T>,
) {
    let mut v = src;
    let mut dst_ranges: Vec<Option<(usize, usize)>> = vec![None; view.out_ndim];
    let mut fixed = Vec::new();
    let mut outs = Vec::new();
    for (a, m) in view.axes.iter().enumerate() {
        let cs = grid.axes()[a].start(chunk[a]) as i64;
        let ce = cs + grid.axes()[a].size(chunk[a]) as i64;
        let p = view.progression(a, region);
        match *m {
            AxisMap::Fixed(k) => fixed.push((a, (k as i64 - cs) as usize)),
            AxisMap::Map { out, .. } => {
                let (i0, i1) = p.positions_in(cs, ce);
                if i0 >= i1 {
                    return;
                }
                let l0 = p.first + p.step * i0 as i64 - cs;
                let ll = p.first + p.step * (i1 as i64 - 1) - cs;
                let slice = if p.step > 0 {
                    Slice::new(l0 as isize, Some(ll as isize + 1), p.step as isize)
                } else {
                    Slice::new(ll as isize, Some(l0 as isize + 1), p.step as isize)
                };
                v.slice_axis_inplace(Axis(a), slice);
                dst_ranges[out] = Some((i0, i1));
                outs.push(out);
            }
        }
    }
    for &(a, k) in fixed.iter().rev() {
        v = v.index_axis_move(Axis(a), k);
    }
    let mut perm: Vec<usize> = (0..outs.len()).collect();
    perm.sort_by_key(|&i| outs[i]);
    let mut v = v.permuted_axes(IxDyn(&perm));
    for (d, r) in dst_ranges.iter().enumerate() {
        if r.is_none() {
            v = v.insert_axis(Axis(d));
        }
    }
    let mut target = dst.view_mut();
    for (d, r) in dst_ranges.iter().enumerate() {
        if let Some((i0, i1)) = *r {
            target.slice_axis_inplace(Axis(d), Slice::from(i0..i1));
        }
    }
    target.assign(&v);
}

/// Gathers what `view` selects for `region` from the blocks of `grid`; `block_at` returns
/// the block at a chunk index (it is only asked for chunks [`ViewMap::touched_chunks`]
/// lists); the blocks have `dtype`.
pub fn gather<'a>(
    view: &ViewMap,
    grid: &ChunkGrid,
    region: &Region,
    dtype: DType,
    block_at: &dyn Fn(&[usize]) -> BlockRef<'a>,
) -> Block {
    let touched = view.touched_chunks(grid, region);
    let shape = view.gathered_shape(region);
    crate::dispatch_dtype!(dtype, T => {
        let mut out = ArrayD::<T>::default(IxDyn(&shape));
        for_each_chunk(&touched, |chunk| {
            let src = block_at(chunk).view::<T>().expect("blocks of one stage share a dtype");
            copy_from_block(view, grid, region, chunk, src, &mut out);
        });
        T::wrap(out)
    })
}

/// Calls `f` for every combination of per-axis chunk indices, in C order.
pub fn for_each_chunk(touched: &[Vec<usize>], mut f: impl FnMut(&[usize])) {
    if touched.iter().any(Vec::is_empty) {
        return;
    }
    let nd = touched.len();
    let mut pos = vec![0usize; nd];
    let mut chunk: Vec<usize> = touched.iter().map(|t| t[0]).collect();
    loop {
        f(&chunk);
        let mut d = nd;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            pos[d] += 1;
            if pos[d] < touched[d].len() {
                chunk[d] = touched[d][pos[d]];
                break;
            }
            pos[d] = 0;
            chunk[d] = touched[d][0];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touched_pages_of_a_halo() {
        // A 3000 x 3000 float64 array in 1000 x 1000 chunks (8000-byte rows); the middle
        // block extended by one element on each side.
        let grid = ChunkGrid::regular(&[3000, 3000], &[1000, 1000]);
        let view = ViewMap::identity(2);
        let region = Region {
            start: vec![999, 999],
            shape: vec![1002, 1002],
        };
        let bytes = |chunk: &[usize]| {
            view.touched_page_bytes(&grid, &region, chunk, &[1000, 1000], 8, 4096)
        };
        // The block itself: the whole chunk (8 MB rounded up to pages).
        assert_eq!(bytes(&[1, 1]), 8_000_000u64.div_ceil(4096) * 4096);
        // A neighbour's column: one page per row.
        assert_eq!(bytes(&[1, 0]), 1000 * 4096);
        assert_eq!(bytes(&[1, 2]), 1000 * 4096);
        // A neighbour's row: 8000 bytes lie in at most 3 pages.
        assert_eq!(bytes(&[0, 1]), 3 * 4096);
        // A corner element: one page.
        assert_eq!(bytes(&[0, 0]), 4096);
        // A strided selection spans from its first to its last element on the last axis.
        let strided = ViewMap {
            axes: vec![
                AxisMap::Fixed(5),
                AxisMap::Map {
                    out: 0,
                    offset: 0,
                    step: 100,
                },
            ],
            out_ndim: 1,
        };
        let row = Region {
            start: vec![0],
            shape: vec![30],
        };
        // Columns 0, 100, .., 900 of chunk (0, 0): 7208 bytes, at most 3 pages.
        assert_eq!(
            strided.touched_page_bytes(&grid, &row, &[0, 0], &[1000, 1000], 8, 4096),
            3 * 4096
        );
        // Counted in what one fault maps (2 MiB): a neighbour's column touches every
        // 2 MiB of the 8 MB chunk, so it counts whole, as the kernel maps it.
        assert_eq!(
            view.touched_page_bytes(&grid, &region, &[1, 0], &[1000, 1000], 8, 2 << 20),
            8_000_000u64.div_ceil(4096) * 4096
        );
        assert_eq!(
            view.touched_page_bytes(&grid, &region, &[0, 1], &[1000, 1000], 8, 2 << 20),
            2 * (2 << 20)
        );
        // Nothing selected in a chunk the region misses.
        assert_eq!(
            strided.touched_page_bytes(&grid, &row, &[1, 0], &[1000, 1000], 8, 4096),
            0
        );
    }

    #[test]
    fn gather_transposed_strided() {
        // source 4x6 with values 10*r + c, chunks 3x4
        let src = ArrayD::from_shape_fn(IxDyn(&[4, 6]), |ix| (10 * ix[0] + ix[1]) as i32);
        let grid = ChunkGrid::regular(&[4, 6], &[3, 4]);
        let blocks: Vec<Block> = (0..grid.nblocks())
            .map(|n| {
                let r = grid.region(&grid.unlinear(n));
                let v = src.slice_each_axis(|ax| {
                    let d = ax.axis.index();
                    Slice::from(r.start[d]..r.start[d] + r.shape[d])
                });
                Block::I32(v.to_owned())
            })
            .collect();
        // view: out (i, j) = src[j, 5 - 2*i]  (transpose + reversed step 2)
        let view = ViewMap {
            axes: vec![
                AxisMap::Map {
                    out: 1,
                    offset: 0,
                    step: 1,
                },
                AxisMap::Map {
                    out: 0,
                    offset: 5,
                    step: -2,
                },
            ],
            out_ndim: 2,
        };
        let region = Region {
            start: vec![0, 0],
            shape: vec![3, 4],
        };
        let got = gather(&view, &grid, &region, DType::I32, &|c| {
            BlockRef::Block(&blocks[grid.linear(c)])
        });
        let want = ArrayD::from_shape_fn(IxDyn(&[3, 4]), |ix| (10 * ix[1] + 5 - 2 * ix[0]) as i32);
        assert_eq!(got, Block::I32(want));
    }
}
