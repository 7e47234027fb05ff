//! Memory reservations: every byte the executor holds for a block is a
//! [`MemoryReservation`], a value that gives its bytes back to its [`MemoryPool`] when it is
//! dropped (DataFusion's `MemoryReservation` is the model).
//!
//! A reservation is made for a named [`Consumer`] (a running task, an output kept for its
//! users, an input brought back, an output being spilled); the pool's [`MemoryUse`] is the
//! sum by consumer, which refusal messages and the dashboard show. Whether a reservation
//! *fits* is decided by the caller ([`super::pool::Pool`] evicts before it admits a task),
//! so reserving never fails: this module only keeps the books, and keeps them exact, since
//! no path can forget to give bytes back.
//!
//! The counters are atomics, so a reservation may be dropped on any thread, inside or
//! outside the scheduler's lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::metrics::{Consumer, MemoryUse};

/// The bytes reserved in one pool (a computation's, or one cluster worker's), by consumer.
#[derive(Debug, Default)]
pub(super) struct MemoryPool {
    bytes: [AtomicU64; Consumer::ALL.len()],
}

impl MemoryPool {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Reserves `bytes` for `consumer` (see the module doc: the caller decided it fits).
    pub(super) fn reserve(self: &Arc<Self>, consumer: Consumer, bytes: u64) -> MemoryReservation {
        self.counter(consumer).fetch_add(bytes, Ordering::Relaxed);
        MemoryReservation {
            pool: self.clone(),
            consumer,
            bytes,
        }
    }

    /// Bytes reserved now, by consumer.
    pub(super) fn usage(&self) -> MemoryUse {
        let mut usage = MemoryUse::default();
        for c in Consumer::ALL {
            usage.set(c, self.counter(c).load(Ordering::Relaxed));
        }
        usage
    }

    /// Bytes reserved now by every consumer.
    pub(super) fn in_use(&self) -> u64 {
        self.bytes.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    fn counter(&self, consumer: Consumer) -> &AtomicU64 {
        &self.bytes[Consumer::ALL
            .iter()
            .position(|&c| c == consumer)
            .expect("every consumer is in Consumer::ALL")]
    }
}

/// Bytes reserved in a [`MemoryPool`] for one consumer, given back on drop.
#[derive(Debug)]
pub(super) struct MemoryReservation {
    pool: Arc<MemoryPool>,
    consumer: Consumer,
    bytes: u64,
}

impl MemoryReservation {
    /// Bytes reserved.
    pub(super) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Moves `bytes` of this reservation (at most all of it) into a new reservation for
    /// `consumer`: a running task's output becomes an output kept for its users, an output
    /// kept becomes an output being spilled.
    pub(super) fn split(&mut self, consumer: Consumer, bytes: u64) -> MemoryReservation {
        let bytes = bytes.min(self.bytes);
        self.pool
            .counter(self.consumer)
            .fetch_sub(bytes, Ordering::Relaxed);
        self.bytes -= bytes;
        self.pool.reserve(consumer, bytes)
    }

    /// The whole reservation, now counted for `consumer`.
    pub(super) fn into_consumer(mut self, consumer: Consumer) -> MemoryReservation {
        let bytes = self.bytes;
        self.split(consumer, bytes)
    }
}

impl Drop for MemoryReservation {
    fn drop(&mut self) {
        self.pool
            .counter(self.consumer)
            .fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_give_their_bytes_back_on_drop_and_keep_consumers_apart() {
        let pool = MemoryPool::new();
        let mut task = pool.reserve(Consumer::Tasks, 100);
        let input = pool.reserve(Consumer::Inputs, 30);
        assert_eq!(pool.in_use(), 130);
        let output = task.split(Consumer::Outputs, 60);
        assert_eq!((task.bytes(), output.bytes()), (40, 60));
        let usage = pool.usage();
        assert_eq!(usage.get(Consumer::Tasks), 40);
        assert_eq!(usage.get(Consumer::Outputs), 60);
        assert_eq!(usage.held(), 60);
        assert_eq!(usage.total(), 130);
        drop(task);
        drop(input);
        assert_eq!(pool.in_use(), 60);
        let spilling = output.into_consumer(Consumer::Spilling);
        assert_eq!(pool.usage().get(Consumer::Spilling), 60);
        assert_eq!(pool.usage().get(Consumer::Outputs), 0);
        drop(spilling);
        assert_eq!(pool.usage(), MemoryUse::default());
    }

    #[test]
    fn a_split_takes_at_most_what_is_reserved() {
        let pool = MemoryPool::new();
        let mut r = pool.reserve(Consumer::Tasks, 10);
        let part = r.split(Consumer::Outputs, 25);
        assert_eq!((r.bytes(), part.bytes()), (0, 10));
        drop((r, part));
        assert_eq!(pool.in_use(), 0);
    }
}
