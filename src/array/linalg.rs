//! Products of arrays: `matmul` (`@`), `dot`, `tensordot`, `outer`, `vecdot` and
//! two-operand `einsum`, all one blocked contraction (`ExprKind::Contract`): a GEMM per
//! pair of blocks, summed over the blocks of the contracted axes by a reduction tree.
//!
//! Batch axes broadcast as in NumPy: an axis one operand lacks, or has with length 1, is
//! taken from the other (a length-1 axis is indexed at 0, so it is never materialized
//! at full length).

use super::axis::AxisArg;
use super::{Array, NumpyIndex};
use crate::error::{Error, Result};
use crate::expr::{self, ContractSpec};

/// Partial products summed per tree level of a contraction (dask's `split_every`).
const SPLIT_EVERY: usize = 4;

/// Operands and labels of a contraction being set up.
struct Labelled {
    lhs: Array,
    rhs: Array,
    lhs_labels: Vec<u32>,
    rhs_labels: Vec<u32>,
    out: Vec<u32>,
}

impl Labelled {
    fn build(self, name: &'static str) -> Result<Array> {
        let spec = ContractSpec {
            name,
            lhs: self.lhs_labels,
            rhs: self.rhs_labels,
            out: self.out,
            split_every: SPLIT_EVERY,
        };
        let node = expr::contract(self.lhs.expr()?, self.rhs.expr()?, spec)?;
        Ok(Array::from_expr(node))
    }
}

/// Labels broadcast batch axes: `a` and `b` are the batch shapes of two operands (aligned
/// at the right); labels start at `next`. Returns the labels of each operand's batch axes
/// (`None` for an axis of length 1 that the other operand stretches: it is indexed at 0),
/// and the result's batch labels.
#[allow(clippy::type_complexity)]
fn broadcast_batch(
    name: &str,
    a: &[usize],
    b: &[usize],
    next: &mut u32,
) -> Result<(Vec<Option<u32>>, Vec<Option<u32>>, Vec<u32>)> {
    let n = a.len().max(b.len());
    let (mut la, mut lb, mut out) = (vec![None; a.len()], vec![None; b.len()], Vec::new());
    for i in 0..n {
        let da = (i + a.len()).checked_sub(n);
        let db = (i + b.len()).checked_sub(n);
        let (na, nb) = (da.map(|d| a[d]), db.map(|d| b[d]));
        let label = *next;
        *next += 1;
        match (na, nb) {
            (Some(x), Some(y)) if x != y && x != 1 && y != 1 => {
                return Err(Error::ShapeMismatch {
                    op: name.into(),
                    lhs: a.to_vec(),
                    rhs: b.to_vec(),
                    hint: format!("batch axes of lengths {x} and {y} do not broadcast"),
                });
            }
            (Some(x), Some(y)) => {
                let (keep_a, keep_b) = (x != 1 || y == 1, y != 1 || x == 1);
                if let Some(d) = da.filter(|_| keep_a) {
                    la[d] = Some(label);
                }
                if let Some(d) = db.filter(|_| keep_b) {
                    lb[d] = Some(label);
                }
            }
            (Some(_), None) => la[da.expect("present")] = Some(label),
            (None, Some(_)) => lb[db.expect("present")] = Some(label),
            (None, None) => unreachable!("one operand has every aligned axis"),
        }
        out.push(label);
    }
    Ok((la, lb, out))
}

/// Drops the axes whose label is `None` (length-1 batch axes the other operand stretches)
/// by indexing them at 0; returns the array and the labels of the axes kept.
fn drop_stretched(x: &Array, labels: &[Option<u32>]) -> Result<(Array, Vec<u32>)> {
    if labels.iter().all(Option::is_some) {
        return Ok((x.clone(), labels.iter().flatten().copied().collect()));
    }
    let index: Vec<NumpyIndex> = labels
        .iter()
        .map(|l| match l {
            Some(_) => NumpyIndex::FULL,
            None => NumpyIndex::Int(0),
        })
        .collect();
    Ok((
        x.index_numpy(&index)?,
        labels.iter().flatten().copied().collect(),
    ))
}

/// Normalizes an axis of an array of `ndim` dimensions (negative counts from the end).
fn axis(name: &str, a: isize, ndim: usize) -> Result<usize> {
    expr::normalize_axes(&[a], ndim)
        .map(|v| v[0])
        .map_err(|e| match e {
            Error::InvalidAxis { axis, ndim, .. } => Error::InvalidAxis {
                axis,
                ndim,
                hint: name.into(),
            },
            other => other,
        })
}

impl Array {
    /// The matrix product `self @ other`, as NumPy's `matmul`: 2-d operands multiply as
    /// matrices; a 1-d left (right) operand is a row (column) vector whose axis is dropped
    /// from the result; operands of more dimensions are stacks of matrices in the last two
    /// axes, with the other axes broadcast. Computed blockwise with a GEMM kernel per pair
    /// of blocks; integers wrap on overflow.
    ///
    /// # Errors
    /// A 0-d operand, contracted axes of different lengths, batch axes that do not
    /// broadcast, bool operands (convert with `astype` first).
    pub fn matmul(&self, other: &Array) -> Result<Array> {
        let (a, b) = (self.expr()?, other.expr()?);
        let (sa, sb) = (a.shape(), b.shape());
        if sa.is_empty() || sb.is_empty() {
            return Err(Error::invalid(format!(
                "matmul: operands must have at least one dimension, got shapes {} and {} (use * to scale by a scalar)",
                crate::grid::fmt_shape(&sa),
                crate::grid::fmt_shape(&sb)
            )));
        }
        // Labels: k contracted, m the left rows, n the right columns, then batch axes.
        let (k, m, n) = (0, 1, 2);
        let mut next = 3;
        let batch = |s: &[usize]| s[..s.len().saturating_sub(2)].to_vec();
        let (la, lb, mut out) = broadcast_batch("matmul", &batch(&sa), &batch(&sb), &mut next)?;
        let with = |batch: Vec<Option<u32>>, matrix: &[u32]| -> Vec<Option<u32>> {
            batch
                .into_iter()
                .chain(matrix.iter().map(|&l| Some(l)))
                .collect()
        };
        let (mat_a, mat_b): (&[u32], &[u32]) = (
            if sa.len() == 1 { &[k] } else { &[m, k] },
            if sb.len() == 1 { &[k] } else { &[k, n] },
        );
        let (lhs, lhs_labels) = drop_stretched(self, &with(la, mat_a))?;
        let (rhs, rhs_labels) = drop_stretched(other, &with(lb, mat_b))?;
        if sa.len() > 1 {
            out.push(m);
        }
        if sb.len() > 1 {
            out.push(n);
        }
        Labelled {
            lhs,
            rhs,
            lhs_labels,
            rhs_labels,
            out,
        }
        .build("matmul")
    }

    /// NumPy's `dot`: for 1-d and 2-d operands the inner and matrix products; for n-d ones
    /// the sum over the last axis of `self` and the second-to-last of `other` (the last if
    /// `other` is 1-d), every other axis kept; a 0-d operand scales the other.
    ///
    /// # Errors
    /// Contracted axes of different lengths; bool operands.
    pub fn dot(&self, other: &Array) -> Result<Array> {
        let (na, nb) = (self.ndim(), other.ndim());
        if na == 0 || nb == 0 {
            return (self * other).check_ok();
        }
        let kb = if nb == 1 { 0 } else { nb - 2 };
        self.tensordot(other, &[na as isize - 1], &[kb as isize])
            .map_err(|e| rename(e, "dot"))
    }

    /// NumPy's `tensordot`: the sum over `self`'s axes `axes_self` paired with `other`'s
    /// `axes_other`; the result's axes are `self`'s others followed by `other`'s others.
    ///
    /// # Errors
    /// Axis lists of different lengths, axes out of range or repeated, paired axes of
    /// different lengths, bool operands.
    pub fn tensordot(
        &self,
        other: &Array,
        axes_self: &[isize],
        axes_other: &[isize],
    ) -> Result<Array> {
        if axes_self.len() != axes_other.len() {
            return Err(Error::invalid(format!(
                "tensordot: {} axes of the first operand paired with {} of the second",
                axes_self.len(),
                axes_other.len()
            )));
        }
        let (na, nb) = (self.ndim(), other.ndim());
        let pa = expr::normalize_axes(axes_self, na)?;
        let pb = expr::normalize_axes(axes_other, nb)?;
        let lhs_labels: Vec<u32> = (0..na as u32).collect();
        let mut rhs_labels: Vec<u32> = (na as u32..(na + nb) as u32).collect();
        for (&x, &y) in pa.iter().zip(&pb) {
            rhs_labels[y] = x as u32;
        }
        let out = (0..na)
            .filter(|d| !pa.contains(d))
            .map(|d| d as u32)
            .chain((0..nb).filter(|d| !pb.contains(d)).map(|d| rhs_labels[d]))
            .collect();
        Labelled {
            lhs: self.clone(),
            rhs: other.clone(),
            lhs_labels,
            rhs_labels,
            out,
        }
        .build("tensordot")
    }

    /// The outer product of two 1-d arrays: `out[i, j] = self[i] * other[j]`.
    ///
    /// # Errors
    /// Operands that are not 1-d (NumPy flattens them; reshape first), bool operands.
    pub fn outer(&self, other: &Array) -> Result<Array> {
        for (what, x) in [("left operand", self), ("right operand", other)] {
            let ndim = x.try_shape()?.len();
            if ndim != 1 {
                return Err(Error::RankMismatch {
                    op: "outer".into(),
                    what: what.into(),
                    expected: 1,
                    found: ndim,
                    hint: "flatten it first".into(),
                });
            }
        }
        Labelled {
            lhs: self.clone(),
            rhs: other.clone(),
            lhs_labels: vec![0],
            rhs_labels: vec![1],
            out: vec![0, 1],
        }
        .build("outer")
    }

    /// NumPy's `vecdot`: the dot product of vectors along `axis` (of both operands, after
    /// broadcasting the other axes), e.g. row-wise dot products of two matrices; a complex
    /// first operand is conjugated (`sum(conj(x1) * x2)`).
    ///
    /// # Errors
    /// Axes of different lengths or that do not broadcast, bool operands.
    pub fn vecdot(&self, other: &Array, axis_: impl Into<AxisArg>) -> Result<Array> {
        let axis_ = axis_.into().get();
        let (sa, sb) = (self.shape(), other.shape());
        let n = sa.len().max(sb.len());
        if sa.is_empty() || sb.is_empty() {
            return Err(Error::invalid(
                "vecdot: operands must have at least one dimension",
            ));
        }
        let ax = axis("vecdot", axis_, n)?;
        // Move the vector axis last in both (after aligning ranks), then broadcast the rest.
        let last = |x: &Array, nd: usize| -> Result<Array> {
            let d = ax as isize - (n - nd) as isize;
            if d < 0 {
                return Err(Error::invalid(format!(
                    "vecdot: axis {axis_} is outside an operand of {nd} dimension(s)"
                )));
            }
            let mut perm: Vec<usize> = (0..nd).filter(|&i| i != d as usize).collect();
            perm.push(d as usize);
            x.permuted_axes(&perm)
        };
        // The first operand is conjugated, as the standard's and NumPy 2's vecdot.
        let first = if self.dtype().is_complex() {
            self.unary(crate::UnaryOp::Conj)?
        } else {
            self.clone()
        };
        let (a, b) = (last(&first, sa.len())?, last(other, sb.len())?);
        let (sa, sb) = (a.shape(), b.shape());
        let mut next = 1;
        let (la, lb, out) = broadcast_batch(
            "vecdot",
            &sa[..sa.len() - 1],
            &sb[..sb.len() - 1],
            &mut next,
        )?;
        let vector = |batch: Vec<Option<u32>>| -> Vec<Option<u32>> {
            batch.into_iter().chain([Some(0)]).collect()
        };
        let (lhs, lhs_labels) = drop_stretched(&a, &vector(la))?;
        let (rhs, rhs_labels) = drop_stretched(&b, &vector(lb))?;
        Labelled {
            lhs,
            rhs,
            lhs_labels,
            rhs_labels,
            out,
        }
        .build("vecdot")
    }

    /// Two-operand `einsum` with explicit or implicit output: `"ij,jk->ik"` (matmul),
    /// `"bij,bjk->bik"` (batched), `"i,i->"` (inner), `"ij->ji"` is not a two-operand
    /// subscript. Labels are ASCII letters; a label in both operands and not in the output
    /// is summed over; without `->` the output is the labels that appear once, sorted.
    ///
    /// # Errors
    /// Malformed subscripts, a label repeated within one operand (diagonals) or summed
    /// over one operand only, lengths that do not match, bool operands.
    pub fn einsum(subscripts: &str, a: &Array, b: &Array) -> Result<Array> {
        let bad = |why: &str| Error::invalid(format!("einsum {subscripts:?}: {why}"));
        let (inputs, output) = match subscripts.split_once("->") {
            Some((i, o)) => (i, Some(o)),
            None => (subscripts, None),
        };
        let parts: Vec<&str> = inputs.split(',').collect();
        let [sa, sb] = parts.as_slice() else {
            return Err(bad("expected two operands, as in \"ij,jk->ik\""));
        };
        let labels = |s: &str| -> Result<Vec<u32>> {
            s.trim()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphabetic() {
                        Ok(c as u32)
                    } else {
                        Err(bad(&format!(
                            "{c:?} is not a subscript letter (ellipses are not supported)"
                        )))
                    }
                })
                .collect()
        };
        let (la, lb) = (labels(sa)?, labels(sb)?);
        for (l, x, which) in [(&la, a, "first"), (&lb, b, "second")] {
            if l.len() != x.ndim() {
                return Err(bad(&format!(
                    "{} labels for the {which} operand, which has {} dimension(s)",
                    l.len(),
                    x.ndim()
                )));
            }
        }
        let out = match output {
            Some(o) => labels(o)?,
            None => {
                let mut once: Vec<u32> = la
                    .iter()
                    .chain(&lb)
                    .copied()
                    .filter(|l| la.iter().chain(&lb).filter(|x| *x == l).count() == 1)
                    .collect();
                once.sort_unstable();
                once
            }
        };
        Labelled {
            lhs: a.clone(),
            rhs: b.clone(),
            lhs_labels: la,
            rhs_labels: lb,
            out,
        }
        .build("einsum")
    }

    /// One-operand `einsum`: `"ii->i"` (the diagonal), `"ii"` (the trace), `"ij->ji"`
    /// (a transpose), `"ij->i"` (a sum): a label repeated in the operand takes the
    /// diagonal of those two axes ([`Array::diagonal`]), labels the output lacks are
    /// summed over, and the rest are permuted into the output's order. Without `->` the
    /// output is the labels that appear once, sorted.
    ///
    /// # Errors
    /// Malformed subscripts; a label three times, or repeated on axes of different
    /// lengths; an output label the operand lacks.
    pub fn einsum_one(subscripts: &str, a: &Array) -> Result<Array> {
        let bad = |why: &str| Error::invalid(format!("einsum {subscripts:?}: {why}"));
        let (input, output) = match subscripts.split_once("->") {
            Some((i, o)) => (i.trim(), Some(o.trim())),
            None => (subscripts.trim(), None),
        };
        if input.contains(',') {
            return Err(bad("one operand is given, the subscripts name two"));
        }
        let mut labels: Vec<char> = input.chars().collect();
        if let Some(c) = labels
            .iter()
            .chain(output.unwrap_or("").chars().collect::<Vec<_>>().iter())
            .find(|c| !c.is_ascii_alphabetic())
        {
            return Err(bad(&format!(
                "{c:?} is not a subscript letter (ellipses are not supported)"
            )));
        }
        if labels.len() != a.ndim() {
            return Err(bad(&format!(
                "{} labels for an operand of {} dimension(s)",
                labels.len(),
                a.ndim()
            )));
        }
        let out: Vec<char> = match output {
            Some(o) => o.chars().collect(),
            None => {
                let mut once: Vec<char> = labels
                    .iter()
                    .copied()
                    .filter(|l| labels.iter().filter(|x| *x == l).count() == 1)
                    .collect();
                once.sort_unstable();
                once
            }
        };
        let mut x = a.clone();
        // Each repeated label: the diagonal of its two axes, which becomes the last axis.
        while let Some((i, j)) = (0..labels.len()).find_map(|i| {
            (i + 1..labels.len())
                .find(|&j| labels[j] == labels[i])
                .map(|j| (i, j))
        }) {
            let shape = x.shape();
            if shape[i] != shape[j] {
                return Err(bad(&format!(
                    "label {:?} is on axes of lengths {} and {}",
                    labels[i], shape[i], shape[j]
                )));
            }
            let l = labels[i];
            x = x.diagonal(0, i as isize, j as isize)?;
            labels.retain(|&c| c != l);
            labels.push(l);
        }
        if let Some(c) = out.iter().find(|c| !labels.contains(c)) {
            return Err(bad(&format!("output label {c:?} is not in the operand")));
        }
        let summed: Vec<isize> = (0..labels.len())
            .filter(|&d| !out.contains(&labels[d]))
            .map(|d| d as isize)
            .collect();
        if !summed.is_empty() {
            x = x.reduce(
                crate::expr::ReduceOp::Sum,
                Some(&summed),
                &super::ReduceOptions::default(),
            )?;
            labels.retain(|c| out.contains(c));
        }
        let perm: Vec<usize> = out
            .iter()
            .map(|c| labels.iter().position(|l| l == c).unwrap_or(0))
            .collect();
        if perm.iter().enumerate().all(|(i, &p)| i == p) {
            return Ok(x);
        }
        x.permuted_axes(&perm)
    }

    /// `Ok(self)` unless an operator left an error.
    fn check_ok(self) -> Result<Array> {
        self.check()?;
        Ok(self)
    }
}

/// An error of a contraction reported under another operation's name.
fn rename(e: Error, name: &str) -> Error {
    match e {
        Error::ShapeMismatch { lhs, rhs, hint, .. } => Error::ShapeMismatch {
            op: name.into(),
            lhs,
            rhs,
            hint,
        },
        other => other,
    }
}
