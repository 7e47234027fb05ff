//! Creating arrays: generators (random, constants, ranges), in-memory data, Zarr stores.

use std::path::Path;
use std::sync::Arc;

use super::Array;
use crate::block::Block;
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};
use crate::expr::{self, FullValue, Generator};
use crate::grid::ChunkGrid;
use crate::kernel::distributions::POISSON_LAM_MAX;
use crate::store::{BlockRead, ReadOptions, ZarrSource};

impl Array {
    fn generated(
        generator: Generator,
        dtype: DType,
        shape: &[usize],
        chunks: &[usize],
    ) -> Result<Array> {
        let grid = expr::regular_grid(shape, chunks)?;
        Ok(Array::from_expr(expr::generator(generator, dtype, grid)))
    }

    /// Uniform random float64 values in [0, 1) (dask's `da.random.random`).
    ///
    /// The values depend only on `seed` and each element's position, never on `chunks`,
    /// the scheduler or the number of threads.
    ///
    /// # Errors
    /// `chunks` not matching `shape`'s rank, or a chunk size of 0.
    pub fn random(shape: &[usize], chunks: &[usize], seed: u64) -> Result<Array> {
        Array::generated(Generator::Uniform { seed }, DType::F64, shape, chunks)
    }

    /// Normal random float64 values with `mean` and standard deviation `std`, chunk-invariant
    /// like [`Array::random`].
    ///
    /// # Errors
    /// As [`Array::random`]; a negative or non-finite `std`.
    pub fn random_normal(
        shape: &[usize],
        chunks: &[usize],
        seed: u64,
        mean: f64,
        std: f64,
    ) -> Result<Array> {
        if !(std >= 0.0 && std.is_finite()) {
            return Err(Error::invalid(format!(
                "random_normal: std must be finite and >= 0, got {std}"
            )));
        }
        Array::generated(
            Generator::Normal { seed, mean, std },
            DType::F64,
            shape,
            chunks,
        )
    }

    /// Uniform random float64 values in [`low`, `high`) (NumPy's `Generator.uniform`):
    /// `low + (high - low) * u` with `u` the value of [`Array::random`] for the same seed,
    /// so `uniform(.., 0.0, 1.0)` equals `random`. Chunk-invariant like [`Array::random`].
    ///
    /// # Errors
    /// As [`Array::random`]; non-finite bounds or `high - low`.
    pub fn uniform(
        shape: &[usize],
        chunks: &[usize],
        seed: u64,
        low: f64,
        high: f64,
    ) -> Result<Array> {
        if !(high - low).is_finite() {
            return Err(Error::invalid(format!(
                "uniform: low and high must be finite, with a finite difference; got {low} and {high}"
            )));
        }
        let generator = Generator::UniformRange { seed, low, high };
        Array::generated(generator, DType::F64, shape, chunks)
    }

    /// Exponential random float64 values with mean `scale` (NumPy's
    /// `Generator.exponential`), chunk-invariant like [`Array::random`].
    ///
    /// # Errors
    /// As [`Array::random`]; a negative or non-finite `scale`.
    pub fn exponential(shape: &[usize], chunks: &[usize], seed: u64, scale: f64) -> Result<Array> {
        if !(scale >= 0.0 && scale.is_finite()) {
            return Err(Error::invalid(format!(
                "exponential: scale must be finite and >= 0, got {scale}"
            )));
        }
        Array::generated(
            Generator::Exponential { seed, scale },
            DType::F64,
            shape,
            chunks,
        )
    }

    /// Poisson random int64 values with mean `lam` (NumPy's `Generator.poisson`),
    /// chunk-invariant like [`Array::random`]: exact methods (inversion below a mean of 10,
    /// Hörmann's PTRS above) whose draws for an element depend only on the seed and its
    /// position.
    ///
    /// # Errors
    /// As [`Array::random`]; `lam` negative, NaN, or so large that results could overflow
    /// int64 (NumPy's limit, about 9.2e18).
    pub fn poisson(shape: &[usize], chunks: &[usize], seed: u64, lam: f64) -> Result<Array> {
        if !(0.0..=POISSON_LAM_MAX).contains(&lam) {
            return Err(Error::invalid(format!(
                "poisson: lam must be in [0, {POISSON_LAM_MAX:e}], got {lam}"
            )));
        }
        Array::generated(Generator::Poisson { seed, lam }, DType::I64, shape, chunks)
    }

    /// Binomial random int64 values: successes in `n` trials of probability `p` (NumPy's
    /// `Generator.binomial`), chunk-invariant like [`Array::random`]: exact methods
    /// (inversion for `n·min(p, 1-p)` below 10, Hörmann's BTRS above).
    ///
    /// # Errors
    /// As [`Array::random`]; `p` outside [0, 1] or NaN; `n` above `i64::MAX`.
    pub fn binomial(shape: &[usize], chunks: &[usize], seed: u64, n: u64, p: f64) -> Result<Array> {
        if !(0.0..=1.0).contains(&p) || i64::try_from(n).is_err() {
            return Err(Error::invalid(format!(
                "binomial: p must be in [0, 1] and n at most {}, got n={n}, p={p}",
                i64::MAX
            )));
        }
        Array::generated(
            Generator::Binomial { seed, n, p },
            DType::I64,
            shape,
            chunks,
        )
    }

    /// Random int64 values uniform on [`low`, `high`) (NumPy's `Generator.integers`, `high`
    /// excluded), exactly uniform, chunk-invariant like [`Array::random`].
    ///
    /// # Errors
    /// As [`Array::random`]; `high <= low`.
    pub fn integers(
        shape: &[usize],
        chunks: &[usize],
        seed: u64,
        low: i64,
        high: i64,
    ) -> Result<Array> {
        if high <= low {
            return Err(Error::invalid(format!(
                "integers: high must be above low, got low={low}, high={high}"
            )));
        }
        Array::generated(
            Generator::Integers { seed, low, high },
            DType::I64,
            shape,
            chunks,
        )
    }

    /// An array filled with `value` converted to `dtype`.
    ///
    /// # Errors
    /// As [`Array::random`].
    pub fn full(shape: &[usize], chunks: &[usize], value: Scalar, dtype: DType) -> Result<Array> {
        let value = FullValue::from(value);
        Array::generated(Generator::Full { value }, dtype, shape, chunks)
    }

    /// An array of zeros.
    ///
    /// # Errors
    /// As [`Array::random`].
    pub fn zeros(shape: &[usize], chunks: &[usize], dtype: DType) -> Result<Array> {
        Array::full(shape, chunks, Scalar::Int(0), dtype)
    }

    /// An array of ones.
    ///
    /// # Errors
    /// As [`Array::random`].
    pub fn ones(shape: &[usize], chunks: &[usize], dtype: DType) -> Result<Array> {
        Array::full(shape, chunks, Scalar::Int(1), dtype)
    }

    /// `start, start + step, …` below `stop` (above, for a negative step), like `np.arange`:
    /// int64 when all three are integers, float64 otherwise.
    ///
    /// # Errors
    /// A step of 0, non-finite bounds, or a chunk of 0.
    pub fn arange(start: Scalar, stop: Scalar, step: Scalar, chunk: usize) -> Result<Array> {
        let (a, b, s) = (start.as_f64(), stop.as_f64(), step.as_f64());
        if s == 0.0 || !a.is_finite() || !b.is_finite() || !s.is_finite() {
            return Err(Error::invalid(format!(
                "arange({start}, {stop}, {step}): step must be non-zero and bounds finite"
            )));
        }
        let n = ((b - a) / s).ceil().max(0.0) as usize;
        let ints = [start, stop, step]
            .iter()
            .all(|v| !matches!(v, Scalar::Float(_)));
        let dtype = if ints { DType::I64 } else { DType::F64 };
        Array::generated(
            Generator::Arange { start: a, step: s },
            dtype,
            &[n],
            &[chunk.max(1)],
        )
    }

    /// `num` evenly spaced float64 values from `start` to `stop` (inclusive when
    /// `endpoint`), like `np.linspace`.
    ///
    /// # Errors
    /// Non-finite bounds or a chunk of 0.
    pub fn linspace(
        start: f64,
        stop: f64,
        num: usize,
        endpoint: bool,
        chunk: usize,
    ) -> Result<Array> {
        if !start.is_finite() || !stop.is_finite() {
            return Err(Error::invalid(format!(
                "linspace({start}, {stop}): bounds must be finite"
            )));
        }
        Array::generated(
            Generator::Linspace {
                start,
                stop,
                endpoint,
            },
            DType::F64,
            &[num],
            &[chunk.max(1)],
        )
    }

    /// Wraps an in-memory array, cut into `chunks`.
    ///
    /// # Errors
    /// `chunks` not matching the rank, or a chunk of 0.
    pub fn from_ndarray(data: impl Into<Block>, chunks: &[usize]) -> Result<Array> {
        let data = data.into();
        let grid = expr::regular_grid(data.shape(), chunks)?;
        Ok(Array::from_expr(expr::memory(data, grid)))
    }

    /// Opens a Zarr array (v3 or v2) for lazy reading; its dtype and chunks are the store's.
    ///
    /// # Errors
    /// A missing path, a group instead of an array, malformed metadata, an unsupported
    /// dtype; [`Error::IncompleteArray`] for an array whose brickwork write did not finish,
    /// [`Error::RegionWriteUnfinished`] while a region write into it runs or after one was
    /// interrupted (see [`Array::from_zarr_with`]).
    pub fn from_zarr(path: impl AsRef<Path>) -> Result<Array> {
        Self::from_zarr_with(path, &ReadOptions::default())
    }

    /// [`Array::from_zarr`] with options, e.g. to read an incomplete array
    /// ([`ReadOptions::allow_incomplete`]).
    ///
    /// # Errors
    /// As [`Array::from_zarr`].
    pub fn from_zarr_with(path: impl AsRef<Path>, options: &ReadOptions) -> Result<Array> {
        let source = ZarrSource::open_with(path.as_ref(), options)?;
        Ok(Array::from_source(Arc::new(source)))
    }

    /// An array read lazily, chunk by chunk, from any [`BlockRead`] source (a Zarr array, a
    /// memory-mapped `.npy` or raw file, …).
    pub fn from_source(source: Arc<dyn BlockRead>) -> Array {
        Array::from_expr(expr::source(source))
    }

    /// The same values cut into new chunks (regular, ragged at the end).
    ///
    /// # Errors
    /// `chunks` not matching the rank, or a chunk of 0.
    pub fn rechunk(&self, chunks: &[usize]) -> Result<Array> {
        let e = self.expr()?;
        let grid = expr::regular_grid(&e.shape(), chunks)?;
        Ok(Array::from_expr(expr::rechunk_node(e, grid)?))
    }

    /// The same values cut into an explicit grid (dask-style per-axis chunk sizes).
    ///
    /// # Errors
    /// A grid whose shape differs from the array's.
    pub fn rechunk_grid(&self, grid: ChunkGrid) -> Result<Array> {
        Ok(Array::from_expr(expr::rechunk_node(self.expr()?, grid)?))
    }
}
