//! Tall-and-skinny QR (TSQR), and the SVD and least squares built on it: [`Array::qr`],
//! [`Array::svd`], [`Array::svdvals`], [`Array::lstsq`]. Everything is lazy and made of
//! `map_blocks` stages, so culling, spilling, the memory limit and both schedulers apply.
//!
//! For an m × n array with one column block and row blocks `A_i` (m_i rows):
//!
//! 1. **R pass.** Each block is factored, `A_i = Q_i R_i`, and only `R_i` (k_i × n, k_i =
//!    min(m_i, n)) is kept: the stacked `R_i` form an array of Σ k_i rows.
//! 2. **Tree.** When that stack is small enough to be one block (about as many elements as
//!    the largest block of the input, and at least 2n rows), one QR of it gives
//!    `[R_1; …; R_k] = Q₂ R`; otherwise consecutive `R_i` are grouped into blocks of that
//!    size and step 1 repeats on the stack (dask's recursive TSQR), each level at least
//!    halving the number of blocks. `R` is made to have a non-negative diagonal (the QR
//!    is then unique for a full-rank array, so results do not depend on the chunking;
//!    LAPACK, and so NumPy, may give rows of `R` and columns of `Q` the opposite sign).
//! 3. **Q pass** (only when `Q` or `U` is computed). `Q₂` is cut into the blocks `Q₂_i`
//!    (k_i × k) matching the `R_i`, padded with zero rows to m_i rows (a small stage, so
//!    that it lines up with `A_i`), and each block computes `Q_i Q₂_i` by refactoring
//!    `A_i` and applying its Householder reflectors to the padded `Q₂_i`: `Q_i` is never
//!    formed. Through a tree, the levels are applied from the top down.
//!
//! The Q pass refactors `A_i` rather than keeping `Q_i` from the R pass: all `Q_i` together
//! are as large as `A`, and every one is needed only after the last `R_i` (the tree joins
//! them all), so keeping them means holding or spilling a copy of `A` (a write and a read
//! of m × n); recomputing costs a second read of `A` and a second local QR (2 m n² flops,
//! which for the thin arrays this is for runs faster than the disk). When `A`'s chunks fit
//! in memory the planner holds them between the passes instead of reading them twice, as
//! for any source read by two stages. `R` alone, and so [`Array::svdvals`] and
//! [`Array::lstsq`] (which factors `[A | b]` and needs only `R`), read `A` once.

use ndarray::{Array2, ArrayView2, Ix2, s};

use super::dense::{self, DenseOp, dense, one, three, two};
use super::map::map_blocks_internal;
use super::{Array, MapBlocks};
use crate::block::{Block, BlockRef};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::expr::BlockInfo;
use crate::grid::{AxisChunks, ChunkGrid, fmt_shape};
use crate::kernel::qr::{
    HouseholderQr, LinalgElement, factor_elems, lstsq_from_r, q_times_elems, svd, svd_elems,
};
use crate::units::format_bytes;

/// The largest `R` factor (k × n) a tall-skinny factorization accepts: `R` is one block,
/// and the tree holds two of them stacked in one task.
const MAX_R_BYTES: u64 = 1 << 30;

/// Merged column blocks keep the row chunks unless that makes blocks this many times
/// larger than the input's largest block.
const MERGE_GROWTH: usize = 4;

/// NumPy's `lstsq(a, b)` as lazy arrays: see [`Array::lstsq`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Lstsq {
    /// The least-squares solution: n, or n × p for a 2-d `b`.
    pub x: Array,
    /// The sums of squared residuals `‖b − a x‖²` of each column of `b`: shape (1,) for a
    /// 1-d `b`, (p,) for a 2-d one. Always given (see [`Array::lstsq`]).
    pub residuals: Array,
    /// The effective rank of `a` (0-d int64).
    pub rank: Array,
    /// The singular values of `a`, largest first (min(m, n)).
    pub s: Array,
}

impl Array {
    /// The reduced QR factorization of a 2-d array, as NumPy's `np.linalg.qr(a)` (mode
    /// `"reduced"`): `Q` (m × k, orthonormal columns) and `R` (k × n, upper triangular)
    /// with `Q R = A`, k = min(m, n). Computed as a tall-and-skinny QR (TSQR, see the
    /// module doc): a QR per row block, a tree of QRs of the stacked `R` factors, then `Q`
    /// block by block. Both are lazy: computing only `R` reads the array once and never
    /// runs the `Q` pass; `Q` reads it a second time (unless its chunks can be held in
    /// memory between the passes).
    ///
    /// `R` has a non-negative diagonal, so for a full-rank array `Q` and `R` are unique and
    /// the same (up to rounding) for every chunking. NumPy (LAPACK) may give some rows of
    /// `R`, and the matching columns of `Q`, the opposite sign.
    ///
    /// float32 stays float32; other dtypes are computed in float64, as NumPy does. The
    /// array should be tall and skinny: `R` is one block (at most 1 GiB). Columns in
    /// several blocks are merged into one (dask requires one column block; the row chunks
    /// are kept unless the merged blocks would be more than 4 times the largest block,
    /// then rows are cut to about the largest block's size). A wide array (fewer rows
    /// than columns) is factored as one block, as its `R` is the whole array anyway.
    ///
    /// ```
    /// use brickwork::Array;
    /// let a = Array::random(&[1000, 4], &[300, 4], 0)?;
    /// let (q, r) = a.qr()?;
    /// assert_eq!((q.shape(), r.shape()), (vec![1000, 4], vec![4, 4]));
    /// let qr = q.matmul(&r)?.compute_as::<f64>()?;
    /// let a = a.compute_as::<f64>()?;
    /// assert!(qr.iter().zip(&a).all(|(x, y)| (x - y).abs() < 1e-12));
    /// # Ok::<(), brickwork::Error>(())
    /// ```
    ///
    /// # Errors
    /// An array that is not 2-d, or has no rows or columns; an `R` over 1 GiB (too many
    /// columns for a tall-skinny factorization).
    pub fn qr(&self) -> Result<(Array, Array)> {
        if dense::wanted(&[self]) {
            return two(dense(DenseOp::Qr { complete: false }, self, None)?);
        }
        let x = prepare(self, "qr")?;
        dispatch(&x, |t| match t {
            Kind::F64 => Tsqr::<f64>::build(&x)?.qr(),
            Kind::F32 => Tsqr::<f32>::build(&x)?.qr(),
        })
    }

    /// The reduced singular value decomposition of a 2-d array, as NumPy's
    /// `np.linalg.svd(a, full_matrices=False)` (and dask's `svd`): `U` (m × k), the
    /// singular values `S` (k, largest first) and `Vh` (k × n) with `U diag(S) Vh = A`,
    /// k = min(m, n). Computed from the TSQR of [`Array::qr`]: `R = U_r S Vh` in one
    /// small SVD, then `U = Q U_r` in the `Q` pass (which `S` and `Vh` do not need). The
    /// signs of matching columns of `U` and rows of `Vh` may differ from NumPy's.
    ///
    /// # Errors
    /// As [`Array::qr`]; a computation fails when the SVD does not converge (NaN or
    /// infinite values).
    pub fn svd(&self) -> Result<(Array, Array, Array)> {
        if dense::wanted(&[self]) {
            return three(dense(DenseOp::Svd { full: false }, self, None)?);
        }
        let x = prepare(self, "svd")?;
        dispatch(&x, |t| match t {
            Kind::F64 => Tsqr::<f64>::build(&x)?.svd(),
            Kind::F32 => Tsqr::<f32>::build(&x)?.svd(),
        })
    }

    /// The singular values of a 2-d array, largest first (NumPy 2's
    /// `np.linalg.svdvals`): those of the TSQR's `R`, so the array is read once.
    ///
    /// # Errors
    /// As [`Array::svd`].
    pub fn svdvals(&self) -> Result<Array> {
        if dense::wanted(&[self]) {
            return one(dense(DenseOp::Svdvals, self, None)?);
        }
        Ok(self.svd()?.1)
    }

    /// The complete QR factorization, as NumPy's `np.linalg.qr(a, mode="complete")`: `Q`
    /// (m × m, orthonormal) and `R` (m × n, upper triangular), of a matrix or of each
    /// matrix of a stack. Unlike [`Array::qr`], `Q` is as large as m², so each matrix is
    /// factored whole in memory (faer's Householder QR, a group of matrices per task).
    ///
    /// # Errors
    /// Fewer than two dimensions. A matrix too large for one task is refused by the
    /// planner under the memory limit.
    pub fn qr_complete(&self) -> Result<(Array, Array)> {
        two(dense(DenseOp::Qr { complete: true }, self, None)?)
    }

    /// The full singular value decomposition, as NumPy's `np.linalg.svd(a,
    /// full_matrices=True)`: `U` (m × m), the singular values (min(m, n), largest first)
    /// and `Vh` (n × n), of a matrix or of each matrix of a stack, each factored whole in
    /// memory as [`Array::qr_complete`].
    ///
    /// # Errors
    /// As [`Array::qr_complete`]; when computed, an SVD that does not converge.
    pub fn svd_full(&self) -> Result<(Array, Array, Array)> {
        three(dense(DenseOp::Svd { full: true }, self, None)?)
    }

    /// NumPy's `np.linalg.lstsq(a, b, rcond)` for a tall-skinny `a` (m × n) and `b` of m
    /// (or m × p): the `x` minimizing `‖b − a x‖`, the least-norm one when `a` is rank
    /// deficient. `[a | b]` is factored by TSQR (one read of both, no `Q` pass): its `R`
    /// holds `R` of `a`, `Qᵀb` and the part of `b` outside the range of `a`; then `x`
    /// comes from the SVD of `a`'s `R`, singular values at most `rcond · s_max` counting
    /// as zero (LAPACK `gelsd`'s rule, NumPy's default `rcond` = machine epsilon × max(m,
    /// n)).
    ///
    /// Unlike NumPy, `residuals` is always given: where NumPy returns an empty array (a
    /// rank below n, or m ≤ n) it holds the actual sums of squared residuals of `x`. The
    /// result is float32 when `a` and `b` are both float32, float64 otherwise.
    ///
    /// ```
    /// use brickwork::Array;
    /// // y = 1 + 2 t, fitted from 100 points in blocks of 30.
    /// let t = Array::arange(0.0.into(), 100.0.into(), 1.0.into(), 30)?;
    /// let a = Array::stack(&[&(&t * 0.0 + 1.0), &t], 1)?;
    /// let y = &t * 2.0 + 1.0;
    /// let fit = a.lstsq(&y, None)?;
    /// let x = fit.x.compute_as::<f64>()?;
    /// assert!((x[[0]] - 1.0).abs() < 1e-12 && (x[[1]] - 2.0).abs() < 1e-12);
    /// assert_eq!(fit.rank.compute_as::<i64>()?[[]], 2);
    /// # Ok::<(), brickwork::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Array::qr`] for `a`; a `b` that is not 1-d or 2-d, or whose length differs
    /// from `a`'s rows; a negative or NaN `rcond`.
    pub fn lstsq(&self, b: &Array, rcond: Option<f64>) -> Result<Lstsq> {
        let (sa, sb) = (self.shape(), b.shape());
        self.check()?;
        b.check()?;
        self.real_only("lstsq")?;
        b.real_only("lstsq")?;
        if sa.len() != 2 {
            return Err(not_2d("lstsq", &sa));
        }
        if !(1..=2).contains(&sb.len()) || sb[0] != sa[0] {
            return Err(Error::ShapeMismatch {
                op: "lstsq".into(),
                lhs: sa.clone(),
                rhs: sb.clone(),
                hint: format!(
                    "b must have the {} rows of a, as a vector or a matrix",
                    sa[0]
                ),
            });
        }
        if let Some(r) = rcond
            && (r.is_nan() || r < 0.0)
        {
            return Err(Error::invalid(format!(
                "lstsq: rcond must be a non-negative number, got {r}"
            )));
        }
        let (m, n) = (sa[0], sa[1]);
        let dtype = if self.dtype() == DType::F32 && b.dtype() == DType::F32 {
            DType::F32
        } else {
            DType::F64
        };
        let b2 = if sb.len() == 1 {
            b.expand_dims(1)?
        } else {
            b.clone()
        };
        let p = b2.shape()[1];
        // b follows a's row chunks, so merging the columns keeps them.
        let b2 = b2.rechunk_grid(ChunkGrid::from_axes(vec![
            self.chunks()?.axes()[0].clone(),
            AxisChunks::regular(p, p.max(1)),
        ]))?;
        let ab = Array::concatenate(&[&self.astype(dtype)?, &b2.astype(dtype)?], 1)?;
        let x = prepare(&ab, "lstsq")?;
        let eps = match dtype {
            DType::F32 => <f32 as LinalgElement>::EPS,
            _ => <f64 as LinalgElement>::EPS,
        };
        let rcond = rcond.unwrap_or(eps * m.max(n) as f64);
        let vector = sb.len() == 1;
        dispatch(&x, |t| match t {
            Kind::F64 => Tsqr::<f64>::build(&x)?.lstsq(m, n, rcond, vector),
            Kind::F32 => Tsqr::<f32>::build(&x)?.lstsq(m, n, rcond, vector),
        })
    }
}

/// The two element types the kernels run in.
enum Kind {
    F64,
    F32,
}

fn dispatch<R>(x: &Array, f: impl FnOnce(Kind) -> Result<R>) -> Result<R> {
    f(match x.dtype() {
        DType::F32 => Kind::F32,
        _ => Kind::F64,
    })
}

fn not_2d(op: &str, shape: &[usize]) -> Error {
    Error::invalid(format!(
        "{op}: needs a 2-d array (a matrix), got shape {}",
        fmt_shape(shape)
    ))
}

/// Checks the array and brings it to the form TSQR works on: 2-d, float32 or float64, one
/// column block (a wide array: one block).
fn prepare(x: &Array, op: &str) -> Result<Array> {
    x.check()?;
    x.real_only(op)?;
    let shape = x.shape();
    if shape.len() != 2 {
        return Err(not_2d(op, &shape));
    }
    let (m, n) = (shape[0], shape[1]);
    let grid = x.chunks()?.clone();
    let chunks = fmt_shape(&grid.max_chunk_shape());
    if m == 0 || n == 0 {
        return Err(Error::invalid(format!(
            "{op}: the array of shape {} has no rows or no columns",
            fmt_shape(&shape)
        )));
    }
    let dtype = if x.dtype() == DType::F32 {
        DType::F32
    } else {
        DType::F64
    };
    let k = m.min(n);
    let r_bytes = (k as u128 * n as u128 * dtype.size() as u128).min(u64::MAX as u128) as u64;
    if r_bytes > MAX_R_BYTES {
        return Err(Error::invalid(format!(
            "{op}: an array of shape {} (chunks {chunks}) has too many columns for a \
             tall-and-skinny factorization: its R factor ({k} × {n}, {}) must be one block \
             of at most {}",
            fmt_shape(&shape),
            format_bytes(r_bytes),
            format_bytes(MAX_R_BYTES)
        )));
    }
    let x = if x.dtype() == dtype {
        x.clone()
    } else {
        x.astype(dtype)?
    };
    let rows = &grid.axes()[0];
    let cols = &grid.axes()[1];
    let wide = m < n;
    if cols.nchunks() == 1 && !(wide && rows.nchunks() > 1) {
        return Ok(x);
    }
    let largest: usize = grid.max_chunk_shape().iter().product();
    let rows = if wide {
        AxisChunks::regular(m, m)
    } else if rows.max_size().saturating_mul(n) <= MERGE_GROWTH.saturating_mul(largest) {
        rows.clone()
    } else {
        AxisChunks::regular(m, (largest / n).max(2 * n).min(m))
    };
    x.rechunk_grid(ChunkGrid::from_axes(vec![rows, AxisChunks::regular(n, n)]))
}

/// One level of the tree: its input and the rows of its blocks' `R` factors.
struct Level {
    /// The level's input (the array, or the stacked `R` of the level below, regrouped).
    input: Array,
    /// Rows of each block's `R`: min(block rows, n).
    r_rows: Vec<usize>,
}

/// The lazy TSQR of an m × n array with one column block, in element type `T`.
struct Tsqr<T> {
    /// The levels below the top, bottom first.
    levels: Vec<Level>,
    /// `Q` of the top (its input's rows × k) and `R` (k × n).
    top_q: Array,
    r: Array,
    _t: std::marker::PhantomData<T>,
}

/// Rows of one block of a 2-d array.
fn block_rows(grid: &ChunkGrid) -> Vec<usize> {
    grid.axes()[0].sizes()
}

/// A block as a typed matrix.
fn matrix<'a, T: LinalgElement>(block: &BlockRef<'a>, what: &str) -> Result<ArrayView2<'a, T>> {
    block
        .view::<T>()
        .ok_or_else(|| Error::internal(format!("{what}: a block of another dtype")))?
        .into_dimensionality::<Ix2>()
        .map_err(|e| Error::internal_from(what, e))
}

fn block_of<T: LinalgElement>(a: Array2<T>) -> Block {
    T::wrap(a.into_dyn())
}

/// Temporaries to declare (result-sized buffers) for blocks of `(scratch, result)`
/// elements: enough for the block with the most scratch per result.
fn temporaries(blocks: impl IntoIterator<Item = (usize, usize)>) -> usize {
    blocks
        .into_iter()
        .map(|(scratch, result)| scratch.div_ceil(result.max(1)))
        .max()
        .unwrap_or(0)
}

/// Consecutive sizes summed into groups of at most `cap` (each at least one size).
fn groups(sizes: &[usize], cap: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut current = 0;
    for &s in sizes {
        if current > 0 && current + s > cap {
            out.push(current);
            current = 0;
        }
        current += s;
    }
    if current > 0 {
        out.push(current);
    }
    out
}

impl<T: LinalgElement> Tsqr<T> {
    fn build(x: &Array) -> Result<Self> {
        let grid = x.chunks()?.clone();
        let (m, n) = (grid.shape()[0], grid.shape()[1]);
        let k = m.min(n);
        let dtype = T::DTYPE;
        // Rows of a block of the stacked R: about the input's largest block, at least 2n
        // (two R factors), so each level at least halves the blocks.
        let largest: usize = grid.max_chunk_shape().iter().product();
        let cap = (largest / n).max(2 * n);
        let mut levels = Vec::new();
        let mut cur = x.clone();
        loop {
            let rows = block_rows(cur.chunks()?);
            if rows.len() == 1 {
                break;
            }
            let r_rows: Vec<usize> = rows.iter().map(|&c| c.min(n)).collect();
            // Scratch: the factorization's (the block's copy, m_i × n, and the factors).
            let scratch = temporaries(
                rows.iter()
                    .zip(&r_rows)
                    .map(|(&c, &r)| (factor_elems(c, n), r * n)),
            );
            let stacked = map_blocks_internal(
                &[&cur],
                &MapBlocks::new("tsqr_r")
                    .dtype(dtype)
                    .chunks(vec![r_rows.clone(), vec![n]])
                    .temporaries(scratch),
                |blocks, _info| {
                    let a = matrix::<T>(&blocks[0], "tsqr_r")?;
                    Ok(block_of(HouseholderQr::new(a).r()))
                },
            )?;
            let total: usize = r_rows.iter().sum();
            let grouped = stacked.rechunk_grid(ChunkGrid::from_axes(vec![
                AxisChunks::from_sizes(&groups(&r_rows, cap)),
                AxisChunks::regular(n, n),
            ]))?;
            debug_assert_eq!(grouped.shape(), vec![total, n]);
            levels.push(Level { input: cur, r_rows });
            cur = grouped;
        }
        // The top: one block of `rows` × n; Q (rows × k) above R (k × n) in one result.
        let rows = cur.shape()[0];
        // Scratch: the factorization, Q, R and the identity it multiplies.
        let scratch = factor_elems(rows, n)
            .saturating_add(q_times_elems(rows, n, k))
            .saturating_add(rows.saturating_mul(k))
            .saturating_add(k * n + k * k);
        let top = map_blocks_internal(
            &[&cur],
            &MapBlocks::new("tsqr_top")
                .dtype(dtype)
                .chunks(vec![vec![rows + k], vec![n]])
                .temporaries(temporaries([(scratch, (rows + k).saturating_mul(n))])),
            move |blocks, _info| {
                let a = matrix::<T>(&blocks[0], "tsqr_top")?;
                let f = HouseholderQr::new(a);
                let mut r = f.r();
                let mut q = f.q_times(Array2::<T>::eye(k).view())?;
                // A non-negative diagonal: flip rows of R and the columns of Q with them.
                for i in 0..k {
                    if r[[i, i]].to_f64() < 0.0 {
                        r.row_mut(i).mapv_inplace(|v| T::from_f64(-v.to_f64()));
                        q.column_mut(i).mapv_inplace(|v| T::from_f64(-v.to_f64()));
                    }
                }
                let mut out = Array2::<T>::from_elem((rows + k, n), T::default());
                out.slice_mut(s![..rows, ..k]).assign(&q);
                out.slice_mut(s![rows.., ..]).assign(&r);
                Ok(block_of(out))
            },
        )?;
        Ok(Tsqr {
            levels,
            top_q: top.slice(s![..rows, ..k])?,
            r: top.slice(s![rows.., ..])?,
            _t: std::marker::PhantomData,
        })
    }

    /// `Q w` for `w` of the top's rows × c (`Q₂`, or `Q₂ U_r`): the levels applied from
    /// the top down; m × c in the input's row chunks.
    fn q_times(&self, w: Array) -> Result<Array> {
        let mut q = w;
        for level in self.levels.iter().rev() {
            let c = q.shape()[1];
            let rows = block_rows(level.input.chunks()?);
            let n = level.input.shape()[1];
            // Q₂'s rows of each block (k_i), padded with zeros to the block's rows.
            let q2 = q.rechunk_grid(ChunkGrid::from_axes(vec![
                AxisChunks::from_sizes(&level.r_rows),
                AxisChunks::regular(c, c),
            ]))?;
            let padded = map_blocks_internal(
                &[&q2],
                &MapBlocks::new("tsqr_pad")
                    .dtype(T::DTYPE)
                    .chunks(vec![rows.clone(), vec![c]])
                    .temporaries(0),
                |blocks, info: &BlockInfo| {
                    let w = matrix::<T>(&blocks[0], "tsqr_pad")?;
                    let rows = info.location[0].len();
                    let mut out = Array2::<T>::from_elem((rows, w.ncols()), T::default());
                    out.slice_mut(s![..w.nrows(), ..]).assign(&w);
                    Ok(block_of(out))
                },
            )?;
            // Scratch: the factorization and Q times the block of Q₂.
            let scratch = temporaries(rows.iter().map(|&r| {
                let scratch = factor_elems(r, n).saturating_add(q_times_elems(r, n, c));
                (scratch, r.saturating_mul(c))
            }));
            q = map_blocks_internal(
                &[&level.input, &padded],
                &MapBlocks::new("tsqr_q")
                    .dtype(T::DTYPE)
                    .chunks(vec![rows, vec![c]])
                    .temporaries(scratch),
                |blocks, _info| {
                    let a = matrix::<T>(&blocks[0], "tsqr_q")?;
                    let w = matrix::<T>(&blocks[1], "tsqr_q")?;
                    let f = HouseholderQr::new(a);
                    let k = f.k();
                    Ok(block_of(f.q_times(w.slice(s![..k, ..]))?))
                },
            )?;
        }
        Ok(q)
    }

    fn qr(self) -> Result<(Array, Array)> {
        let q = self.q_times(self.top_q.clone())?;
        Ok((q, self.r))
    }

    fn svd(self) -> Result<(Array, Array, Array)> {
        let shape = self.r.shape();
        let (k, n) = (shape[0], shape[1]);
        // U_r (k × k) above S (one row) above Vh (k × n), in one result.
        let parts = map_blocks_internal(
            &[&self.r],
            &MapBlocks::new("tsqr_svd")
                .dtype(T::DTYPE)
                .chunks(vec![vec![2 * k + 1], vec![n]])
                .temporaries(temporaries([(svd_elems::<T>(k, n), (2 * k + 1) * n)])),
            move |blocks, _info| {
                let r = matrix::<T>(&blocks[0], "tsqr_svd")?;
                let (u, s, vt) = svd(r)?;
                let mut out = Array2::<T>::from_elem((2 * k + 1, n), T::default());
                out.slice_mut(s![..k, ..k]).assign(&u);
                for (i, v) in s.into_iter().enumerate() {
                    out[[k, i]] = v;
                }
                out.slice_mut(s![k + 1.., ..]).assign(&vt);
                Ok(block_of(out))
            },
        )?;
        let u_r = parts.slice(s![..k, ..k])?;
        let values = parts.slice(s![k, ..k])?;
        let vh = parts.slice(s![k + 1.., ..])?;
        let u = self.q_times(self.top_q.matmul(&u_r)?)?;
        Ok((u, values, vh))
    }

    /// The least-squares results from the `R` of `[A | B]` (n columns of A).
    fn lstsq(self, m: usize, n: usize, rcond: f64, vector: bool) -> Result<Lstsq> {
        let big_n = self.r.shape()[1];
        let p = big_n - n;
        let k = m.min(n);
        let w = p.max(k).max(1);
        // Scratch: the SVD of R₁₁ (k × n), and float64 copies of R and of the SVD with x
        // (no overflow: R, rows × big_n, was checked to be at most 1 GiB).
        let rows = self.r.shape()[0];
        let wide = std::mem::size_of::<f64>().div_ceil(std::mem::size_of::<T>());
        let scratch = svd_elems::<T>(k, n)
            + wide * (rows * big_n + k * k + k * n + 3 * k * p + 2 * n * p + big_n + k);
        // x (n rows) above the residuals, the rank and the singular values (a row each).
        let parts = map_blocks_internal(
            &[&self.r],
            &MapBlocks::new("tsqr_lstsq")
                .dtype(T::DTYPE)
                .chunks(vec![vec![n + 3], vec![w]])
                .temporaries(temporaries([(scratch, (n + 3) * w)])),
            move |blocks, _info| {
                let r = matrix::<T>(&blocks[0], "tsqr_lstsq")?;
                let solved = lstsq_from_r(r, m, n, rcond)?;
                let mut out = Array2::<T>::from_elem((n + 3, w), T::default());
                out.slice_mut(s![..n, ..p])
                    .assign(&solved.x.mapv(T::from_f64));
                for (j, v) in solved.residuals.iter().enumerate() {
                    out[[n, j]] = T::from_f64(*v);
                }
                out[[n + 1, 0]] = T::from_f64(solved.rank as f64);
                for (j, v) in solved.s.iter().enumerate() {
                    out[[n + 2, j]] = T::from_f64(*v);
                }
                Ok(block_of(out))
            },
        )?;
        let (x, residuals) = if vector {
            (parts.slice(s![..n, 0])?, parts.slice(s![n, ..1])?)
        } else {
            (parts.slice(s![..n, ..p])?, parts.slice(s![n, ..p])?)
        };
        Ok(Lstsq {
            x,
            residuals,
            rank: parts.slice(s![n + 1, 0])?.astype(DType::I64)?,
            s: parts.slice(s![n + 2, ..k])?,
        })
    }
}
