//! The messages of one run between the ranks: a communicator of the run's own (a duplicate
//! of the world's, so that nothing of one run can be taken for another's), sends that never
//! block, receives of what has arrived, and the end of a run that leaves no message behind.
//!
//! Every send is a non-blocking *synchronous* send (`MPI_Issend`) of a buffer the [`Link`]
//! owns until MPI is done with it: a rank never waits for a peer to receive (two ranks
//! sending each other large blocks at once would otherwise wait for each other forever),
//! and a completed send means the message was received, which is what ending a run needs
//! ([`Link::finish`]: the non-blocking consensus of Hoefler, Siebert and Lumsdaine, "NBX":
//! a rank whose sends have all been received enters a non-blocking barrier and receives,
//! and discards, whatever still arrives until every rank is in it).
//!
//! Waiting is polling with a growing pause (20 µs up to 1 ms, back to 20 µs as soon as
//! something arrives; at most 50 µs while sends are in flight, which MPI moves on only
//! when this rank calls into it): MPI's own blocking calls spin, and with more ranks than
//! cores a spinning rank takes the core of one that computes. The pause is spent waiting on
//! this rank's compute thread, which ends it as soon as a task finishes.
//!
//! MPI counts in `int`s: a message over 2 GiB is sent in pieces ([`PIECE`] bytes each).

use std::time::Duration;

use mpi::Tag;
use mpi::request::{Request, StaticScope};
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::{CommunicatorCollectives, Destination, MatchedReceiveVec, Source};

/// Largest message body: pieces of at most 1 GiB, well under MPI's 2 GiB `int` count.
pub(super) const PIECE: usize = 1 << 30;

/// Kinds of message (their tags).
pub(super) mod tag {
    /// Rank 0 to a worker: task ids to run.
    pub(crate) const TASKS: i32 = 1;
    /// A worker to rank 0: a task finished (its id, bytes read, bytes written).
    pub(crate) const DONE: i32 = 2;
    /// A worker to rank 0: a task failed.
    pub(crate) const FAILED: i32 = 3;
    /// Rank 0 to a worker: the run is over (with the error, if it failed).
    pub(crate) const STOP: i32 = 4;
    /// A worker to the holder of a block: send it.
    pub(crate) const FETCH: i32 = 5;
    /// A holder to a worker: a piece of a block.
    pub(crate) const DATA: i32 = 6;
    /// A holder to a worker: the block was dropped, compute it from its sources.
    pub(crate) const RECOMPUTE: i32 = 7;
    /// A worker to rank 0 at the end: its figures.
    pub(crate) const METRICS: i32 = 8;
}

/// A send in flight and the buffer it sends from.
struct InFlight {
    request: Request<'static, [u8], StaticScope>,
    buf: *mut [u8],
    bytes: usize,
}

/// One rank's end of the run's messages.
pub(super) struct Link {
    comm: SimpleCommunicator,
    sending: Vec<InFlight>,
    pause: Duration,
    /// Bytes this rank sent, by destination rank.
    pub(super) sent: Vec<u64>,
}

/// A message received: where from, its kind and its bytes.
pub(super) struct Received {
    pub(super) from: i32,
    pub(super) tag: Tag,
    pub(super) bytes: Vec<u8>,
}

const SHORTEST: Duration = Duration::from_micros(20);
const LONGEST: Duration = Duration::from_millis(1);
const SENDING: Duration = Duration::from_micros(50);

impl Link {
    /// The link of a run among the ranks of `world` (collective: every rank calls it).
    pub(super) fn new(world: &SimpleCommunicator) -> Link {
        let comm = world.duplicate();
        let size = comm.size() as usize;
        Link {
            comm,
            sending: Vec::new(),
            pause: SHORTEST,
            sent: vec![0; size],
        }
    }

    pub(super) fn rank(&self) -> i32 {
        self.comm.rank()
    }

    pub(super) fn size(&self) -> i32 {
        self.comm.size()
    }

    /// Sends `bytes` (at most [`PIECE`] + a header) to rank `to` without waiting.
    pub(super) fn send(&mut self, to: i32, tag: Tag, bytes: Vec<u8>) {
        let n = bytes.len();
        let buf: &'static mut [u8] = Box::leak(bytes.into_boxed_slice());
        let ptr: *mut [u8] = buf;
        // SAFETY: `ptr` is the leaked buffer; it is only read by MPI until the request
        // completes, and freed (`reap`) only after that.
        let shared: &'static [u8] = unsafe { &*ptr };
        let request = self
            .comm
            .process_at_rank(to)
            .immediate_synchronous_send_with_tag(StaticScope, shared, tag);
        self.sent[to as usize] += n as u64;
        self.sending.push(InFlight {
            request,
            buf: ptr,
            bytes: n,
        });
    }

    /// Frees the buffers of sends that completed; true when none is left in flight.
    pub(super) fn reap(&mut self) -> bool {
        let mut still = Vec::with_capacity(self.sending.len());
        for InFlight {
            request,
            buf,
            bytes,
        } in self.sending.drain(..)
        {
            match request.test() {
                // SAFETY: MPI is done with the buffer leaked in `send`.
                Ok(_) => drop(unsafe { Box::from_raw(buf) }),
                Err(request) => still.push(InFlight {
                    request,
                    buf,
                    bytes,
                }),
            }
        }
        self.sending = still;
        self.sending.is_empty()
    }

    /// Bytes of sends still in flight.
    pub(super) fn in_flight(&self) -> usize {
        self.sending.iter().map(|s| s.bytes).sum()
    }

    /// The next message that has arrived, if any.
    pub(super) fn poll(&mut self) -> Option<Received> {
        let matched = self.comm.any_process().immediate_matched_probe()?;
        let (bytes, status) = matched.matched_receive_vec::<u8>();
        self.pause = SHORTEST;
        Some(Received {
            from: status.source_rank(),
            tag: status.tag(),
            bytes,
        })
    }

    /// How long to wait before polling again, when nothing happened: doubling from 20 µs up
    /// to 1 ms (50 µs while sends are in flight).
    pub(super) fn idle(&mut self) -> Duration {
        let cap = if self.sending.is_empty() {
            LONGEST
        } else {
            SENDING
        };
        let pause = self.pause.min(cap);
        self.pause = (self.pause * 2).min(LONGEST);
        pause
    }

    /// Something happened: poll again soon.
    pub(super) fn busy(&mut self) {
        self.pause = SHORTEST;
    }

    /// Ends the run on this rank once it will send nothing more: waits for its sends to be
    /// received, then for every rank to get there, handing what still arrives meanwhile to
    /// `late` (a rank may still be told things it no longer needs).
    pub(super) fn finish(&mut self, mut late: impl FnMut(Received)) {
        loop {
            while let Some(m) = self.poll() {
                late(m);
            }
            if self.reap() {
                break;
            }
            std::thread::sleep(self.idle());
        }
        let mut barrier = Some(self.comm.immediate_barrier());
        while let Some(b) = barrier.take() {
            while let Some(m) = self.poll() {
                late(m);
            }
            match b.test() {
                Ok(_) => {}
                Err(b) => {
                    barrier = Some(b);
                    std::thread::sleep(self.idle());
                }
            }
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // Sends still in flight (a run abandoned by a bug): their buffers are leaked, as
        // MPI may still read them.
        std::mem::forget(std::mem::take(&mut self.sending));
    }
}

/// Splits `bytes` into pieces of at most [`PIECE`] bytes, each behind a header of the
/// block's task `d`, its total length and the piece's offset.
pub(super) fn pieces(d: u32, bytes: &[u8]) -> Vec<Vec<u8>> {
    let total = bytes.len() as u64;
    let mut out = Vec::with_capacity(bytes.len().div_ceil(PIECE).max(1));
    let mut offset = 0usize;
    loop {
        let end = (offset + PIECE).min(bytes.len());
        let mut msg = Vec::with_capacity(24 + end - offset);
        msg.extend_from_slice(&u64::from(d).to_ne_bytes());
        msg.extend_from_slice(&total.to_ne_bytes());
        msg.extend_from_slice(&(offset as u64).to_ne_bytes());
        msg.extend_from_slice(&bytes[offset..end]);
        out.push(msg);
        offset = end;
        if offset >= bytes.len() {
            return out;
        }
    }
}

/// Pieces of blocks being received, by (holder, task).
#[derive(Default)]
pub(super) struct Assembly {
    parts: std::collections::HashMap<(i32, u32), Vec<u8>>,
}

impl Assembly {
    /// Takes piece `msg` from rank `from`: the task and the whole block's bytes once its
    /// last piece arrived.
    pub(super) fn add(&mut self, from: i32, msg: &[u8]) -> std::io::Result<Option<(u32, Vec<u8>)>> {
        let word = |i: usize| -> std::io::Result<u64> {
            msg.get(8 * i..8 * i + 8)
                .map(|b| u64::from_ne_bytes(b.try_into().expect("8 bytes")))
                .ok_or_else(|| super::super::remote::invalid("a block piece too short".into()))
        };
        let (d, total, offset) = (word(0)? as u32, word(1)? as usize, word(2)? as usize);
        let body = &msg[24..];
        if offset == 0 && body.len() == total {
            return Ok(Some((d, body.to_vec())));
        }
        let buf = self
            .parts
            .entry((from, d))
            .or_insert_with(|| Vec::with_capacity(total));
        if buf.len() != offset || offset + body.len() > total {
            return Err(super::super::remote::invalid(format!(
                "a piece of block {d} at {offset} of {total} bytes, after {} bytes",
                buf.len()
            )));
        }
        buf.extend_from_slice(body);
        if buf.len() == total {
            return Ok(self.parts.remove(&(from, d)).map(|b| (d, b)));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_reassemble_in_order() {
        let bytes: Vec<u8> = (0..100u32).map(|i| i as u8).collect();
        let one = pieces(7, &bytes);
        assert_eq!(one.len(), 1);
        let mut a = Assembly::default();
        assert_eq!(a.add(3, &one[0]).unwrap(), Some((7, bytes.clone())));
        // Two pieces, as a block over PIECE bytes travels (built by hand: PIECE is 1 GiB).
        let header = |offset: u64| {
            let mut m = Vec::new();
            m.extend_from_slice(&7u64.to_ne_bytes());
            m.extend_from_slice(&100u64.to_ne_bytes());
            m.extend_from_slice(&offset.to_ne_bytes());
            m
        };
        let (mut first, mut second) = (header(0), header(60));
        first.extend_from_slice(&bytes[..60]);
        second.extend_from_slice(&bytes[60..]);
        assert_eq!(a.add(3, &first).unwrap(), None);
        assert_eq!(a.add(3, &second).unwrap(), Some((7, bytes)));
        assert!(a.add(3, &second).is_err());
    }
}
