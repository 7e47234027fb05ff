//! Counter-based random numbers: the value of element `i` is a pure function of
//! `(seed, i)`, so an array is the same whatever its chunking, the scheduler or the thread
//! count, and any subset (a slice, a transposed block) can be drawn without drawing the rest.
//!
//! The generator is SplitMix64 (Steele, Lea & Flood, OOPSLA 2014) used in counter mode:
//! SplitMix64's state after `i + 1` steps is `key + (i + 1) * GAMMA`, and its output is a
//! bijective 64-bit mix of that state, so the `i`-th output is computable directly. The
//! sequence passes BigCrush. The key is a mix of the seed and a stream number, so uniform and
//! normal draws with the same seed are independent. We chose it over Philox4x32-10 for speed:
//! two multiplies per value instead of twenty, which matters because the tutorial workload
//! spends most of its time drawing numbers.

const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// The SplitMix64 output function (a bijective avalanche mix).
#[inline(always)]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Stream numbers for [`key`].
pub mod stream {
    /// Uniform [0, 1) draws.
    pub const UNIFORM: u64 = 0;
    /// Pairs of uniforms feeding Box–Muller normals.
    pub const NORMAL: u64 = 1;
    /// Exponential variates.
    pub const EXPONENTIAL: u64 = 2;
    /// Poisson variates.
    pub const POISSON: u64 = 3;
    /// Binomial variates.
    pub const BINOMIAL: u64 = 4;
    /// Uniform integers.
    pub const INTEGERS: u64 = 5;
}

/// The generator key for a seed and stream.
#[inline]
pub fn key(seed: u64, stream: u64) -> u64 {
    mix64(seed ^ mix64(stream.wrapping_add(GAMMA)))
}

/// The raw 64-bit output number `counter` of the stream with `key`.
#[inline(always)]
pub fn bits(key: u64, counter: u64) -> u64 {
    mix64(key.wrapping_add(counter.wrapping_add(1).wrapping_mul(GAMMA)))
}

/// A float64 uniform on [0, 1) with 53 random bits.
#[inline(always)]
pub fn uniform(key: u64, counter: u64) -> f64 {
    (bits(key, counter) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal by Box–Muller from the uniforms `2i` and `2i + 1` of `key`'s stream.
#[inline]
pub fn normal(key: u64, counter: u64) -> f64 {
    let u1 = uniform(key, counter.wrapping_mul(2));
    let u2 = uniform(key, counter.wrapping_mul(2).wrapping_add(1));
    (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// `u as f64` for `u < 2^53`, computed with exact bit tricks that vectorize without
/// AVX-512: `2^52 + x` for `x < 2^52` has `x` as its mantissa bits.
#[inline(always)]
fn u53_to_f64(u: u64) -> f64 {
    const MAGIC: u64 = 0x4330_0000_0000_0000; // 2^52
    let two52 = f64::from_bits(MAGIC);
    let hi = f64::from_bits((u >> 1) | MAGIC) - two52;
    let lo = f64::from_bits((u & 1) | MAGIC) - two52;
    hi * 2.0 + lo
}

#[inline(always)]
fn uniform_row_body(out: &mut [f64], key: u64, first: u64, step: u64) {
    // state_i = key + (first + i*step + 1) * GAMMA = s0 + i*d
    let d = step.wrapping_mul(GAMMA);
    let mut state = key.wrapping_add(first.wrapping_add(1).wrapping_mul(GAMMA));
    for o in out.iter_mut() {
        *o = u53_to_f64(mix64(state) >> 11) * (1.0 / (1u64 << 53) as f64);
        state = state.wrapping_add(d);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl")]
fn uniform_row_avx512(out: &mut [f64], key: u64, first: u64, step: u64) {
    uniform_row_body(out, key, first, step);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn uniform_row_avx2(out: &mut [f64], key: u64, first: u64, step: u64) {
    uniform_row_body(out, key, first, step);
}

/// Fills `out[i]` with `uniform(key, first + i * step)` (counters wrap). The loop is compiled
/// for AVX-512 and AVX2 as well and picked at run time; every version computes the same
/// bits.
pub fn uniform_row(out: &mut [f64], key: u64, first: u64, step: u64) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            // SAFETY: the CPU supports the features the function was compiled for.
            return unsafe { uniform_row_avx512(out, key, first, step) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            return unsafe { uniform_row_avx2(out, key, first, step) };
        }
    }
    uniform_row_body(out, key, first, step);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_sequential_splitmix64() {
        // Reference SplitMix64 (Vigna's splitmix64.c), stepped sequentially.
        let seed = 1234567u64;
        let mut state = seed;
        for i in 0..100 {
            state = state.wrapping_add(GAMMA);
            assert_eq!(bits(seed, i), mix64(state));
        }
        // Known first output of splitmix64.c for seed 1234567.
        assert_eq!(bits(1234567, 0), 6457827717110365317);
    }

    #[test]
    fn row_kernel_matches_scalar() {
        let k = key(99, stream::UNIFORM);
        for (first, step) in [
            (0u64, 1u64),
            (12345, 10_000),
            (u64::MAX - 3, 1),
            (7, u64::MAX),
        ] {
            let mut row = vec![0.0; 37];
            uniform_row(&mut row, k, first, step);
            for (i, &v) in row.iter().enumerate() {
                let c = first.wrapping_add((i as u64).wrapping_mul(step));
                assert_eq!(v.to_bits(), uniform(k, c).to_bits());
            }
        }
        for u in [0u64, 1, 2, (1 << 53) - 1, 123_456_789_012_345] {
            assert_eq!(u53_to_f64(u), u as f64);
        }
    }

    #[test]
    fn uniform_moments() {
        let k = key(42, stream::UNIFORM);
        let n = 200_000;
        let (mut s, mut s2) = (0.0, 0.0);
        for i in 0..n {
            let u = uniform(k, i);
            assert!((0.0..1.0).contains(&u));
            s += u;
            s2 += u * u;
        }
        let mean = s / n as f64;
        let var = s2 / n as f64 - mean * mean;
        assert!((mean - 0.5).abs() < 0.005, "{mean}");
        assert!((var - 1.0 / 12.0).abs() < 0.002, "{var}");
    }

    #[test]
    fn normal_moments() {
        let k = key(7, stream::NORMAL);
        let n = 200_000;
        let (mut s, mut s2) = (0.0, 0.0);
        for i in 0..n {
            let z = normal(k, i);
            s += z;
            s2 += z * z;
        }
        let mean = s / n as f64;
        let var = s2 / n as f64 - mean * mean;
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var - 1.0).abs() < 0.02, "{var}");
    }
}
