//! The binary on the ranks of an MPI job (`mpirun -n N brickwork ...`, feature `mpi`).
//!
//! MPI is initialized the first time a command asks for the mpi scheduler (explicitly with
//! `--scheduler mpi`, or by default when started by an MPI launcher with several ranks)
//! and finalized when the command ends. Rank 0 prints; the other ranks' standard output and
//! error are silenced (their figures and results would repeat rank 0's), except for their
//! own errors. A rank that fails aborts the whole job after printing why, so that no rank
//! waits forever for it.

use std::io::Write;
use std::sync::Mutex;

use mpi::topology::{Communicator, SimpleCommunicator};

/// The MPI environment, while a command runs on the ranks, and a copy of the real
/// standard error of a rank other than 0.
struct Session {
    universe: brickwork::mpi::Universe,
    stderr: Option<std::fs::File>,
}

// SAFETY: the session is only taken out at the end of `main`, on the main thread.
unsafe impl Send for Session {}

static SESSION: Mutex<Option<Session>> = Mutex::new(None);

/// Whether commands run on MPI by default: started by a launcher with several ranks.
pub(crate) fn by_default() -> bool {
    brickwork::mpi::launched()
}

/// Initializes MPI once; on a rank other than 0, silences standard output and error.
pub(crate) fn start() -> anyhow::Result<()> {
    let mut session = SESSION.lock().unwrap_or_else(|p| p.into_inner());
    if session.is_some() {
        return Ok(());
    }
    let universe = brickwork::mpi::initialize()?;
    let rank = universe.world().rank();
    let mut stderr = None;
    if rank != 0 {
        std::io::stdout().flush().ok();
        // SAFETY: duplicating and replacing this process's own descriptors 1 and 2.
        unsafe {
            let saved = libc::dup(2);
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
            if saved >= 0 && null >= 0 {
                libc::dup2(null, 1);
                libc::dup2(null, 2);
                libc::close(null);
                use std::os::fd::FromRawFd;
                stderr = Some(std::fs::File::from_raw_fd(saved));
            }
        }
    }
    *session = Some(Session { universe, stderr });
    Ok(())
}

/// Ends the session, if one started: finalizes MPI after a success; after a failure,
/// prints the error (with the rank) and aborts the job. Returns whether it handled the
/// error.
pub(crate) fn finish(error: Option<&anyhow::Error>) -> bool {
    let session = SESSION.lock().unwrap_or_else(|p| p.into_inner()).take();
    let Some(mut session) = session else {
        return false;
    };
    let Some(err) = error else {
        drop(session.universe);
        return false;
    };
    let world = SimpleCommunicator::world();
    let (rank, size) = (world.rank(), world.size());
    let text = if size > 1 {
        format!("error (rank {rank} of {size}): {err:#}\n")
    } else {
        format!("error: {err:#}\n")
    };
    match session.stderr.as_mut() {
        Some(f) => {
            let _ = f.write_all(text.as_bytes());
        }
        None => eprint!("{text}"),
    }
    if size > 1 {
        // Nobody may wait for this rank: the launcher stops them all.
        world.abort(1);
    }
    drop(session.universe);
    true
}
