//! scipy.ndimage's sliding-window filters.

use super::args::Bound;
use super::table::Filter;
use crate::array::Array;
use crate::error::Result;
use crate::expr::Boundary;
use crate::parse::value::Value;

/// scipy.ndimage's filters: `size` one int for every axis or one per axis, `mode` one of
/// scipy's names (`reflect` by default), `cval` the constant.
pub(super) fn filter(kind: Filter, b: &Bound) -> Result<Array> {
    let x = b.array("input")?;
    let sizes = b.sizes("size")?.ok_or_else(|| b.none_error("size"))?;
    let size = match sizes.len() {
        1 if x.ndim() != 1 => vec![sizes[0]; x.ndim()],
        _ => sizes,
    };
    let cval = b.float("cval", 0.0)?;
    let mode = match b.get("mode").map(|a| &a.value) {
        None => Some(Boundary::Reflect),
        Some(Value::Str(m)) => Boundary::from_name(m, cval).filter(|m| *m != Boundary::None),
        Some(_) => None,
    };
    let mode = mode.ok_or_else(|| {
        let arg = b.get("mode").expect("checked above");
        b.bad(
            arg,
            "mode",
            "\"reflect\", \"constant\", \"nearest\", \"mirror\" or \"wrap\"",
        )
    })?;
    match kind {
        Filter::Uniform => x.uniform_filter(&size, mode),
        Filter::Minimum => x.minimum_filter(&size, mode),
        Filter::Maximum => x.maximum_filter(&size, mode),
    }
}
