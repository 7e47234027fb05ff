//! Command-line definition (clap derive). Doc comments are the `--help` text.

use std::path::PathBuf;

use std::ffi::OsString;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand};

/// Chunked n-dimensional arrays larger than memory, over Zarr stores.
#[derive(Parser, Debug)]
#[command(name = "brickwork", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Show a Zarr array's or group's metadata and storage figures.
    ///
    /// Example: brickwork info data.zarr --json
    Info(InfoArgs),
    /// Remove what killed brickwork runs left: temporaries (rechunk intermediates, realigned
    /// copies, spill stores, unfinished exports) whose process has ended, and lock files no
    /// process holds, in PATH, beside it (for PATH), and in the temporary directory.
    ///
    /// Temporaries name their owner (pid and start time); those of running processes, or
    /// made on another host, are never removed. Write commands do this for their own output
    /// before they start, but keep a rechunk's intermediate store for --resume to reuse.
    ///
    /// Example: brickwork clean out.zarr
    Clean(CleanArgs),
    /// Import .npy, raw binary, CSV or another Zarr array into a new Zarr array.
    ///
    /// Example: brickwork import data.npy data.zarr --chunks 1000,1000 --codec zstd:5
    Import(ImportArgs),
    /// Export a Zarr array (or a region of it) to .npy, raw binary, CSV or Zarr.
    ///
    /// Example: brickwork export data.zarr part.npy --region 0:100,:,5
    Export(ExportArgs),
    /// Write a Zarr array with new chunks.
    ///
    /// Example: brickwork rechunk rows.zarr cols.zarr --chunks 20000,100
    Rechunk(RechunkArgs),
    /// Evaluate a NumPy-like expression over Zarr arrays.
    ///
    /// Example: brickwork eval 'x = random((10000, 10000), chunks=(1000, 1000), seed=0);
    /// (x + x.T)[::2, 5000:].mean(axis=1)' --output v.zarr
    ///
    /// The language is Python's: names (bound with --input, or assigned earlier in the
    /// program), int and float literals, True and False, + - * / // % ** and unary -,
    /// comparisons, & | ^ ~ << >>, .T, indexing with slices, steps, negative indices and integers
    /// (x[::2, -3:], x[0]), with a bool array (x[x > 0.5], x[:, m]: how many each block
    /// selects is computed first, under the same memory limit), a 1-d integer array along
    /// one axis (x[:, i]), or several next to each other, pointwise (x[i, j], as
    /// vindex(x, (i, j)), also with tuples of ints). Literal-only parts fold to Python scalars, which stay weak (NumPy
    /// 2 rules).
    ///
    /// Functions are NumPy's and the array API standard's, with their keywords; `linalg.`
    /// names live in that namespace, and any name may be written with `np.` before it.
    /// List literals ([0.1, 0.9]) stand for sequences, and as an index for an index array
    /// (x[[0, 5, 36], :]). Arrays have .T .mT .shape .ndim .size .dtype. The functions are
    /// listed below, by section (-h: names; --help: each signature and what it gives),
    /// from the table that also binds their arguments.
    ///
    /// Several results in one pass: a program whose result is a tuple of arrays (commas at
    /// the top level need no parentheses: 'x.sum(axis=0), x.mean(axis=1)'; or (a, b), or
    /// qr(a)) has each item as a result. They are computed together, so what they share (an
    /// input's chunks, an intermediate) is read or computed once. Give --output once per
    /// result, in order, to write each to its own array (brickwork eval -i x=x.zarr
    /// 'x.sum(axis=0), x.mean(axis=1)' --output s.zarr --output m.zarr); without --output
    /// the results are printed in order, each as a single result prints, with a line ---
    /// between two results. --stats prints one line for the whole pass, --explain and
    /// --graph show its one plan; --region takes a single result.
    ///
    /// With --region START:STOP,.. the result is written into that region of the existing
    /// array --output (brickwork eval -i x=x.zarr 'x * 2' --output big.zarr --region
    /// 0:100,200:300).
    ///
    /// A program may start with - (brickwork eval '-x' -i x=x.zarr). One that reads as
    /// options only (such as '-i') goes after --, which ends the options: brickwork eval -i
    /// x=x.zarr -- '-x'. Give options before the program as separate words (-i x=x.zarr,
    /// not -ix=x.zarr).
    #[command(
        after_help = brickwork::parse::help(false),
        after_long_help = brickwork::parse::help(true)
    )]
    Eval(EvalArgs),
}

#[derive(Args, Debug)]
pub(crate) struct InfoArgs {
    /// The Zarr array or group: a path, or a URL (s3://, gs://, az://, http(s)://).
    pub(crate) path: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) storage: StorageArgs,
}

/// How stores on object stores are reached.
#[derive(Args, Debug, Clone, Default)]
pub(crate) struct StorageArgs {
    /// An option of object stores, for store paths given as URLs (s3://bucket/prefix,
    /// gs://, az://, and http:// or https:// to read): KEY=VALUE, repeatable, overriding the
    /// cloud's environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    /// AWS_SESSION_TOKEN, AWS_REGION, AWS_ENDPOINT_URL, AWS_ALLOW_HTTP, ...;
    /// GOOGLE_APPLICATION_CREDENTIALS; AZURE_STORAGE_ACCOUNT_NAME, AZURE_STORAGE_ACCOUNT_KEY,
    /// ...). Keys are object_store's (region, endpoint, access_key_id, secret_access_key,
    /// session_token, allow_http, account_name, account_key, service_account, ...) and
    /// anonymous=true (unsigned requests, for public buckets), timeout (default 30s),
    /// connect_timeout (5s), max_retries (3) and retry_timeout (60s). Values are never
    /// printed.
    #[arg(long = "storage-option", value_name = "KEY=VALUE", value_parser = parse_storage_option)]
    pub(crate) storage_option: Vec<StorageAssignment>,
}

impl StorageArgs {
    /// The options given.
    pub(crate) fn options(&self) -> brickwork::StorageOptions {
        let mut o = brickwork::StorageOptions::new();
        for a in &self.storage_option {
            o.set(&a.key, a.value.clone());
        }
        o
    }
}

/// One `--storage-option KEY=VALUE`; its value is not shown by `Debug`.
#[derive(Clone)]
pub(crate) struct StorageAssignment {
    key: String,
    value: String,
}

impl std::fmt::Debug for StorageAssignment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}=<redacted>", self.key)
    }
}

fn parse_storage_option(text: &str) -> Result<StorageAssignment, String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok(StorageAssignment {
            key: k.trim().to_owned(),
            value: v.to_owned(),
        }),
        _ => Err("expected KEY=VALUE (for example region=eu-west-1)".into()),
    }
}

#[derive(Args, Debug)]
pub(crate) struct CleanArgs {
    /// A Zarr array or a directory (what is in it and beside it is cleaned).
    pub(crate) path: PathBuf,
    /// A spill directory to clean too (besides the system's temporary directory).
    #[arg(long)]
    pub(crate) spill_dir: Option<PathBuf>,
    /// A --tmp-dir to clean too.
    #[arg(long)]
    pub(crate) tmp_dir: Option<PathBuf>,
}

/// How output arrays are written.
#[derive(Args, Debug, Clone)]
pub(crate) struct WriteArgs {
    /// Chunk shape of the output, comma-separated (default: the input's chunks, the largest
    /// per axis; for a .npy, raw or CSV file, about 64 MiB per chunk, cut along the first
    /// axis, fewer rows of CSV when the memory limit needs it).
    #[arg(long, value_name = "C1,C2,..")]
    pub(crate) chunks: Option<String>,
    /// Compression: none, zstd[:LEVEL], gzip[:LEVEL], blosc[:lz4|zstd][:LEVEL].
    #[arg(long, default_value = "zstd")]
    pub(crate) codec: String,
    /// Replace an existing output.
    #[arg(long)]
    pub(crate) overwrite: bool,
    /// Shard shape of the output, comma-separated: one stored object per shard, holding
    /// inner chunks of --chunks (Zarr v3 sharding). Each size must be a multiple of the
    /// chunk size. Writing holds whole shards in memory.
    #[arg(long, value_name = "S1,S2,..")]
    pub(crate) shards: Option<String>,
    /// Zarr format of the output: 3, or 2 (.zarray, chunk keys i.j; no --shards).
    #[arg(long, default_value = "3", value_name = "2|3")]
    pub(crate) zarr_format: u8,
    /// Continue an interrupted write of a Zarr output (killed, Ctrl-C, full disk): run the
    /// same command again with --resume. Chunks already written are kept and only the
    /// others computed; the result is byte-identical to an uninterrupted write. A rechunk
    /// through an intermediate store reuses the first pass the interrupted run left, when
    /// its sources are unchanged. Refused when the output holds another array or another
    /// computation; without an output yet, a plain write.
    #[arg(long, conflicts_with = "overwrite")]
    pub(crate) resume: bool,
}

/// How computations run.
#[derive(Args, Debug, Clone)]
pub(crate) struct ExecArgs {
    /// Scheduler: synchronous, threads, cluster (workers of their own threads, memory
    /// limit and spill store, in this process: see --workers) or processes (worker
    /// processes forked from this one, which schedules, holds the memory limit and writes
    /// the output) or mpi (the ranks of an MPI job: `mpirun -n N brickwork ...`, the
    /// default there; needs a build with `--features mpi`) [default: threads]
    #[arg(long)]
    pub(crate) scheduler: Option<String>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// With --scheduler cluster: the number of workers (default 1); --memory-limit is then
    /// each worker's. With --scheduler processes: the number of worker processes (default:
    /// --threads, else one per core).
    #[arg(long, value_name = "W")]
    pub(crate) workers: Option<usize>,
    /// With --scheduler cluster: threads per worker (default: --threads, else one per core).
    #[arg(long, value_name = "T")]
    pub(crate) threads_per_worker: Option<usize>,
    /// Memory limit for the engine's buffers, e.g. 2GB or 512MiB (default: half of the
    /// available memory). A task that cannot fit on its own is refused before any work,
    /// naming a chunk shape that would fit; intermediates that do not fit together are
    /// recomputed or spilled to disk (see --spill-dir).
    #[arg(long, value_name = "SIZE")]
    pub(crate) memory_limit: Option<String>,
    /// Requests to object stores (s3://, gs://, az://, http(s)://) kept in flight at most:
    /// fetches of source chunks and uploads of output chunks run beside the computing
    /// threads, each with its bytes reserved in --memory-limit before it is sent
    /// (default: 64).
    #[arg(long, value_name = "N")]
    pub(crate) max_requests: Option<usize>,
    /// Directory for spilled intermediates and for temporary copies of sources read against
    /// their chunking (unless --tmp-dir is given): a temporary directory is created in it
    /// when first needed and removed at the end, also on error and Ctrl-C (default:
    /// $TMPDIR, else /tmp). It must exist and be writable.
    #[arg(long, value_name = "DIR")]
    pub(crate) spill_dir: Option<PathBuf>,
    /// Directory for temporary stores: the intermediate store of a rechunk that goes
    /// through two passes (default: beside the output, hidden, on the same file system)
    /// and temporary copies of sources read against their chunking (default: --spill-dir,
    /// else $TMPDIR). Each is removed at the end, also on error, Ctrl-C and SIGTERM. It must
    /// exist and be writable.
    #[arg(long, value_name = "DIR")]
    pub(crate) tmp_dir: Option<PathBuf>,
    /// No progress output.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// Serve a live dashboard on this address while the command runs (e.g. 127.0.0.1:8787;
    /// port 0 picks a free one): task stream, progress per stage, memory against the limit
    /// with spills marked, bytes read and written per second. Its URL is printed on start.
    #[arg(long, value_name = "ADDR")]
    pub(crate) dashboard: Option<String>,
    /// Allow --dashboard on an address other than loopback (reachable from other machines).
    #[arg(long, requires = "dashboard")]
    pub(crate) dashboard_allow_remote: bool,
    /// Keep the dashboard serving this many seconds after the command ends.
    #[arg(long, value_name = "SECONDS", requires = "dashboard")]
    pub(crate) dashboard_linger: Option<f64>,
    /// Write an HTML report of the run to this file (self-contained, opens offline): the
    /// dashboard's panels, the plan (stages, tasks before and after culling, predicted vs
    /// measured peak) and the figures --stats prints.
    #[arg(long, value_name = "PATH")]
    pub(crate) report: Option<PathBuf>,
    /// Read input arrays whose brickwork write did not finish (their missing chunks read as
    /// the fill value). Without it, such an input is an error naming it and counting its
    /// missing chunks.
    #[arg(long)]
    pub(crate) allow_incomplete: bool,
    #[command(flatten)]
    pub(crate) storage: StorageArgs,
}

#[derive(Args, Debug)]
pub(crate) struct ImportArgs {
    /// Source: a .npy file, a CSV file (.csv, .tsv or .txt: 1-D or 2-D numbers, read as
    /// float64 in bounded memory), a raw binary file (with --dtype and --shape), or a Zarr
    /// array (format 2 or 3).
    pub(crate) src: PathBuf,
    /// Destination Zarr array.
    pub(crate) dst: PathBuf,
    #[command(flatten)]
    pub(crate) write: WriteArgs,
    /// Element type of a raw source (bool, int8 … uint64, float32, float64).
    #[arg(long)]
    pub(crate) dtype: Option<String>,
    /// Shape of a raw source, comma-separated.
    #[arg(long, value_name = "N1,N2,..")]
    pub(crate) shape: Option<String>,
    /// Byte order of a raw source: little or big.
    #[arg(long, default_value = "little")]
    pub(crate) byte_order: String,
    /// Field delimiter of a CSV source (a space also accepts runs of spaces and tabs).
    #[arg(long, default_value = ",")]
    pub(crate) delimiter: char,
    /// Header lines to skip at the top of a CSV source.
    #[arg(long, default_value_t = 0)]
    pub(crate) skip_header: usize,
    #[command(flatten)]
    pub(crate) exec: ExecArgs,
}

#[derive(Args, Debug)]
#[command(mut_arg("chunks", |a| a.help(
    "Chunk shape of a Zarr destination, comma-separated (default: the source's chunks, the \
     largest per axis); ignored for .npy, raw and CSV destinations, which are not chunked"
)))]
pub(crate) struct ExportArgs {
    /// Source Zarr array.
    pub(crate) src: PathBuf,
    /// Destination: .npy, CSV (.csv, .tsv or .txt; 1-D or 2-D, written a band of rows at a
    /// time), .raw/.bin (little-endian); any other path is written as a Zarr array.
    pub(crate) dst: PathBuf,
    /// Region to export, NumPy style, e.g. 0:100,:,5 or ::2,-10:.
    #[arg(long)]
    pub(crate) region: Option<String>,
    #[command(flatten)]
    pub(crate) write: WriteArgs,
    /// Field delimiter of a CSV destination.
    #[arg(long, default_value = ",")]
    pub(crate) delimiter: char,
    #[command(flatten)]
    pub(crate) exec: ExecArgs,
}

#[derive(Args, Debug)]
#[command(mut_arg("chunks", |a| a.required(true).help(
    "Chunk shape of the output, comma-separated (required: the new chunks)"
)))]
pub(crate) struct RechunkArgs {
    /// Source Zarr array.
    pub(crate) src: PathBuf,
    /// Destination Zarr array.
    pub(crate) dst: PathBuf,
    #[command(flatten)]
    pub(crate) write: WriteArgs,
    #[command(flatten)]
    pub(crate) exec: ExecArgs,
}

#[derive(Args, Debug)]
pub(crate) struct EvalArgs {
    /// The program: assignments separated by `;` or newlines, the last expression is the
    /// result, or several results separated by commas (see the language above). It may
    /// start with -.
    #[arg(allow_hyphen_values = true)]
    pub(crate) expr: String,
    /// Bind a name to a Zarr array: NAME=PATH (repeatable).
    #[arg(long = "input", short = 'i', value_name = "NAME=PATH")]
    pub(crate) inputs: Vec<String>,
    /// Write the result as a Zarr array instead of printing it (results of more than 100000
    /// elements must be written). A program with several results takes --output once per
    /// result, in order, and writes them all in one pass; the write options apply to each.
    #[arg(long, short, value_name = "PATH")]
    pub(crate) output: Vec<PathBuf>,
    /// Write the result into this region of the existing Zarr array --output instead of
    /// creating one: START:STOP per axis, comma-separated, e.g. 0:100,200:300 (an empty
    /// START or STOP is the axis' start or end, negative numbers count from the end; no
    /// steps). The result's shape must be the region's; its dtype is cast to the array's
    /// under NumPy's same_kind rule. Everything outside the region is left as it was, and
    /// the array keeps its chunks, codecs and format.
    #[arg(
        long,
        value_name = "START:STOP,..",
        requires = "output",
        conflicts_with_all = ["chunks", "codec", "shards", "zarr_format", "overwrite", "resume"]
    )]
    pub(crate) region: Option<String>,
    #[command(flatten)]
    pub(crate) write: WriteArgs,
    #[command(flatten)]
    pub(crate) exec: ExecArgs,
    /// Print execution figures as one JSON object on stderr.
    #[arg(long)]
    pub(crate) stats: bool,
    /// Plan without computing and print the plan.
    #[arg(long)]
    pub(crate) explain: bool,
    /// Write the task graph as Graphviz DOT (or SVG when FILE ends in .svg).
    #[arg(long, value_name = "FILE")]
    pub(crate) graph: Option<PathBuf>,
}

/// Parses the command line, exiting with clap's message and code 2 on a mistake.
///
/// `eval`'s program may start with `-`, so clap takes an unknown option given before it
/// (`--outptu`) for the program; an unknown long option of `eval` before `--` is refused
/// here first, as clap refuses it anywhere else.
pub(crate) fn parse() -> Cli {
    let args: Vec<OsString> = std::env::args_os().collect();
    if let Some(unknown) = unknown_eval_option(&args) {
        let mut message = format!("unexpected argument '--{}' found", unknown.name);
        if let Some(similar) = unknown.similar {
            message += &format!("\n\n  tip: a similar argument exists: '--{similar}'");
        }
        let mut cmd = Cli::command();
        cmd.build();
        match cmd.find_subcommand_mut("eval") {
            Some(eval) => eval.error(ErrorKind::UnknownArgument, message).exit(),
            None => cmd.error(ErrorKind::UnknownArgument, message).exit(),
        }
    }
    Cli::parse_from(args)
}

/// A long option that `eval` does not have, and the one it probably meant.
struct UnknownOption {
    name: String,
    similar: Option<String>,
}

/// The first `--name` of an `eval` command line, before `--`, that is not an option of
/// `eval`.
fn unknown_eval_option(args: &[OsString]) -> Option<UnknownOption> {
    let mut words = args.iter().skip(1).map(|a| a.to_string_lossy());
    if words.next()? != "eval" {
        return None;
    }
    let cmd = Cli::command();
    let known: Vec<&str> = cmd
        .find_subcommand("eval")?
        .get_arguments()
        .filter_map(clap::Arg::get_long)
        .chain(["help"])
        .collect();
    let name = words.take_while(|w| w != "--").find_map(|w| {
        let name = w.strip_prefix("--")?.split('=').next()?;
        (!known.contains(&name)).then(|| name.to_string())
    })?;
    let common = |k: &str| {
        k.chars()
            .zip(name.chars())
            .take_while(|(a, b)| a == b)
            .count()
    };
    let similar = known.into_iter().max_by_key(|k| common(k));
    Some(UnknownOption {
        similar: similar.filter(|k| common(k) >= 3).map(str::to_string),
        name,
    })
}

/// A mistake in the command line itself (exit code 2).
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Returns an error marked as a usage error.
pub(crate) fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// True for usage errors: ours, and library errors about the user's text or arguments.
pub(crate) fn is_usage_error(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.is::<UsageError>()
            || matches!(
                e.downcast_ref::<brickwork::Error>(),
                Some(brickwork::Error::Parse { .. } | brickwork::Error::UnknownDType { .. })
            )
    })
}
