//! User kernels: [`map_blocks`] runs a Rust function over aligned blocks, [`map_overlap`]
//! over blocks extended by a halo from their neighbours (stencils, filters), trimmed after.
//!
//! The function is a node of the graph like any other: its inputs are fused programs (a
//! function of `x + 1` reads `x`'s chunks and adds in the same task), its blocks are
//! culled, spilled and counted in the predicted peak, and it runs on every core. Each call
//! receives whole blocks (stencils are never split by the executor's tiling) and returns
//! one block, checked against the declared dtype and shape.

use std::sync::Arc;

use ndarray::{ArrayD, ArrayViewD};

use super::Array;
use crate::block::{Block, BlockElement, BlockRef};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::expr::{self, BlockFunction, BlockInfo, Boundary, ExprRef, Overlap};

/// What a [`map_blocks`] call returns and how it is known (dask's `map_blocks` keywords).
///
/// ```
/// use brickwork::MapBlocks;
/// use brickwork::DType;
/// // A function that sums each block along axis 1 (one value per row of the block).
/// let opts = MapBlocks::new("row_sums").dtype(DType::F64).drop_axis(&[1]);
/// # let _ = opts;
/// ```
#[derive(Clone, Debug)]
pub struct MapBlocks {
    name: String,
    dtype: Option<DType>,
    chunks: Option<Vec<Vec<usize>>>,
    drop_axis: Vec<isize>,
    new_axis: Vec<isize>,
    temporaries: usize,
}

impl Default for MapBlocks {
    fn default() -> Self {
        MapBlocks::new("map_blocks")
    }
}

impl MapBlocks {
    /// Options for a function known as `name` in plans, graphs and `--stats` (and, with
    /// the function's Rust type, in the fingerprint a resumed write checks). By default the
    /// result has the first input's dtype and chunks, and the function holds one result-
    /// sized temporary while it runs.
    pub fn new(name: impl Into<String>) -> Self {
        MapBlocks {
            name: name.into(),
            dtype: None,
            chunks: None,
            drop_axis: Vec::new(),
            new_axis: Vec::new(),
            temporaries: 1,
        }
    }

    /// The dtype of the blocks the function returns.
    pub fn dtype(mut self, dtype: DType) -> Self {
        self.dtype = Some(dtype);
        self
    }

    /// The output's chunk sizes per axis (dask's `chunks=` as a tuple of tuples), when the
    /// function changes the blocks' shapes: as many blocks along each axis as the inputs
    /// have along the axis it follows, one along a new axis. A size of 0 declares that
    /// the function gives nothing for those blocks: they are not computed, and the result
    /// has no block there (a selection that selects nothing in a block).
    pub fn chunks(mut self, chunks: Vec<Vec<usize>>) -> Self {
        self.chunks = Some(chunks);
        self
    }

    /// Input axes the function removes (it receives the whole axis: the inputs are
    /// rechunked to one block along it).
    pub fn drop_axis(mut self, axes: &[isize]) -> Self {
        self.drop_axis = axes.to_vec();
        self
    }

    /// Output axes the function adds, in the output's numbering (one block each; their
    /// lengths come from [`MapBlocks::chunks`], 1 by default).
    pub fn new_axis(mut self, axes: &[isize]) -> Self {
        self.new_axis = axes.to_vec();
        self
    }

    /// Result-sized buffers the function allocates while it runs, besides its result
    /// (default 1): part of each task's predicted footprint, so the memory limit holds.
    pub fn temporaries(mut self, n: usize) -> Self {
        self.temporaries = n;
        self
    }
}

fn function<F>(options: &MapBlocks, f: F) -> BlockFunction
where
    F: Fn(&[BlockRef<'_>], &BlockInfo) -> Result<Block> + Send + Sync + 'static,
{
    BlockFunction::new(
        Arc::new(f),
        options.name.clone(),
        std::any::type_name::<F>().to_string(),
        options.temporaries,
    )
}

/// The inputs' expressions, at least one (`op` and `options` name the call in the error).
fn exprs(inputs: &[&Array], op: &str, options: &MapBlocks) -> Result<Vec<ExprRef>> {
    if inputs.is_empty() {
        return Err(Error::invalid(format!(
            "{op} '{}' needs at least one input array",
            options.name
        )));
    }
    inputs.iter().map(|a| a.expr().cloned()).collect()
}

/// Applies `f` to every block of the aligned `inputs` (dask's `map_blocks`).
///
/// Inputs of the same shape are chunked alike (the common refinement of their chunks); an
/// input of length 1 along an axis broadcasts; axes the output drops are one block. `f`
/// receives one block per input and a [`BlockInfo`] (where the block lies) and returns the
/// output block, of the declared dtype and chunks; another dtype or shape fails the
/// computation with an error naming the block.
///
/// ```
/// use brickwork::{map_blocks, Array, Block, MapBlocks, DType};
/// let x = Array::from_ndarray(ndarray::Array1::range(0.0, 10.0, 1.0).into_dyn(), &[4])?;
/// // Each block minus its own first element.
/// let y = map_blocks(&[&x], &MapBlocks::new("demean_block"), |blocks, _info| {
///     let b = blocks[0].view::<f64>().expect("float64");
///     Ok(Block::from(&b - b[[0]]))
/// })?;
/// assert_eq!(y.compute_as::<f64>()?.iter().copied().collect::<Vec<_>>(),
///            [0., 1., 2., 3., 0., 1., 2., 3., 0., 1.]);
/// # Ok::<(), brickwork::Error>(())
/// ```
///
/// # Errors
/// No inputs, shapes that neither match nor broadcast, axes out of range, chunks with
/// another number of blocks than the inputs have.
pub fn map_blocks<F>(inputs: &[&Array], options: &MapBlocks, f: F) -> Result<Array>
where
    F: Fn(&[BlockRef<'_>], &BlockInfo) -> Result<Block> + Send + Sync + 'static,
{
    let owned = exprs(inputs, "map_blocks", options)?;
    let first = &owned[0];
    let ndim = first.ndim();
    let drop_axis = expr::normalize_axes(&options.drop_axis, ndim)?;
    let out_ndim = (ndim + options.new_axis.len())
        .checked_sub(drop_axis.len())
        .ok_or_else(|| Error::invalid("map_blocks drops more axes than the inputs have"))?;
    let new_axis = expr::normalize_axes(&options.new_axis, out_ndim)?;
    let dtype = options.dtype.unwrap_or(first.dtype());
    Ok(Array::from_expr(expr::map_blocks(
        &owned,
        expr::MapOutput {
            func: function(options, f),
            dtype,
            drop_axis: &drop_axis,
            new_axis: &new_axis,
            chunks: options.chunks.as_deref(),
            overlap: None,
        },
    )?))
}

/// Applies `f` to every block of the aligned `inputs` extended by `depth` elements from the
/// neighbouring blocks on both sides of each axis, and trims the result back to the block
/// (dask's `map_overlap` with `trim=True`): stencils and filters see their whole
/// neighbourhood across block edges. At the array's edges `boundary` says what the halo
/// holds. `f` must return a block of its (extended) input's shape; [`BlockInfo::halo`]
/// says how much was added on each side.
///
/// The inputs must have the same shape; `options` may set the name, dtype and temporaries
/// (the blocks keep their shapes). A depth larger than a chunk is fine: the halo is
/// gathered from as many neighbours as it spans.
///
/// # Errors
/// As [`map_blocks`]; a `depth` of another rank, or deeper than the array where the
/// boundary rule reads the array itself (reflect, mirror, periodic).
pub fn map_overlap<F>(
    inputs: &[&Array],
    depth: &[usize],
    boundary: Boundary,
    options: &MapBlocks,
    f: F,
) -> Result<Array>
where
    F: Fn(&[BlockRef<'_>], &BlockInfo) -> Result<Block> + Send + Sync + 'static,
{
    if options.chunks.is_some() || !options.drop_axis.is_empty() || !options.new_axis.is_empty() {
        return Err(Error::invalid(format!(
            "map_overlap '{}' keeps the blocks' shapes: chunks, drop_axis and new_axis do not apply",
            options.name
        )));
    }
    let owned = exprs(inputs, "map_overlap", options)?;
    let first = &owned[0];
    let dtype = options.dtype.unwrap_or(first.dtype());
    Ok(Array::from_expr(expr::map_blocks(
        &owned,
        expr::MapOutput {
            func: function(options, f),
            dtype,
            drop_axis: &[],
            new_axis: &[],
            chunks: None,
            overlap: Some(Overlap {
                depth: depth.to_vec(),
                boundary,
            }),
        },
    )?))
}

/// Checks that a typed function's input type is the array's dtype.
fn check_input<T: BlockElement>(x: &Array, op: &str) -> Result<()> {
    if x.dtype() != T::DTYPE {
        return Err(Error::invalid(format!(
            "{op}: the function takes {} blocks but the array is {} (use astype)",
            T::DTYPE,
            x.dtype()
        )));
    }
    Ok(())
}

/// Wraps a typed shape-keeping function as a block function.
fn typed<T, U, F>(
    f: F,
) -> impl Fn(&[BlockRef<'_>], &BlockInfo) -> Result<Block> + Send + Sync + 'static
where
    T: BlockElement,
    U: BlockElement,
    F: Fn(ArrayViewD<'_, T>) -> ArrayD<U> + Send + Sync + 'static,
{
    move |blocks, _info| {
        let view = blocks[0]
            .view::<T>()
            .ok_or_else(|| Error::internal("a block of another dtype than the function's"))?;
        Ok(U::wrap(f(view)))
    }
}

impl Array {
    /// Applies a typed function to every block (the common case of [`map_blocks`]: one
    /// input, blocks keep their shapes, the result's dtype is `U`'s).
    ///
    /// ```
    /// use brickwork::Array;
    /// let x = Array::from_ndarray(ndarray::Array1::range(0.0, 6.0, 1.0).into_dyn(), &[4])?;
    /// let y = x.map_blocks(|b: ndarray::ArrayViewD<f64>| b.mapv(|v| v * v))?;
    /// assert_eq!(y.compute_as::<f64>()?.iter().copied().collect::<Vec<_>>(),
    ///            [0., 1., 4., 9., 16., 25.]);
    /// # Ok::<(), brickwork::Error>(())
    /// ```
    ///
    /// # Errors
    /// `T` not the array's dtype.
    pub fn map_blocks<T, U, F>(&self, f: F) -> Result<Array>
    where
        T: BlockElement,
        U: BlockElement,
        F: Fn(ArrayViewD<'_, T>) -> ArrayD<U> + Send + Sync + 'static,
    {
        check_input::<T>(self, "map_blocks")?;
        map_blocks(&[self], &MapBlocks::default().dtype(U::DTYPE), typed(f))
    }

    /// Applies a typed function to every block extended by `depth` per axis, and trims
    /// the result (the common case of [`map_overlap`]: `f` returns a block of its input's
    /// shape).
    ///
    /// ```
    /// use brickwork::{Array, Boundary};
    /// use ndarray::ArrayViewD;
    /// let x = Array::from_ndarray(ndarray::Array1::range(0.0, 8.0, 1.0).into_dyn(), &[3])?;
    /// // A 3-point moving sum: each element plus its neighbours (reflected at the edges).
    /// let y = x.map_overlap(&[1], Boundary::Reflect, |b: ArrayViewD<f64>| {
    ///     let mut out = b.to_owned();
    ///     let n = b.len();
    ///     for i in 1..n - 1 { out[[i]] = b[[i - 1]] + b[[i]] + b[[i + 1]]; }
    ///     out
    /// })?;
    /// assert_eq!(y.compute_as::<f64>()?.iter().copied().collect::<Vec<_>>(),
    ///            [1., 3., 6., 9., 12., 15., 18., 20.]);
    /// # Ok::<(), brickwork::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`map_overlap`]; `T` not the array's dtype.
    pub fn map_overlap<T, U, F>(&self, depth: &[usize], boundary: Boundary, f: F) -> Result<Array>
    where
        T: BlockElement,
        U: BlockElement,
        F: Fn(ArrayViewD<'_, T>) -> ArrayD<U> + Send + Sync + 'static,
    {
        check_input::<T>(self, "map_overlap")?;
        map_overlap(
            &[self],
            depth,
            boundary,
            &MapBlocks::new("map_overlap").dtype(U::DTYPE),
            typed(f),
        )
    }
}
