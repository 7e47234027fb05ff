//! Printing results: scalars as bare numbers that round-trip exactly, small arrays
//! NumPy-style, execution figures as JSON.

use std::io::Write;

use std::sync::Arc;

use anyhow::Result;
use brickwork::units::format_bytes;
use brickwork::{Block, LimitSource, Metrics, Progress, ProgressEvent};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};

/// A progress bar on stderr fed by the engine's progress events: tasks done / total, bytes
/// written, ETA, memory in use against the limit. indicatif hides it when stderr is not a
/// terminal; it clears itself when the computation's options are dropped.
pub(crate) fn progress_bar() -> Progress {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        .with_finish(ProgressFinish::AndClear);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} tasks, {msg}, ETA {eta}")
    {
        bar.set_style(style);
    }
    Progress(Arc::new(move |e: &ProgressEvent| {
        bar.set_length(e.tasks_total);
        bar.set_position(e.tasks_done);
        bar.set_message(format!(
            "{} out, memory {} of {}",
            format_bytes(e.bytes_output),
            format_bytes(e.reserved_bytes),
            format_bytes(e.memory_limit)
        ));
    }))
}

/// Prints the library's notices (a leftover temporary of an ended process reused or
/// removed) on stderr, as `brickwork: ...`, also with --quiet.
pub(crate) struct Notices;

impl brickwork::observe::Observer for Notices {
    fn notice(&self, text: &str) {
        eprintln!("brickwork: {text}");
    }
}

/// One element as text: floats in their shortest exact form (`0.1`, `1.0`, `nan`, `inf`),
/// bools as `True`/`False`.
fn element<T: std::fmt::Debug + brickwork::Element>(v: T) -> String {
    match T::DTYPE {
        brickwork::DType::Bool => if v.to_bool() { "True" } else { "False" }.to_string(),
        brickwork::DType::F32 | brickwork::DType::F64 => {
            let x = v.to_f64();
            if x.is_nan() {
                "nan".into()
            } else if x.is_infinite() {
                if x > 0.0 { "inf".into() } else { "-inf".into() }
            } else {
                format!("{v:?}")
            }
        }
        _ => format!("{v:?}"),
    }
}

/// NumPy's default line width (`np.get_printoptions()["linewidth"]`).
const LINE_WIDTH: usize = 75;

/// Nested brackets, rows on their own lines, elements right-aligned to a common width.
fn format_nested(items: &[String], shape: &[usize], width: usize, depth: usize, out: &mut String) {
    if shape.len() == 1 {
        format_row(items, width, depth, out);
        return;
    }
    let inner: usize = shape[1..].iter().product();
    out.push('[');
    for i in 0..shape[0] {
        if i > 0 {
            out.push_str(&"\n".repeat(shape.len() - 1));
            out.push_str(&" ".repeat(depth + 1));
        }
        format_nested(
            &items[i * inner..(i + 1) * inner],
            &shape[1..],
            width,
            depth + 1,
            out,
        );
    }
    out.push(']');
}

/// One row in brackets, wrapped as NumPy wraps it (`_formatArray`): a line takes elements
/// while it stays within the line width less one column per enclosing bracket and one for
/// the closing one; continuation lines are indented past the brackets.
fn format_row(items: &[String], width: usize, depth: usize, out: &mut String) {
    let indent = " ".repeat(depth + 1);
    let limit = LINE_WIDTH.saturating_sub(depth + 1);
    let (mut text, mut line) = (String::new(), indent.clone());
    for (i, item) in items.iter().enumerate() {
        let word = format!("{item:>width$}");
        if line.len() + word.len() > limit && line.len() > indent.len() {
            text.push_str(line.trim_end());
            text.push('\n');
            line.clone_from(&indent);
        }
        line.push_str(&word);
        if i + 1 < items.len() {
            line.push(' ');
        }
    }
    text.push_str(&line);
    out.push('[');
    out.push_str(&text[indent.len()..]);
    out.push(']');
}

/// The line printed between two results when a program has several: no result's text has
/// such a line (elements are numbers, `nan`, `inf`, `True`, `False`, in brackets), so
/// splitting stdout at `\n---\n` gives each result's text.
pub(crate) const RESULT_SEPARATOR: &str = "---";

/// Prints a result block to stdout.
pub(crate) fn print_block(block: &Block) -> Result<()> {
    print_blocks(std::slice::from_ref(block))
}

/// Prints several result blocks to stdout, in order, each as [`print_block`] prints one,
/// with a [`RESULT_SEPARATOR`] line between two.
pub(crate) fn print_blocks(blocks: &[Block]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    for (i, block) in blocks.iter().enumerate() {
        if i > 0 {
            writeln!(out, "{RESULT_SEPARATOR}")?;
        }
        writeln!(out, "{}", format_block(block))?;
    }
    out.flush()?;
    Ok(())
}

/// A result block as text: a 0-d block as a bare number, others NumPy-style.
fn format_block(block: &Block) -> String {
    let items: Vec<String> =
        brickwork::dispatch_block!(block, a => a.iter().map(|&v| element(v)).collect());
    match block.shape() {
        [] => items[0].clone(),
        shape if block.is_empty() => format!("[] (shape {})", brickwork::grid::fmt_shape(shape)),
        shape => {
            let width = items.iter().map(String::len).max().unwrap_or(0);
            let mut s = String::new();
            format_nested(&items, shape, width, 0, &mut s);
            s
        }
    }
}

/// The process's peak resident set size (`VmHWM` in `/proc/self/status`), if known.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Prints execution figures as one JSON object on stderr, with where the memory limit came
/// from (`memory_limit_source`: "given", "half of the cgroup's FILE", ...).
pub(crate) fn print_stats(m: &Metrics, source: &LimitSource, seconds: f64) {
    let mut stats = m.to_json();
    stats["memory_limit_source"] = serde_json::json!(source.to_string());
    stats["peak_rss_bytes"] = serde_json::json!(peak_rss_bytes());
    stats["seconds"] = serde_json::json!(seconds);
    eprintln!("{stats}");
}
