//! Blocked factorizations of square matrices larger than memory, and what is built on
//! them: [`Array::solve`], [`Array::inv`], [`Array::det`], [`Array::slogdet`] (LU with
//! pivoting) and [`Array::cholesky`]. Like dask's, they are right-looking blocked
//! algorithms on square tiles made of `map_blocks` stages, so culling, spilling, the
//! memory limit and every scheduler apply; unlike dask's, the LU pivots across the whole
//! column, not only within the diagonal tile.
//!
//! The matrix is cut into square tiles of side `b`: about the input's largest chunk in
//! elements, at most 512 unless the matrix is more than 32 tiles wide. Step `k` works on the trailing matrix `T` (the rows and columns from `k b`
//! on; for `solve`, the right-hand sides ride along as more columns):
//!
//! 1. **Pivots, by tournament.** Each tile of `T`'s first column proposes the `b` rows its
//!    own partial-pivoting LU would take; proposals are merged four at a time by the same
//!    rule until `b` rows are left, and their LU is the diagonal tile `Z` (`L` and `U`
//!    packed, and each pivot's row). Tournament pivoting (TSLU, from communication-avoiding
//!    LU) is as stable as partial pivoting in practice and needs no task to hold a whole
//!    column.
//! 2. **Exchange.** The pivot rows move to the top; the top rows they displace take their
//!    places. The new top of each column is a sum over its tiles of the rows each holds
//!    (a reduction tree), every other tile takes at most its displaced rows from the old
//!    top.
//! 3. **Update.** `U`'s row is `L⁻¹` times the new top, `L`'s column the rest of the first
//!    column times `U⁻¹`, and the next trailing matrix is each exchanged tile minus the
//!    product of its `L` and `U` tiles, one task per tile.
//!
//! A task holds a handful of tiles, so the memory limit holds for any matrix as long as
//! tiles of the input's chunk size do; the trailing matrices are intermediates like any
//! other (held, or spilled to disk under the limit). Cholesky is the same without the
//! pivots. Everything is computed in float64 (float32 results are cast back, as NumPy's
//! are float32 for float32 input).

use ndarray::{Array2, Axis, s};

use super::dense::{self, DenseOp, dense, one, two};
use super::map::map_blocks_internal;
use super::{Array, MapBlocks};
use crate::block::{Block, BlockRef};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::expr::BlockInfo;
use crate::grid::{AxisChunks, ChunkGrid, fmt_shape};
use crate::kernel::lu;

/// Candidate blocks merged per task in the pivot tournament, and tiles summed per task
/// when gathering a column's new top rows.
const FAN_IN: usize = 4;

/// A 2-d float64 view of a block (the factorizations' inputs are cast to float64 first).
fn view2<'a>(b: &'a BlockRef<'_>) -> Result<ndarray::ArrayView2<'a, f64>> {
    b.view::<f64>()
        .ok_or_else(|| Error::internal("a factorization tile that is not float64"))?
        .into_dimensionality()
        .map_err(|_| Error::internal("a factorization tile that is not 2-d"))
}

fn block(a: Array2<f64>) -> Block {
    Block::from(a.into_dyn())
}

/// Where input `i`'s block starts along `axis`.
fn start(info: &BlockInfo, i: usize, axis: usize) -> usize {
    info.input_locations[i][axis].start
}

/// One step of the blocked LU: the diagonal tile (`L` and `U` packed, pivots in the last
/// column) and `U`'s row (the tile's rows of every column to its right, right-hand sides
/// included).
struct LuStep {
    z: Array,
    u_row: Array,
}

/// A square matrix (or one with right-hand sides appended as more columns) checked, cast
/// to float64 and cut into square tiles.
struct Tiled {
    /// n × (n + extra columns), float64, tiles of side `b`.
    t: Array,
    b: usize,
    n: usize,
}

/// Tiles at most this side (float64: 2 MiB) unless the matrix would have more than
/// [`MAX_TILES`] of them along an axis: a task holds about eight tiles, so smaller tiles
/// leave more of the limit to hold the trailing matrix (measured on a 10000² solve under
/// 256 MiB: 0.7 GB spilled with 500² tiles, 4.4 GB with 1000²).
const MAX_TILE: usize = 512;

/// Tiles along an axis beyond which tiles grow past [`MAX_TILE`]: the LU's tasks grow as
/// the cube of this count.
const MAX_TILES: usize = 32;

/// The tile side for an n × n matrix: about the largest chunk's elements, or the largest
/// whole fraction of that within [`MAX_TILE`] (unless that makes more than [`MAX_TILES`]
/// tiles along an axis).
fn tile_side(x: &Array, n: usize) -> Result<usize> {
    let elems: usize = x.chunks()?.max_chunk_shape().iter().product();
    let chunk = ((elems as f64).sqrt() as usize).clamp(1, n.max(1));
    let most = MAX_TILE.max(n.div_ceil(MAX_TILES));
    // A whole fraction of the chunk's side, so that tiles do not straddle chunks.
    Ok(chunk.div_ceil(chunk.div_ceil(most)))
}

/// Checks that `x` is a non-empty square matrix.
fn square(x: &Array, op: &str) -> Result<usize> {
    x.check()?;
    let shape = x.shape();
    if shape.len() != 2 || shape[0] != shape[1] {
        return Err(Error::invalid(format!(
            "{op}: needs a square matrix (n × n, or a stack of them in the last two axes), got \
             shape {}",
            fmt_shape(&shape)
        )));
    }
    if shape[0] == 0 {
        return Err(Error::invalid(format!("{op}: the matrix is empty (0 × 0)")));
    }
    Ok(shape[0])
}

/// The dtype of a factorization's result: float32 for float32 inputs, else float64.
fn result_dtype(inputs: &[&Array]) -> DType {
    if inputs.iter().all(|x| x.dtype() == DType::F32) {
        DType::F32
    } else {
        DType::F64
    }
}

fn cast_back(x: Array, dtype: DType) -> Result<Array> {
    if dtype == DType::F64 {
        Ok(x)
    } else {
        x.astype(dtype)
    }
}

/// `x` rechunked along axis 0 into groups of `group` of its row blocks (each `rows` long),
/// keeping its column blocks.
fn group_rows(x: &Array, rows: usize) -> Result<Array> {
    let grid = x.chunks()?;
    let axes = vec![
        AxisChunks::regular(grid.shape()[0], rows),
        grid.axes()[1].clone(),
    ];
    x.rechunk_grid(ChunkGrid::from_axes(axes))
}

impl Tiled {
    fn new(a: &Array, extra: Option<&Array>, op: &str) -> Result<Tiled> {
        a.real_only(op)?;
        if let Some(rhs) = extra {
            rhs.real_only(op)?;
        }
        let n = square(a, op)?;
        let b = tile_side(a, n)?;
        let a = a.astype(DType::F64)?.rechunk(&[b, b])?;
        let t = match extra {
            None => a,
            Some(rhs) => {
                let rhs = rhs.astype(DType::F64)?;
                let width = rhs.shape()[1].max(1);
                let rhs = rhs.rechunk(&[b, b.min(width)])?;
                Array::concatenate(&[&a, &rhs], 1_usize)?
            }
        };
        Ok(Tiled { t, b, n })
    }

    /// The steps of the blocked LU of the tiled matrix (see the module doc).
    fn lu(&self) -> Result<Vec<LuStep>> {
        let mut steps = Vec::new();
        let mut t = self.t.clone();
        loop {
            let rows = t.shape()[0];
            let bk = self.b.min(rows);
            let z = tournament(&t.slice(s![.., 0..bk])?, bk)?;
            let top = gather_top(&t, &z, bk)?;
            let u_row = map_blocks_internal(
                &[&top, &z],
                &MapBlocks::new("lu_u_row").whole(1, &[0, 1]),
                move |blocks, info| {
                    let (g, z) = (view2(&blocks[0])?, view2(&blocks[1])?);
                    if start(info, 0, 1) == 0 {
                        // The diagonal tile's own U, exactly as the pivot tile has it.
                        let k = z.nrows();
                        let mut u = z.slice(s![.., ..k]).to_owned();
                        for i in 0..k {
                            for j in 0..i {
                                u[[i, j]] = 0.0;
                            }
                        }
                        return Ok(block(u));
                    }
                    Ok(block(lu::unit_lower_solve(z, g)))
                },
            )?;
            steps.push(LuStep {
                z: z.clone(),
                u_row: u_row.clone(),
            });
            if rows == bk {
                return Ok(steps);
            }
            let below = t.slice(s![bk.., ..])?;
            let old_top = t.slice(s![0..bk, ..])?;
            let l_col = map_blocks_internal(
                &[
                    &below.slice(s![.., 0..bk])?,
                    &old_top.slice(s![.., 0..bk])?,
                    &z,
                ],
                &MapBlocks::new("lu_l_col").whole(1, &[0]).whole(2, &[0, 1]),
                move |blocks, info| {
                    let z = view2(&blocks[2])?;
                    let row0 = bk + start(info, 0, 0);
                    let moves = lu::displaced(&lu::pivots(&z));
                    let x =
                        lu::exchange_below(view2(&blocks[0])?, row0, view2(&blocks[1])?, &moves);
                    Ok(block(lu::right_upper_solve(x, z)))
                },
            )?;
            t = map_blocks_internal(
                &[
                    &below.slice(s![.., bk..])?,
                    &old_top.slice(s![.., bk..])?,
                    &z,
                    &l_col,
                    &u_row.slice(s![.., bk..])?,
                ],
                &MapBlocks::new("lu_update")
                    .whole(1, &[0])
                    .whole(2, &[0, 1])
                    .whole(3, &[1])
                    .whole(4, &[0]),
                move |blocks, info| {
                    let z = view2(&blocks[2])?;
                    let row0 = bk + start(info, 0, 0);
                    let moves = lu::displaced(&lu::pivots(&z));
                    let x =
                        lu::exchange_below(view2(&blocks[0])?, row0, view2(&blocks[1])?, &moves);
                    Ok(block(lu::minus_product(
                        x,
                        view2(&blocks[3])?,
                        view2(&blocks[4])?,
                    )))
                },
            )?;
        }
    }
}

/// The diagonal tile of a step from its column `panel` (rows × bk): the tournament of
/// the module doc.
fn tournament(panel: &Array, bk: usize) -> Result<Array> {
    let tiles = panel.chunks()?.grid_shape()[0];
    let c = map_blocks_internal(
        &[panel],
        &MapBlocks::new("lu_propose").chunks(vec![vec![bk; tiles], vec![bk + 1]]),
        move |blocks, info| {
            Ok(block(lu::propose(
                view2(&blocks[0])?,
                start(info, 0, 0),
                bk,
            )))
        },
    )?;
    let c = fold_row_tiles(c, bk, "lu_merge", move |g| lu::merge(g, bk))?;
    map_blocks_internal(&[&c], &MapBlocks::new("lu_pivot_tile"), |blocks, _| {
        Ok(block(lu::pivot_tile(view2(&blocks[0])?)))
    })
}

/// The new top rows of every column of `t` (bk × columns): the pivot rows, gathered tile
/// by tile and summed down each column.
fn gather_top(t: &Array, z: &Array, bk: usize) -> Result<Array> {
    let grid = t.chunks()?;
    let tiles = grid.grid_shape()[0];
    let cols = grid.axes()[1].sizes();
    let e = map_blocks_internal(
        &[t, z],
        &MapBlocks::new("lu_gather")
            .whole(1, &[0, 1])
            .chunks(vec![vec![bk; tiles], cols]),
        move |blocks, info| {
            let pivots = lu::pivots(&view2(&blocks[1])?);
            Ok(block(lu::gather_top(
                view2(&blocks[0])?,
                start(info, 0, 0),
                &pivots,
            )))
        },
    )?;
    fold_row_tiles(e, bk, "lu_gather_sum", move |g| {
        let mut sum = g.slice(s![0..bk, ..]).to_owned();
        for part in g.axis_chunks_iter(Axis(0), bk).skip(1) {
            sum += &part;
        }
        sum
    })
}

/// The back substitution `U x = y` over the steps' `U` rows, whose last `nrhs` columns
/// hold `y`.
fn back_substitute(steps: &[LuStep], b: usize, nrhs: usize, op: &'static str) -> Result<Array> {
    let mut xs: Vec<Array> = Vec::with_capacity(steps.len());
    for (k, step) in steps.iter().enumerate().rev() {
        let width = step.u_row.shape()[1];
        let bk = step.u_row.shape()[0];
        let y = step.u_row.slice(s![.., width - nrhs..])?;
        let rhs = if xs.is_empty() {
            y
        } else {
            let below: Vec<&Array> = xs.iter().rev().collect();
            let below = Array::concatenate(&below, 0_usize)?;
            let u = step.u_row.slice(s![.., bk..width - nrhs])?;
            &y - &u.matmul(&below)?
        };
        let row0 = k * b;
        xs.push(map_blocks_internal(
            &[&rhs, &step.z],
            &MapBlocks::new("lu_back_substitute").whole(1, &[0, 1]),
            move |blocks, _| {
                Ok(block(lu::upper_solve(
                    view2(&blocks[1])?,
                    view2(&blocks[0])?,
                    row0,
                    op,
                )?))
            },
        )?);
    }
    let xs: Vec<&Array> = xs.iter().rev().collect();
    Array::concatenate(&xs, 0_usize)
}

/// The 0-d result of `f` over the LU steps' determinant parts (see `Array::det_parts`).
fn fold_parts(
    parts: &Array,
    name: &str,
    f: fn(ndarray::ArrayView2<'_, f64>) -> f64,
) -> Result<Array> {
    map_blocks_internal(
        &[parts],
        &MapBlocks::new(name).drop_axis(&[0, 1]),
        move |blocks, _| Ok(Block::from(ndarray::arr0(f(view2(&blocks[0])?)).into_dyn())),
    )
}

/// Folds the row tiles (each `bk` rows) of `x` into one, `FAN_IN` at a time up a tree:
/// `f` maps a group of stacked tiles to one tile of `bk` rows (the columns kept).
fn fold_row_tiles(
    x: Array,
    bk: usize,
    name: &str,
    f: impl Fn(ndarray::ArrayView2<'_, f64>) -> Array2<f64> + Clone + Send + Sync + 'static,
) -> Result<Array> {
    let mut x = x;
    while x.chunks()?.grid_shape()[0] > 1 {
        let groups = x.chunks()?.grid_shape()[0].div_ceil(FAN_IN);
        let cols = x.chunks()?.axes()[1].sizes();
        let f = f.clone();
        x = map_blocks_internal(
            &[&group_rows(&x, FAN_IN * bk)?],
            &MapBlocks::new(name).chunks(vec![vec![bk; groups], cols]),
            move |blocks, _| Ok(block(f(view2(&blocks[0])?))),
        )?;
    }
    Ok(x)
}

impl Array {
    /// The solution `x` of `a x = b` for a square matrix `a` (NumPy's and the array API's
    /// `linalg.solve`): `b` is a vector (1-d, n) or a matrix of right-hand sides (n × k),
    /// and so is `x`. Computed by the blocked LU of the module doc, with `b`'s columns
    /// carried along as more columns, then a blocked back substitution: out of core, a
    /// handful of tiles per task.
    ///
    /// float32 inputs give float32; other dtypes are computed in float64, as NumPy does.
    ///
    /// ```
    /// use brickwork::Array;
    /// let a = Array::from_ndarray(ndarray::array![[3.0, 1.0], [1.0, 2.0]].into_dyn(), &[1, 1])?;
    /// let b = Array::from_ndarray(ndarray::array![9.0, 8.0].into_dyn(), &[1])?;
    /// let x = a.solve(&b)?.compute_as::<f64>()?;
    /// assert!((x[[0]] - 2.0).abs() < 1e-12 && (x[[1]] - 3.0).abs() < 1e-12);
    /// # Ok::<(), brickwork::Error>(())
    /// ```
    ///
    /// # Errors
    /// `a` not square, `b` of another length; when computed, a singular `a` (a zero pivot),
    /// as NumPy's `LinAlgError`.
    pub fn solve(&self, b: &Array) -> Result<Array> {
        if dense::wanted(&[self, b]) || self.ndim() > 2 || b.ndim() > 2 {
            return one(dense(DenseOp::Solve, self, Some(b))?);
        }
        let n = square(self, "solve")?;
        b.check()?;
        let b_shape = b.shape();
        let vector = b_shape.len() == 1;
        if !(vector || b_shape.len() == 2) || b_shape[0] != n {
            return Err(Error::ShapeMismatch {
                op: "solve".into(),
                lhs: self.shape(),
                rhs: b_shape,
                hint: format!(
                    "b must be a vector of length {n} or an {n} × k matrix of right-hand sides"
                ),
            });
        }
        let dtype = result_dtype(&[self, b]);
        let rhs = if vector {
            b.expand_dims(1_usize)?
        } else {
            b.clone()
        };
        let nrhs = rhs.shape()[1];
        if nrhs == 0 {
            return cast_back(Array::zeros(&[n, 0], &[n, 1], DType::F64)?, dtype);
        }
        let tiled = Tiled::new(self, Some(&rhs), "solve")?;
        let x = back_substitute(&tiled.lu()?, tiled.b, nrhs, "solve")?;
        let x = if vector { x.squeeze(Some(&[1]))? } else { x };
        cast_back(x, dtype)
    }

    /// The inverse of a square matrix (NumPy's and the array API's `linalg.inv`):
    /// [`Array::solve`] with the identity as right-hand sides, as dask does.
    ///
    /// # Errors
    /// As [`Array::solve`].
    pub fn inv(&self) -> Result<Array> {
        if dense::wanted(&[self]) {
            return one(dense(DenseOp::Inv, self, None)?);
        }
        if self.ndim() > 2 {
            return self.per_matrix(|x: &Array| x.inv());
        }
        let n = square(self, "inv")?;
        let b = tile_side(self, n)?;
        let dtype = result_dtype(&[self]);
        let eye = Array::eye(n, n, 0, DType::F64, &[b, b])?;
        let tiled = Tiled::new(self, Some(&eye), "inv")?;
        cast_back(back_substitute(&tiled.lu()?, tiled.b, n, "inv")?, dtype)
    }

    /// The sign and the natural logarithm of the absolute value of the determinant
    /// (NumPy's and the array API's `linalg.slogdet`), as two 0-d arrays: from the blocked
    /// LU's diagonal and its row exchanges. A singular matrix gives sign 0 and −∞.
    ///
    /// # Errors
    /// `a` not square.
    pub fn slogdet(&self) -> Result<(Array, Array)> {
        if dense::wanted(&[self]) {
            return two(dense(DenseOp::Slogdet, self, None)?);
        }
        if self.ndim() > 2 {
            let sign = self.per_matrix(|x: &Array| Ok(x.slogdet()?.0))?;
            let log = self.per_matrix(|x: &Array| Ok(x.slogdet()?.1))?;
            return Ok((sign, log));
        }
        let parts = self.det_parts("slogdet")?;
        let dtype = result_dtype(&[self]);
        let sign = fold_parts(&parts, "slogdet_sign", |p| p.column(0).product())?;
        let log = fold_parts(&parts, "slogdet_log", |p| p.column(1).sum())?;
        Ok((cast_back(sign, dtype)?, cast_back(log, dtype)?))
    }

    /// The determinant of a square matrix (NumPy's and the array API's `linalg.det`):
    /// the product of the blocked LU's diagonal, signed by its row exchanges.
    ///
    /// # Errors
    /// `a` not square.
    pub fn det(&self) -> Result<Array> {
        if dense::wanted(&[self]) {
            return one(dense(DenseOp::Det, self, None)?);
        }
        if self.ndim() > 2 {
            return self.per_matrix(|x: &Array| x.det());
        }
        let parts = self.det_parts("det")?;
        let det = fold_parts(&parts, "det", |p| {
            p.column(0).product() * p.column(2).product()
        })?;
        cast_back(det, result_dtype(&[self]))
    }

    /// Per LU step (one row each): the sign of its exchange and diagonal, the log of its
    /// diagonal's absolute product, and that product (steps × 3, one block).
    fn det_parts(&self, op: &str) -> Result<Array> {
        let tiled = Tiled::new(self, None, op)?;
        let parts: Vec<Array> = tiled
            .lu()?
            .iter()
            .map(|step| {
                map_blocks_internal(
                    &[&step.z],
                    &MapBlocks::new("lu_det_part").chunks(vec![vec![1], vec![3]]),
                    |blocks, _| {
                        let z = view2(&blocks[0])?;
                        let k = z.nrows();
                        let mut sign = lu::exchange_sign(&lu::pivots(&z));
                        let (mut log, mut product) = (0.0, 1.0);
                        for i in 0..k {
                            let u = z[[i, i]];
                            sign *= if u == 0.0 { 0.0 } else { u.signum() };
                            log += u.abs().ln();
                            product *= u.abs();
                        }
                        Ok(block(ndarray::array![[sign, log, product]]))
                    },
                )
            })
            .collect::<Result<_>>()?;
        let parts: Vec<&Array> = parts.iter().collect();
        let n = parts.len();
        Array::concatenate(&parts, 0_usize)?.rechunk(&[n, 3])
    }

    /// The lower Cholesky factor `L` of a symmetric positive-definite matrix, `a = L Lᵀ`
    /// (NumPy's and the array API's `linalg.cholesky`; `upper` gives `Lᵀ`). Only the lower
    /// triangle of `a` is read, as LAPACK's. Blocked and out of core like [`Array::solve`]
    /// (without pivots).
    ///
    /// # Errors
    /// `a` not square; when computed, a matrix that is not positive definite (naming the
    /// leading minor that is not), as NumPy's `LinAlgError`.
    pub fn cholesky(&self, upper: bool) -> Result<Array> {
        if dense::wanted(&[self]) {
            return one(dense(DenseOp::Cholesky { upper }, self, None)?);
        }
        if self.ndim() > 2 {
            return self.per_matrix(|x: &Array| x.cholesky(upper));
        }
        let dtype = result_dtype(&[self]);
        let tiled = Tiled::new(self, None, "cholesky")?;
        let (b, n) = (tiled.b, tiled.n);
        let mut t = tiled.t;
        let mut cols: Vec<Array> = Vec::new();
        loop {
            let rows = t.shape()[0];
            let bk = b.min(rows);
            let row0 = n - rows;
            let l_kk = map_blocks_internal(
                &[&t.slice(s![0..bk, 0..bk])?],
                &MapBlocks::new("cholesky_tile"),
                move |blocks, _| Ok(block(lu::cholesky(view2(&blocks[0])?, row0)?)),
            )?;
            let mut column: Vec<Array> = Vec::new();
            if row0 > 0 {
                column.push(Array::zeros(&[row0, bk], &[b, bk], DType::F64)?);
            }
            column.push(l_kk.clone());
            if rows == bk {
                let column: Vec<&Array> = column.iter().collect();
                cols.push(Array::concatenate(&column, 0_usize)?);
                break;
            }
            let l_col = map_blocks_internal(
                &[&t.slice(s![bk.., 0..bk])?, &l_kk],
                &MapBlocks::new("cholesky_column").whole(1, &[0, 1]),
                |blocks, _| {
                    Ok(block(lu::right_lower_t_solve(
                        view2(&blocks[0])?,
                        view2(&blocks[1])?,
                    )))
                },
            )?;
            t = map_blocks_internal(
                &[&t.slice(s![bk.., bk..])?, &l_col, &l_col.t()],
                &MapBlocks::new("cholesky_update")
                    .whole(1, &[1])
                    .whole(2, &[0]),
                |blocks, info| {
                    let x = view2(&blocks[0])?;
                    // Tiles above the diagonal are never read again.
                    if start(info, 0, 1) >= info.input_locations[0][0].end {
                        return Ok(block(Array2::zeros(x.dim())));
                    }
                    Ok(block(lu::minus_product(
                        x.to_owned(),
                        view2(&blocks[1])?,
                        view2(&blocks[2])?,
                    )))
                },
            )?;
            column.push(l_col);
            let column: Vec<&Array> = column.iter().collect();
            cols.push(Array::concatenate(&column, 0_usize)?);
        }
        let cols: Vec<&Array> = cols.iter().collect();
        let l = Array::concatenate(&cols, 1_usize)?;
        cast_back(if upper { l.t() } else { l }, dtype)
    }
}
