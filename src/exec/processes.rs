//! The processes scheduler ([`crate::Scheduler::Processes`]): tasks run in `n` worker OS
//! processes on this machine.
//!
//! **The choice**: the workers are children of this process made by `fork(2)` once the plan
//! is scheduled, not MPI ranks on localhost and not fresh copies of the binary. A forked
//! worker has the plan in memory as it is, user kernels (`map_blocks` closures) included, so
//! nothing but blocks crosses a process boundary, no plan format is needed, and it works
//! from any program linking the library, with no launcher and no MPI installed. This is
//! Python's `fork` start method, which dask's processes scheduler has used on Linux; Linux
//! only (`prctl`).
//!
//! **Who does what**: this process stays the scheduler, as dask's does. It runs the threads
//! scheduler's loop with one thread per worker process, and owns everything stateful: the
//! memory pool and its limit, the spill store, read-backs and recomputations, the sinks
//! (output chunks are written here) and the dashboard's record. A worker only runs tasks:
//! it receives a task's id and its input blocks over a Unix socket (the spill store's
//! block format; a source chunk mapped in place is not copied: the worker maps the same
//! file), runs the task (reading its own source chunks), and sends back the value,
//! or the task's error with its causes, or the panic's message. Results are bit-identical
//! to the synchronous scheduler's: the same kernels combine the same inputs in the same
//! order.
//!
//! **Memory**: while a task runs, its worker holds a copy of its inputs, its output and its
//! scratch, besides what this process holds; [`footprint`] reserves those too, so the limit
//! bounds both sides.
//!
//! **Safety of forking a threaded process**: the fork happens on the thread that computes,
//! before the worker threads start, while [`crate::kernel::quiesce_for_fork`] keeps every
//! other thread out of the C libraries whose locks a child would inherit held (OpenBLAS:
//! a child forked while another thread was inside `cblas_dgemm` waited forever on its
//! allocator's mutex). A worker touches nothing else another thread could have held
//! locked at that moment but the allocator (glibc's and mimalloc's are fork-aware): it
//! starts no thread (Rust's runtime takes a process-wide lock as a thread starts), serves
//! on the forked thread made the one thread of a rayon pool of its own (so a store's
//! parallel decoding never reaches the parent's pools, whose threads do not exist in the
//! child), and leaves with `_exit`, running no destructor of the parent's state. It dies with the thread that forked it
//! (`PR_SET_PDEATHSIG`), and reads end-of-file when this process closes its socket.

use std::io::{BufReader, BufWriter, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::remote::{Ran, RunTasks, read_reply, serve_request, write_request};
use super::spill::get_u64;
use crate::error::{Error, Result};
use crate::kernel::Datum;
use crate::plan::Plan;
use crate::schedule::{TaskGraph, TaskId};

/// Socket buffer size for block transfers.
const BUFFER: usize = 1 << 20;

/// The worker processes of one computation, one per worker thread of the scheduler. They
/// exit when this is dropped.
pub(super) struct Workers {
    workers: Vec<Mutex<Worker>>,
}

struct Worker {
    pid: libc::pid_t,
    stream: UnixStream,
    /// Set once the worker has failed to answer: it is not asked again.
    dead: Option<String>,
}

impl Workers {
    /// Forks `n` workers serving tasks of `graph`, a task graph of `plan`.
    ///
    /// # Errors
    /// A socket pair or a process cannot be created (too many processes, say); the workers
    /// already started are stopped.
    pub(super) fn start(plan: &Plan, graph: &TaskGraph, n: usize) -> Result<Workers> {
        let io = |what: &str, source: std::io::Error| Error::Io {
            path: what.into(),
            source,
        };
        // All sockets first: each worker closes every end but its own.
        let mut ends: Vec<(Option<UnixStream>, Option<UnixStream>)> = Vec::with_capacity(n);
        for _ in 0..n {
            let (here, there) =
                UnixStream::pair().map_err(|e| io("(a socket pair for a worker process)", e))?;
            ends.push((Some(here), Some(there)));
        }
        let parent = std::process::id();
        let mut started = Workers {
            workers: Vec::with_capacity(n),
        };
        // No thread is inside a C library whose lock the children would inherit held.
        let mut quiet = Some(crate::kernel::quiesce_for_fork());
        for i in 0..n {
            // SAFETY: the child runs only `serve`, which allocates, reads its own socket
            // and sources, and leaves with `_exit` (see the module's notes).
            let pid = unsafe { libc::fork() };
            if pid < 0 {
                return Err(io(
                    "(starting a worker process)",
                    std::io::Error::last_os_error(),
                ));
            }
            if pid == 0 {
                drop(quiet.take());
                let own = ends[i].1.take();
                // Close every other socket end, and the ends of the workers started before.
                drop(ends);
                for w in started.workers.drain(..) {
                    let w = w.into_inner().unwrap_or_else(|p| p.into_inner());
                    drop(w.stream);
                }
                std::mem::forget(started);
                serve(plan, graph, own, parent);
            }
            ends[i].1 = None;
            let stream = ends[i].0.take().expect("each parent end is taken once");
            started.workers.push(Mutex::new(Worker {
                pid,
                stream,
                dead: None,
            }));
        }
        drop(quiet);
        Ok(started)
    }
}

impl RunTasks for Workers {
    /// Runs task `t` in worker process `row`.
    ///
    /// # Errors
    /// The task's error or panic in the worker ([`Error::Worker`] with its message), or the
    /// worker died (with how: the signal that killed it, or its exit status).
    fn run(
        &self,
        plan: &Plan,
        graph: &TaskGraph,
        row: usize,
        t: TaskId,
        inputs: &[(TaskId, Arc<Datum>)],
    ) -> Result<Ran> {
        let mut w = self.workers[row].lock().unwrap_or_else(|p| p.into_inner());
        let failed = |w: &Worker, detail: String| Error::Worker {
            worker: row,
            pid: w.pid as u32,
            detail,
        };
        if let Some(how) = &w.dead {
            return Err(failed(&w, how.clone()));
        }
        let exchanged = (|| {
            let mut out = BufWriter::with_capacity(BUFFER, &w.stream);
            write_request(&mut out, t, inputs)?;
            out.flush()?;
            drop(out);
            read_reply(
                &mut BufReader::with_capacity(BUFFER, &w.stream),
                plan,
                graph,
                t,
            )
        })();
        match exchanged {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(failure)) => {
                let place = format!("worker process {row}, pid {}", w.pid);
                Err(failure.into_error(&place, |message| failed(&w, message)))
            }
            Err(e) => {
                let stage = &plan.stages[graph.stage[t as usize] as usize];
                let how = format!(
                    "the worker process stopped answering ({}) while running {} block {:?}",
                    exit_status(w.pid).unwrap_or_else(|| format!("connection lost: {e}")),
                    stage.name,
                    graph.block_index(plan, t)
                );
                w.dead = Some(how.clone());
                Err(failed(&w, how))
            }
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for w in &mut self.workers {
            let w = w.get_mut().unwrap_or_else(|p| p.into_inner());
            // The worker reads end-of-file and exits.
            let _ = w.stream.shutdown(std::net::Shutdown::Both);
        }
        for w in &mut self.workers {
            let w = w.get_mut().unwrap_or_else(|p| p.into_inner());
            reap(w.pid);
        }
    }
}

/// Waits for a worker that was told to stop: it exits at once unless it is running a task,
/// which it finishes first; after a minute it is killed.
fn reap(pid: libc::pid_t) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut status = 0;
        // SAFETY: waitpid on our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r != 0 {
            return;
        }
        if Instant::now() > deadline {
            // SAFETY: signalling our own child, then reaping it.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// How a worker that stopped answering ended, once it has (waiting up to a second): `None`
/// if it is still running.
fn exit_status(pid: libc::pid_t) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let mut status = 0;
        // SAFETY: waitpid on our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return Some(if libc::WIFSIGNALED(status) {
                let sig = libc::WTERMSIG(status);
                let name = match sig {
                    libc::SIGKILL => " (SIGKILL: killed, by the out-of-memory killer or a user)",
                    libc::SIGSEGV => " (SIGSEGV)",
                    libc::SIGABRT => " (SIGABRT)",
                    libc::SIGTERM => " (SIGTERM)",
                    libc::SIGINT => " (SIGINT)",
                    libc::SIGBUS => " (SIGBUS)",
                    _ => "",
                };
                format!("killed by signal {sig}{name}")
            } else {
                format!("exited with status {}", libc::WEXITSTATUS(status))
            });
        }
        if r < 0 || Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A worker: serves tasks on `stream` until this process closes it, then exits. Never
/// returns.
fn serve(plan: &Plan, graph: &TaskGraph, stream: Option<UnixStream>, parent: u32) -> ! {
    // SAFETY: prctl and getppid have no memory effects; `_exit` ends the process without
    // running the parent's destructors or flushing its buffers.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() as u32 != parent {
            libc::_exit(1);
        }
    }
    let Some(stream) = stream else {
        // SAFETY: see above.
        unsafe { libc::_exit(1) }
    };
    // This thread becomes the one thread of a rayon pool of its own, so that a store's
    // parallel decoding runs here rather than in the parent's pools, whose threads do not
    // exist in this process. No thread is started: starting one takes a lock of Rust's
    // runtime that another thread of the parent may have held at the fork (a child once
    // waited for it forever). A thread that already works for a pool keeps it: its rayon
    // calls then run on this thread, as nobody is left to take its jobs.
    let serve_here = || match serve_tasks(plan, graph, &stream) {
        Ok(()) => 0,
        Err(_) => 1,
    };
    let code = match rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .use_current_thread()
        .build()
    {
        Ok(residency) => residency.install(serve_here),
        Err(_) => serve_here(),
    };
    // SAFETY: see above.
    unsafe { libc::_exit(code) }
}

/// Serves tasks until end-of-file.
fn serve_tasks(plan: &Plan, graph: &TaskGraph, stream: &UnixStream) -> std::io::Result<()> {
    let mut r = BufReader::with_capacity(BUFFER, stream);
    let mut w = BufWriter::with_capacity(BUFFER, stream);
    loop {
        let t = match get_u64(&mut r) {
            Ok(t) => t as TaskId,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        };
        serve_request(plan, graph, t, &mut r, &mut w, None, None)?;
        w.flush()?;
    }
}
