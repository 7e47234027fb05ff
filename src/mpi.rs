//! Running on the ranks of an MPI job (cargo feature `mpi`): see [`crate::Scheduler::Mpi`].
//!
//! Every rank runs the same program; each computation with [`ComputeOptions::mpi`] runs
//! on all ranks together and returns the same result on each (a Zarr write is made once,
//! by rank 0). From a program of one's own:
//!
//! ```no_run
//! use brickwork::{Array, ComputeOptions};
//! let universe = brickwork::mpi::initialize()?; // MPI_Init_thread(MPI_THREAD_FUNNELED)
//! let x = Array::random(&[4000, 4000], &[1000, 1000], 0)?;
//! let (total, _) = x.sum()?.compute_with(&ComputeOptions::mpi())?;
//! if brickwork::mpi::rank() == Some(0) {
//!     println!("{total:?}");
//! }
//! drop(universe); // MPI_Finalize
//! # Ok::<(), brickwork::Error>(())
//! ```
//!
//! Only the thread that calls `compute` calls MPI (each rank computes on threads of its own,
//! which never do): a program that initializes MPI itself needs `Threading::Funneled` when
//! it computes on the thread that initialized MPI, `Threading::Serialized` otherwise.
//!
//! [`ComputeOptions::mpi`]: crate::ComputeOptions::mpi

use mpi::topology::Communicator;

use crate::error::{Error, Result};

/// The MPI environment of this process: MPI is finalized when it is dropped.
pub use ::mpi::environment::Universe;

/// Initializes MPI with `MPI_THREAD_FUNNELED`: computations call MPI only from the thread
/// that calls them, which must then be this one.
///
/// # Errors
/// MPI was already initialized, or the MPI library does not offer `MPI_THREAD_FUNNELED`.
pub fn initialize() -> Result<Universe> {
    let (universe, threading) = ::mpi::initialize_with_threading(::mpi::Threading::Funneled)
        .ok_or_else(|| Error::invalid("MPI is already initialized"))?;
    if threading == ::mpi::Threading::Single {
        return Err(Error::invalid(
            "the MPI library offers only MPI_THREAD_SINGLE, and brickwork needs \
             MPI_THREAD_FUNNELED (its ranks compute on threads that never call MPI)",
        ));
    }
    Ok(universe)
}

/// This process's rank in the world communicator, once MPI is initialized.
pub fn rank() -> Option<i32> {
    (::mpi::environment::is_initialized() && !::mpi::environment::is_finalized())
        .then(|| ::mpi::topology::SimpleCommunicator::world().rank())
}

/// The number of ranks in the world communicator, once MPI is initialized.
pub fn size() -> Option<i32> {
    (::mpi::environment::is_initialized() && !::mpi::environment::is_finalized())
        .then(|| ::mpi::topology::SimpleCommunicator::world().size())
}

/// Whether this process was started by an MPI launcher (`mpirun`, `srun`, `mpiexec`) as
/// one of several ranks, from the environment the launcher sets (Open MPI's
/// `OMPI_COMM_WORLD_SIZE`, MPICH's and `srun --mpi=pmi2`'s `PMI_SIZE`; under `srun
/// --mpi=pmix`, which sets no size, `PMIX_RANK` in a step of several tasks,
/// `SLURM_STEP_NUM_TASKS`: the batch script itself, outside `srun`, is not a rank).
pub fn launched() -> bool {
    let more_than_one = |v: &str| {
        std::env::var(v)
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
            .is_some_and(|n| n > 1)
    };
    more_than_one("OMPI_COMM_WORLD_SIZE")
        || more_than_one("PMI_SIZE")
        || (std::env::var_os("PMIX_RANK").is_some() && more_than_one("SLURM_STEP_NUM_TASKS"))
}
