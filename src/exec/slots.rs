//! CPU slots: at most `threads` tasks compute at once while the threads scheduler runs more
//! workers than that, so that writes to a sink that waits on I/O, and fetches from object
//! stores, overlap computing.

use std::sync::{Condvar, Mutex};

use crate::plan::Plan;

/// At most `threads` tasks compute at once. The threads scheduler may run more workers than
/// that when the sink waits on I/O ([`Sink::waits_on_io`]): a task holds a slot while it
/// computes and gives it up while its output is written, so the disk always has writes
/// queued while every thread computes.
///
/// Tasks that only fetch chunks from an object store ([`Plan::fetches_remote`]) take no
/// slot: they wait on the network, and up to `max_requests` of them run beside the
/// computing tasks.
pub(super) struct CpuSlots {
    free: Mutex<usize>,
    freed: Condvar,
    /// Per stage: its tasks only fetch, and take no slot.
    fetching: Vec<bool>,
}

impl CpuSlots {
    pub(super) fn new(n: usize, plan: &Plan) -> CpuSlots {
        CpuSlots {
            free: Mutex::new(n),
            freed: Condvar::new(),
            fetching: (0..plan.stages.len())
                .map(|s| plan.fetches_remote(s))
                .collect(),
        }
    }

    /// True when the tasks of `stage` only fetch and take no slot.
    pub(super) fn fetches(&self, stage: usize) -> bool {
        self.fetching.get(stage).copied().unwrap_or(false)
    }

    /// A slot for a task of `stage`: `None` for a task that only fetches, else waits for
    /// a free slot.
    pub(super) fn acquire_for(&self, stage: usize) -> Option<CpuSlot<'_>> {
        (!self.fetches(stage)).then(|| self.acquire())
    }

    /// Waits for a free slot; it is given back when the guard drops.
    pub(super) fn acquire(&self) -> CpuSlot<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        CpuSlot(self)
    }
}

/// A held compute slot.
pub(super) struct CpuSlot<'a>(&'a CpuSlots);

impl Drop for CpuSlot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}
