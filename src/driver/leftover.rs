//! A resumed two-pass write reuses the first pass that an interrupted run left.
//!
//! The intermediate store of a two-pass write (a bounded rechunk, see [`super::rechunk`])
//! lives in a temporary directory named for its owner (`store::temp`). A run killed by
//! SIGKILL or the out-of-memory killer leaves it behind, with the first pass complete (when
//! it was killed in the second) or partly written. `--resume`
//! ([`crate::store::WriteOptions::resume`]) of the same write looks for such leftovers of
//! ended processes and moves the one that is valid for it into its own temporary
//! directory, then resumes the first pass there (nothing to do when it was complete) and
//! runs the second pass from it. Valid means: made for the same target (its absolute path),
//! from the same generations of the same sources (each source's
//! [`BlockRead::generation`](crate::store::BlockRead::generation), recorded in the store's
//! attributes when it was created), for the same first pass (the fingerprint of the
//! computation rechunked to the intermediate chunks, which covers its shape, dtype and
//! chunks). Leftovers for the target that are not valid are removed. Each reuse and
//! removal is told to the computation's observers ([`crate::observe::Observer::notice`];
//! the CLI prints it).

use std::path::Path;

use crate::config::ComputeOptions;
use crate::error::{Error, Result};
use crate::expr::{self, ExprKind, ExprRef};
use crate::store::{ReadOptions, ZarrSource, temp};

/// The attribute of an intermediate store that says what it was made for (see
/// [`made_for`]).
pub(super) const MADE_FOR: &str = "brickwork_intermediate";

/// The name of the intermediate store inside its temporary directory.
pub(super) const STORE: &str = "intermediate.zarr";

/// What the intermediate store of a two-pass write of `e` to `path` records about what it
/// is for: the target's absolute path and the generation of each source of `e` (in post
/// order; `null` where it cannot be told).
pub(super) fn made_for(e: &ExprRef, path: &Path) -> serde_json::Value {
    let target = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let sources: Vec<serde_json::Value> = expr::Expr::post_order(e)
        .iter()
        .filter_map(|node| match node.kind() {
            ExprKind::Source { source } => Some(
                source
                    .generation()
                    .map_or(serde_json::Value::Null, serde_json::Value::from),
            ),
            _ => None,
        })
        .collect();
    serde_json::json!({ "target": target.to_string_lossy(), "sources": sources })
}

/// What the first pass of a two-pass write is.
pub(super) struct FirstPass<'a, F> {
    /// The computation written (before its rechunk to the intermediate chunks).
    pub(super) expr: &'a ExprRef,
    /// The intermediate chunks chosen for this run.
    pub(super) chunks: &'a [usize],
    /// What it is for ([`made_for`]).
    pub(super) made_for: &'a serde_json::Value,
    /// Whether both passes through intermediate chunks other than `chunks` fit the memory
    /// limit (a leftover made under another limit is reused when its chunks fit).
    pub(super) fits: F,
}

/// What to do with a leftover intermediate store.
enum Verdict {
    /// Reuse it: its intermediate chunks.
    Reuse(Vec<usize>),
    /// Remove it, for this reason.
    Remove(String),
    /// Leave it: it was made for another target of the same file name.
    NotOurs,
}

/// The fingerprint of the first pass of writing `e` through intermediate chunks `chunks`:
/// what the intermediate store records (`write::write_start` computes the same).
pub(super) fn first_fingerprint(e: &ExprRef, chunks: &[usize]) -> Result<String> {
    let node = expr::rechunk_node(e, expr::regular_grid(&e.shape(), chunks)?)?;
    Ok(expr::fingerprint(&node))
}

/// Moves to `into` the intermediate store that an ended process left in `dir` for the
/// two-pass write to `path` of `first`, when one is valid (see the module doc); removes
/// the other leftovers of ended processes in `dir` for that target, each told to `opts`'
/// observers. Returns the intermediate chunks of the store moved to `into`, if one was.
///
/// # Errors
/// [`Error::Io`] when `dir` cannot be listed, a leftover cannot be removed or the store
/// cannot be moved; planning errors of `first.fits`.
pub(super) fn claim<F>(
    dir: &Path,
    path: &Path,
    into: &Path,
    first: &FirstPass<'_, F>,
    opts: &ComputeOptions,
) -> Result<Option<Vec<usize>>>
where
    F: Fn(&[usize]) -> Result<bool>,
{
    let mut claimed = None;
    for t in temp::orphans(dir, Some(path))? {
        if t.kind != "rechunk" {
            continue;
        }
        let store = t.path.join(STORE);
        let left = format!(
            "{} (an intermediate store for {}, left by pid {}, which has ended)",
            t.path.display(),
            path.display(),
            t.owner.pid
        );
        let verdict = if claimed.is_some() {
            Verdict::Remove("another one is reused".into())
        } else {
            check(&store, first)?
        };
        match verdict {
            Verdict::NotOurs => continue,
            Verdict::Reuse(chunks) => {
                let done = ZarrSource::open_with(
                    &store,
                    &ReadOptions {
                        allow_incomplete: true,
                        ..ReadOptions::default()
                    },
                )
                .and_then(|s| s.stored_objects());
                match std::fs::rename(&store, into) {
                    Ok(()) => {}
                    // Another run resuming the same write took it first.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(source) => {
                        return Err(Error::Io {
                            path: store,
                            source,
                        });
                    }
                }
                claimed = Some(chunks);
                let done = done.map_or(String::new(), |d| {
                    format!(
                        ": {} of {} chunks of its first pass are stored",
                        d.count, d.expected
                    )
                });
                opts.observers.notice(&format!("reusing {left}{done}"));
            }
            Verdict::Remove(why) => {
                opts.observers
                    .notice(&format!("removed {left}: not reused, {why}"));
            }
        }
        temp::remove(&t)?;
    }
    Ok(claimed)
}

/// Whether the leftover intermediate store at `store` is valid for `first`.
fn check<F>(store: &Path, first: &FirstPass<'_, F>) -> Result<Verdict>
where
    F: Fn(&[usize]) -> Result<bool>,
{
    let remove = |why: &str| Ok(Verdict::Remove(why.into()));
    let Ok(source) = ZarrSource::open_with(
        store,
        &ReadOptions {
            allow_incomplete: true,
            ..ReadOptions::default()
        },
    ) else {
        return remove("it holds no readable array");
    };
    let attributes = serde_json::Value::Object(source.attributes());
    let theirs = attributes.get(MADE_FOR);
    let target = |v: Option<&serde_json::Value>| v.and_then(|m| m.get("target")).cloned();
    if target(theirs) != target(Some(first.made_for)) {
        return Ok(Verdict::NotOurs);
    }
    if theirs != Some(first.made_for) {
        return remove("a source has changed since it was made");
    }
    let unknown = first.made_for["sources"]
        .as_array()
        .is_some_and(|s| s.iter().any(serde_json::Value::is_null));
    if unknown {
        return remove("the version of a source cannot be told");
    }
    if source.shape() != first.expr.shape().as_slice() || source.dtype() != first.expr.dtype() {
        return remove("it holds an array of another shape or dtype");
    }
    let chunks = source.chunk_shape().to_vec();
    let fingerprint = attributes
        .get(crate::store::BRICKWORK_ATTRIBUTE)
        .and_then(|b| b.get("fingerprint"))
        .and_then(|f| f.as_str());
    if fingerprint != Some(first_fingerprint(first.expr, &chunks)?.as_str()) {
        return remove("it was made for another computation");
    }
    if chunks != first.chunks && !(first.fits)(&chunks)? {
        return remove(&format!(
            "its intermediate chunks {} do not fit the memory limit of this run",
            crate::grid::fmt_shape(&chunks)
        ));
    }
    Ok(Verdict::Reuse(chunks))
}
