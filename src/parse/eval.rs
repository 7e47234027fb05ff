//! Walks the syntax tree, building lazy arrays.

use std::collections::HashMap;

use super::IndexItem;
use super::ast::{Expr, ExprKind, Keyword, Program, Subscript};
use super::builtins::{self, Arg};
use super::syntax_error;
use super::value::{Value, binary, into_array, unary};
use crate::array::{Array, NumpyIndex};
use crate::config::ComputeOptions;
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};

/// Evaluates `program` with `inputs` bound; the result as one array.
pub(super) fn run(
    program: &Program,
    inputs: &HashMap<String, Array>,
    opts: &ComputeOptions,
) -> Result<Array> {
    let result = run_value(program, inputs, opts)?;
    if let Value::Tuple(items) = &result
        && items.iter().any(|v| matches!(v, Value::Array(_)))
    {
        return Err(syntax_error(
            program.result.col,
            format!(
                "expected one array, got a tuple of arrays; take one item, as in qr(a)[0], \
                 or have each of its {} items as a result with parse::evaluate_all \
                 (brickwork eval: give --output once per result)",
                items.len()
            ),
        ));
    }
    into_array(result, program.result.col)
}

/// Evaluates `program` with `inputs` bound; the result as a list of arrays: the items of a
/// tuple (flattened one level), else the one array (a scalar as a 0-d array).
pub(super) fn run_all(
    program: &Program,
    inputs: &HashMap<String, Array>,
    opts: &ComputeOptions,
) -> Result<Vec<Array>> {
    let result = &program.result;
    let items = match run_value(program, inputs, opts)? {
        Value::Tuple(items) => items,
        one => return Ok(vec![into_array(one, result.col)?]),
    };
    if items.is_empty() {
        return Err(syntax_error(
            result.col,
            "the result is an empty tuple: there is nothing to compute",
        ));
    }
    // A tuple written out (`a, b` or `(a, b)`) places each item's error at that item.
    let written = match &result.kind {
        ExprKind::Tuple(exprs) if exprs.len() == items.len() => Some(exprs),
        _ => None,
    };
    let n = items.len();
    items
        .into_iter()
        .enumerate()
        .map(|(i, value)| match value {
            Value::Array(a) => Ok(a),
            other => {
                let col = written.map_or(result.col, |exprs| exprs[i].col);
                Err(syntax_error(col, not_an_array(i, n, &other)))
            }
        })
        .collect()
}

/// Why item `i` of a result tuple of `n` cannot be a result.
fn not_an_array(i: usize, n: usize, value: &Value) -> String {
    let what = match value.type_name() {
        "None" => "None".to_string(),
        t if t.starts_with(['a', 'e', 'i', 'o', 'u']) => format!("an {t}"),
        t => format!("a {t}"),
    };
    let hint = if matches!(value, Value::Tuple(_)) {
        " (a result tuple is flattened one level only: list the inner tuple's items, as in \
         qr(a)[0], qr(a)[1])"
    } else {
        ""
    };
    format!(
        "item {i} of the result (a tuple of {n}, counting from 0) is {what}, not an array; \
         every item of a result tuple must be an array{hint}"
    )
}

/// Runs the assignments, then evaluates the result expression.
fn run_value(
    program: &Program,
    inputs: &HashMap<String, Array>,
    opts: &ComputeOptions,
) -> Result<Value> {
    let mut env = Env {
        inputs,
        vars: HashMap::new(),
        opts,
    };
    for a in &program.assignments {
        let value = env.eval(&a.value)?;
        env.vars.insert(a.name.clone(), value);
    }
    env.eval(&program.result)
}

struct Env<'a> {
    inputs: &'a HashMap<String, Array>,
    /// Assigned names; they shadow inputs.
    vars: HashMap<String, Value>,
    /// For what must be computed while evaluating (boolean index counts, index arrays).
    opts: &'a ComputeOptions,
}

impl Env<'_> {
    fn eval(&self, e: &Expr) -> Result<Value> {
        match &e.kind {
            ExprKind::Name(n) => self.name(n, e.col),
            ExprKind::Int(i) => Ok(Value::Scalar(Scalar::Int(*i))),
            ExprKind::Float(x) => Ok(Value::Scalar(Scalar::Float(*x))),
            ExprKind::Imag(x) => Ok(Value::Scalar(Scalar::Complex(0.0, *x))),
            ExprKind::Bool(b) => Ok(Value::Scalar(Scalar::Bool(*b))),
            ExprKind::None => Ok(Value::None),
            ExprKind::Str(s) => Ok(Value::Str(s.clone())),
            ExprKind::Tuple(items) | ExprKind::List(items) => items
                .iter()
                .map(|i| self.eval(i))
                .collect::<Result<_>>()
                .map(Value::Tuple),
            ExprKind::Unary(op, x) => unary(*op, self.eval(x)?, e.col),
            ExprKind::Binary(op, a, b) => binary(*op, self.eval(a)?, self.eval(b)?, e.col),
            ExprKind::Attribute(x, name) => self.attribute(x, name, e.col),
            ExprKind::Call {
                callee,
                args,
                keywords,
            } => self.call(callee, args, keywords, e.col),
            ExprKind::Index(x, subs) => self.index(x, subs, e.col),
        }
    }

    fn name(&self, name: &str, col: usize) -> Result<Value> {
        if let Some(v) = self.vars.get(name) {
            return Ok(v.clone());
        }
        if let Some(a) = self.inputs.get(name) {
            return Ok(Value::Array(a.clone()));
        }
        if let Some(v) = constant(name) {
            return Ok(v);
        }
        if builtins::is_namespace(name) {
            return Err(syntax_error(
                col,
                format!("'{name}' is a namespace of functions; call one, as in {name}.<name>(...)"),
            ));
        }
        if builtins::is_function(name) {
            return Err(syntax_error(
                col,
                format!("'{name}' is a function; call it as {name}(...)"),
            ));
        }
        let mut known: Vec<&str> = self.inputs.keys().map(String::as_str).collect();
        known.sort_unstable();
        let inputs = if known.is_empty() {
            "there are no inputs".to_string()
        } else {
            format!("inputs are: {}", known.join(", "))
        };
        Err(syntax_error(
            col,
            format!("unknown name '{name}'; {inputs}"),
        ))
    }

    /// `a.b.c` as a dotted name when `a` is a namespace (`np`, `linalg`...) and not a
    /// variable or input.
    fn dotted(&self, e: &Expr) -> Option<String> {
        match &e.kind {
            ExprKind::Name(n)
                if !self.vars.contains_key(n)
                    && !self.inputs.contains_key(n)
                    && builtins::is_namespace(n) =>
            {
                Some(n.clone())
            }
            ExprKind::Attribute(x, m) => self.dotted(x).map(|p| format!("{p}.{m}")),
            _ => None,
        }
    }

    fn attribute(&self, x: &Expr, name: &str, col: usize) -> Result<Value> {
        if let Some(path) = self.dotted(x) {
            if let Some(v) = constant(name) {
                return Ok(v);
            }
            return Err(syntax_error(
                col,
                format!(
                    "'{path}.{name}' is not a constant; functions are called: {path}.{name}(...)"
                ),
            ));
        }
        let value = self.eval(x)?;
        if let Value::Record { kind, fields } = &value {
            return fields
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| {
                    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
                    syntax_error(
                        col,
                        format!(
                            "{kind} has no attribute '{name}' (it has {})",
                            names.join(", ")
                        ),
                    )
                });
        }
        let int = |i: usize| Value::Scalar(Scalar::Int(i as i64));
        match name {
            "T" => Ok(Value::Array(into_array(value, x.col)?.t())),
            "mT" => Ok(Value::Array(into_array(value, x.col)?.swapaxes(-2, -1)?)),
            "real" => Ok(Value::Array(
                into_array(value, x.col)?.unary(crate::UnaryOp::Real)?,
            )),
            "imag" => Ok(Value::Array(
                into_array(value, x.col)?.unary(crate::UnaryOp::Imag)?,
            )),
            "shape" => Ok(Value::Tuple(
                into_array(value, x.col)?
                    .shape()
                    .into_iter()
                    .map(int)
                    .collect(),
            )),
            "ndim" => Ok(int(into_array(value, x.col)?.ndim())),
            "size" => Ok(int(into_array(value, x.col)?.shape().iter().product())),
            "dtype" => Ok(Value::Str(into_array(value, x.col)?.dtype().to_string())),
            _ if builtins::is_method(name) => Err(syntax_error(
                col,
                format!("method '{name}' must be called: .{name}(...)"),
            )),
            _ => Err(syntax_error(
                col,
                format!(
                    "unknown attribute '{name}' (arrays have .T .mT .real .imag .shape .ndim \
                     .size .dtype and methods)"
                ),
            )),
        }
    }

    fn call(
        &self,
        callee: &Expr,
        args: &[Expr],
        keywords: &[Keyword],
        col: usize,
    ) -> Result<Value> {
        let (name, receiver) = match &callee.kind {
            ExprKind::Name(n) => (n.clone(), None),
            ExprKind::Attribute(x, m) => match self.dotted(x) {
                Some(path) => (format!("{path}.{m}"), None),
                None => (m.clone(), Some(self.arg(x)?)),
            },
            _ => {
                return Err(syntax_error(
                    col,
                    "only functions and methods can be called",
                ));
            }
        };
        let args = args.iter().map(|a| self.arg(a)).collect::<Result<_>>()?;
        let keywords = keywords
            .iter()
            .map(|k| Ok((k.name.clone(), k.col, self.arg(&k.value)?)))
            .collect::<Result<_>>()?;
        builtins::call(&name, callee.col, receiver, args, keywords, self.opts)
    }

    fn arg(&self, e: &Expr) -> Result<Arg> {
        Ok(Arg {
            value: self.eval(e)?,
            col: e.col,
        })
    }

    fn index(&self, x: &Expr, subs: &[Subscript], col: usize) -> Result<Value> {
        // `x[(i, j)]` is `x[i, j]`, as in Python.
        if let [Subscript::Index(e)] = subs
            && let ExprKind::Tuple(items) = &e.kind
        {
            let unpacked: Vec<Subscript> = items
                .iter()
                .map(|i| Subscript::Index(Expr::new(clone_kind(&i.kind), i.col)))
                .collect();
            if unpacked.len() == items.len() && !items.is_empty() {
                return self.index(x, &unpacked, col);
            }
        }
        let array = match self.eval(x)? {
            Value::Array(a) => a,
            Value::Tuple(items) => return tuple_item(items, subs, |e| self.eval(e), col),
            other => {
                return Err(syntax_error(
                    col,
                    format!("cannot index a value of type {}", other.type_name()),
                ));
            }
        };
        let mut items = Vec::with_capacity(subs.len());
        for s in subs {
            items.push(match s {
                Subscript::Slice(parts) => (IndexItem::Slice(self.slice(parts)?), col),
                Subscript::Index(e) => (IndexItem::Value(self.eval(e)?), e.col),
            });
        }
        index(&array, items, self.opts).map(Value::Array)
    }

    /// A slice subscript `start:stop:step`.
    fn slice(&self, [start, stop, step]: &[Option<Expr>; 3]) -> Result<NumpyIndex> {
        let part = |p: &Option<Expr>| match p {
            None => Ok(None),
            Some(e) => match self.eval(e)? {
                Value::None => Ok(None),
                v => index_int(v, e.col).map(Some),
            },
        };
        Ok(NumpyIndex::Slice {
            start: part(start)?,
            stop: part(stop)?,
            step: part(step)?,
        })
    }
}

/// `array[items]`: NumPy's indexing by evaluated subscripts, each with the column it
/// stands at (for messages). Ints and slices index; `None` inserts an axis; a bool array
/// (or a list of bools) masks the axes it stands for; a 1-d integer array (or a list of
/// ints) alone takes along its axis. Several integer arrays, of any dimensions, and ints
/// among them are NumPy's advanced indexing: they broadcast together and select points
/// (dask's `vindex`), the broadcast axes standing where the indexes do when these are
/// next to each other, first otherwise. What an index array selects is computed now,
/// under `opts`.
pub(super) fn index(
    array: &Array,
    items: Vec<(IndexItem, usize)>,
    opts: &ComputeOptions,
) -> Result<Array> {
    let items = items
        .into_iter()
        .map(|(item, col)| {
            Ok((
                match item {
                    IndexItem::Slice(ix) => Item::Basic(ix),
                    IndexItem::Value(v) => match index_array(v, col)? {
                        Value::None => Item::NewAxis,
                        Value::Array(a) if a.dtype() == DType::Bool => Item::Mask(a),
                        Value::Array(a) => Item::Ints(a),
                        v => Item::Int(index_int(v, col)?),
                    },
                },
                col,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let arrays = items
        .iter()
        .filter(|(i, _)| matches!(i, Item::Mask(_) | Item::Ints(_)))
        .count();
    if let Some((_, col)) = items.iter().find(|(i, _)| matches!(i, Item::Mask(_)))
        && arrays > 1
    {
        return Err(syntax_error(
            *col,
            "a bool index array must be the only index array (x[mask], x[:, mask])",
        ));
    }
    let points = arrays > 1
        || items.iter().any(|(i, _)| match i {
            Item::Ints(a) => a.ndim() != 1,
            _ => false,
        })
        || arrays == 1
            && items.iter().any(|(i, _)| matches!(i, Item::Int(_)))
            && !items.iter().any(|(i, _)| matches!(i, Item::Mask(_)));
    // The basic indexing: an index array (and, for points, an int) stands for whole axes
    // and selects along the axes of the result it became, at `at`.
    let shape = array.shape();
    let mut lens = shape.iter().chain(std::iter::repeat(&1));
    let (mut index, mut new_axes, mut kept) = (Vec::new(), Vec::new(), 0);
    let mut advanced: Vec<(&Item, usize, usize)> = Vec::new();
    for (item, col) in &items {
        match item {
            Item::NewAxis => {
                new_axes.push(kept as isize);
                kept += 1;
            }
            Item::Basic(ix) => {
                kept += usize::from(matches!(ix, NumpyIndex::Slice { .. }));
                index.push(bound_step(*ix, *lens.next().unwrap_or(&1)));
            }
            Item::Int(i) if !points => {
                index.push(NumpyIndex::Int(*i));
                lens.next();
            }
            Item::Int(_) | Item::Ints(_) | Item::Mask(_) => {
                let axes = match item {
                    Item::Mask(a) => a.ndim(),
                    _ => 1,
                };
                for _ in 0..axes {
                    index.push(NumpyIndex::FULL);
                    lens.next();
                }
                advanced.push((item, kept, *col));
                kept += axes;
            }
        }
    }
    let mut out = array.index_numpy(&index)?;
    for axis in new_axes {
        out = out.expand_dims(axis)?;
    }
    match advanced.as_slice() {
        [] => Ok(out),
        [(Item::Mask(a) | Item::Ints(a), axis, col)] if !points => {
            select(out, a, *axis, *col, opts)
        }
        several => select_points(out, several, opts),
    }
}

/// A subscript, classified.
enum Item {
    /// A slice, or an int among basic indexes.
    Basic(NumpyIndex),
    /// `None`.
    NewAxis,
    /// An int (advanced when it stands among integer index arrays).
    Int(isize),
    /// An integer index array.
    Ints(Array),
    /// A bool index array.
    Mask(Array),
}

/// NumPy's advanced integer indexing of `x`: the index arrays (and ints) `advanced`, each
/// with the axis of `x` it selects along, broadcast together to a shape `B`; the result
/// has `B`'s axes where the first index stood if all stood next to each other, first
/// otherwise, then `x`'s other axes.
fn select_points(
    x: Array,
    advanced: &[(&Item, usize, usize)],
    opts: &ComputeOptions,
) -> Result<Array> {
    let mut values: Vec<(ndarray::ArrayD<i64>, usize)> = Vec::with_capacity(advanced.len());
    for &(item, _, col) in advanced {
        let v = match item {
            Item::Int(i) => ndarray::arr0(*i as i64).into_dyn(),
            Item::Ints(a) => index_block(a, col, opts)?,
            _ => return Err(Error::internal("a bool index among index arrays")),
        };
        values.push((v, col));
    }
    let mut broadcast: Vec<usize> = Vec::new();
    for (v, col) in &values {
        broadcast =
            crate::expr::broadcast_shapes("index", &broadcast, v.shape()).map_err(|_| {
                syntax_error(
                    *col,
                    format!(
                        "index arrays of shapes that do not broadcast together: {} and {}",
                        crate::grid::fmt_shape(&broadcast),
                        crate::grid::fmt_shape(v.shape())
                    ),
                )
            })?;
    }
    let flat: Vec<Vec<i64>> = values
        .iter()
        .map(|(v, _)| {
            v.broadcast(ndarray::IxDyn(&broadcast))
                .map(|b| b.iter().copied().collect())
                .ok_or_else(|| Error::internal("an index array that does not broadcast"))
        })
        .collect::<Result<_>>()?;
    let picked: Vec<usize> = advanced.iter().map(|&(_, at, _)| at).collect();
    let adjacent = picked.windows(2).all(|w| w[1] == w[0] + 1);
    let rest: Vec<usize> = (0..x.ndim()).filter(|d| !picked.contains(d)).collect();
    let perm: Vec<usize> = picked.iter().chain(&rest).copied().collect();
    let refs: Vec<&[i64]> = flat.iter().map(Vec::as_slice).collect();
    let points = x.permuted_axes(&perm)?.vindex(&refs)?;
    // The points' axis as the broadcast shape.
    let mut target: Vec<isize> = broadcast.iter().map(|&d| d as isize).collect();
    target.extend(points.shape()[1..].iter().map(|&d| d as isize));
    let out = points.reshape(&target)?;
    if !adjacent || picked[0] == 0 {
        return Ok(out);
    }
    // Adjacent indexes: the broadcast axes go where the first one stood.
    let (nb, first) = (broadcast.len(), picked[0]);
    let order: Vec<usize> = (nb..nb + first)
        .chain(0..nb)
        .chain(nb + first..out.ndim())
        .collect();
    out.permuted_axes(&order)
}

/// `x` indexed by the array `a` standing at `axis`: a bool mask over the axes from
/// `axis` on, or integers along `axis`.
fn select(x: Array, a: &Array, axis: usize, col: usize, opts: &ComputeOptions) -> Result<Array> {
    if a.dtype() == DType::Bool {
        if a.ndim() == 1 {
            return x.compress_with(a, axis as isize, opts);
        }
        let masked = axis..axis + a.ndim();
        let perm: Vec<usize> = masked
            .clone()
            .chain((0..x.ndim()).filter(|d| !masked.contains(d)))
            .collect();
        let moved = x.permuted_axes(&perm)?;
        return moved
            .boolean_index_with(a, opts)?
            .moveaxis(0, axis as isize);
    }
    let indices = index_values(a, col, opts)?;
    if a.ndim() == 0 {
        let mut index = vec![NumpyIndex::FULL; x.ndim()];
        index[axis] = NumpyIndex::Int(indices[0] as isize);
        return x.index_numpy(&index);
    }
    x.take(&indices, axis as isize)
}

/// The values of an integer index array (0-d or 1-d), computed now.
fn index_values(a: &Array, col: usize, opts: &ComputeOptions) -> Result<Vec<i64>> {
    if a.ndim() > 1 {
        return Err(syntax_error(
            col,
            format!(
                "an index array taken along one axis must be 0-d or 1-d; got shape {}",
                crate::grid::fmt_shape(&a.shape())
            ),
        ));
    }
    Ok(index_block(a, col, opts)?.iter().copied().collect())
}

/// The values of an integer index array of any shape, computed now.
fn index_block(a: &Array, col: usize, opts: &ComputeOptions) -> Result<ndarray::ArrayD<i64>> {
    if !a.dtype().is_integer() {
        return Err(syntax_error(
            col,
            format!(
                "an index array must be bool or integer; got {} of shape {}",
                a.dtype(),
                crate::grid::fmt_shape(&a.shape())
            ),
        ));
    }
    let (values, _) = a.astype(DType::I64)?.compute_with(opts)?;
    Ok(values.into_typed::<i64>())
}

/// NumPy's constants.
fn constant(name: &str) -> Option<Value> {
    Some(match name {
        "pi" => Value::Scalar(Scalar::Float(std::f64::consts::PI)),
        "e" => Value::Scalar(Scalar::Float(std::f64::consts::E)),
        "inf" => Value::Scalar(Scalar::Float(f64::INFINITY)),
        "nan" => Value::Scalar(Scalar::Float(f64::NAN)),
        "newaxis" => Value::None,
        _ => return None,
    })
}

/// A list or tuple standing as one subscript (`x[[0, 5, 36], :]`, `x[[[0, 1], [2, 3]]]`):
/// an index array of its ints or bools, nested lists giving its axes, as NumPy; other
/// values as they are.
fn index_array(v: Value, col: usize) -> Result<Value> {
    let Value::Tuple(items) = v else {
        return Ok(v);
    };
    let bad = || {
        syntax_error(
            col,
            "an index list must hold ints or bools only (or lists of them, all of one \
             length), as in x[[0, 5, 36], :]",
        )
    };
    let (mut shape, mut scalars) = (Vec::new(), Vec::new());
    nested(&items, 0, &mut shape, &mut scalars).ok_or_else(bad)?;
    let block: crate::block::Block =
        if !scalars.is_empty() && scalars.iter().all(|s| matches!(s, Scalar::Bool(_))) {
            let b: Vec<bool> = scalars
                .iter()
                .map(|s| matches!(s, Scalar::Bool(true)))
                .collect();
            ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&shape), b)
                .map_err(|_| bad())?
                .into()
        } else {
            let i: Vec<i64> = scalars
                .iter()
                .map(|s| match s {
                    Scalar::Int(i) => Some(*i),
                    _ => None,
                })
                .collect::<Option<_>>()
                .ok_or_else(bad)?;
            ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&shape), i)
                .map_err(|_| bad())?
                .into()
        };
    let chunks: Vec<usize> = shape.iter().map(|&d| d.max(1)).collect();
    Ok(Value::Array(Array::from_ndarray(block, &chunks)?))
}

/// The scalars of nested tuples, in order, and their shape (`depth` the nesting so far);
/// `None` when the nesting is ragged or holds something else.
fn nested(
    items: &[Value],
    depth: usize,
    shape: &mut Vec<usize>,
    out: &mut Vec<Scalar>,
) -> Option<()> {
    match shape.get(depth) {
        Some(&n) if n != items.len() => return None,
        Some(_) => {}
        None => shape.push(items.len()),
    }
    for item in items {
        match item {
            Value::Scalar(s) if shape.len() == depth + 1 => out.push(*s),
            Value::Tuple(inner) => nested(inner, depth + 1, shape, out)?,
            _ => return None,
        }
    }
    Some(())
}

/// A copy of a literal-only subscript expression (a tuple subscript's items).
fn clone_kind(kind: &ExprKind) -> ExprKind {
    match kind {
        ExprKind::Int(i) => ExprKind::Int(*i),
        ExprKind::Float(x) => ExprKind::Float(*x),
        ExprKind::Imag(x) => ExprKind::Imag(*x),
        ExprKind::Bool(b) => ExprKind::Bool(*b),
        ExprKind::None => ExprKind::None,
        ExprKind::Str(s) => ExprKind::Str(s.clone()),
        ExprKind::Name(n) => ExprKind::Name(n.clone()),
        _ => ExprKind::None,
    }
}

/// `t[i]` of a tuple (the results of `qr`, `svd`, `lstsq`), `i` an int, negative from the
/// end as in Python.
fn tuple_item(
    items: Vec<Value>,
    subs: &[Subscript],
    eval: impl Fn(&Expr) -> Result<Value>,
    col: usize,
) -> Result<Value> {
    let [Subscript::Index(e)] = subs else {
        return Err(syntax_error(
            col,
            "a tuple takes one integer index, as in qr(a)[0]",
        ));
    };
    let i = index_int(eval(e)?, e.col)?;
    let n = items.len() as isize;
    let at = if i < 0 { i + n } else { i };
    if !(0..n).contains(&at) {
        return Err(syntax_error(
            e.col,
            format!("tuple index {i} is out of range for a tuple of {n} items"),
        ));
    }
    Ok(items.into_iter().nth(at as usize).unwrap_or(Value::None))
}

/// Clamps a slice step to the axis length: the same selection (a step at least as long as
/// the axis takes one element), with no overflow in the slice arithmetic for huge steps.
fn bound_step(ix: NumpyIndex, len: usize) -> NumpyIndex {
    let bound = len.max(1) as isize;
    match ix {
        NumpyIndex::Slice { start, stop, step } => NumpyIndex::Slice {
            start,
            stop,
            step: step.map(|s| s.clamp(-bound, bound)),
        },
        int => int,
    }
}

fn index_int(v: Value, col: usize) -> Result<isize> {
    match v {
        Value::Scalar(Scalar::Int(i)) => Ok(i as isize),
        Value::Array(_) => Err(syntax_error(
            col,
            "indexing with an array is not supported (only integers and slices)",
        )),
        other => Err(syntax_error(
            col,
            format!(
                "indices must be integers or slices, not {}",
                other.type_name()
            ),
        )),
    }
}
