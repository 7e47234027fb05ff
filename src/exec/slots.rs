//! CPU slots: at most `threads` tasks compute at once while the threads scheduler runs more
//! workers than that, so that writes to a sink that waits on I/O overlap computing.

use std::sync::{Condvar, Mutex};

/// At most `threads` tasks compute at once. The threads scheduler may run more workers than
/// that when the sink waits on I/O ([`Sink::waits_on_io`]): a task holds a slot while it
/// computes and gives it up while its output is written, so the disk always has writes
/// queued while every thread computes.
pub(super) struct CpuSlots {
    free: Mutex<usize>,
    freed: Condvar,
}

impl CpuSlots {
    pub(super) fn new(n: usize) -> CpuSlots {
        CpuSlots {
            free: Mutex::new(n),
            freed: Condvar::new(),
        }
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
