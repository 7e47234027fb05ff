//! User kernels: [`map_blocks`] runs a Rust function over aligned blocks, [`map_overlap`]
//! over blocks extended by a halo from their neighbours (stencils, filters), trimmed after.
//!
//! The function is a node of the graph like any other: its inputs are fused programs (a
//! function of `x + 1` reads `x`'s chunks and adds in the same task), its blocks are
//! culled, spilled and counted in the predicted peak, and it runs on every core. Each call
//! receives whole blocks (stencils are never split by the executor's tiling) and returns
//! one block, checked against the declared dtype and shape.
//!
//! A kernel is the caller's code: it returns `Result<Block, E>` for any error type `E` that
//! converts into `Box<dyn std::error::Error + Send + Sync>` (so `?` works on I/O, parse
//! and the caller's own errors), and its error fails the computation as
//! [`Error::Kernel`] (its name, the block, and the error as the source). A kernel that
//! panics fails it as [`Error::KernelPanicked`], and the panic is not printed by the
//! panic hook (one error, not one message per worker thread). brickwork's own uses of
//! these nodes (filters, `vindex`, `tsqr`, …) go through [`map_blocks_internal`]: their
//! errors are brickwork's, and their panics bugs.

use std::cell::{Cell, RefCell};
use std::sync::{Arc, Once};

use ndarray::{ArrayD, ArrayViewD};

use super::Array;
use crate::block::{Block, BlockElement, BlockRef};
use crate::dtype::DType;
use crate::error::{BoxError, Error, Result};
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
    whole: Vec<Vec<usize>>,
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
            whole: Vec::new(),
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

    /// Passes input `input` whole along `axes`: one block there, given with every block of
    /// the other inputs along those axes, whatever its length (the blocked factorizations'
    /// panels and pivot blocks).
    pub(crate) fn whole(mut self, input: usize, axes: &[usize]) -> Self {
        if self.whole.len() <= input {
            self.whole.resize(input + 1, Vec::new());
        }
        self.whole[input].extend_from_slice(axes);
        self
    }
}

/// One of brickwork's own block functions: its errors pass through as they are.
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

/// A caller's kernel: its error becomes [`Error::Kernel`], its panic
/// [`Error::KernelPanicked`], both naming the kernel and the block.
fn user_function<F, E>(options: &MapBlocks, f: F) -> BlockFunction
where
    F: Fn(&[BlockRef<'_>], &BlockInfo) -> std::result::Result<Block, E> + Send + Sync + 'static,
    E: Into<BoxError>,
{
    quiet_kernel_panics();
    let op = options.name.clone();
    let g = move |blocks: &[BlockRef<'_>], info: &BlockInfo| -> Result<Block> {
        match call_kernel(|| f(blocks, info)) {
            Ok(Ok(block)) => Ok(block),
            Ok(Err(e)) => Err(Error::Kernel {
                op: op.clone(),
                block: info.block.clone(),
                source: e.into(),
            }),
            Err(message) => Err(Error::KernelPanicked {
                op: op.clone(),
                block: info.block.clone(),
                message,
            }),
        }
    };
    BlockFunction::new(
        Arc::new(g),
        options.name.clone(),
        std::any::type_name::<F>().to_string(),
        options.temporaries,
    )
}

thread_local! {
    /// Set while this thread runs a caller's kernel: the panic hook stays quiet.
    static IN_KERNEL: Cell<bool> = const { Cell::new(false) };
    /// Where the kernel running on this thread panicked (file:line:column).
    static PANIC_AT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once per process) a panic hook that records where a caller's kernel panicked
/// instead of printing it (the panic is reported once, as [`Error::KernelPanicked`]); every
/// other panic goes to the hook that was there before.
fn quiet_kernel_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_KERNEL.with(Cell::get) {
                let at = info.location().map(|l| l.to_string());
                PANIC_AT.with(|p| *p.borrow_mut() = at);
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs a caller's kernel, catching its panic as its message (with where it was raised).
fn call_kernel<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    let was = IN_KERNEL.with(|k| k.replace(true));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    IN_KERNEL.with(|k| k.set(was));
    outcome.map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        match PANIC_AT.with(|p| p.borrow_mut().take()) {
            Some(at) => format!("{message} (at {at})"),
            None => message,
        }
    })
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
///     let b = blocks[0].view::<f64>().ok_or("not float64")?;
///     Ok::<_, &str>(Block::from(&b - b[[0]]))
/// })?;
/// assert_eq!(y.compute_as::<f64>()?.iter().copied().collect::<Vec<_>>(),
///            [0., 1., 2., 3., 0., 1., 2., 3., 0., 1.]);
/// # Ok::<(), brickwork::Error>(())
/// ```
///
/// The kernel's error type is its own: any `E` that converts into `Box<dyn Error + Send +
/// Sync>`. Name it in the closure's return type when the body does not (a closure that
/// only returns `Ok(..)` leaves `E` unknown):
///
/// ```
/// use brickwork::{map_blocks, Array, Block, Error, MapBlocks};
/// type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// let x = Array::from_ndarray(ndarray::Array1::range(0.0, 4.0, 1.0).into_dyn(), &[2])?;
/// let y = map_blocks(&[&x], &MapBlocks::new("scale"), |blocks, _| -> Result<Block, BoxError> {
///     let factor: f64 = "2.5".parse()?; // a ParseFloatError would fail the computation
///     Ok(Block::from(blocks[0].view::<f64>().ok_or("not float64")?.mapv(|v| v * factor)))
/// })?;
/// assert_eq!(y.compute_as::<f64>()?.iter().copied().collect::<Vec<_>>(), [0., 2.5, 5., 7.5]);
/// // A kernel's error names the kernel and the block, and keeps the kernel's error.
/// let z = map_blocks(&[&x], &MapBlocks::new("odd"), |blocks, info| -> Result<Block, BoxError> {
///     if info.block == [1] {
///         return Err(format!("no block {:?} here", info.block).into());
///     }
///     Ok(Block::from(blocks[0].view::<f64>().ok_or("not float64")?.to_owned()))
/// })?;
/// match z.compute() {
///     Err(Error::Kernel { op, block, source }) => {
///         assert_eq!((op.as_str(), block), ("odd", vec![1]));
///         assert_eq!(source.to_string(), "no block [1] here");
///     }
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), brickwork::Error>(())
/// ```
///
/// # Errors
/// No inputs, shapes that neither match nor broadcast, axes out of range, chunks with
/// another number of blocks than the inputs have. When computed: [`Error::Kernel`] for
/// the kernel's error, [`Error::KernelPanicked`] for its panic.
pub fn map_blocks<F, E>(inputs: &[&Array], options: &MapBlocks, f: F) -> Result<Array>
where
    F: Fn(&[BlockRef<'_>], &BlockInfo) -> std::result::Result<Block, E> + Send + Sync + 'static,
    E: Into<BoxError>,
{
    build_map_blocks(inputs, options, user_function(options, f))
}

/// [`map_blocks`] for brickwork's own block functions (their errors are ours and pass
/// through; their panics are bugs).
pub(crate) fn map_blocks_internal<F>(inputs: &[&Array], options: &MapBlocks, f: F) -> Result<Array>
where
    F: Fn(&[BlockRef<'_>], &BlockInfo) -> Result<Block> + Send + Sync + 'static,
{
    build_map_blocks(inputs, options, function(options, f))
}

fn build_map_blocks(inputs: &[&Array], options: &MapBlocks, func: BlockFunction) -> Result<Array> {
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
            func,
            dtype,
            drop_axis: &drop_axis,
            new_axis: &new_axis,
            chunks: options.chunks.as_deref(),
            overlap: None,
            whole: &options.whole,
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
/// As [`map_blocks`]; a `depth` of another rank ([`Error::RankMismatch`]), or deeper than
/// the array where the boundary rule reads the array itself (reflect, mirror, periodic).
pub fn map_overlap<F, E>(
    inputs: &[&Array],
    depth: &[usize],
    boundary: Boundary,
    options: &MapBlocks,
    f: F,
) -> Result<Array>
where
    F: Fn(&[BlockRef<'_>], &BlockInfo) -> std::result::Result<Block, E> + Send + Sync + 'static,
    E: Into<BoxError>,
{
    let func = user_function(options, f);
    build_map_overlap(inputs, depth, boundary, options, func)
}

/// [`map_overlap`] for brickwork's own block functions (see [`map_blocks_internal`]).
pub(crate) fn map_overlap_internal<F>(
    inputs: &[&Array],
    depth: &[usize],
    boundary: Boundary,
    options: &MapBlocks,
    f: F,
) -> Result<Array>
where
    F: Fn(&[BlockRef<'_>], &BlockInfo) -> Result<Block> + Send + Sync + 'static,
{
    build_map_overlap(inputs, depth, boundary, options, function(options, f))
}

fn build_map_overlap(
    inputs: &[&Array],
    depth: &[usize],
    boundary: Boundary,
    options: &MapBlocks,
    func: BlockFunction,
) -> Result<Array> {
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
            func,
            dtype,
            drop_axis: &[],
            new_axis: &[],
            chunks: None,
            overlap: Some(Overlap {
                depth: depth.to_vec(),
                boundary,
            }),
            whole: &[],
        },
    )?))
}

/// Checks that a typed function's input type is the array's dtype.
fn check_input<T: BlockElement>(x: &Array, op: &str) -> Result<()> {
    let dtype = x.try_dtype()?;
    if dtype != T::DTYPE {
        return Err(Error::DTypeMismatch {
            op: op.into(),
            expected: T::DTYPE,
            found: dtype,
            hint: format!("the function takes {} blocks; use astype", T::DTYPE),
        });
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
