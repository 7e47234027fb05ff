//! External sorting: sorted runs on disk merged in one pass, for what does not fit in
//! memory: `sort`/`argsort` of a lane larger than the memory limit, and the `unique_*`
//! functions with more distinct values than memory holds.
//!
//! The caller computes the data slab by slab and hands each slab's [`Record`]s (a value,
//! the flat index of its first occurrence, how many times it occurs) to
//! [`Runs::absorb`], in index order. The records held are kept sorted (stably: equal
//! values keep their index order), distinct values combined as they meet (counts added,
//! the first index kept); when they exceed the budget they are written to a run file, with
//! only the fields the result needs. [`Runs::finish`] returns the records when no run was
//! written, else merges the runs with a k-way heap (each run read through an equal share of
//! the budget) into raw column files, which the caller reads back as memory-mapped arrays
//! ([`crate::io`]: pages released as they are read). The runs are in index order and each is
//! sorted stably, so the merge keeps equal values in index order too.
//!
//! Under MPI every rank computes the same slabs (the computations are collective) and
//! holds the same records; rank 0 alone writes and merges the runs, into a directory every
//! rank reads.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{SharedDir, mpi_rank, rank_0_did, shared_dir};
use crate::config::ComputeOptions;
use crate::dtype::{Complex64, Complex128, sort_order};
use crate::error::{Error, Result};
use crate::kernel::sort::SortKey;

/// An element as bytes in a run or column file (little-endian; bool as one byte).
pub(crate) trait Fixed: SortKey + Send + Sync + 'static {
    /// Bytes per element.
    const SIZE: usize;
    /// Appends the bytes of `self`.
    fn put(self, out: &mut Vec<u8>);
    /// The element in the first [`Fixed::SIZE`] bytes of `bytes`.
    fn get(bytes: &[u8]) -> Self;
}

macro_rules! fixed_number {
    ($($t:ty),*) => {$(
        impl Fixed for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            #[inline]
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            #[inline]
            fn get(bytes: &[u8]) -> Self {
                let mut b = [0u8; std::mem::size_of::<$t>()];
                b.copy_from_slice(&bytes[..Self::SIZE]);
                <$t>::from_le_bytes(b)
            }
        }
    )*};
}
fixed_number!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

impl Fixed for bool {
    const SIZE: usize = 1;
    #[inline]
    fn put(self, out: &mut Vec<u8>) {
        out.push(u8::from(self));
    }
    #[inline]
    fn get(bytes: &[u8]) -> Self {
        bytes[0] != 0
    }
}

macro_rules! fixed_complex {
    ($($t:ty, $f:ty);*) => {$(
        impl Fixed for $t {
            const SIZE: usize = 2 * std::mem::size_of::<$f>();
            #[inline]
            fn put(self, out: &mut Vec<u8>) {
                self.re.put(out);
                self.im.put(out);
            }
            #[inline]
            fn get(bytes: &[u8]) -> Self {
                let half = std::mem::size_of::<$f>();
                <$t>::new(<$f>::get(bytes), <$f>::get(&bytes[half..]))
            }
        }
    )*};
}
fixed_complex!(Complex64, f32; Complex128, f64);

/// One element of the data being sorted: its value, the flat index of its (first)
/// occurrence and the number of occurrences it stands for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Record<T> {
    pub(crate) value: T,
    pub(crate) index: i64,
    pub(crate) count: i64,
}

/// What the records become.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sorting {
    /// Largest first (NaN first), as the array API's `descending=True`.
    pub(crate) descending: bool,
    /// Equal values combined into one record (`unique`); `None` keeps every record
    /// (`sort`).
    pub(crate) distinct: Option<Nans>,
    /// The index column is wanted.
    pub(crate) index: bool,
    /// The count column is wanted.
    pub(crate) count: bool,
}

/// Whether NaNs are one value or each its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Nans {
    /// NaN equals NaN (NumPy's `unique`, `equal_nan=True`).
    Equal,
    /// Each NaN is distinct (the array API's `unique_*`).
    Distinct,
}

impl Sorting {
    fn cmp<T: PartialOrd>(&self, a: &T, b: &T) -> Ordering {
        if self.descending {
            sort_order(b, a)
        } else {
            sort_order(a, b)
        }
    }

    /// Whether `a` and `b` combine into one record.
    #[allow(clippy::eq_op)]
    fn same<T: PartialOrd>(&self, a: &T, b: &T) -> bool {
        match self.distinct {
            None => false,
            Some(Nans::Equal) => sort_order(a, b) == Ordering::Equal,
            Some(Nans::Distinct) => a == a && sort_order(a, b) == Ordering::Equal,
        }
    }

    /// Bytes of one record in a run file.
    fn record_bytes<T: Fixed>(&self) -> usize {
        T::SIZE + 8 * (usize::from(self.index) + usize::from(self.count))
    }
}

/// Sorted records: in memory, or merged on disk into column files.
pub(crate) enum Sorted<T> {
    /// Everything fit the budget.
    Memory(Vec<Record<T>>),
    /// Merged into raw little-endian column files.
    Disk(Columns),
}

/// The column files of a merge, in a directory removed when the last holder drops it.
pub(crate) struct Columns {
    /// The directory, shared with the arrays that read the columns.
    pub(crate) dir: Arc<SharedDir>,
    /// The number of records.
    pub(crate) len: usize,
    /// The values (the dtype of the input).
    pub(crate) values: PathBuf,
    /// First indices (int64), when asked for.
    pub(crate) index: Option<PathBuf>,
    /// Counts (int64), when asked for.
    pub(crate) count: Option<PathBuf>,
}

/// Sorted records held in memory and the runs written so far (see the module doc).
pub(crate) struct Runs<T> {
    sorting: Sorting,
    held: Vec<Record<T>>,
    /// Records held before they are written as a run.
    budget: usize,
    /// Bytes the merge's read buffers share.
    merge_bytes: u64,
    /// This process writes the files (rank 0 of MPI, or the only process).
    writes: bool,
    /// This process is one of several MPI ranks.
    ranks: bool,
    /// Where the run directory is made.
    parent: PathBuf,
    dir: Option<tempfile::TempDir>,
    /// Run files and their record counts.
    runs: Vec<(PathBuf, u64)>,
    /// What messages call the work (`sort`, `unique_counts`).
    what: &'static str,
}

impl<T: Fixed> Runs<T> {
    /// Runs for `sorting` of `what`, holding at most `budget_bytes` of records in memory
    /// (and reading the runs back through as many bytes of buffers).
    ///
    /// # Errors
    /// MPI not initialized under the MPI scheduler.
    pub(crate) fn new(
        what: &'static str,
        sorting: Sorting,
        budget_bytes: u64,
        opts: &ComputeOptions,
    ) -> Result<Self> {
        let per_record = std::mem::size_of::<Record<T>>() as u64;
        let rank = mpi_rank(opts)?;
        Ok(Runs {
            sorting,
            held: Vec::new(),
            budget: usize::try_from(budget_bytes / per_record)
                .unwrap_or(usize::MAX)
                .max(1),
            merge_bytes: budget_bytes,
            writes: rank.is_none_or(|r| r == 0),
            ranks: rank.is_some(),
            parent: opts
                .tmp_dir
                .clone()
                .or_else(|| opts.spill_dir.clone())
                .unwrap_or_else(std::env::temp_dir),
            dir: None,
            runs: Vec::new(),
            what,
        })
    }

    /// Takes the records of the next slab, in index order (after every record absorbed
    /// before).
    ///
    /// # Errors
    /// Writing a run.
    pub(crate) fn absorb(&mut self, mut slab: Vec<Record<T>>) -> Result<()> {
        T::sort_by_value(&mut slab, |r| r.value, self.sorting.descending);
        let slab = self.combined(slab);
        self.held = if self.held.is_empty() {
            slab
        } else {
            let held = std::mem::take(&mut self.held);
            self.combined(merge_two(held, slab, &self.sorting))
        };
        if self.held.len() > self.budget {
            self.write_run()?;
        }
        Ok(())
    }

    /// `sorted` with equal neighbours combined (when distinct values are asked for).
    fn combined(&self, sorted: Vec<Record<T>>) -> Vec<Record<T>> {
        if self.sorting.distinct.is_none() {
            return sorted;
        }
        let mut out: Vec<Record<T>> = Vec::with_capacity(sorted.len());
        for r in sorted {
            match out.last_mut() {
                Some(last) if self.sorting.same(&last.value, &r.value) => {
                    last.count += r.count;
                    last.index = last.index.min(r.index);
                }
                _ => out.push(r),
            }
        }
        out.shrink_to_fit();
        out
    }

    /// Writes the records held as a run (rank 0 alone under MPI) and lets them go.
    fn write_run(&mut self) -> Result<()> {
        let held = std::mem::take(&mut self.held);
        let n = held.len() as u64;
        if !self.writes {
            self.runs.push((PathBuf::new(), n));
            return Ok(());
        }
        if self.dir.is_none() {
            let dir = tempfile::Builder::new()
                .prefix(".brickwork-runs-")
                .tempdir_in(&self.parent)
                .map_err(|source| Error::Temporary {
                    detail: format!(
                        "cannot create a directory there for the sorted runs of {}; put it \
                         elsewhere with tmp_dir (--tmp-dir)",
                        self.what
                    ),
                    path: self.parent.clone(),
                    source,
                })?;
            self.dir = Some(dir);
        }
        let dir = self.dir.as_ref().expect("made above").path();
        let path = dir.join(format!("run-{}", self.runs.len()));
        let s = self.sorting;
        let mut w = Writer::create(&path, 1 << 20)?;
        let mut bytes = Vec::with_capacity(s.record_bytes::<T>());
        for r in &held {
            bytes.clear();
            r.value.put(&mut bytes);
            if s.index {
                r.index.put(&mut bytes);
            }
            if s.count {
                r.count.put(&mut bytes);
            }
            w.write(&bytes)?;
        }
        w.finish()?;
        self.runs.push((path, n));
        Ok(())
    }

    /// The sorted records: in memory when no run was written, else merged into column
    /// files in a directory every MPI rank reads (see the module doc).
    ///
    /// # Errors
    /// Creating the directory, reading the runs, writing the columns (a full disk is said).
    pub(crate) fn finish(mut self, opts: &ComputeOptions) -> Result<Sorted<T>> {
        if self.runs.is_empty() {
            return Ok(Sorted::Memory(std::mem::take(&mut self.held)));
        }
        if !self.held.is_empty() {
            self.write_run()?;
        }
        let parent = self.parent.clone();
        let what = self.what;
        let dir = shared_dir(opts, || {
            tempfile::Builder::new()
                .prefix(&crate::store::temp::prefix(what, Path::new("array"), false))
                .tempdir_in(&parent)
                .map(Some)
                .map_err(|source| Error::Temporary {
                    detail: format!(
                        "cannot create a directory there for the result of {what}; put it \
                         elsewhere with tmp_dir (--tmp-dir)"
                    ),
                    path: parent.clone(),
                    source,
                })
        })?
        .ok_or_else(|| Error::internal("no directory was made for a merged result"))?;
        let s = self.sorting;
        let values = dir.path().join("values");
        let index = s.index.then(|| dir.path().join("index"));
        let count = s.count.then(|| dir.path().join("count"));
        let outcome = if self.writes {
            self.merge(&values, index.as_deref(), count.as_deref())
                .map(|_| ())
                .map_err(|e| super::full_disk_hint(e, what))
        } else {
            Ok(())
        };
        if self.ranks {
            rank_0_did(outcome)?;
        } else {
            outcome?;
        }
        let len = std::fs::metadata(&values)
            .map_err(|source| Error::Io {
                path: values.clone(),
                source,
            })?
            .len() as usize
            / T::SIZE;
        Ok(Sorted::Disk(Columns {
            dir: Arc::new(dir),
            len,
            values,
            index,
            count,
        }))
    }

    /// Merges the runs into the column files; returns the number of records written.
    fn merge(&self, values: &Path, index: Option<&Path>, count: Option<&Path>) -> Result<u64> {
        let s = self.sorting;
        let share = (self.merge_bytes / (self.runs.len() as u64 + 3)).clamp(4096, 8 << 20);
        let share = usize::try_from(share).unwrap_or(4096);
        let mut readers = self
            .runs
            .iter()
            .map(|(path, n)| RunReader::open(path, *n, s, share))
            .collect::<Result<Vec<_>>>()?;
        let mut out_values = Writer::create(values, share)?;
        let mut out_index = index.map(|p| Writer::create(p, share)).transpose()?;
        let mut out_count = count.map(|p| Writer::create(p, share)).transpose()?;
        let mut bytes = Vec::with_capacity(16);
        let mut written = 0u64;
        let mut emit = |r: Record<T>| -> Result<()> {
            bytes.clear();
            r.value.put(&mut bytes);
            out_values.write(&bytes)?;
            if let Some(w) = &mut out_index {
                w.write(&r.index.to_le_bytes())?;
            }
            if let Some(w) = &mut out_count {
                w.write(&r.count.to_le_bytes())?;
            }
            written += 1;
            Ok(())
        };
        let mut heap = BinaryHeap::with_capacity(readers.len());
        for (run, reader) in readers.iter_mut().enumerate() {
            if let Some(record) = reader.next()? {
                heap.push(Head {
                    record,
                    run,
                    sorting: s,
                });
            }
        }
        let mut pending: Option<Record<T>> = None;
        while let Some(Head { record, run, .. }) = heap.pop() {
            if let Some(next) = readers[run].next()? {
                heap.push(Head {
                    record: next,
                    run,
                    sorting: s,
                });
            }
            match &mut pending {
                Some(p) if s.same(&p.value, &record.value) => {
                    p.count += record.count;
                    p.index = p.index.min(record.index);
                }
                _ => {
                    if let Some(p) = pending.replace(record) {
                        emit(p)?;
                    }
                }
            }
        }
        if let Some(p) = pending {
            emit(p)?;
        }
        out_values.finish()?;
        if let Some(w) = out_index {
            w.finish()?;
        }
        if let Some(w) = out_count {
            w.finish()?;
        }
        Ok(written)
    }
}

/// Two sorted record lists merged, `a`'s first among equals (its indices are smaller).
fn merge_two<T: PartialOrd + Copy>(
    a: Vec<Record<T>>,
    b: Vec<Record<T>>,
    s: &Sorting,
) -> Vec<Record<T>> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if s.cmp(&b[j].value, &a[i].value) == Ordering::Less {
            out.push(b[j]);
            j += 1;
        } else {
            out.push(a[i]);
            i += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// The next record of each run in the merge's heap: the smallest first, the earlier run
/// first among equals.
struct Head<T> {
    record: Record<T>,
    run: usize,
    sorting: Sorting,
}

impl<T: PartialOrd> Ord for Head<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap pops the greatest: reversed.
        self.sorting
            .cmp(&other.record.value, &self.record.value)
            .then(other.run.cmp(&self.run))
    }
}

impl<T: PartialOrd> PartialOrd for Head<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: PartialOrd> PartialEq for Head<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T: PartialOrd> Eq for Head<T> {}

/// A run file read back record by record through a buffer.
struct RunReader<T> {
    file: BufReader<File>,
    path: PathBuf,
    left: u64,
    sorting: Sorting,
    bytes: Vec<u8>,
    _t: std::marker::PhantomData<T>,
}

impl<T: Fixed> RunReader<T> {
    fn open(path: &Path, records: u64, sorting: Sorting, buffer: usize) -> Result<Self> {
        let file = File::open(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(RunReader {
            file: BufReader::with_capacity(buffer, file),
            path: path.to_path_buf(),
            left: records,
            sorting,
            bytes: vec![0; sorting.record_bytes::<T>()],
            _t: std::marker::PhantomData,
        })
    }

    fn next(&mut self) -> Result<Option<Record<T>>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        self.file
            .read_exact(&mut self.bytes)
            .map_err(|source| Error::Io {
                path: self.path.clone(),
                source,
            })?;
        let b = &self.bytes;
        let value = T::get(b);
        let mut at = T::SIZE;
        let mut field = |on: bool| {
            if on {
                at += 8;
                i64::get(&b[at - 8..])
            } else {
                0
            }
        };
        let index = field(self.sorting.index);
        let count = field(self.sorting.count);
        Ok(Some(Record {
            value,
            index,
            count,
        }))
    }
}

/// A file written sequentially through a buffer, synced to the file system at the end.
struct Writer {
    file: BufWriter<File>,
    path: PathBuf,
}

impl Writer {
    fn create(path: &Path, buffer: usize) -> Result<Self> {
        let file = File::create(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Writer {
            file: BufWriter::with_capacity(buffer, file),
            path: path.to_path_buf(),
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.file.write_all(bytes).map_err(|source| Error::Io {
            path: self.path.clone(),
            source,
        })
    }

    fn finish(self) -> Result<()> {
        let path = self.path;
        self.file
            .into_inner()
            .map_err(|e| e.into_error())
            .map(drop)
            .map_err(|source| Error::Io { path, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(values: &[f64], first: i64) -> Vec<Record<f64>> {
        values
            .iter()
            .enumerate()
            .map(|(i, &value)| Record {
                value,
                index: first + i as i64,
                count: 1,
            })
            .collect()
    }

    fn run(sorting: Sorting, slabs: &[&[f64]], budget: u64) -> Vec<(f64, i64, i64)> {
        let opts = ComputeOptions::default();
        let mut runs = Runs::<f64>::new("test", sorting, budget, &opts).unwrap();
        let mut first = 0;
        for slab in slabs {
            runs.absorb(records(slab, first)).unwrap();
            first += slab.len() as i64;
        }
        match runs.finish(&opts).unwrap() {
            Sorted::Memory(v) => v.iter().map(|r| (r.value, r.index, r.count)).collect(),
            Sorted::Disk(c) => {
                let read = |p: &Path| std::fs::read(p).unwrap();
                let v = read(&c.values);
                let index = c.index.as_deref().map(read);
                let count = c.count.as_deref().map(read);
                (0..c.len)
                    .map(|k| {
                        let field = |col: &Option<Vec<u8>>| {
                            col.as_ref().map_or(0, |b| i64::get(&b[8 * k..]))
                        };
                        (f64::get(&v[8 * k..]), field(&index), field(&count))
                    })
                    .collect()
            }
        }
    }

    fn show(v: &[(f64, i64, i64)]) -> String {
        format!("{v:?}")
    }

    #[test]
    fn merged_runs_equal_the_sort_in_memory() {
        let slabs: [&[f64]; 4] = [
            &[3.0, f64::NAN, 1.0, 2.0],
            &[2.0, 0.0, -1.0],
            &[f64::NAN, 2.0, 5.0, 1.0],
            &[0.0],
        ];
        for distinct in [None, Some(Nans::Equal), Some(Nans::Distinct)] {
            for descending in [false, true] {
                let s = Sorting {
                    descending,
                    distinct,
                    index: true,
                    count: true,
                };
                // A budget of one record writes a run per slab; a large one keeps memory.
                let on_disk = run(s, &slabs, 1);
                let in_memory = run(s, &slabs, 1 << 20);
                assert_eq!(show(&on_disk), show(&in_memory), "{s:?}");
            }
        }
        let s = Sorting {
            descending: false,
            distinct: Some(Nans::Equal),
            index: true,
            count: true,
        };
        assert_eq!(
            show(&run(s, &slabs, 1)),
            "[(-1.0, 6, 1), (0.0, 5, 2), (1.0, 2, 2), (2.0, 3, 3), (3.0, 0, 1), \
             (5.0, 9, 1), (NaN, 1, 2)]"
        );
        let s = Sorting {
            descending: true,
            distinct: None,
            index: true,
            count: false,
        };
        // Stable: equal values in index order, NaN first when descending.
        let indices: Vec<i64> = run(s, &slabs, 1).iter().map(|r| r.1).collect();
        assert_eq!(indices, [1, 7, 9, 0, 3, 4, 8, 2, 10, 5, 11, 6]);
    }
}
