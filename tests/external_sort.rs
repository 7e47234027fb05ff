//! Sorting and distinct values beyond memory (issue 27): a lane larger than the memory
//! limit sorted by merging runs on disk, and more distinct values than the limit holds,
//! checked against the same work done in memory.

use brickwork::parse::evaluate_all;
use brickwork::{Array, BlockElement, ComputeOptions, DType};
use ndarray::{ArrayD, IxDyn};
use std::collections::HashMap;

use crate::common::*;

/// Deterministic values with repeats, NaNs and signed zeros (a multiplicative hash).
fn values(n: usize, distinct: u64) -> Vec<f64> {
    (0..n as u64)
        .map(|i| {
            // splitmix64's finalizer
            let mut h = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
            h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            h ^= h >> 31;
            match h % 97 {
                0 => f64::NAN,
                1 => -0.0,
                _ => (h % distinct) as f64 - (distinct / 2) as f64,
            }
        })
        .collect()
}

/// NumPy's order: NaN last.
fn numpy_order(a: &f64, b: &f64) -> std::cmp::Ordering {
    a.partial_cmp(b)
        .unwrap_or_else(|| a.is_nan().cmp(&b.is_nan()))
}

fn limit(bytes: u64) -> Vec<ComputeOptions> {
    vec![
        ComputeOptions::synchronous().with_memory_limit(bytes),
        ComputeOptions::threads(2).with_memory_limit(bytes),
    ]
}

fn show(v: &[f64]) -> String {
    format!("{v:?}")
}

#[test]
fn a_lane_larger_than_the_limit_is_merged_from_runs() -> TestResult {
    let n = 300_000;
    let data = values(n, 50_000);
    let x = Array::from_ndarray(ArrayD::from_shape_vec(IxDyn(&[n]), data.clone())?, &[7_000])?;
    let mut want = data.clone();
    want.sort_by(numpy_order);
    let mut perm: Vec<usize> = (0..n).collect();
    perm.sort_by(|&i, &j| numpy_order(&data[i], &data[j]));
    let mut perm_desc: Vec<usize> = (0..n).collect();
    perm_desc.sort_by(|&i, &j| numpy_order(&data[j], &data[i]));
    // 2.4 MB of data under a 1 MiB limit: about 40 runs.
    for opts in limit(1 << 20) {
        let sorted = x.sort_axis_with(0, false, &opts)?;
        // Merged on disk: the result reads a file.
        assert!(sorted.to_string().contains("<read,"), "{sorted}");
        let (got, m) = sorted.compute_with(&opts)?;
        assert!(m.peak_reserved_bytes <= 1 << 20, "{m:?}");
        assert_eq!(
            show(
                <f64 as BlockElement>::view(&got)
                    .unwrap()
                    .as_slice()
                    .unwrap()
            ),
            show(&want)
        );
        let idx = x.argsort_with(0, false, &opts)?.compute_with(&opts)?.0;
        let idx: Vec<usize> = <i64 as BlockElement>::view(&idx)
            .unwrap()
            .iter()
            .map(|&i| i as usize)
            .collect();
        assert!(idx == perm, "argsort differs from a stable sort");
        let idx = x.argsort_with(0, true, &opts)?.compute_with(&opts)?.0;
        let idx: Vec<usize> = <i64 as BlockElement>::view(&idx)
            .unwrap()
            .iter()
            .map(|&i| i as usize)
            .collect();
        assert!(
            idx == perm_desc,
            "descending argsort differs from a stable sort"
        );
    }
    Ok(())
}

#[test]
fn lanes_of_a_2d_array_are_sorted_one_by_one_out_of_core() -> TestResult {
    let (rows, cols) = (3, 120_000);
    let data = values(rows * cols, 1_000);
    let x = Array::from_ndarray(
        ArrayD::from_shape_vec(IxDyn(&[rows, cols]), data.clone())?,
        &[2, 50_000],
    )?;
    let opts = ComputeOptions::threads(2).with_memory_limit(1 << 20);
    let got = x.sort_axis_with(1, false, &opts)?.compute_with(&opts)?.0;
    assert_eq!(got.shape(), [rows, cols]);
    let got = <f64 as BlockElement>::view(&got).unwrap();
    for r in 0..rows {
        let mut want = data[r * cols..(r + 1) * cols].to_vec();
        want.sort_by(numpy_order);
        let row: Vec<f64> = got
            .index_axis(ndarray::Axis(0), r)
            .iter()
            .copied()
            .collect();
        assert_eq!(show(&row), show(&want), "row {r}");
    }
    // Along axis 0 of the transpose: the same lanes, moved back.
    let t = x.t().argsort_with(0, false, &opts)?;
    assert_eq!(t.shape(), [cols, rows]);
    Ok(())
}

#[test]
fn distinct_values_beyond_memory_are_merged_on_disk() -> TestResult {
    let (rows, cols) = (400, 1_000);
    let data = values(rows * cols, 150_000);
    let x = Array::from_ndarray(
        ArrayD::from_shape_vec(IxDyn(&[rows, cols]), data.clone())?,
        &[64, 300],
    )?;
    let mut first: HashMap<u64, (usize, i64)> = HashMap::new();
    let mut nans = Vec::new();
    for (i, v) in data.iter().enumerate() {
        if v.is_nan() {
            nans.push(i);
            continue;
        }
        // -0.0 and 0.0 are one value.
        let key = (v + 0.0).to_bits();
        first.entry(key).or_insert((i, 0)).1 += 1;
    }
    let mut distinct: Vec<(f64, usize, i64)> = first
        .iter()
        .map(|(k, &(i, c))| (f64::from_bits(*k), i, c))
        .collect();
    distinct.sort_by(|a, b| numpy_order(&a.0, &b.0));
    assert!(distinct.len() > 100_000, "{}", distinct.len());
    // About 110 000 distinct values (2.6 MB of records) under a 4 MiB limit: on disk.
    for opts in limit(4 << 20) {
        let u = x.unique_all_with(&opts);
        // The inverse needs the values in a quarter of the limit: refused, saying so.
        let e = u.unwrap_err().to_string();
        assert!(
            e.contains("unique_inverse") && e.contains("quarter of the memory limit"),
            "{e}"
        );
        let u = x.unique_counts_with(&opts)?;
        assert!(u.values.to_string().contains("<read,"), "{}", u.values);
        let values = u.values.compute_with(&opts)?.0;
        let values = <f64 as BlockElement>::view(&values).unwrap();
        let counts = u.counts.compute_with(&opts)?.0;
        let counts = <i64 as BlockElement>::view(&counts).unwrap();
        assert_eq!(values.len(), distinct.len() + nans.len());
        for (k, &(v, _, c)) in distinct.iter().enumerate() {
            assert!(
                values[k] == v && counts[k] == c,
                "value {k}: {} x{} vs {v} x{c}",
                values[k],
                counts[k]
            );
        }
        assert!(values.iter().skip(distinct.len()).all(|v| v.is_nan()));
        // NumPy's unique: NaN once.
        let once = x.unique_with(&opts)?.compute_with(&opts)?.0;
        assert_eq!(once.len(), distinct.len() + 1);
    }
    // Under a larger limit, everything in memory, with first indices and the inverse.
    let opts = ComputeOptions::threads(2).with_memory_limit(64 << 20);
    let u = x.unique_all_with(&opts)?;
    let indices = u.indices.compute_with(&opts)?.0;
    let indices = <i64 as BlockElement>::view(&indices).unwrap();
    for (k, &(_, i, _)) in distinct.iter().enumerate() {
        assert_eq!(indices[k], i as i64, "first index of value {k}");
    }
    for (k, &i) in nans.iter().enumerate() {
        assert_eq!(indices[distinct.len() + k], i as i64);
    }
    let inverse = u.inverse_indices.compute_with(&opts)?.0;
    assert_eq!(inverse.shape(), [rows, cols]);
    let values = u.values.compute_with(&opts)?.0;
    let values = <f64 as BlockElement>::view(&values).unwrap();
    for (v, &i) in data
        .iter()
        .zip(<i64 as BlockElement>::view(&inverse).unwrap().iter())
    {
        let got = values[i as usize];
        assert!(got == *v || (got.is_nan() && v.is_nan()), "{got} for {v}");
    }
    Ok(())
}

#[test]
fn eval_sorts_and_finds_distinct_values_out_of_core() -> TestResult {
    let n = 200_000;
    let data: Vec<i64> = values(n, 90_000)
        .iter()
        .map(|v| if v.is_nan() { 7 } else { *v as i64 })
        .collect();
    let x = Array::from_ndarray(ArrayD::from_shape_vec(IxDyn(&[n]), data.clone())?, &[9_000])?;
    let arrays = HashMap::from([("x".to_string(), x)]);
    let opts = ComputeOptions::threads(2).with_memory_limit(1 << 20);
    let mut want = data.clone();
    want.sort_unstable();
    let mut results = evaluate_all("sort(x)", &arrays, &opts)?;
    let got = results.remove(0).compute_with(&opts)?.0;
    assert_eq!(
        <i64 as BlockElement>::view(&got)
            .unwrap()
            .as_slice()
            .unwrap(),
        &want[..]
    );
    want.dedup();
    let mut results = evaluate_all("unique_counts(x)[0]", &arrays, &opts)?;
    let got = results.remove(0).compute_with(&opts)?.0;
    assert_eq!(got.dtype(), DType::I64);
    assert_eq!(
        <i64 as BlockElement>::view(&got)
            .unwrap()
            .as_slice()
            .unwrap(),
        &want[..]
    );
    Ok(())
}
