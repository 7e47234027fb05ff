//! Random distributions (`uniform`, `normal`, `exponential`, `poisson`, `binomial`,
//! `integers`): moments and goodness of fit on 10^6 draws against closed forms (a
//! chi-square test for the discrete ones, Kolmogorov–Smirnov for the continuous ones), and
//! exact chunk invariance: the same values under every chunking, slice, transpose and
//! scheduler. The seeds are fixed, so each statistical check either always passes or always
//! fails; its threshold is set so that a correct sampler fails with probability about 1e-6.

use std::collections::HashMap;

use brickwork::parse::evaluate;
use brickwork::{Array, ComputeOptions, Error, s};
use ndarray::{ArrayD, IxDyn};

use crate::common::*;

const N: usize = 1_000_000;
const CHUNK: usize = 65_536;

/// The standard normal quantile for the tests' false-alarm rate of 1e-6 (two-sided).
const Z: f64 = 4.89;

/// `ln(k!)` for `k` in `0..=max`, by summation (accurate enough for the pmfs below).
fn ln_factorials(max: usize) -> Vec<f64> {
    let mut table = vec![0.0; max + 1];
    for k in 2..=max {
        table[k] = table[k - 1] + (k as f64).ln();
    }
    table
}

/// Checks the sample mean and variance against `mean` and `var` within [`Z`] standard
/// errors (the variance's from the sample's fourth central moment).
fn check_moments(what: &str, x: &[f64], mean: f64, var: f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|&a| (a - m).powi(2)).sum::<f64>() / n;
    let m4 = x.iter().map(|&a| (a - m).powi(4)).sum::<f64>() / n;
    let se_mean = (var / n).sqrt();
    let se_var = ((m4 - v * v) / n).sqrt();
    assert!(
        (m - mean).abs() <= Z * se_mean + 1e-12 * mean.abs(),
        "{what}: mean {m}, want {mean} (standard error {se_mean})"
    );
    assert!(
        (v - var).abs() <= Z * se_var + 1e-12 * var,
        "{what}: variance {v}, want {var} (standard error {se_var})"
    );
}

/// The chi-square critical value for `df` degrees of freedom at the tests' rate
/// (Wilson–Hilferty).
fn chi2_critical(df: f64) -> f64 {
    let c = 2.0 / (9.0 * df);
    df * (1.0 - c + 4.75 * c.sqrt()).powi(3)
}

/// Pearson's chi-square test of integer draws against `pmf`, pooling the values whose
/// expected count is below 5 with their neighbours (and both tails into the end bins).
fn check_chi_square(what: &str, x: &[i64], pmf: impl Fn(i64) -> f64) {
    let n = x.len() as f64;
    let mut counts: HashMap<i64, f64> = HashMap::new();
    for &k in x {
        *counts.entry(k).or_default() += 1.0;
    }
    let (lo, hi) = (*x.iter().min().unwrap(), *x.iter().max().unwrap());
    // Bins of consecutive values, each with an expected count of at least 5.
    let mut bins: Vec<(f64, f64)> = Vec::new();
    let (mut observed, mut expected) = (0.0, 0.0);
    for k in lo..=hi {
        observed += counts.get(&k).copied().unwrap_or(0.0);
        expected += n * pmf(k);
        if expected >= 5.0 {
            bins.push((observed, expected));
            (observed, expected) = (0.0, 0.0);
        }
    }
    // The probability of the values beyond those seen goes to the last bin.
    let total: f64 = bins.iter().map(|b| b.1).sum::<f64>() + expected;
    let last = bins.last_mut().expect("at least one bin");
    last.0 += observed;
    last.1 += expected + (n - total).max(0.0);
    let stat: f64 = bins.iter().map(|(o, e)| (o - e).powi(2) / e).sum();
    let df = (bins.len() - 1).max(1) as f64;
    assert!(
        stat <= chi2_critical(df),
        "{what}: chi-square {stat} over {df} degrees of freedom exceeds {}",
        chi2_critical(df)
    );
}

/// The Kolmogorov–Smirnov test of draws against a continuous `cdf`.
fn check_ks(what: &str, x: &[f64], cdf: impl Fn(f64) -> f64) {
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    let d = sorted
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let f = cdf(v);
            (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
        })
        .fold(0.0, f64::max);
    // P(sqrt(n) D > c) ≈ 2 exp(-2 c²) = 1e-6.
    let critical = (0.5 * (2e6f64).ln()).sqrt();
    assert!(
        d * n.sqrt() <= critical,
        "{what}: Kolmogorov–Smirnov sqrt(n)·D = {} exceeds {critical}",
        d * n.sqrt()
    );
}

fn draws_f64(a: &Array) -> Result<Vec<f64>, Box<dyn std::error::Error>> {
    Ok(a.compute_as::<f64>()?.into_raw_vec_and_offset().0)
}

fn draws_i64(a: &Array) -> Result<Vec<i64>, Box<dyn std::error::Error>> {
    Ok(a.compute_as::<i64>()?.into_raw_vec_and_offset().0)
}

#[test]
fn uniform_and_exponential_fit_their_distributions() -> TestResult {
    let (low, high) = (-2.0, 3.0);
    let u = draws_f64(&Array::uniform(&[N], &[CHUNK], 11, low, high)?)?;
    assert!(u.iter().all(|&v| (low..high).contains(&v)));
    check_moments("uniform", &u, 0.5, 25.0 / 12.0);
    check_ks("uniform", &u, |x| (x - low) / (high - low));
    for scale in [2.5, 1e-3] {
        let e = draws_f64(&Array::exponential(&[N], &[CHUNK], 12, scale)?)?;
        assert!(e.iter().all(|&v| v >= 0.0 && v.is_finite()));
        check_moments("exponential", &e, scale, scale * scale);
        check_ks("exponential", &e, |x| -(-x / scale).exp_m1());
    }
    Ok(())
}

#[test]
fn poisson_fits_its_distribution() -> TestResult {
    // Inversion below a mean of 10, PTRS from 10 on.
    for lam in [0.5, 4.0, 9.99, 10.0, 37.5, 1e4] {
        let x = draws_i64(&Array::poisson(&[N], &[CHUNK], 21, lam)?)?;
        let what = format!("poisson({lam})");
        let xf: Vec<f64> = x.iter().map(|&k| k as f64).collect();
        check_moments(&what, &xf, lam, lam);
        let ln_fact = ln_factorials(*x.iter().max().unwrap_or(&0) as usize);
        let pmf = |k: i64| match ln_fact.get(k as usize) {
            Some(lf) if k >= 0 => (k as f64 * lam.ln() - lam - lf).exp(),
            _ => 0.0,
        };
        check_chi_square(&what, &x, pmf);
    }
    let big = draws_i64(&Array::poisson(&[N], &[CHUNK], 22, 1e12)?)?;
    let xf: Vec<f64> = big.iter().map(|&k| k as f64).collect();
    check_moments("poisson(1e12)", &xf, 1e12, 1e12);
    let zero = draws_i64(&Array::poisson(&[1000], &[100], 23, 0.0)?)?;
    assert!(zero.iter().all(|&k| k == 0));
    Ok(())
}

#[test]
fn binomial_fits_its_distribution() -> TestResult {
    // Inversion (n·min(p, 1-p) < 10), BTRS, and both with p > 1/2 (drawn as n - B(n, 1-p)).
    for (n, p) in [
        (20u64, 0.3),
        (100, 0.05),
        (50, 0.95),
        (100, 0.5),
        (1000, 0.9),
        (1_000_000, 0.2),
    ] {
        let x = draws_i64(&Array::binomial(&[N], &[CHUNK], 31, n, p)?)?;
        let what = format!("binomial({n}, {p})");
        assert!(x.iter().all(|&k| (0..=n as i64).contains(&k)), "{what}");
        let xf: Vec<f64> = x.iter().map(|&k| k as f64).collect();
        let nf = n as f64;
        check_moments(&what, &xf, nf * p, nf * p * (1.0 - p));
        let lf = ln_factorials(n as usize);
        let pmf = |k: i64| {
            if k < 0 || k as u64 > n {
                return 0.0;
            }
            let (k, n) = (k as usize, n as usize);
            let ln_choose = lf[n] - lf[k] - lf[n - k];
            (ln_choose + k as f64 * p.ln() + (n - k) as f64 * (-p).ln_1p()).exp()
        };
        check_chi_square(&what, &x, pmf);
    }
    for (n, p, want) in [(0, 0.5, 0), (10, 0.0, 0), (10, 1.0, 10)] {
        let x = draws_i64(&Array::binomial(&[100], &[30], 32, n, p)?)?;
        assert!(x.iter().all(|&k| k == want), "binomial({n}, {p})");
    }
    Ok(())
}

#[test]
fn integers_are_uniform_over_the_range() -> TestResult {
    let x = draws_i64(&Array::integers(&[N], &[CHUNK], 41, -3, 4)?)?;
    check_chi_square("integers(-3, 4)", &x, |k| {
        if (-3..4).contains(&k) { 1.0 / 7.0 } else { 0.0 }
    });
    // A range that is not a power of two, where plain multiply-shift would be biased.
    let r = 3 * (1i64 << 61);
    let x = draws_i64(&Array::integers(&[N], &[CHUNK], 42, 0, r)?)?;
    let thirds: Vec<i64> = x.iter().map(|&v| v / (1 << 61)).collect();
    check_chi_square("integers(0, 3·2^61) in thirds", &thirds, |k| {
        if (0..3).contains(&k) { 1.0 / 3.0 } else { 0.0 }
    });
    let full = draws_i64(&Array::integers(&[N], &[CHUNK], 43, i64::MIN, i64::MAX)?)?;
    let bytes: Vec<i64> = full.iter().map(|&v| (v >> 56) + 128).collect();
    check_chi_square("integers(int64) top byte", &bytes, |k| {
        if (0..256).contains(&k) {
            1.0 / 256.0
        } else {
            0.0
        }
    });
    let one = draws_i64(&Array::integers(&[100], &[7], 44, 5, 6)?)?;
    assert!(one.iter().all(|&v| v == 5));
    Ok(())
}

/// Every distribution, 2-d, in the given chunks.
fn all_distributions(chunks: &[usize]) -> brickwork::Result<Vec<(&'static str, Array)>> {
    let shape = [37, 41];
    Ok(vec![
        ("uniform", Array::uniform(&shape, chunks, 1, -1.0, 2.0)?),
        ("normal", Array::random_normal(&shape, chunks, 2, 1.0, 3.0)?),
        ("exponential", Array::exponential(&shape, chunks, 3, 2.0)?),
        ("poisson small", Array::poisson(&shape, chunks, 4, 3.0)?),
        ("poisson large", Array::poisson(&shape, chunks, 5, 500.0)?),
        (
            "binomial small",
            Array::binomial(&shape, chunks, 6, 30, 0.1)?,
        ),
        (
            "binomial large",
            Array::binomial(&shape, chunks, 7, 900, 0.7)?,
        ),
        ("integers", Array::integers(&shape, chunks, 8, -100, 1000)?),
    ])
}

#[test]
fn distributions_are_chunk_slice_and_scheduler_invariant() -> TestResult {
    let mut reference: Vec<ArrayD<f64>> = Vec::new();
    for (_, a) in all_distributions(&[37, 41])? {
        reference.push(a.compute()?.cast_to::<f64>());
    }
    for chunks in [[1, 1], [5, 7], [10, 41], [36, 4]] {
        for ((what, a), want) in all_distributions(&chunks)?.iter().zip(&reference) {
            let got = compute_both(a).cast_to::<f64>();
            assert!(
                got.iter()
                    .zip(want)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "{what}: chunks {chunks:?} changed the values"
            );
            let (t, _) = a.compute_with(&ComputeOptions::threads(4))?;
            assert_eq!(t.cast_to::<f64>(), got, "{what}: 4 threads");
            let sliced = compute_both(&a.t().slice(s![..;-3, 2..30;4])?).cast_to::<f64>();
            let want_sliced = want.t().slice(s![..;-3, 2..30;4]).to_owned().into_dyn();
            assert_eq!(sliced, want_sliced, "{what}: a slice drawn alone");
            let one = compute_both(&a.slice(s![17, 23])?).cast_to::<f64>();
            assert_eq!(
                one.first(),
                want.get(IxDyn(&[17, 23])),
                "{what}: one element alone"
            );
        }
    }
    Ok(())
}

#[test]
fn uniform_of_zero_one_is_random() -> TestResult {
    let u = Array::uniform(&[50, 60], &[7, 9], 9, 0.0, 1.0)?.compute()?;
    assert_eq!(u, Array::random(&[50, 60], &[50, 60], 9)?.compute()?);
    Ok(())
}

#[test]
fn eval_names_match_the_constructors() -> TestResult {
    let inputs = HashMap::new();
    let cases: Vec<(&str, Array)> = vec![
        (
            "uniform((30, 20), low=-1, high=2.5, chunks=7, seed=3)",
            Array::uniform(&[30, 20], &[7, 7], 3, -1.0, 2.5)?,
        ),
        (
            "uniform((30,), seed=4)",
            Array::uniform(&[30], &[30], 4, 0.0, 1.0)?,
        ),
        (
            "normal((30,), loc=1, scale=2, chunks=(4,), seed=5)",
            Array::random_normal(&[30], &[4], 5, 1.0, 2.0)?,
        ),
        (
            "exponential((30,), scale=0.5, seed=6)",
            Array::exponential(&[30], &[30], 6, 0.5)?,
        ),
        (
            "poisson((30,), lam=25, seed=7)",
            Array::poisson(&[30], &[30], 7, 25.0)?,
        ),
        ("poisson((30,))", Array::poisson(&[30], &[30], 0, 1.0)?),
        (
            "binomial((30,), n=40, p=0.25, seed=8)",
            Array::binomial(&[30], &[30], 8, 40, 0.25)?,
        ),
        (
            "integers((30,), 10, seed=9)",
            Array::integers(&[30], &[30], 9, 0, 10)?,
        ),
        (
            "integers((30,), low=-5, high=5, chunks=8, seed=9)",
            Array::integers(&[30], &[8], 9, -5, 5)?,
        ),
    ];
    for (text, want) in cases {
        let got = evaluate(text, &inputs)?;
        assert_eq!(got.dtype(), want.dtype(), "{text}");
        assert_eq!(got.chunks()?, want.chunks()?, "{text}");
        assert_eq!(got.compute()?, want.compute()?, "{text}");
    }
    Ok(())
}

#[test]
fn bad_parameters_are_refused() -> TestResult {
    let inputs = HashMap::new();
    for text in [
        "uniform((3,), low=0, high=1e308 * 10)",
        "exponential((3,), scale=-1)",
        "poisson((3,), lam=-1)",
        "poisson((3,), lam=1e19)",
        "binomial((3,), n=5, p=1.5)",
        "integers((3,), 5, 5)",
        "integers((3,), 0)",
    ] {
        let e = evaluate(text, &inputs).err();
        assert!(
            matches!(e, Some(Error::InvalidArgument { .. })),
            "{text}: {e:?}"
        );
    }
    for text in [
        "binomial((3,), n=5)",
        "binomial((3,), n=-1, p=0.5)",
        "integers((3,), 1.5)",
        "poisson(3.0)",
        "uniform((3,), 0, 1)",
    ] {
        let e = evaluate(text, &inputs).err();
        assert!(matches!(e, Some(Error::Parse { .. })), "{text}: {e:?}");
    }
    Ok(())
}
