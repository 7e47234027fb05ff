//! Leaf: block kernels. Pure functions from blocks to blocks, per dtype, with no knowledge
//! of plans, tasks or stores: elementwise functions, reductions, the counter-based random
//! generator and other generators, and gathering a strided, transposed view out of the
//! blocks of another grid.
//!
//! *Internal*: public only for the CLI, the Python package and the benchmarks of this
//! repository; no stability promise (see the crate's map).

#[cfg(feature = "openblas")]
pub mod blas;
pub mod contract;
pub mod dense;
pub mod distributions;
pub mod elementwise;
pub mod fft;
pub mod filter;
pub mod gather;
pub mod generate;
pub mod histogram;
pub mod lu;
pub mod overlap;
pub mod qr;
pub mod random;
pub mod reduce;
pub mod scan;
pub mod sort;

use ndarray::{ArrayD, Axis, Slice};

use crate::block::{Block, BlockElement};
use crate::error::{Error, Result};
pub use reduce::Partial;

/// Held while a process forks worker processes ([`crate::Scheduler::Processes`]): no thread
/// is inside a C library whose locks a forked child would inherit held and never see
/// released (OpenBLAS takes a mutex around its buffer allocator on every product; a child
/// forked while another thread held it waited forever). Drop it in the parent after the
/// last fork, and in each child before it runs anything.
#[must_use = "forking is safe only while the guard lives"]
pub struct ForkGuard {
    #[cfg(feature = "openblas")]
    _blas: blas::Quiesced,
}

impl Drop for ForkGuard {
    /// Lets calls into the libraries go on (the fields' own drops release them).
    fn drop(&mut self) {}
}

/// Waits until no thread is inside such a library, and keeps new calls out until the
/// guard drops (see [`ForkGuard`]).
pub fn quiesce_for_fork() -> ForkGuard {
    ForkGuard {
        #[cfg(feature = "openblas")]
        _blas: blas::quiesce(),
    }
}

/// Copies `src` into `dst` at `offset` along `axis` (all other axes match).
pub fn place_array<T: Clone>(dst: &mut ArrayD<T>, axis: usize, offset: usize, src: &ArrayD<T>) {
    let mut v = dst.view_mut();
    v.slice_axis_inplace(Axis(axis), Slice::from(offset..offset + src.shape()[axis]));
    v.assign(src);
}

/// Copies block `src` into block `dst` at `offset` along `axis`.
///
/// # Errors
/// Blocks of different dtypes (a bug in the caller).
pub fn place(dst: &mut Block, axis: usize, offset: usize, src: &Block) -> Result<()> {
    crate::dispatch_dtype!(src.dtype(), T => {
        let s = T::view(src).expect("dtype matched");
        let d = T::view_mut(dst).ok_or_else(|| Error::internal("placing a block of another dtype"))?;
        place_array(d, axis, offset, s);
    });
    Ok(())
}

/// What a task produces and its users take: a block of an array, or a partial reduction.
/// (Named apart from the expression front end's `parse::Value`, a run-time value of the
/// language, which can be an array, a scalar, a string...)
#[derive(Clone, Debug, PartialEq)]
pub enum Datum {
    /// A block of an array.
    Block(Block),
    /// A block of an array read in place from a memory-mapped chunk file.
    Mapped(crate::block::MappedBlock),
    /// A partial reduction.
    Partial(Partial),
}

impl Datum {
    /// Bytes held.
    pub fn nbytes(&self) -> usize {
        match self {
            Datum::Block(b) => b.nbytes(),
            Datum::Mapped(m) => m.nbytes(),
            Datum::Partial(p) => p.nbytes(),
        }
    }

    /// The datum as a borrowed block, `None` for a partial.
    pub fn as_block(&self) -> Option<crate::block::BlockRef<'_>> {
        match self {
            Datum::Block(b) => Some(crate::block::BlockRef::Block(b)),
            Datum::Mapped(m) => Some(crate::block::BlockRef::Mapped(m)),
            Datum::Partial(_) => None,
        }
    }
}
