//! An array fed to the external sort of [`crate::driver::external`] block by block, and its
//! result read back as arrays.
//!
//! The array is computed in slabs that follow its chunk grid (consecutive chunks along the
//! last axis grouped up to half the memory limit, a larger chunk cut along its first axes),
//! each under three quarters of the limit, so every chunk that fits is read once. A slab's
//! records are made and sorted a sixteenth of the limit at a time; the records held between
//! runs and the merge's read buffers take a sixteenth each.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use ndarray::{ArrayD, IxDyn};

use super::{Array, NumpyIndex};
use crate::block::BlockElement;
use crate::config::ComputeOptions;
use crate::driver::TempSource;
use crate::driver::external::{Columns, Fixed, Record, Runs, Sorted, Sorting};
use crate::error::{Error, Result};
use crate::io::ByteOrder;
use crate::io::raw::RawFile;

/// The sorted records of `x` (every element, or its distinct values, as `sorting` says),
/// `what` naming the work in messages.
///
/// # Errors
/// Computing `x`; writing or merging the runs.
pub(super) fn sort_records<T: BlockElement + Fixed>(
    x: &Array,
    what: &'static str,
    sorting: Sorting,
    opts: &ComputeOptions,
) -> Result<Sorted<T>> {
    let limit = opts.effective_memory_limit();
    let sixteenth = (limit / 16).max(1);
    let mut runs = Runs::<T>::new(what, sorting, sixteenth, opts)?;
    let record = std::mem::size_of::<Record<T>>() as u64;
    let piece = usize::try_from(sixteenth / record)
        .unwrap_or(usize::MAX)
        .max(1);
    let slab_elements = usize::try_from(limit / 2 / T::DTYPE.size() as u64)
        .unwrap_or(usize::MAX)
        .max(1);
    let shape = x.try_shape()?;
    let strides = c_strides(&shape);
    let slab_opts = ComputeOptions {
        memory_limit: Some(limit / 4 * 3),
        ..opts.clone()
    };
    for region in slabs(x, slab_elements)? {
        let index: Vec<NumpyIndex> = region
            .iter()
            .map(|r| NumpyIndex::Slice {
                start: Some(r.start as isize),
                stop: Some(r.end as isize),
                step: None,
            })
            .collect();
        let slab = if index.is_empty() {
            x.clone()
        } else {
            x.index_numpy(&index)?
        };
        let (block, _) = slab.compute_with(&slab_opts)?;
        let a = T::view(&block).ok_or_else(|| Error::internal("a block of another dtype"))?;
        records(a, &region, &strides, sorting.index, piece, |r| {
            runs.absorb(r)
        })?;
    }
    runs.finish(opts)
}

/// The strides of a C-order array of `shape`, in elements.
fn c_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    strides
}

/// The records of block `a`, the part `region` of an array with `strides`, in C order and
/// in pieces of at most `piece`, each given to `take`; their flat indices when `index`.
fn records<T: Copy>(
    a: &ArrayD<T>,
    region: &[Range<usize>],
    strides: &[usize],
    index: bool,
    piece: usize,
    mut take: impl FnMut(Vec<Record<T>>) -> Result<()>,
) -> Result<()> {
    let nd = region.len();
    let row = region.last().map_or(1, Range::len).max(1);
    let mut at: Vec<usize> = region.iter().map(|r| r.start).collect();
    let mut out = Vec::with_capacity(piece.min(a.len()));
    let mut base = 0;
    for (k, &value) in a.iter().enumerate() {
        let j = k % row;
        if index && j == 0 && k > 0 {
            // The next row: an odometer over the axes before the last.
            for d in (0..nd - 1).rev() {
                at[d] += 1;
                if at[d] < region[d].end {
                    break;
                }
                at[d] = region[d].start;
            }
        }
        if index && j == 0 {
            base = at.iter().zip(strides).map(|(i, s)| i * s).sum::<usize>();
        }
        out.push(Record {
            value,
            index: if index { (base + j) as i64 } else { 0 },
            count: 1,
        });
        if out.len() == piece {
            take(std::mem::replace(&mut out, Vec::with_capacity(piece)))?;
        }
    }
    if !out.is_empty() {
        take(out)?;
    }
    Ok(())
}

/// The regions `x` is computed in: its chunks in C order, consecutive chunks along the last
/// axis grouped up to `max` elements, a larger chunk cut along its first axes.
fn slabs(x: &Array, max: usize) -> Result<Vec<Vec<Range<usize>>>> {
    let grid = x.chunks()?;
    let axes: Vec<Vec<Range<usize>>> = grid
        .axes()
        .iter()
        .map(|a| {
            let mut start = 0;
            a.sizes()
                .iter()
                .map(|&n| {
                    start += n;
                    start - n..start
                })
                .collect()
        })
        .collect();
    if axes.is_empty() {
        return Ok(vec![Vec::new()]);
    }
    if axes.iter().any(Vec::is_empty) {
        return Ok(Vec::new());
    }
    let mut out: Vec<Vec<Range<usize>>> = Vec::new();
    let mut pos = vec![0usize; axes.len()];
    let last = axes.len() - 1;
    loop {
        let region: Vec<Range<usize>> = pos.iter().zip(&axes).map(|(&p, a)| a[p].clone()).collect();
        let size = |r: &[Range<usize>]| r.iter().map(Range::len).product::<usize>();
        let grows = pos[last] > 0
            && out.last().is_some_and(|prev| {
                prev[..last] == region[..last]
                    && prev[last].end == region[last].start
                    && size(prev) + size(&region) <= max
            });
        if grows {
            let prev = out.last_mut().expect("checked");
            prev[last].end = region[last].end;
        } else if size(&region) > max {
            cut(region, max, &mut out);
        } else {
            out.push(region);
        }
        let mut d = axes.len();
        loop {
            if d == 0 {
                return Ok(out);
            }
            d -= 1;
            pos[d] += 1;
            if pos[d] < axes[d].len() {
                break;
            }
            pos[d] = 0;
        }
    }
}

/// `region` cut along its first axes into pieces of at most `max` elements (at least one
/// element each), in C order.
fn cut(region: Vec<Range<usize>>, max: usize, out: &mut Vec<Vec<Range<usize>>>) {
    let size: usize = region.iter().map(Range::len).product();
    let Some(d) = region.iter().position(|r| r.len() > 1) else {
        out.push(region);
        return;
    };
    if size <= max {
        out.push(region);
        return;
    }
    let inner = size / region[d].len();
    let step = (max / inner).max(1);
    let mut start = region[d].start;
    while start < region[d].end {
        let end = (start + step).min(region[d].end);
        let mut piece = region.clone();
        piece[d] = start..end;
        if end - start == 1 && inner > max {
            cut(piece, max, out);
        } else {
            out.push(piece);
        }
        start = end;
    }
}

/// The chunk length of a sorted result of `dtype`: a sixteenth of the memory limit.
pub(super) fn column_chunk(dtype: crate::dtype::DType, opts: &ComputeOptions) -> usize {
    usize::try_from(opts.effective_memory_limit() / 16 / dtype.size() as u64)
        .unwrap_or(usize::MAX)
        .max(1)
}

/// A column of a merge as a 1-d array in chunks of `chunk`, reading the file (and keeping
/// its directory) for as long as it is used.
fn column(
    columns: &Columns,
    path: &Path,
    dtype: crate::dtype::DType,
    chunk: usize,
) -> Result<Array> {
    let chunk = [chunk.clamp(1, columns.len.max(1))];
    let raw = RawFile::open(path, dtype, &[columns.len], ByteOrder::Little, Some(&chunk))?;
    let source = TempSource::new(raw, path.to_path_buf(), Arc::clone(&columns.dir));
    Ok(Array::from_source(Arc::new(source)))
}

/// The result of a sort as 1-d arrays in chunks of about `chunk` elements: the values, the
/// first indices and the counts (the last two when `sorting` asked for them).
///
/// # Errors
/// Opening the column files.
pub(super) fn sorted_arrays<T: BlockElement + Fixed>(
    sorted: Sorted<T>,
    sorting: Sorting,
    chunk: usize,
) -> Result<(Array, Option<Array>, Option<Array>)> {
    match sorted {
        Sorted::Memory(records) => {
            let n = records.len();
            let chunk = [chunk.clamp(1, n.max(1))];
            let column = |f: &dyn Fn(&Record<T>) -> Option<i64>| -> Result<Option<Array>> {
                let v: Option<Vec<i64>> = records.iter().map(f).collect();
                v.map(|v| {
                    let a = ArrayD::from_shape_vec(IxDyn(&[n]), v)
                        .map_err(|e| Error::internal_from("a sorted column", e))?;
                    Array::from_ndarray(i64::wrap(a), &chunk)
                })
                .transpose()
            };
            let index = column(&|r| sorting.index.then_some(r.index))?;
            let count = column(&|r| sorting.count.then_some(r.count))?;
            let values =
                ArrayD::from_shape_vec(IxDyn(&[n]), records.into_iter().map(|r| r.value).collect())
                    .map_err(|e| Error::internal_from("sorted values", e))?;
            Ok((Array::from_ndarray(T::wrap(values), &chunk)?, index, count))
        }
        Sorted::Disk(columns) => {
            let values = column(&columns, &columns.values, T::DTYPE, chunk)?;
            let side = |p: &Option<std::path::PathBuf>| {
                p.as_deref()
                    .map(|p| column(&columns, p, crate::dtype::DType::I64, chunk))
                    .transpose()
            };
            Ok((values, side(&columns.index)?, side(&columns.count)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slabs_follow_the_chunks_and_cut_large_ones() {
        let x = Array::zeros(&[5, 7], &[2, 3], crate::DType::F64).unwrap();
        // 2x3 chunks of 6 elements: grouped two by two along the last axis.
        let s = slabs(&x, 12).unwrap();
        assert_eq!(s[0], vec![0..2, 0..6]);
        assert_eq!(s[1], vec![0..2, 6..7]);
        assert_eq!(s.len(), 5); // the last chunk row (one row high) is one slab
        // Chunks larger than 4 elements cut along their first axis, then the second.
        let s = slabs(&x, 2).unwrap();
        assert_eq!(s[0], vec![0..1, 0..2]);
        assert_eq!(s[1], vec![0..1, 2..3]);
        let total: usize = s
            .iter()
            .map(|r| r.iter().map(Range::len).product::<usize>())
            .sum();
        assert_eq!(total, 35);
    }

    #[test]
    fn records_carry_flat_indices() {
        let a = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        let mut pieces = Vec::new();
        records(&a, &[1..3, 2..4], &[5, 1], true, 3, |r| {
            pieces.push(r.iter().map(|r| r.index).collect::<Vec<_>>());
            Ok(())
        })
        .unwrap();
        assert_eq!(pieces, [vec![7, 8, 12], vec![13]]);
    }
}
