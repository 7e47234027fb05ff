//! A worker rank: one progress loop and one compute thread.
//!
//! The loop takes the tasks rank 0 sends into a ready queue (by priority), admits them into
//! this rank's [`Residency`] (at most two at once: one computing, the next one fetching its
//! inputs meanwhile), asks the holders of inputs held elsewhere for them (`FETCH`), hands
//! a task whose inputs are all here to the compute thread, and reports each finished task
//! to rank 0 (`DONE`) after its output is kept or written. Meanwhile it serves the other
//! workers' fetches of the outputs it holds: from memory, from its spill store, or, for a
//! block it dropped because it is cheap to compute again, by telling the asker to compute
//! it itself (`RECOMPUTE`). A fetch of a block being brought back here waits for it; while
//! more than 64 MiB of sends are in flight, further fetches wait their turn.
//!
//! Only the loop calls MPI; the compute thread runs [`Ctx::run_guarded`] on admissions
//! and hands them back over a channel, which is also what the loop waits on when idle.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};

use super::link::{Assembly, Link, Received, pieces, tag};
use super::root::put_metrics;
use super::{Held, Layout};
use crate::block::Block;
use crate::error::{Error, Result};
use crate::exec::remote::put_error;
use crate::exec::residency::{self, Admission, Decision, Missing, Residency};
use crate::exec::spill::{decode, encode, get_u64, put_u64};
use crate::exec::task::Ctx;
use crate::kernel::Datum;
use crate::metrics::Metrics;
use crate::schedule::{Footprint, TaskId};
use crate::store::Sink;

/// Bytes of fetched blocks in flight from this rank beyond which further fetches wait.
const SENDING_AT_MOST: usize = 64 << 20;

/// What the compute thread gives back: the admission, the task's figures and its outcome.
type Ran = (
    Admission,
    Metrics,
    Result<(Vec<residency::Restored>, Option<Datum>)>,
);

/// Runs the tasks rank 0 sends until it says the run is over; returns this rank's figures
/// (or the run's error) and the blocks of in-memory results it computed.
pub(super) fn run(
    ctx: &Ctx<'_>,
    layout: &Layout,
    footprint: &Footprint,
    link: Link,
) -> (Result<Metrics>, Vec<Held>) {
    let me = link.rank();
    let uses = layout.uses_on(ctx.graph, me);
    let mut residency = Residency::with_users(
        ctx.plan,
        ctx.graph,
        &footprint.need,
        &footprint.output,
        ctx.limit,
        // Every rank plans the whole graph and keeps a table of every task.
        ctx.schedule_bytes + ctx.graph.len() as u64 * super::super::residency::TASK_STATE_BYTES,
        uses,
    );
    for t in 0..ctx.graph.len() {
        if layout.local[t] {
            residency.mark_unread(t as TaskId);
        }
    }
    let held = Mutex::new(Vec::new());
    let holds: Vec<Hold<'_>> = ctx
        .sinks
        .iter()
        .enumerate()
        .map(|(index, inner)| Hold {
            inner: *inner,
            index,
            held: &held,
        })
        .collect();
    let sinks: Vec<&dyn Sink> = holds.iter().map(|h| h as &dyn Sink).collect();
    let wctx = Ctx {
        plan: ctx.plan,
        graph: ctx.graph,
        position: ctx.position,
        sinks: &sinks,
        opts: ctx.opts,
        total: ctx.total,
        limit: ctx.limit,
        schedule_bytes: ctx.schedule_bytes,
        spill: ctx.spill,
        cpu: None,
        remote: None,
    };
    let (jobs, todo) = mpsc::channel::<Admission>();
    let (finished, ran) = mpsc::channel::<Ran>();
    let row = (me - 1) as usize;
    let outcome = std::thread::scope(|s| {
        let computing = std::thread::Builder::new()
            .name(format!("brickwork-rank-{me}"))
            .spawn_scoped(s, || {
                for mut adm in todo {
                    let mut local = Metrics::default();
                    let result = wctx.run_guarded(&mut adm, &mut local, row);
                    if finished.send((adm, local, result)).is_err() {
                        return;
                    }
                }
            });
        if let Err(e) = computing {
            return Err(Error::internal_from("cannot start a compute thread", e));
        }
        let mut worker = Worker {
            ctx: &wctx,
            layout,
            me,
            residency,
            link,
            ready: BinaryHeap::new(),
            pending: Vec::new(),
            computing: false,
            deferred: Vec::new(),
            assembly: Assembly::default(),
            stop: None,
            failed: false,
        };
        let outcome = worker.serve(&jobs, &ran);
        drop(jobs);
        outcome
    });
    let held = held.into_inner().unwrap_or_else(|p| p.into_inner());
    (outcome, held)
}

/// An admitted task and how many of its inputs are still on their way.
struct Pending {
    adm: Admission,
    waiting: usize,
}

struct Worker<'a, 'c> {
    ctx: &'c Ctx<'a>,
    layout: &'c Layout,
    me: i32,
    residency: Residency<'a>,
    link: Link,
    ready: BinaryHeap<Reverse<(u32, TaskId)>>,
    pending: Vec<Pending>,
    computing: bool,
    /// Fetches to answer later: (asking rank, task).
    deferred: Vec<(i32, TaskId)>,
    assembly: Assembly,
    /// Rank 0 said the run is over: with its error's text, empty when it succeeded.
    stop: Option<String>,
    /// A task failed here (rank 0 was told; it will stop the run).
    failed: bool,
}

impl Worker<'_, '_> {
    fn serve(
        &mut self,
        jobs: &mpsc::Sender<Admission>,
        ran: &mpsc::Receiver<Ran>,
    ) -> Result<Metrics> {
        loop {
            let mut busy = false;
            while let Some(m) = self.link.poll() {
                busy = true;
                if let Err(e) = self.on_message(m) {
                    self.fail(u64::MAX, e);
                }
            }
            while let Ok(done) = ran.try_recv() {
                busy = true;
                self.on_done(done);
            }
            if self.stop.is_some() && !self.computing {
                break;
            }
            if self.stop.is_none() && !self.failed {
                busy |= self.answer_deferred();
                if let Err(e) = self.admit() {
                    self.fail(u64::MAX, e);
                }
                busy |= self.start(jobs);
            }
            self.link.reap();
            if busy {
                self.link.busy();
                continue;
            }
            match ran.recv_timeout(self.link.idle()) {
                Ok(done) => self.on_done(done),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(Error::internal("the compute thread of an MPI rank ended"));
                }
            }
        }
        for p in std::mem::take(&mut self.pending) {
            self.residency.abandon(p.adm);
        }
        let stop = self.stop.take().unwrap_or_default();
        let metrics = self.residency.metrics.clone();
        self.link.send(0, tag::METRICS, put_metrics(&metrics));
        self.link.finish(|_| {});
        if stop.is_empty() {
            Ok(metrics)
        } else {
            Err(Error::Rank {
                rank: 0,
                detail: stop,
            })
        }
    }

    fn on_message(&mut self, m: Received) -> Result<()> {
        let broken = |e: std::io::Error| Error::Rank {
            rank: m.from,
            detail: format!("an unreadable message: {e}"),
        };
        match m.tag {
            tag::TASKS => {
                let mut r = &m.bytes[..];
                while !r.is_empty() {
                    let t = get_u64(&mut r).map_err(broken)? as TaskId;
                    self.known(t)?;
                    self.ready.push(Reverse((self.ctx.position[t as usize], t)));
                }
            }
            tag::FETCH => {
                let d = get_u64(&mut &m.bytes[..]).map_err(broken)? as TaskId;
                self.known(d)?;
                if !self.answer(m.from, d)? {
                    self.deferred.push((m.from, d));
                }
            }
            tag::DATA => {
                if let Some((d, bytes)) = self.assembly.add(m.from, &m.bytes).map_err(broken)? {
                    let value = decode(&mut &bytes[..]).map_err(broken)?;
                    self.residency.metrics.transfers += 1;
                    self.residency.metrics.bytes_transferred += bytes.len() as u64;
                    self.arrived(d, Missing::Fetched(Arc::new(value)))?;
                }
            }
            tag::RECOMPUTE => {
                let d = get_u64(&mut &m.bytes[..]).map_err(broken)? as TaskId;
                self.arrived(d, Missing::Recompute)?;
            }
            tag::STOP => self.stop = Some(String::from_utf8_lossy(&m.bytes).into_owned()),
            other => {
                return Err(Error::internal(format!(
                    "message {other} from rank {} to rank {}",
                    m.from, self.me
                )));
            }
        }
        Ok(())
    }

    fn known(&self, t: TaskId) -> Result<()> {
        if (t as usize) < self.ctx.graph.len() {
            return Ok(());
        }
        Err(Error::internal(format!(
            "task {t} beyond the plan's {}",
            self.ctx.graph.len()
        )))
    }

    /// Answers rank `to`'s fetch of `d`; false when `d` is being brought back here, or too
    /// much is being sent already (ask again later).
    fn answer(&mut self, to: i32, d: TaskId) -> Result<bool> {
        let in_flight = self.link.in_flight();
        let value = match self.residency.where_is(d) {
            residency::Held::Busy => return Ok(false),
            _ if in_flight > SENDING_AT_MOST => return Ok(false),
            residency::Held::Datum(v) => v,
            residency::Held::File => Arc::new(self.residency.read_spilled(d)?),
            residency::Held::Dropped => {
                self.link
                    .send(to, tag::RECOMPUTE, u64::from(d).to_ne_bytes().to_vec());
                self.residency.remote_use_done(d);
                return Ok(true);
            }
            residency::Held::Gone => {
                return Err(Error::internal(format!(
                    "rank {to} fetched block {d} from rank {}, which no longer holds it",
                    self.me
                )));
            }
        };
        let mut bytes = Vec::with_capacity(value.nbytes() + 64);
        encode(&value, &mut bytes).map_err(|e| Error::internal_from("encoding a block", e))?;
        drop(value);
        for piece in pieces(d, &bytes) {
            self.link.send(to, tag::DATA, piece);
        }
        self.residency.remote_use_done(d);
        Ok(true)
    }

    fn answer_deferred(&mut self) -> bool {
        let mut answered = false;
        for (to, d) in std::mem::take(&mut self.deferred) {
            match self.answer(to, d) {
                Ok(true) => answered = true,
                Ok(false) => self.deferred.push((to, d)),
                Err(e) => self.fail(u64::MAX, e),
            }
        }
        answered
    }

    /// Input `d` of an admitted task arrived (or is to be recomputed).
    fn arrived(&mut self, d: TaskId, what: Missing) -> Result<()> {
        for p in &mut self.pending {
            if let Some((_, m)) = p
                .adm
                .missing
                .iter_mut()
                .find(|(x, m)| *x == d && matches!(m, Missing::Remote))
            {
                *m = what;
                p.waiting -= 1;
                return Ok(());
            }
        }
        Err(Error::internal(format!(
            "rank {} received block {d}, which no task here waits for",
            self.me
        )))
    }

    /// Admits ready tasks while fewer than two are admitted, asking for their inputs held
    /// elsewhere.
    fn admit(&mut self) -> Result<()> {
        let graph = self.ctx.graph;
        while self.pending.len() + usize::from(self.computing) < 2 {
            let Some(&Reverse((_, t))) = self.ready.peek() else {
                return Ok(());
            };
            for &d in graph.deps(t) {
                let holder = self.layout.rank[d as usize];
                if !self.layout.local[d as usize] && holder != self.me && self.residency.lacks(d) {
                    self.residency.mark_remote(d);
                }
            }
            match self.residency.try_admit(t)? {
                Decision::Run(adm) => {
                    self.ready.pop();
                    let mut waiting = 0;
                    for (d, m) in &adm.missing {
                        if matches!(m, Missing::Remote) {
                            let holder = self.layout.rank[*d as usize];
                            self.link.send(
                                holder,
                                tag::FETCH,
                                u64::from(*d).to_ne_bytes().to_vec(),
                            );
                            waiting += 1;
                        }
                    }
                    self.pending.push(Pending { adm, waiting });
                }
                Decision::Spill(victims) => {
                    let mut local = Metrics::default();
                    let files = self.ctx.write_spills(&victims, &mut local);
                    self.residency.spills_written(files)?;
                    self.residency.metrics.absorb(&local);
                }
                Decision::Wait => return Ok(()),
            }
        }
        Ok(())
    }

    /// Hands the first admitted task whose inputs are all here to the compute thread.
    fn start(&mut self, jobs: &mpsc::Sender<Admission>) -> bool {
        if self.computing {
            return false;
        }
        let Some(i) = self.pending.iter().position(|p| p.waiting == 0) else {
            return false;
        };
        let p = self.pending.remove(i);
        self.computing = jobs.send(p.adm).is_ok();
        self.computing
    }

    fn on_done(&mut self, (adm, local, result): Ran) {
        self.computing = false;
        let t = adm.task;
        match result {
            Ok((restored, value)) => {
                self.residency.finish(adm, restored, value);
                self.residency.metrics.absorb(&local);
                let mut msg = Vec::with_capacity(24);
                for v in [u64::from(t), local.bytes_read, local.bytes_output] {
                    put_u64(&mut msg, v).expect("writing to memory");
                }
                self.link.send(0, tag::DONE, msg);
            }
            Err(e) => {
                self.residency.abandon(adm);
                self.fail(u64::from(t), e);
            }
        }
    }

    /// Tells rank 0 that task `t` (`u64::MAX`: this rank itself) failed with `e`.
    fn fail(&mut self, t: u64, e: Error) {
        if self.failed {
            return;
        }
        self.failed = true;
        let mut msg = Vec::new();
        put_u64(&mut msg, t).expect("writing to memory");
        put_error(&mut msg, e).expect("writing to memory");
        self.link.send(0, tag::FAILED, msg);
    }
}

/// A sink of a worker rank: blocks of in-memory results are kept for the broadcast at the
/// end of the run; blocks going to a store are written here.
struct Hold<'a> {
    inner: &'a dyn Sink,
    index: usize,
    held: &'a Mutex<Vec<Held>>,
}

impl Sink for Hold<'_> {
    fn consume(&self, block: &[usize], value: Block) -> Result<()> {
        if !self.inner.in_memory() {
            return self.inner.consume(block, value);
        }
        self.held.lock().unwrap_or_else(|p| p.into_inner()).push((
            self.index,
            block.to_vec(),
            value,
        ));
        Ok(())
    }

    fn waits_on_io(&self) -> bool {
        self.inner.waits_on_io()
    }

    fn in_memory(&self) -> bool {
        self.inner.in_memory()
    }
}
