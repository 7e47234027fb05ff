//! Random variates of the common distributions, each a pure function of a stream key and
//! the element's counter (see [`super::random`]), so that any element can be drawn alone
//! and an array is the same for every chunking, scheduler and thread count.
//!
//! Methods that need a variable number of uniforms (rejection) take them attempt by
//! attempt: attempt 0 of element `i` uses counters of `i` under the stream's key, attempt
//! `a > 0` the same counters under a key derived from `(key, a)` ([`attempt_key`]). An
//! element's draws therefore never depend on any other element's. Every loop is bounded:
//! after [`MAX_ATTEMPTS`] rejections (less likely than 10^-60 per element for every method
//! here) a method returns a fixed fallback instead of looping on.
//!
//! - exponential: inversion of one uniform;
//! - Poisson: inversion by sequential search for a mean below 10, otherwise PTRS, the
//!   transformed rejection with squeeze of Hörmann, "The transformed rejection method for
//!   generating Poisson random variables", Insurance: Mathematics and Economics 12 (1993);
//! - binomial: inversion for `n·min(p, 1-p)` below 10, otherwise BTRS, from Hörmann, "The
//!   generation of binomial random variates", J. Statist. Comput. Simul. 46 (1993);
//! - integers in `[low, high)`: Lemire's multiply-and-reject ("Fast random integer
//!   generation in an interval", ACM TOMACS 29, 2019), exactly uniform.

use super::random::{bits, key, uniform};

/// The most attempts of a rejection method per element.
pub const MAX_ATTEMPTS: u64 = 200;

/// The largest Poisson mean accepted (NumPy's limit: results must fit in int64).
pub const POISSON_LAM_MAX: f64 = 9.223_372_006_484_771e18;

/// The key of rejection attempt `attempt` (attempt 0 uses the stream key itself).
#[inline]
pub fn attempt_key(stream_key: u64, attempt: u64) -> u64 {
    if attempt == 0 {
        stream_key
    } else {
        key(stream_key, attempt)
    }
}

/// Exponential with mean 1: `-ln(1 - u)` of the uniform of `counter`.
#[inline]
pub fn standard_exponential(key: u64, counter: u64) -> f64 {
    -(-uniform(key, counter)).ln_1p()
}

/// `ln(k!)`: exact products up to 20!, Stirling's series beyond (error below 1e-15).
pub fn ln_factorial(k: f64) -> f64 {
    if k <= 20.0 {
        return (2..=k as u64).map(|i| i as f64).product::<f64>().ln();
    }
    let x = k + 1.0;
    let inv2 = 1.0 / (x * x);
    // Bernoulli terms B_2j / (2j (2j - 1)) for j = 1..5.
    let series =
        (1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 * (1.0 / 1260.0 - inv2 * (1.0 / 1680.0)))) / x;
    (x - 0.5) * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI).ln() + series
}

/// The error of Stirling's approximation of `ln(k!)`:
/// `ln(k!) - [(k + 1/2) ln(k + 1) - (k + 1) + ln(2π)/2]` (BTRS's `f_c`).
fn stirling_tail(k: f64) -> f64 {
    let x = k + 1.0;
    ln_factorial(k) - ((k + 0.5) * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI).ln())
}

/// Poisson variates with a fixed mean; constants computed once per block.
#[derive(Clone, Copy, Debug)]
pub enum Poisson {
    /// Inversion: one uniform, sequential search from 0 (mean below 10).
    Inversion {
        /// The mean.
        lam: f64,
        /// `e^-lam`, the probability of 0.
        p0: f64,
    },
    /// PTRS (mean 10 or more).
    Ptrs {
        /// The mean.
        lam: f64,
        /// `ln(lam)`.
        log_lam: f64,
        /// PTRS's `a`.
        a: f64,
        /// PTRS's `b`.
        b: f64,
        /// `ln(1/alpha)`.
        log_inv_alpha: f64,
        /// PTRS's `v_r`: below it, the squeeze accepts.
        vr: f64,
    },
}

impl Poisson {
    /// The sampler for mean `lam` (finite, `0 <= lam <= POISSON_LAM_MAX`).
    pub fn new(lam: f64) -> Poisson {
        if lam < 10.0 {
            return Poisson::Inversion {
                lam,
                p0: (-lam).exp(),
            };
        }
        let b = 0.931 + 2.53 * lam.sqrt();
        Poisson::Ptrs {
            lam,
            log_lam: lam.ln(),
            a: -0.059 + 0.02483 * b,
            b,
            log_inv_alpha: (1.1239 + 1.1328 / (b - 3.4)).ln(),
            vr: 0.9277 - 3.6224 / (b - 2.0),
        }
    }

    /// The variate of element `counter`.
    pub fn sample(&self, key: u64, counter: u64) -> i64 {
        match *self {
            Poisson::Inversion { lam, p0 } => {
                let u = uniform(key, counter);
                let (mut k, mut p, mut cdf) = (0i64, p0, p0);
                while u > cdf && p > 0.0 {
                    k += 1;
                    p *= lam / k as f64;
                    cdf += p;
                }
                k
            }
            Poisson::Ptrs {
                lam,
                log_lam,
                a,
                b,
                log_inv_alpha,
                vr,
            } => {
                for attempt in 0..MAX_ATTEMPTS {
                    let ka = attempt_key(key, attempt);
                    let u = uniform(ka, counter.wrapping_mul(2)) - 0.5;
                    let v = uniform(ka, counter.wrapping_mul(2).wrapping_add(1));
                    let us = 0.5 - u.abs();
                    let k = ((2.0 * a / us + b) * u + lam + 0.43).floor();
                    if us >= 0.07 && v <= vr {
                        return k as i64;
                    }
                    if k < 0.0 || (us < 0.013 && v > us) {
                        continue;
                    }
                    let lhs = v.ln() + log_inv_alpha - (a / (us * us) + b).ln();
                    if lhs <= -lam + k * log_lam - ln_factorial(k) {
                        return k as i64;
                    }
                }
                lam.floor() as i64
            }
        }
    }
}

/// Binomial variates with fixed `n` and `p`; constants computed once per block.
#[derive(Clone, Copy, Debug)]
pub struct Binomial {
    /// Trials.
    n: f64,
    /// Whether `p > 1/2`: the sampler then draws `n - X` with `X ~ B(n, 1 - p)`.
    flip: bool,
    /// How.
    method: BinomialMethod,
}

#[derive(Clone, Copy, Debug)]
enum BinomialMethod {
    /// The result is always 0 (`n = 0` or `p = 0`).
    Zero,
    /// One uniform, sequential search from 0 (`n·p < 10`).
    Inversion {
        /// `(1 - p)^n`, the probability of 0.
        q_n: f64,
        /// `p / (1 - p)`.
        ratio: f64,
    },
    /// BTRS (`n·p >= 10`).
    Btrs {
        /// `n·p + 1/2`.
        c: f64,
        /// BTRS's `a`.
        a: f64,
        /// BTRS's `b`.
        b: f64,
        /// BTRS's `alpha`.
        alpha: f64,
        /// BTRS's `v_r`: below it, the squeeze accepts.
        vr: f64,
        /// The mode, `floor((n + 1) p)`.
        m: f64,
        /// `ln(p / (1 - p))`.
        log_ratio: f64,
    },
}

impl Binomial {
    /// The sampler for `n` trials of probability `p` (`0 <= p <= 1`).
    pub fn new(n: u64, p: f64) -> Binomial {
        let flip = p > 0.5;
        let p = if flip { 1.0 - p } else { p };
        let n = n as f64;
        let method = if n == 0.0 || p == 0.0 {
            BinomialMethod::Zero
        } else if n * p < 10.0 {
            BinomialMethod::Inversion {
                q_n: (n * (-p).ln_1p()).exp(),
                ratio: p / (1.0 - p),
            }
        } else {
            let spq = (n * p * (1.0 - p)).sqrt();
            let b = 1.15 + 2.53 * spq;
            BinomialMethod::Btrs {
                c: n * p + 0.5,
                a: -0.0873 + 0.0248 * b + 0.01 * p,
                b,
                alpha: (2.83 + 5.1 / b) * spq,
                vr: 0.92 - 4.2 / b,
                m: ((n + 1.0) * p).floor(),
                log_ratio: (p / (1.0 - p)).ln(),
            }
        };
        Binomial { n, flip, method }
    }

    /// The variate of element `counter`.
    pub fn sample(&self, key: u64, counter: u64) -> i64 {
        let k = match self.method {
            BinomialMethod::Zero => 0.0,
            BinomialMethod::Inversion { q_n, ratio } => {
                self.inversion(q_n, ratio, uniform(key, counter))
            }
            BinomialMethod::Btrs { .. } => self.btrs(key, counter),
        };
        let k = if self.flip { self.n - k } else { k };
        k as i64
    }

    /// The smallest `k` whose cumulative probability reaches `u`.
    fn inversion(&self, q_n: f64, ratio: f64, u: f64) -> f64 {
        let (mut k, mut p, mut cdf) = (0.0, q_n, q_n);
        while u > cdf && p > 0.0 && k < self.n {
            p *= (self.n - k) / (k + 1.0) * ratio;
            k += 1.0;
            cdf += p;
        }
        k
    }

    /// BTRS: transformed rejection with a squeeze; the acceptance test compares with the
    /// log of `f(k) / f(m)` written with Stirling tails, free of cancellation.
    fn btrs(&self, key: u64, counter: u64) -> f64 {
        let BinomialMethod::Btrs {
            c,
            a,
            b,
            alpha,
            vr,
            m,
            log_ratio,
        } = self.method
        else {
            return 0.0;
        };
        let n = self.n;
        for attempt in 0..MAX_ATTEMPTS {
            let ka = attempt_key(key, attempt);
            let u = uniform(ka, counter.wrapping_mul(2)) - 0.5;
            let v = uniform(ka, counter.wrapping_mul(2).wrapping_add(1));
            let us = 0.5 - u.abs();
            let k = ((2.0 * a / us + b) * u + c).floor();
            if k < 0.0 || k > n {
                continue;
            }
            if us >= 0.07 && v <= vr {
                return k;
            }
            let lhs = (v * alpha / (a / (us * us) + b)).ln();
            let rhs = (m + 0.5) * ((m + 1.0) / (n - m + 1.0)).ln()
                - (k + 0.5) * ((k + 1.0) / (n - k + 1.0)).ln()
                + (n + 1.0) * ((k - m) / (n - k + 1.0)).ln_1p()
                + (k - m) * log_ratio
                + stirling_tail(m)
                + stirling_tail(n - m)
                - stirling_tail(k)
                - stirling_tail(n - k);
            if lhs <= rhs {
                return k;
            }
        }
        m
    }
}

/// Integers uniform on `[low, low + range)` (`range >= 1`, wrapping past `i64::MAX`):
/// Lemire's multiply-and-reject, one 64-bit draw per attempt.
pub fn integer(key: u64, counter: u64, low: i64, range: u64) -> i64 {
    let mut hi = 0;
    for attempt in 0..MAX_ATTEMPTS {
        let x = bits(attempt_key(key, attempt), counter);
        let m = u128::from(x) * u128::from(range);
        hi = (m >> 64) as u64;
        let lo = m as u64;
        if lo >= range || lo >= range.wrapping_neg() % range {
            break;
        }
    }
    low.wrapping_add(hi as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_factorial_is_accurate() {
        let mut exact = 0.0f64;
        for k in 1..200u32 {
            exact += f64::from(k).ln();
            let got = ln_factorial(f64::from(k));
            assert!(
                (got - exact).abs() <= 1e-13 * exact.max(1.0),
                "{k}: {got} vs {exact}"
            );
        }
        assert_eq!(ln_factorial(0.0), 0.0);
    }

    #[test]
    fn btrs_log_ratio_matches_direct_sum() {
        // For moderate n the acceptance bound must equal ln(f(k) / f(m)) computed directly.
        let (n, p) = (1000.0f64, 0.3f64);
        let m = ((n + 1.0) * p).floor();
        let lr = (p / (1.0 - p)).ln();
        for k in [250.0, 290.0, 300.0, 310.0, 350.0] {
            let direct =
                ln_factorial(m) + ln_factorial(n - m) - ln_factorial(k) - ln_factorial(n - k)
                    + (k - m) * lr;
            let viaf = (m + 0.5) * ((m + 1.0) / (n - m + 1.0)).ln()
                - (k + 0.5) * ((k + 1.0) / (n - k + 1.0)).ln()
                + (n + 1.0) * ((k - m) / (n - k + 1.0)).ln_1p()
                + (k - m) * lr
                + stirling_tail(m)
                + stirling_tail(n - m)
                - stirling_tail(k)
                - stirling_tail(n - k);
            assert!((direct - viaf).abs() < 1e-9, "{k}: {direct} vs {viaf}");
        }
    }

    #[test]
    fn integers_cover_the_range_exactly() {
        let k = key(3, 9);
        let mut seen = [0u32; 7];
        for c in 0..70_000 {
            let v = integer(k, c, -3, 7);
            assert!((-3..4).contains(&v));
            seen[(v + 3) as usize] += 1;
        }
        assert!(
            seen.iter().all(|&s| (9_500..10_500).contains(&s)),
            "{seen:?}"
        );
        // The whole int64 range but one value: nothing is out of range.
        let full = (0..1000).map(|c| integer(k, c, i64::MIN, u64::MAX));
        assert!(full.clone().any(|v| v < 0) && full.clone().any(|v| v > 0));
    }
}
