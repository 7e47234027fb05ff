//! The `linalg` functions on matrices held whole in memory: stacks of matrices (`..., M,
//! N`), complex matrices and empty ones. [`Array::inv`], [`Array::solve`],
//! [`Array::det`], [`Array::slogdet`], [`Array::cholesky`], [`Array::qr`],
//! [`Array::svd`], [`Array::svdvals`], [`Array::eigh`] and [`Array::eigvalsh`] route such
//! inputs here; one real matrix goes through the blocked (out-of-core) factorizations of
//! `factor.rs` and `tsqr.rs` instead, and so does each matrix of a stack of real matrices
//! too large for one task ([`DENSE_MATRIX_BYTES`]).
//!
//! The stack's batch axes are cut into groups of matrices of about [`TASK_BYTES`], the
//! matrix axes kept whole; one task factors every matrix of its group with
//! `kernel::dense` and writes each matrix's results one after another along a single
//! packed axis, which the results are sliced and reshaped from. So a factorization with
//! several results (`eigh`, `qr`, `svd`, `slogdet`) runs once per matrix however many of
//! them are used, and the whole is lazy like any other stage (culling, fusion of what
//! follows, the memory limit, every scheduler).

use ndarray::{ArrayD, ArrayView2, ArrayViewD, IxDyn};
use num_complex::Complex;

use super::map::map_blocks_internal;
use super::{Array, MapBlocks, NumpyIndex};
use crate::UnaryOp;
use crate::block::{Block, BlockRef};
use crate::dtype::{Complex128, DType};
use crate::error::{Error, Result};
use crate::expr::BlockInfo;
use crate::grid::fmt_shape;
use crate::kernel::dense::{self, DenseElement, Lu};

/// A stack of real matrices each larger than this (all operands together) goes through
/// the blocked algorithms one matrix at a time rather than one task per matrix.
pub(super) const DENSE_MATRIX_BYTES: usize = 64 << 20;

/// Operand bytes per task: the batch axes are cut into groups of about this much.
const TASK_BYTES: usize = 16 << 20;

/// A function of one matrix (two for `solve`) computed in memory.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum DenseOp {
    Inv,
    Det,
    Slogdet,
    Lu,
    Cholesky { upper: bool },
    Solve,
    Eigh,
    Eigvalsh,
    Qr { complete: bool },
    Svd { full: bool },
    Svdvals,
}

/// One result of a [`DenseOp`]: its shape per matrix, and whether it is real-valued for a
/// complex input (eigenvalues, singular values, `log |det|`).
#[derive(Clone)]
struct Part {
    shape: Vec<usize>,
    real: bool,
}

impl Part {
    fn new(shape: &[usize], real: bool) -> Self {
        Part {
            shape: shape.to_vec(),
            real,
        }
    }

    fn len(&self) -> usize {
        self.shape.iter().product()
    }
}

impl DenseOp {
    fn name(self) -> &'static str {
        match self {
            DenseOp::Inv => "inv",
            DenseOp::Det => "det",
            DenseOp::Slogdet => "slogdet",
            DenseOp::Lu => "lu",
            DenseOp::Cholesky { .. } => "cholesky",
            DenseOp::Solve => "solve",
            DenseOp::Eigh => "eigh",
            DenseOp::Eigvalsh => "eigvalsh",
            DenseOp::Qr { .. } => "qr",
            DenseOp::Svd { .. } => "svd",
            DenseOp::Svdvals => "svdvals",
        }
    }

    fn square(self) -> bool {
        !matches!(
            self,
            DenseOp::Qr { .. } | DenseOp::Svd { .. } | DenseOp::Svdvals
        )
    }

    /// The results for an m × n matrix (and k right-hand sides for `solve`).
    fn parts(self, m: usize, n: usize, k: usize) -> Vec<Part> {
        let r = m.min(n);
        match self {
            DenseOp::Inv | DenseOp::Cholesky { .. } => vec![Part::new(&[n, n], false)],
            DenseOp::Det => vec![Part::new(&[], false)],
            DenseOp::Slogdet => vec![Part::new(&[], false), Part::new(&[], true)],
            DenseOp::Lu => vec![Part::new(&[n, n], false); 3],
            DenseOp::Solve => vec![Part::new(&[n, k], false)],
            DenseOp::Eigh => vec![Part::new(&[n], true), Part::new(&[n, n], false)],
            DenseOp::Eigvalsh => vec![Part::new(&[n], true)],
            DenseOp::Qr { complete } => {
                let q = if complete { m } else { r };
                vec![Part::new(&[m, q], false), Part::new(&[q, n], false)]
            }
            DenseOp::Svd { full } => {
                let (u, v) = if full { (m, n) } else { (r, r) };
                vec![
                    Part::new(&[m, u], false),
                    Part::new(&[r], true),
                    Part::new(&[v, n], false),
                ]
            }
            DenseOp::Svdvals => vec![Part::new(&[r], true)],
        }
    }

    /// The results of one matrix (`b`: the right-hand sides of `solve`), flattened, in the
    /// order of [`DenseOp::parts`].
    fn compute<E: DenseElement>(
        self,
        a: ArrayView2<'_, E>,
        b: Option<ArrayView2<'_, E>>,
    ) -> Result<Vec<Vec<E>>> {
        let flat = |x: ndarray::Array2<E>| x.into_iter().collect::<Vec<E>>();
        let reals = |v: Vec<f64>| v.into_iter().map(E::from_re).collect::<Vec<E>>();
        Ok(match self {
            DenseOp::Inv => vec![flat(dense::inv(a)?)],
            DenseOp::Det => vec![vec![Lu::new(a).det()]],
            DenseOp::Slogdet => {
                let (sign, log) = Lu::new(a).slogdet();
                vec![vec![sign], vec![E::from_re(log)]]
            }
            DenseOp::Lu => {
                let (p, l, u) = Lu::new(a).plu();
                vec![flat(p), flat(l), flat(u)]
            }
            DenseOp::Cholesky { upper } => vec![flat(dense::cholesky(a, upper)?)],
            DenseOp::Solve => {
                let b = b.ok_or_else(|| Error::internal("solve without right-hand sides"))?;
                vec![flat(Lu::new(a).solve(b)?)]
            }
            DenseOp::Eigh => {
                let (w, v) = dense::eigh(a, true)?;
                let v = v.ok_or_else(|| Error::internal("eigh without eigenvectors"))?;
                vec![reals(w), flat(v)]
            }
            DenseOp::Eigvalsh => vec![reals(dense::eigh(a, false)?.0)],
            DenseOp::Qr { complete } => {
                let (q, r) = dense::qr(a, complete);
                vec![flat(q), flat(r)]
            }
            DenseOp::Svd { full } => {
                let (u, s, vh) = dense::svd(a, full)?;
                vec![flat(u), reals(s), flat(vh)]
            }
            DenseOp::Svdvals => vec![reals(dense::svdvals(a)?)],
        })
    }
}

/// The two element types a task computes in, with their blocks.
trait Element: DenseElement {
    fn view<'a>(b: &BlockRef<'a>) -> Option<ArrayViewD<'a, Self>>;
    fn block(a: ArrayD<Self>) -> Block;
}

impl Element for f64 {
    fn view<'a>(b: &BlockRef<'a>) -> Option<ArrayViewD<'a, f64>> {
        b.view::<f64>()
    }
    fn block(a: ArrayD<f64>) -> Block {
        Block::from(a)
    }
}

impl Element for Complex<f64> {
    fn view<'a>(b: &BlockRef<'a>) -> Option<ArrayViewD<'a, Complex<f64>>> {
        b.view::<Complex128>().map(Complex128::as_num)
    }
    fn block(a: ArrayD<Complex<f64>>) -> Block {
        Block::from(Complex128::from_num(a))
    }
}

/// True when `inputs` (a matrix or a stack, and for `solve` its right-hand sides) go to
/// the in-memory path: a complex operand, an empty matrix, or a stack of matrices each
/// within [`DENSE_MATRIX_BYTES`].
pub(super) fn wanted(inputs: &[&Array]) -> bool {
    let shapes: Vec<Vec<usize>> = inputs.iter().map(|x| x.shape()).collect();
    let complex = inputs.iter().any(|x| x.dtype().is_complex());
    let empty = shapes[0].len() >= 2 && shapes[0][shapes[0].len() - 2..].contains(&0);
    let stack = shapes.iter().any(|s| s.len() > 2);
    let matrix_bytes: usize = shapes
        .iter()
        .map(|s| s[s.len().saturating_sub(2)..].iter().product::<usize>() * 8)
        .sum();
    complex || empty || stack && matrix_bytes <= DENSE_MATRIX_BYTES
}

/// The dtype NumPy's `linalg` gives for inputs of dtype `d` (promoted): float32 and
/// complex64 stay, other complex types are complex128, the rest float64.
fn result_dtype(d: DType) -> DType {
    match d {
        DType::F32 | DType::C64 | DType::C128 => d,
        d if d.is_complex() => DType::C128,
        _ => DType::F64,
    }
}

/// `op` of the matrix (or stack) `x`, with `b` the right-hand sides of `solve`: one lazy
/// array per part of the op (see [`DenseOp::parts`]).
///
/// # Errors
/// Fewer than two dimensions, matrices that are not square where they must be, right-hand
/// sides whose shape does not fit `x`; when computed, a singular matrix (`inv`, `solve`),
/// one that is not positive definite (`cholesky`), a decomposition that does not converge.
pub(super) fn dense(op: DenseOp, x: &Array, b: Option<&Array>) -> Result<Vec<Array>> {
    let what = op.name();
    x.check()?;
    let xs = x.shape();
    if xs.len() < 2 {
        return Err(Error::invalid(format!(
            "{what}: takes a matrix (or a stack of them in the last two axes), got shape {}",
            fmt_shape(&xs)
        )));
    }
    let (m, n) = (xs[xs.len() - 2], xs[xs.len() - 1]);
    if op.square() && m != n {
        return Err(Error::invalid(format!(
            "{what}: needs square matrices, got shape {} (the last two axes are {m} × {n})",
            fmt_shape(&xs)
        )));
    }
    let square_side = match op {
        DenseOp::Qr { complete: true } => m,
        DenseOp::Svd { full: true } => m.max(n),
        _ => 0,
    };
    if square_side.saturating_mul(square_side).saturating_mul(16) > DENSE_MATRIX_BYTES {
        let reduced = if matches!(op, DenseOp::Qr { .. }) {
            "mode='reduced'"
        } else {
            "full_matrices=False"
        };
        return Err(Error::invalid(format!(
            "{what}: the complete factors of a {m} × {n} matrix include a {square_side} × \
             {square_side} one, too large to compute in memory; {reduced} gives the reduced \
             factors (out of core for a tall-skinny matrix)"
        )));
    }
    let mut promoted = x.dtype();
    // The operands with their matrix shapes, and the batch shape they broadcast to.
    let (operands, batch, k, vector) = match b {
        None => (vec![x.clone()], xs[..xs.len() - 2].to_vec(), 0, false),
        Some(b) => {
            b.check()?;
            promoted = DType::promote(promoted, b.dtype());
            let bs = b.shape();
            let fits = match bs.len() {
                0 => false,
                1 => bs[0] == n,
                d => bs[d - 2] == n,
            };
            if !fits {
                return Err(Error::ShapeMismatch {
                    op: what.into(),
                    lhs: xs.clone(),
                    rhs: bs,
                    hint: format!(
                        "x2 must be a vector of length {n} or a stack of {n} × k matrices \
                         (..., {n}, k)"
                    ),
                });
            }
            let vector = bs.len() == 1;
            let (b_batch, k) = if vector {
                (Vec::new(), 1)
            } else {
                (bs[..bs.len() - 2].to_vec(), bs[bs.len() - 1])
            };
            let batch = crate::expr::broadcast_shapes(what, &xs[..xs.len() - 2], &b_batch)?;
            let b = if vector { b.expand_dims(1)? } else { b.clone() };
            (vec![x.clone(), b], batch, k, vector)
        }
    };
    let compute = if promoted.is_complex() {
        DType::C128
    } else {
        DType::F64
    };
    let result = result_dtype(promoted);
    let parts = op.parts(m, n, k);
    let total: usize = parts.iter().map(Part::len).sum();
    let count: usize = batch.iter().product();
    let finish = |arrays: Vec<Array>| -> Result<Vec<Array>> {
        let mut out: Vec<Array> = arrays
            .into_iter()
            .zip(&parts)
            .map(|(a, part)| {
                let a = if part.real && compute.is_complex() {
                    a.unary(UnaryOp::Real)?
                } else {
                    a
                };
                let dtype = if part.real {
                    result.real_dtype()
                } else {
                    result
                };
                a.astype(dtype)
            })
            .collect::<Result<_>>()?;
        if vector {
            // solve with a vector: the result drops the column axis.
            let last = out[0].ndim() as isize - 1;
            out[0] = out[0].squeeze(Some(&[last]))?;
        }
        Ok(out)
    };
    if count == 0 || total == 0 {
        // Nothing to compute: every part is empty (a 0 × 0 matrix's det and slogdet are
        // constants, 1 and (1, 0)).
        let arrays = parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let mut shape = batch.clone();
                shape.extend(&part.shape);
                let chunks: Vec<usize> = shape.iter().map(|&d| d.max(1)).collect();
                let one = matches!(op, DenseOp::Det) || (op == DenseOp::Slogdet && i == 0);
                let value = if one { 1.0 } else { 0.0 };
                Array::full(&shape, &chunks, value.into(), compute)
            })
            .collect::<Result<_>>()?;
        return finish(arrays);
    }
    let itemsize = compute.size();
    let matrix_bytes: usize = operands
        .iter()
        .map(|o| {
            let s = o.shape();
            s[s.len() - 2..].iter().product::<usize>() * itemsize
        })
        .sum::<usize>()
        .max(1);
    let batch_chunks = group_chunks(&batch, (TASK_BYTES / matrix_bytes).max(1));
    let inputs: Vec<Array> = operands
        .iter()
        .map(|o| {
            let s = o.shape();
            let mat = &s[s.len() - 2..];
            let mut shape = batch.clone();
            shape.extend(mat);
            let mut chunks = batch_chunks.clone();
            chunks.extend(mat.iter().map(|&d| d.max(1)));
            o.broadcast_to(&shape)?.astype(compute)?.rechunk(&chunks)
        })
        .collect::<Result<_>>()?;
    let grid = inputs[0].chunks()?;
    let mut out_chunks: Vec<Vec<usize>> = grid.axes()[..batch.len()]
        .iter()
        .map(|a| a.sizes())
        .collect();
    out_chunks.push(vec![total]);
    let last = batch.len() as isize + 1;
    let mut options = MapBlocks::new(format!("linalg_{what}"))
        .dtype(compute)
        .chunks(out_chunks)
        .drop_axis(&[last])
        .temporaries(3);
    if inputs.len() == 2 {
        // The right-hand sides' columns need not match the matrix's.
        options = options.whole(1, &[batch.len() + 1]);
    }
    let refs: Vec<&Array> = inputs.iter().collect();
    let nbatch = batch.len();
    let packed = map_blocks_internal(&refs, &options, move |blocks, info| {
        if compute.is_complex() {
            run::<Complex<f64>>(op, blocks, info, nbatch, total)
        } else {
            run::<f64>(op, blocks, info, nbatch, total)
        }
    })?;
    let mut offset = 0;
    let arrays = parts
        .iter()
        .map(|part| {
            let mut index = vec![NumpyIndex::FULL; nbatch];
            index.push(NumpyIndex::Slice {
                start: Some(offset as isize),
                stop: Some((offset + part.len()) as isize),
                step: None,
            });
            offset += part.len();
            let mut shape: Vec<isize> = batch.iter().map(|&d| d as isize).collect();
            shape.extend(part.shape.iter().map(|&d| d as isize));
            packed.index_numpy(&index)?.reshape(&shape)
        })
        .collect::<Result<_>>()?;
    finish(arrays)
}

/// The single result of an in-memory function.
pub(super) fn one(parts: Vec<Array>) -> Result<Array> {
    let mut parts = parts.into_iter();
    parts
        .next()
        .ok_or_else(|| Error::internal("a linalg function without its result"))
}

/// The two results of an in-memory function (`slogdet`, `eigh`, `qr`).
pub(super) fn two(parts: Vec<Array>) -> Result<(Array, Array)> {
    let mut parts = parts.into_iter();
    match (parts.next(), parts.next()) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(Error::internal("a linalg function without its two results")),
    }
}

/// The three results of an in-memory function (`svd`, `lu`).
pub(super) fn three(parts: Vec<Array>) -> Result<(Array, Array, Array)> {
    let mut parts = parts.into_iter();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(a), Some(b), Some(c)) => Ok((a, b, c)),
        _ => Err(Error::internal(
            "a linalg function without its three results",
        )),
    }
}

/// Chunks of the batch axes holding about `per` matrices: whole trailing axes while they
/// fit, then a part of the next one, single matrices along the rest.
fn group_chunks(batch: &[usize], per: usize) -> Vec<usize> {
    let mut chunks = vec![1; batch.len()];
    let mut left = per;
    for d in (0..batch.len()).rev() {
        let c = left.min(batch[d]).max(1);
        chunks[d] = c;
        if c < batch[d] {
            break;
        }
        left = (left / batch[d].max(1)).max(1);
    }
    chunks
}

/// One task: `op` of every matrix of its blocks, packed along the last axis.
fn run<E: Element>(
    op: DenseOp,
    blocks: &[BlockRef<'_>],
    info: &BlockInfo,
    nbatch: usize,
    total: usize,
) -> Result<Block> {
    let views: Vec<ArrayViewD<'_, E>> = blocks
        .iter()
        .map(|b| E::view(b).ok_or_else(|| Error::internal("a linalg block of another dtype")))
        .collect::<Result<_>>()?;
    let batch: Vec<usize> = (0..nbatch)
        .map(|d| views.iter().map(|v| v.shape()[d]).max().unwrap_or(1))
        .collect();
    let count: usize = batch.iter().product();
    let mats: Vec<ndarray::CowArray<'_, E, ndarray::Ix3>> = views
        .iter()
        .map(|v| {
            // An operand may arrive with its batch axes broadcast (of length 1).
            let s = v.shape();
            let mut full = batch.clone();
            full.extend(&s[nbatch..]);
            let v = v.broadcast(IxDyn(&full)).ok_or_else(|| {
                Error::internal(format!(
                    "a linalg block of shape {} for a batch of {}",
                    fmt_shape(s),
                    fmt_shape(&batch)
                ))
            })?;
            v.to_shape((count, s[nbatch], s[nbatch + 1]))
                .map(|m| m.into_owned().into())
                .map_err(|e| Error::internal(format!("a linalg block's matrices: {e}")))
        })
        .collect::<Result<_>>()?;
    let mut out: Vec<E> = Vec::with_capacity(count * total);
    for i in 0..count {
        let a = mats[0].index_axis(ndarray::Axis(0), i);
        let b = mats.get(1).map(|b| b.index_axis(ndarray::Axis(0), i));
        let results = op.compute(a, b).map_err(|e| {
            let at = if nbatch == 0 {
                String::new()
            } else {
                // The matrix's index in the stack.
                let mut rest = i;
                let mut index = vec![0; nbatch];
                for d in (0..nbatch).rev() {
                    index[d] = info.input_locations[0][d].start + rest % batch[d];
                    rest /= batch[d];
                }
                format!(" (the matrix at {index:?} of the stack)")
            };
            Error::invalid(format!("{}{at}: {e}", op.name()))
        })?;
        for r in results {
            out.extend(r);
        }
    }
    let mut shape = batch;
    shape.push(total);
    let a = ArrayD::from_shape_vec(IxDyn(&shape), out)
        .map_err(|e| Error::internal(format!("a linalg block's results: {e}")))?;
    Ok(E::block(a))
}

impl Array {
    /// The eigenvalues (ascending, real) and eigenvectors (as columns) of a real symmetric
    /// or complex Hermitian matrix, or of each matrix of a stack (`..., M, M`): NumPy's
    /// and the array API's `linalg.eigh`. Only the lower triangle is read. Each matrix is
    /// computed whole in memory (faer's symmetric eigensolver), a group of matrices per
    /// task; the eigenvalues are float32 for float32 and complex64 inputs, else float64.
    ///
    /// ```
    /// use brickwork::Array;
    /// let a = Array::from_ndarray(ndarray::array![[2.0, 1.0], [1.0, 2.0]].into_dyn(), &[2, 2])?;
    /// let (w, _v) = a.eigh()?;
    /// let w = w.compute_as::<f64>()?;
    /// assert!((w[[0]] - 1.0).abs() < 1e-12 && (w[[1]] - 3.0).abs() < 1e-12);
    /// # Ok::<(), brickwork::Error>(())
    /// ```
    ///
    /// # Errors
    /// An array of fewer than two dimensions or whose matrices are not square; when
    /// computed, an eigensolver that does not converge (NaN or infinite values). A matrix
    /// too large for one task is refused by the planner under the memory limit.
    pub fn eigh(&self) -> Result<(Array, Array)> {
        two(dense(DenseOp::Eigh, self, None)?)
    }

    /// The LU factorization with partial pivoting of a square matrix, or of each matrix
    /// of a stack, as SciPy's and dask's `linalg.lu`: `(P, L, U)` with `a = P L U`, `P` a
    /// permutation matrix, `L` unit lower triangular, `U` upper triangular. Each matrix is
    /// factored whole in memory, a group of matrices per task (the blocked LU behind
    /// [`Array::solve`] does not assemble `P` and `L`); float32 and complex64 stay, other
    /// dtypes give float64.
    ///
    /// ```
    /// use brickwork::Array;
    /// let a = Array::from_ndarray(ndarray::array![[0.0, 1.0], [2.0, 3.0]].into_dyn(), &[2, 2])?;
    /// let (p, l, u) = a.lu()?;
    /// let back = p.matmul(&l)?.matmul(&u)?.compute_as::<f64>()?;
    /// assert_eq!(back, ndarray::array![[0.0, 1.0], [2.0, 3.0]].into_dyn());
    /// # Ok::<(), brickwork::Error>(())
    /// ```
    ///
    /// # Errors
    /// Fewer than two dimensions, matrices that are not square. A matrix too large for one
    /// task is refused by the planner under the memory limit.
    pub fn lu(&self) -> Result<(Array, Array, Array)> {
        three(dense(DenseOp::Lu, self, None)?)
    }

    /// The eigenvalues (ascending) of a real symmetric or complex Hermitian matrix, or of
    /// each matrix of a stack: NumPy's and the array API's `linalg.eigvalsh`. As
    /// [`Array::eigh`] without the eigenvectors.
    ///
    /// # Errors
    /// As [`Array::eigh`].
    pub fn eigvalsh(&self) -> Result<Array> {
        one(dense(DenseOp::Eigvalsh, self, None)?)
    }
}
