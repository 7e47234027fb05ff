//! User kernels: map_blocks and map_overlap against whole-array references, over chunkings
//! that do not divide the shapes, 1-d to 3-d, both schedulers; culling, fusion, errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use brickwork::{
    Array, Block, BlockInfo, BlockRef, Boundary, ComputeOptions, DType, Error, MapBlocks,
    map_blocks, map_overlap,
};
use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Slice};

use crate::common::*;

fn arr(shape: &[usize], chunks: &[usize], salt: u64) -> (Array, ArrayD<f64>) {
    let d = data(shape, salt);
    (Array::from_ndarray(d.clone(), chunks).unwrap(), d)
}

#[test]
fn typed_map_blocks_matches_mapv_on_ragged_chunkings() -> TestResult {
    for shape in [vec![11], vec![7, 9], vec![5, 4, 6]] {
        for chunks in chunkings(&shape) {
            let (x, d) = arr(&shape, &chunks, 1);
            let y = (&x + 1.0).map_blocks(|b: ArrayViewD<f64>| b.mapv(|v| v * v - 3.0))?;
            let want = d.mapv(|v| (v + 1.0) * (v + 1.0) - 3.0);
            assert_close(&compute_f64(&y), &want, &format!("{shape:?} {chunks:?}"));
            // A dtype change: the result's dtype is the function's.
            let z = x.map_blocks(|b: ArrayViewD<f64>| b.mapv(|v| v > 0.0))?;
            assert_eq!(z.dtype(), DType::Bool);
            assert_eq!(compute_both(&z).into_typed::<bool>(), d.mapv(|v| v > 0.0));
        }
    }
    Ok(())
}

#[test]
fn inputs_are_aligned_and_broadcast_and_told_where_they_are() -> TestResult {
    let (a, da) = arr(&[7, 9], &[3, 4], 2);
    let (b, db) = arr(&[7, 9], &[2, 5], 3);
    let (c, dc) = arr(&[1, 9], &[1, 2], 4);
    let f = |blocks: &[BlockRef<'_>], info: &BlockInfo| -> brickwork::Result<Block> {
        let x = blocks[0].view::<f64>().unwrap();
        let y = blocks[1].view::<f64>().unwrap();
        let z = blocks[2].view::<f64>().unwrap();
        assert_eq!(info.input_locations[0], info.location);
        assert_eq!(x.shape(), y.shape());
        assert_eq!(z.shape()[0], 1);
        Ok(Block::from(&x * &y + &z))
    };
    let y = map_blocks(&[&a, &b, &c], &MapBlocks::new("fma"), f)?;
    // Common refinement of (3, 4) and (2, 5) chunks.
    assert_eq!(y.chunks()?.axes()[0].sizes(), [2, 1, 1, 2, 1]);
    // Along axis 1 `c` is full length too: (4, 4, 1), (5, 4) and (2, 2, 2, 2, 1) refined.
    assert_eq!(y.chunks()?.axes()[1].sizes(), [2, 2, 1, 1, 2, 1]);
    assert_close(&compute_f64(&y), &(&da * &db + &dc), "a * b + c");
    // The block index and location, as dask's block_info.
    let info = map_blocks(
        &[&a],
        &MapBlocks::new("where").dtype(DType::I64),
        |blocks, info| {
            let shape = blocks[0].shape();
            let code = (info.block[0] * 100 + info.block[1]) as i64;
            assert_eq!(info.num_blocks, [3, 3]);
            assert_eq!(info.location[1].start, info.block[1] * 4);
            assert_eq!(info.shape, [7, 9]);
            assert_eq!(info.location[0].start, info.block[0] * 3);
            Ok::<_, Error>(Block::from(ArrayD::from_elem(IxDyn(shape), code)))
        },
    )?;
    let got = compute_both(&info).into_typed::<i64>();
    assert_eq!(got[[6, 8]], 202);
    assert_eq!(got[[3, 4]], 101);
    Ok(())
}

#[test]
fn dropped_new_and_declared_axes() -> TestResult {
    let (x, d) = arr(&[8, 10], &[3, 4], 5);
    // Row sums: the dropped axis is one block, the function sees whole rows.
    let sums = map_blocks(
        &[&x],
        &MapBlocks::new("row_sums").drop_axis(&[1]),
        |blocks, _| {
            let b = blocks[0].view::<f64>().unwrap();
            assert_eq!(b.shape()[1], 10);
            Ok::<_, Error>(Block::from(b.sum_axis(Axis(1))))
        },
    )?;
    assert_eq!(sums.shape(), [8]);
    assert_close(&compute_f64(&sums), &d.sum_axis(Axis(1)), "row sums");
    // A new leading axis of length 2: the block and its negation.
    let both = map_blocks(
        &[&x],
        &MapBlocks::new("pm")
            .new_axis(&[0])
            .chunks(vec![vec![2], vec![3, 3, 2], vec![4, 4, 2]]),
        |blocks, _| {
            let b = blocks[0].view::<f64>().unwrap();
            let s = ndarray::stack(Axis(0), &[b.view(), (-&b).view()]).unwrap();
            Ok::<_, Error>(Block::from(s))
        },
    )?;
    let want = ndarray::stack(Axis(0), &[d.view(), (-&d).view()])?;
    assert_close(&compute_f64(&both), &want, "new axis");
    // Declared chunks: every other element of each block along axis 0.
    let halves = map_blocks(
        &[&x],
        &MapBlocks::new("evens").chunks(vec![vec![2, 2, 1], vec![4, 4, 2]]),
        |blocks, _| {
            let b = blocks[0].view::<f64>().unwrap();
            Ok::<_, Error>(Block::from(
                b.slice_axis(Axis(0), Slice::new(0, None, 2)).to_owned(),
            ))
        },
    )?;
    assert_eq!(halves.shape(), [5, 10]);
    let got = compute_f64(&halves);
    assert_eq!(got.index_axis(Axis(0), 2), d.index_axis(Axis(0), 3));
    Ok(())
}

#[test]
fn a_function_returning_the_wrong_block_fails_naming_it() -> TestResult {
    let (x, _) = arr(&[6, 6], &[4, 4], 6);
    let y = map_blocks(&[&x], &MapBlocks::new("shrink"), |blocks, _| {
        let b = blocks[0].view::<f64>().unwrap();
        Ok::<_, Error>(Block::from(
            b.slice_axis(Axis(0), Slice::new(1, None, 1)).to_owned(),
        ))
    })?;
    // Synchronously: with threads, any block's error may come first.
    let e = y
        .compute_with(&ComputeOptions::synchronous())
        .unwrap_err()
        .to_string();
    assert!(e.contains("map_blocks 'shrink'"), "{e}");
    assert!(
        e.contains("block (0, 0) returned a float64 block of shape (3, 4)"),
        "{e}"
    );
    assert!(e.contains("expected float64 of shape (4, 4)"), "{e}");
    let y = map_blocks(&[&x], &MapBlocks::new("ints"), |blocks, _| {
        Ok::<_, Error>(Block::from(ArrayD::<i32>::zeros(IxDyn(blocks[0].shape()))))
    })?;
    assert!(y.compute().unwrap_err().to_string().contains("int32"));
    // The function's own errors come through as the source of a kernel error naming it.
    let y = map_blocks(&[&x], &MapBlocks::new("fails"), |_, info| {
        Err(Error::invalid(format!("no good at {:?}", info.block)))
    })?;
    match y.compute_with(&ComputeOptions::synchronous()).unwrap_err() {
        Error::Kernel { op, block, source } => {
            assert_eq!((op.as_str(), block), ("fails", vec![0, 0]));
            assert!(source.to_string().contains("no good at [0, 0]"), "{source}");
        }
        other => panic!("{other:?}"),
    }
    // Typed functions check the dtype up front; shapes are checked when built.
    assert!(x.map_blocks(|b: ArrayViewD<i64>| b.to_owned()).is_err());
    let (z, _) = arr(&[5, 6], &[4, 4], 7);
    let e = map_blocks(&[&x, &z], &MapBlocks::default(), |b, _| {
        Ok::<_, Error>(Block::from(b[0].view::<f64>().unwrap().to_owned()))
    })
    .unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    let e = map_blocks(
        &[&x],
        &MapBlocks::default().chunks(vec![vec![6], vec![6]]),
        |b, _| Ok::<_, Error>(Block::from(b[0].view::<f64>().unwrap().to_owned())),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("has 1 blocks, the inputs have 2"),
        "{e}"
    );
    Ok(())
}

#[test]
fn only_the_blocks_needed_are_computed() -> TestResult {
    let (x, d) = arr(&[20, 20], &[5, 5], 8);
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let y = map_blocks(&[&(&x * 2.0)], &MapBlocks::new("count"), move |b, _| {
        counter.fetch_add(1, Ordering::Relaxed);
        Ok::<_, Error>(Block::from(b[0].view::<f64>().unwrap().to_owned()))
    })?;
    let corner = y.slice(brickwork::s![..3, 12..])?;
    let (got, _) = corner.compute_with(&ComputeOptions::synchronous())?;
    assert_eq!(calls.load(Ordering::Relaxed), 2);
    let want = d.slice(ndarray::s![..3, 12..]).mapv(|v| v * 2.0).into_dyn();
    assert_close(&got.into_typed::<f64>(), &want, "corner");
    // The in-memory input and the product are fused into the function's tasks.
    assert_eq!(y.task_counts()?.stages, 1);
    Ok(())
}

/// The element `i` of an axis of length `n` extended by `boundary` (`None`: outside and
/// not there, or the constant).
fn extended_index(i: isize, n: isize, boundary: Boundary) -> Option<usize> {
    if (0..n).contains(&i) {
        return Some(i as usize);
    }
    let j = match boundary {
        Boundary::None | Boundary::Constant(_) => return None,
        Boundary::Reflect => {
            if i < 0 {
                -i - 1
            } else {
                2 * n - i - 1
            }
        }
        Boundary::Mirror => {
            if i < 0 {
                -i
            } else {
                2 * n - i - 2
            }
        }
        Boundary::Periodic => i.rem_euclid(n),
        Boundary::Nearest => i.clamp(0, n - 1),
    };
    Some(j as usize)
}

/// The box sum of half-width `depth` per axis at every element, over the array extended by
/// `boundary` (windows clipped to the array for `None`).
fn box_sum(d: &ArrayD<f64>, depth: &[usize], boundary: Boundary) -> ArrayD<f64> {
    let shape = d.shape().to_vec();
    let mut out = ArrayD::zeros(IxDyn(&shape));
    for (ix, o) in out.indexed_iter_mut() {
        let ix: Vec<usize> = (0..shape.len()).map(|k| ix[k]).collect();
        let mut offsets = vec![vec![0isize]];
        for &dp in depth {
            let dp = dp as isize;
            offsets = offsets
                .into_iter()
                .flat_map(|o| {
                    (-dp..=dp).map(move |k| {
                        let mut o = o.clone();
                        o.push(k);
                        o
                    })
                })
                .collect();
        }
        for off in offsets {
            let mut at = Vec::with_capacity(shape.len());
            let mut value = None;
            for d_ in 0..shape.len() {
                let i = ix[d_] as isize + off[d_ + 1];
                match extended_index(i, shape[d_] as isize, boundary) {
                    Some(j) => at.push(j),
                    None => {
                        value = Some(match boundary {
                            Boundary::Constant(c) => c,
                            _ => 0.0,
                        });
                        break;
                    }
                }
            }
            *o += value.unwrap_or_else(|| d[IxDyn(&at)]);
        }
    }
    out
}

/// A box sum of half-width `depth` over a block, windows clipped to the block.
fn block_box_sum(b: ArrayViewD<'_, f64>, depth: &[usize]) -> ArrayD<f64> {
    let mut acc = b.to_owned();
    for (axis, &dp) in depth.iter().enumerate() {
        let n = acc.shape()[axis];
        let src = acc.clone();
        for i in 0..n {
            let lo = i.saturating_sub(dp);
            let hi = (i + dp + 1).min(n);
            let s = src
                .slice_axis(Axis(axis), Slice::from(lo..hi))
                .sum_axis(Axis(axis));
            acc.index_axis_mut(Axis(axis), i).assign(&s);
        }
    }
    acc
}

#[test]
fn map_overlap_box_sums_match_every_boundary() -> TestResult {
    let boundaries = [
        Boundary::None,
        Boundary::Constant(0.5),
        Boundary::Reflect,
        Boundary::Mirror,
        Boundary::Periodic,
        Boundary::Nearest,
    ];
    let cases: [(&[usize], &[usize], &[usize]); 5] = [
        (&[13], &[4], &[1]),
        (&[13], &[2], &[3]), // deeper than a chunk: halo from several neighbours
        (&[7, 9], &[3, 4], &[1, 2]),
        (&[7, 9], &[7, 2], &[2, 0]),
        (&[5, 4, 6], &[2, 3, 4], &[1, 1, 1]),
    ];
    for (shape, chunks, depth) in cases {
        let (x, d) = arr(shape, chunks, 9);
        for boundary in boundaries {
            let dp = depth.to_vec();
            let y = x.map_overlap(depth, boundary, move |b: ArrayViewD<f64>| {
                block_box_sum(b, &dp)
            })?;
            let want = box_sum(&d, depth, boundary);
            assert_close(
                &compute_f64(&y),
                &want,
                &format!("{shape:?} chunks {chunks:?} depth {depth:?} {boundary:?}"),
            );
        }
    }
    Ok(())
}

#[test]
fn map_overlap_tells_the_halo_and_checks_the_depth() -> TestResult {
    let (x, d) = arr(&[10], &[4], 10);
    let y = map_overlap(
        &[&x],
        &[2],
        Boundary::None,
        &MapBlocks::new("halo"),
        |blocks, info| {
            let (lo, hi) = info.halo[0];
            let want = match info.block[0] {
                0 => (0, 2),
                1 => (2, 2),
                _ => (2, 0),
            };
            assert_eq!((lo, hi), want);
            assert_eq!(blocks[0].shape()[0], info.location[0].len() + lo + hi);
            Ok::<_, Error>(Block::from(blocks[0].view::<f64>().unwrap().to_owned()))
        },
    )?;
    assert_close(&compute_f64(&y), &d, "identity");
    let e = x
        .map_overlap(&[11], Boundary::Reflect, |b: ArrayViewD<f64>| b.to_owned())
        .unwrap_err();
    assert!(e.to_string().contains("a depth of 11 on axis 0"), "{e}");
    assert!(
        x.map_overlap(&[1, 1], Boundary::Reflect, |b: ArrayViewD<f64>| b
            .to_owned())
            .is_err()
    );
    // The function may return its block trimmed already.
    let y = x.map_overlap(&[1], Boundary::Periodic, |b: ArrayViewD<f64>| {
        b.slice_axis(Axis(0), Slice::from(1..b.len() - 1))
            .to_owned()
    })?;
    assert_close(&compute_f64(&y), &d, "trimmed by the function");
    // Any other shape is an error naming the block.
    let y = x.map_overlap(&[1], Boundary::Periodic, |b: ArrayViewD<f64>| {
        b.slice_axis(Axis(0), Slice::from(1..b.len())).to_owned()
    })?;
    // Synchronously, so the first block to fail is block 0 (with threads, any may be).
    let e = y
        .compute_with(&ComputeOptions::synchronous())
        .unwrap_err()
        .to_string();
    assert!(e.contains("map_overlap 'map_overlap': block (0,)"), "{e}");
    assert!(e.contains("halo included"), "{e}");
    Ok(())
}

#[test]
fn map_overlap_holds_a_memory_limit_over_a_store() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("x.zarr");
    let x = Array::random(&[1200, 1000], &[100, 1000], 3)?;
    x.to_zarr(&path, &Default::default())?;
    let x = Array::from_zarr(&path)?;
    let y = x
        .map_overlap(&[1, 1], Boundary::Reflect, |b: ArrayViewD<f64>| {
            block_box_sum(b, &[1, 1])
        })?
        .sum()?;
    let opts = ComputeOptions::threads(2).with_memory_limit(8 << 20);
    let (got, m) = y.compute_with(&opts)?;
    let (want, _) = y.compute_with(&ComputeOptions::synchronous())?;
    assert_eq!(got, want);
    assert!(
        m.peak_reserved_bytes <= 8 << 20,
        "peak {} over the limit",
        m.peak_reserved_bytes
    );
    Ok(())
}
