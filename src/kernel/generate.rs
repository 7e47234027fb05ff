//! Filling a block from a generator whose element index is an affine function of the
//! block position: `counter(i) = base + Σ_d coef[d] * i[d]`.
//!
//! Slicing, transposing and broadcasting a generated array only change `base` and `coef`,
//! so a block of `(x + x.T)[::2, 5000:]` draws exactly the numbers it needs.

use ndarray::{ArrayD, IxDyn};

use crate::block::{Block, BlockElement};
use crate::dtype::DType;
use crate::expr::{FullValue, Generator};
use crate::kernel::distributions::{self, Binomial, Poisson};
use crate::kernel::random;

/// Where a block's elements sit in a generator's index space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AffineIndex {
    /// Shape of the block to fill.
    pub shape: Vec<usize>,
    /// Counter of the block's first element.
    pub base: i64,
    /// Counter increment per step along each block axis.
    pub coef: Vec<i64>,
}

/// Fills a block row by row (rows along the last axis): `row(out, first, step)` writes the
/// values of counters `first, first + step, …` into `out`.
fn fill_rows<T: Copy + Default>(ix: &AffineIndex, row: impl Fn(&mut [T], i64, i64)) -> ArrayD<T> {
    let n: usize = ix.shape.iter().product();
    let mut out = vec![T::default(); n];
    let nd = ix.shape.len();
    if nd == 0 {
        row(&mut out, ix.base, 0);
    } else if n > 0 {
        let inner = ix.shape[nd - 1];
        let step = ix.coef[nd - 1];
        let mut pos = vec![0usize; nd - 1];
        for (r, chunk) in out.chunks_mut(inner).enumerate() {
            if r > 0 {
                // odometer over the outer axes
                for d in (0..nd - 1).rev() {
                    pos[d] += 1;
                    if pos[d] < ix.shape[d] {
                        break;
                    }
                    pos[d] = 0;
                }
            }
            let base = pos.iter().zip(&ix.coef).fold(ix.base, |acc, (&p, &c)| {
                acc.wrapping_add(c.wrapping_mul(p as i64))
            });
            row(chunk, base, step);
        }
    }
    ArrayD::from_shape_vec(IxDyn(&ix.shape), out).expect("length matches shape")
}

/// Calls `f(counter)` for every element of the block in C order.
fn fill<T: Copy + Default>(ix: &AffineIndex, f: impl Fn(i64) -> T) -> ArrayD<T> {
    fill_rows(ix, |out: &mut [T], first, step| {
        for (i, o) in out.iter_mut().enumerate() {
            *o = f(first.wrapping_add(step.wrapping_mul(i as i64)));
        }
    })
}

/// Generates the block described by `ix` for a generator whose full array has `len`
/// elements along its axis 0 (used by `linspace`).
pub fn generate(generator: &Generator, dtype: DType, ix: &AffineIndex, len0: usize) -> Block {
    match *generator {
        Generator::Uniform { seed } => {
            let k = random::key(seed, random::stream::UNIFORM);
            let a = fill_rows(ix, |out: &mut [f64], first, step| {
                random::uniform_row(out, k, first as u64, step as u64);
            });
            cast_f64(a, dtype)
        }
        Generator::Normal { seed, mean, std } => {
            let k = random::key(seed, random::stream::NORMAL);
            cast_f64(
                fill(ix, |c| mean + std * random::normal(k, c as u64)),
                dtype,
            )
        }
        Generator::UniformRange { seed, low, high } => {
            let k = random::key(seed, random::stream::UNIFORM);
            let a = fill_rows(ix, |out: &mut [f64], first, step| {
                random::uniform_row(out, k, first as u64, step as u64);
                out.iter_mut().for_each(|u| *u = low + (high - low) * *u);
            });
            cast_f64(a, dtype)
        }
        Generator::Exponential { seed, scale } => {
            let k = random::key(seed, random::stream::EXPONENTIAL);
            let a = fill(ix, |c| {
                scale * distributions::standard_exponential(k, c as u64)
            });
            cast_f64(a, dtype)
        }
        Generator::Poisson { seed, lam } => {
            let (k, poisson) = (
                random::key(seed, random::stream::POISSON),
                Poisson::new(lam),
            );
            Block::I64(fill(ix, |c| poisson.sample(k, c as u64))).cast(dtype)
        }
        Generator::Binomial { seed, n, p } => {
            let (k, binomial) = (
                random::key(seed, random::stream::BINOMIAL),
                Binomial::new(n, p),
            );
            Block::I64(fill(ix, |c| binomial.sample(k, c as u64))).cast(dtype)
        }
        Generator::Integers { seed, low, high } => {
            let k = random::key(seed, random::stream::INTEGERS);
            let range = high.wrapping_sub(low) as u64;
            let a = fill(ix, |c| distributions::integer(k, c as u64, low, range));
            Block::I64(a).cast(dtype)
        }
        Generator::Full { value } => crate::dispatch_dtype!(dtype, T => {
            let v: T = match value {
                FullValue::Float(x) => <T as crate::Element>::from_f64(x),
                FullValue::Int(i) => <T as crate::Element>::from_i64(i),
                FullValue::UInt(u) => <T as crate::Element>::from_u64(u),
                FullValue::Complex(re, im) => {
                    <T as crate::Element>::from_complex(crate::Complex128::new(re, im))
                }
            };
            T::wrap(ArrayD::from_elem(IxDyn(&ix.shape), v))
        }),
        Generator::Arange { start, step } => cast_f64(fill(ix, |c| start + c as f64 * step), dtype),
        Generator::Linspace {
            start,
            stop,
            endpoint,
        } => {
            let div = if endpoint {
                len0.saturating_sub(1)
            } else {
                len0
            };
            let delta = if div > 0 {
                (stop - start) / div as f64
            } else {
                0.0
            };
            let last = len0 as i64 - 1;
            cast_f64(
                fill(ix, |c| {
                    if endpoint && c == last && len0 > 1 {
                        stop
                    } else {
                        start + c as f64 * delta
                    }
                }),
                dtype,
            )
        }
    }
}

fn cast_f64(a: ArrayD<f64>, dtype: DType) -> Block {
    if dtype == DType::F64 {
        Block::F64(a)
    } else {
        crate::dispatch_dtype!(dtype, T => T::wrap(a.mapv(<T as crate::Element>::from_f64)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affine_fill_walks_c_order() {
        let ix = AffineIndex {
            shape: vec![2, 3],
            base: 10,
            coef: vec![100, -1],
        };
        let a = fill(&ix, |c| c);
        assert_eq!(a.into_raw_vec_and_offset().0, vec![10, 9, 8, 110, 109, 108]);
    }
}
