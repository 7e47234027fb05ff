//! A general reshape whose blocks stay bounded (not dask#8110's full-extent chunks).
//!
//! A reshape keeps the elements' C order. The input and output shapes split into *groups*:
//! runs of consecutive axes with the same number of elements on both sides (`(20000, 20000)
//! → (40000, 10000)` is one group; `(6, 4, 5) → (24, 5)` is `(6, 4) → (24,)` and `(5,) →
//! (5,)`). An axis that is its own group on both sides keeps its chunks. In any other group
//! a block of the input becomes one block of the output, unchanged in C order, when both
//! are the same flat range of the group's elements and that range is a rectangle on both
//! sides: axes before a *pivot* axis cut into single elements, the pivot cut into equal
//! chunks, axes after it whole. For a flat block length `L` and pivots `t` (input) and `u`
//! (output) that works when `L` is a multiple of the elements after both pivots and either
//! both pivots span the whole group (then the last block may be shorter) or `L` divides the
//! elements from each pivot on.
//!
//! So a reshape is a rechunk of the input to such a grid (fused into the reading of the
//! input, as every rechunk is) and a block-for-block reshape. The pivots and `L` are chosen
//! to keep blocks near the input's largest block: a group's `L` is the largest that fits
//! that budget (the smallest possible when none does; that is one element per block only
//! when the shapes leave nothing else, e.g. `(7, 11) → (11, 7)` split any finer than whole).
//! When the input is already cut that way it is not rechunked. `(20000, 20000)` in 1000²
//! chunks reshaped to `(40000, 10000)` reads blocks of `(50, 20000)` and writes blocks of
//! `(100, 10000)`, 8 MB each like the input's; dask makes `(1000, 20000)` input chunks
//! first, 160 MB each.
//!
//! Axes of length 1 are not part of groups: the caller squeezes them out and inserts them
//! back.

use std::ops::Range;
use std::sync::Arc;

use super::infer::{check_blocks, rechunk};
use super::{Expr, ExprKind, ExprRef};
use crate::error::Result;
use crate::grid::{AxisChunks, ChunkGrid};

/// `input` reshaped to `out_shape`, which has as many elements and, like the input's
/// shape, no length 0 or 1 (the caller squeezes those out and puts them back). Blocks
/// aim at the input's largest block.
pub(crate) fn reshape(input: &ExprRef, out_shape: &[usize]) -> Result<ExprRef> {
    debug_assert_eq!(
        input.shape().iter().product::<usize>(),
        out_shape.iter().product::<usize>()
    );
    if input.shape() == out_shape {
        return Ok(input.clone());
    }
    let target = input.grid().max_chunk_shape().iter().product::<usize>() as u64;
    let (map, in_grid, out_grid) = ReshapeMap::choose(input.grid(), out_shape, target.max(1));
    check_blocks(&in_grid)?;
    let operand = rechunk(input, in_grid)?;
    Ok(Expr::new(
        ExprKind::Reshape {
            input: operand,
            map: Arc::new(map),
        },
        input.dtype(),
        out_grid,
    ))
}

/// How the blocks of a reshape's output correspond to those of its input (one for one).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReshapeMap {
    in_shape: Vec<usize>,
    out_shape: Vec<usize>,
    groups: Vec<Group>,
}

/// Consecutive input and output axes holding the same elements.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Group {
    inp: Range<usize>,
    out: Range<usize>,
    /// `None` for one axis on each side (it keeps its chunks).
    split: Option<Split>,
}

/// How a group of more than one axis on some side is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Split {
    /// Input pivot axis (absolute).
    t: usize,
    /// Output pivot axis (absolute).
    u: usize,
    /// Elements of the group per block.
    len: u64,
}

impl ReshapeMap {
    /// Plans the reshape of an array of shape `in_shape` cut by `in_grid` into `out_shape`
    /// (same number of elements, none of either shape's lengths 0 or 1), aiming for blocks
    /// of at most `target` elements. Returns the map, the grid the input must be rechunked
    /// to (equal to `in_grid` when it already fits) and the output's grid.
    pub(crate) fn choose(
        in_grid: &ChunkGrid,
        out_shape: &[usize],
        target: u64,
    ) -> (ReshapeMap, ChunkGrid, ChunkGrid) {
        let in_shape = in_grid.shape();
        let ranges = groups(&in_shape, out_shape);
        let pass: u64 = ranges
            .iter()
            .filter(|(i, o)| i.len() == 1 && o.len() == 1)
            .map(|(i, _)| in_grid.axes()[i.start].max_size() as u64)
            .product();
        let splits = ranges
            .iter()
            .filter(|(i, o)| i.len() != 1 || o.len() != 1)
            .count();
        let budget = if splits == 0 {
            1
        } else {
            let per = (target / pass.max(1)).max(1) as f64;
            (per.powf(1.0 / splits as f64).floor() as u64).max(1)
        };
        let groups: Vec<Group> = ranges
            .into_iter()
            .map(|(inp, out)| {
                let split = (inp.len() != 1 || out.len() != 1).then(|| {
                    let a = &in_shape[inp.clone()];
                    let b = &out_shape[out.clone()];
                    let current = current_split(&in_grid.axes()[inp.clone()], a, b);
                    let (t, u, len) = current.unwrap_or_else(|| choose(a, b, budget));
                    Split {
                        t: inp.start + t,
                        u: out.start + u,
                        len,
                    }
                });
                Group { inp, out, split }
            })
            .collect();
        let map = ReshapeMap {
            in_shape: in_shape.clone(),
            out_shape: out_shape.to_vec(),
            groups,
        };
        let mut in_axes = Vec::with_capacity(in_shape.len());
        let mut out_axes = Vec::with_capacity(out_shape.len());
        for g in &map.groups {
            match g.split {
                None => {
                    let chunks = in_grid.axes()[g.inp.start].clone();
                    in_axes.push(chunks.clone());
                    out_axes.push(chunks);
                }
                Some(s) => {
                    in_axes.extend(cut(&in_shape[g.inp.clone()], s.t - g.inp.start, s.len));
                    out_axes.extend(cut(&out_shape[g.out.clone()], s.u - g.out.start, s.len));
                }
            }
        }
        (
            map,
            ChunkGrid::from_axes(in_axes),
            ChunkGrid::from_axes(out_axes),
        )
    }

    /// The output's shape.
    pub fn out_shape(&self) -> &[usize] {
        &self.out_shape
    }

    /// The input block (chunk indices in the input's grid) that output block `block` is.
    pub fn input_block(&self, block: &[usize]) -> Vec<usize> {
        let mut out = vec![0; self.in_shape.len()];
        for g in &self.groups {
            let Some(s) = g.split else {
                out[g.inp.start] = block[g.out.start];
                continue;
            };
            // The block's first element, as a flat offset within the group.
            let mut flat = block[s.u] as u64 * s.len;
            let mut stride = suffix(&self.out_shape[g.out.clone()], s.u - g.out.start);
            for v in (g.out.start..s.u).rev() {
                flat += block[v] as u64 * stride;
                stride *= self.out_shape[v] as u64;
            }
            let a = &self.in_shape[g.inp.clone()];
            for (w, o) in out.iter_mut().enumerate().take(s.t).skip(g.inp.start) {
                let below = suffix(a, w + 1 - g.inp.start);
                *o = ((flat / below) % self.in_shape[w] as u64) as usize;
            }
            out[s.t] = ((flat % suffix(a, s.t - g.inp.start)) / s.len) as usize;
        }
        out
    }
}

/// Splits two shapes of the same size (no length 0 or 1) into groups of axes with equal
/// products.
fn groups(a: &[usize], b: &[usize]) -> Vec<(Range<usize>, Range<usize>)> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (si, sj) = (i, j);
        let (mut pa, mut pb) = (a[i] as u128, b[j] as u128);
        i += 1;
        j += 1;
        while pa != pb {
            if pa < pb && i < a.len() {
                pa *= a[i] as u128;
                i += 1;
            } else if j < b.len() {
                pb *= b[j] as u128;
                j += 1;
            } else {
                pa *= a[i] as u128;
                i += 1;
            }
        }
        out.push((si..i, sj..j));
    }
    out
}

/// Product of `shape[from..]`.
fn suffix(shape: &[usize], from: usize) -> u64 {
    shape[from..].iter().map(|&n| n as u64).product()
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Least common multiple, `None` past `cap`.
fn lcm(a: u64, b: u64, cap: u64) -> Option<u64> {
    let l = (a as u128 / gcd(a, b) as u128) * b as u128;
    (l <= cap as u128).then_some(l as u64)
}

/// The block lengths a pivot pair allows, as (smallest, largest at most `budget`).
fn lengths(a: &[usize], b: &[usize], t: usize, u: usize, budget: u64) -> Option<(u64, u64)> {
    let (pa, pb) = (suffix(a, t), suffix(b, u));
    let step = lcm(suffix(a, t + 1), suffix(b, u + 1), pa.min(pb))?;
    if pa == pb {
        // Both pivots span the whole group: any multiple of `step`, the last block short.
        let best = (budget / step * step).clamp(step, pa);
        return Some((step, best));
    }
    let g = gcd(pa, pb);
    if !g.is_multiple_of(step) {
        return None;
    }
    let q = g / step;
    let best = divisors(q)
        .into_iter()
        .filter(|&d| d.saturating_mul(step) <= budget)
        .max()
        .unwrap_or(1);
    Some((step, best * step))
}

/// The divisors of `n`, by trial division: sqrt(n) trials, a million for a group of 10^12
/// elements.
fn divisors(n: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut d = 1;
    while d * d <= n {
        if n.is_multiple_of(d) {
            out.push(d);
            out.push(n / d);
        }
        d += 1;
    }
    out
}

/// The pivots and block length for a group of input lengths `a` and output lengths `b`:
/// the largest block of at most `budget` elements, else the smallest possible; on a tie
/// the outermost pivots.
fn choose(a: &[usize], b: &[usize], budget: u64) -> (usize, usize, u64) {
    let mut best: Option<(bool, u64, usize, usize)> = None;
    for t in 0..a.len() {
        for u in 0..b.len() {
            let Some((small, large)) = lengths(a, b, t, u, budget) else {
                continue;
            };
            let fits = large <= budget;
            let len = if fits { large } else { small };
            let better = match best {
                None => true,
                Some((bf, bl, _, _)) => match (fits, bf) {
                    (true, false) => true,
                    (false, true) => false,
                    (true, true) => len > bl,
                    (false, false) => len < bl,
                },
            };
            if better {
                best = Some((fits, len, t, u));
            }
        }
    }
    // The innermost pivots always allow one element per block.
    let (_, len, t, u) = best.unwrap_or((true, 1, a.len() - 1, b.len() - 1));
    (t, u, len)
}

/// The pivots and block length the input's own chunks along a group already give, if
/// they are cut that way and the output can be cut alike.
fn current_split(chunks: &[AxisChunks], a: &[usize], b: &[usize]) -> Option<(usize, usize, u64)> {
    let t = chunks.iter().position(|c| c.max_size() != 1)?;
    let whole_after = chunks[t + 1..].iter().all(|c| c.nchunks() == 1);
    if !whole_after || !chunks[t].is_regular() {
        return None;
    }
    let len = chunks[t].size(0) as u64 * suffix(a, t + 1);
    let pa = suffix(a, t);
    (0..b.len()).find_map(|u| {
        let pb = suffix(b, u);
        let step = lcm(suffix(a, t + 1), suffix(b, u + 1), pa.min(pb))?;
        let fits = len.is_multiple_of(step)
            && (pa == pb || (pa.is_multiple_of(len) && pb.is_multiple_of(len)));
        fits.then_some((t, u, len))
    })
}

/// The chunks of a group's axes `shape` for pivot `p` and block length `len`.
fn cut(shape: &[usize], p: usize, len: u64) -> Vec<AxisChunks> {
    let inner = suffix(shape, p + 1);
    shape
        .iter()
        .enumerate()
        .map(|(d, &n)| match d.cmp(&p) {
            std::cmp::Ordering::Less => AxisChunks::regular(n, 1),
            std::cmp::Ordering::Equal => AxisChunks::regular(n, (len / inner) as usize),
            std::cmp::Ordering::Greater => AxisChunks::regular(n, n),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(grid: &ChunkGrid) -> Vec<Vec<usize>> {
        grid.axes().iter().map(AxisChunks::sizes).collect()
    }

    #[test]
    fn groups_pair_axes_with_equal_products() {
        assert_eq!(
            groups(&[6, 4, 5], &[24, 5]),
            vec![(0..2, 0..1), (2..3, 1..2)]
        );
        assert_eq!(groups(&[20, 20], &[40, 10]), vec![(0..2, 0..2)]);
        assert_eq!(groups(&[2, 3, 4], &[4, 6]), vec![(0..3, 0..2)]);
        assert_eq!(groups(&[12], &[3, 4]), vec![(0..1, 0..2)]);
    }

    #[test]
    fn acceptance_shape_keeps_blocks_of_the_inputs_size() {
        let grid = ChunkGrid::regular(&[20000, 20000], &[1000, 1000]);
        let (_, inp, out) = ReshapeMap::choose(&grid, &[40000, 10000], 1_000_000);
        assert_eq!(inp.max_chunk_shape(), vec![50, 20000]);
        assert_eq!(out.max_chunk_shape(), vec![100, 10000]);
        assert_eq!(inp.nblocks(), out.nblocks());
    }

    #[test]
    fn row_chunks_that_fit_are_kept() {
        let grid = ChunkGrid::regular(&[100, 60], &[10, 60]);
        let (_, inp, out) = ReshapeMap::choose(&grid, &[6000], 100);
        assert_eq!(&inp, &grid);
        assert_eq!(sizes(&out), vec![vec![600; 10]]);
    }

    #[test]
    fn coprime_shapes_fall_back_to_whole_or_single_elements() {
        let grid = ChunkGrid::regular(&[7, 11], &[7, 11]);
        let (_, inp, _) = ReshapeMap::choose(&grid, &[11, 7], 1000);
        assert_eq!(inp.nblocks(), 1);
        let grid = ChunkGrid::regular(&[7, 11], &[2, 3]);
        let (_, inp, out) = ReshapeMap::choose(&grid, &[11, 7], 10);
        // Whole (77) does not fit 10; the inner pivots allow one element per block.
        assert_eq!(inp.max_chunk_shape(), vec![1, 1]);
        assert_eq!(out.max_chunk_shape(), vec![1, 1]);
    }

    /// The indices of a region, in C order.
    fn indices(r: &crate::grid::Region) -> Vec<Vec<usize>> {
        let mut out = Vec::new();
        let mut idx = r.start.clone();
        if r.is_empty() {
            return out;
        }
        loop {
            out.push(idx.clone());
            let mut d = idx.len();
            loop {
                if d == 0 {
                    return out;
                }
                d -= 1;
                idx[d] += 1;
                if idx[d] < r.start[d] + r.shape[d] {
                    break;
                }
                idx[d] = r.start[d];
            }
        }
    }

    /// Every output block's elements, in C order, are its input block's.
    fn check(in_shape: &[usize], chunks: &[usize], out_shape: &[usize], target: u64) {
        let grid = ChunkGrid::regular(in_shape, chunks);
        let (map, inp, out) = ReshapeMap::choose(&grid, out_shape, target);
        assert_eq!(out.shape(), out_shape);
        assert_eq!(
            inp.nblocks(),
            out.nblocks(),
            "{in_shape:?} -> {out_shape:?}"
        );
        let flat = |shape: &[usize], idx: &[usize]| {
            idx.iter().zip(shape).fold(0, |acc, (&i, &n)| acc * n + i)
        };
        let mut seen = vec![false; inp.nblocks()];
        for n in 0..out.nblocks() {
            let ob = out.unlinear(n);
            let ib = map.input_block(&ob);
            let (or, ir) = (out.region(&ob), inp.region(&ib));
            assert_eq!(or.len(), ir.len());
            seen[inp.linear(&ib)] = true;
            let oe: Vec<usize> = indices(&or).iter().map(|i| flat(out_shape, i)).collect();
            let ie: Vec<usize> = indices(&ir).iter().map(|i| flat(in_shape, i)).collect();
            assert_eq!(oe, ie, "block {ob:?} of {in_shape:?} -> {out_shape:?}");
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn blocks_hold_the_same_elements() {
        check(&[20, 20], &[10, 10], &[40, 10], 100);
        check(&[6, 4, 5], &[2, 3, 5], &[24, 5], 12);
        check(&[6, 4, 5], &[2, 3, 5], &[4, 3, 2, 5], 8);
        check(&[2, 3, 4], &[1, 2, 2], &[4, 6], 5);
        check(&[12, 10], &[5, 5], &[3, 4, 2, 5], 30);
        check(&[7, 11], &[3, 3], &[11, 7], 10);
        check(&[24], &[7], &[2, 3, 4], 7);
        check(&[24], &[7], &[4, 6], 13);
        check(&[30, 8], &[7, 3], &[15, 16], 40);
    }
}
