//! The expression language of `brickwork eval`: NumPy-like programs over named arrays.
//!
//! [`evaluate`] parses a program and evaluates it into a lazy [`Array`]; nothing is computed.
//!
//! ```
//! # fn main() -> brickwork::Result<()> {
//! use std::collections::HashMap;
//! let v = brickwork::parse::evaluate(
//!     "x = random((100, 100), chunks=(30, 30), seed=0); (x + x.T)[::2, 50:].mean(axis=1)",
//!     &HashMap::new(),
//! )?;
//! assert_eq!(v.shape(), vec![50]);
//! # Ok(()) }
//! ```
//!
//! # Grammar
//!
//! Python syntax, Python precedence (loosest first):
//!
//! ```text
//! program    = { sep } statement { sep { sep } statement } { sep } ;   (* last: an expression *)
//! sep        = ";" | newline ;                     (* newlines inside brackets are blanks *)
//! statement  = [ NAME "=" ] exprs ;
//! exprs      = expr { "," expr } [ "," ] ;         (* a, b: a tuple, as is a, *)
//! expr       = bit_or [ ("==" | "!=" | "<" | "<=" | ">" | ">=") bit_or ] ;  (* no chains *)
//! bit_or     = bit_xor { "|" bit_xor } ;
//! bit_xor    = bit_and { "^" bit_and } ;
//! bit_and    = shift { "&" shift } ;
//! shift      = arith { ("<<" | ">>") arith } ;
//! arith      = term { ("+" | "-") term } ;
//! term       = factor { ("*" | "/" | "//" | "%") factor } ;    (* "@": an error *)
//! factor     = ("-" | "+" | "~") factor | power ;
//! power      = postfix [ "**" factor ] ;                      (* -x**2 is -(x**2) *)
//! postfix    = atom { "." NAME | "[" subscripts "]" | "(" [ arguments ] ")" } ;
//! subscripts = subscript { "," subscript } [ "," ] ;
//! subscript  = expr | [ expr ] ":" [ expr ] [ ":" [ expr ] ] ;
//! arguments  = argument { "," argument } [ "," ] ;           (* keywords last *)
//! argument   = [ NAME "=" ] expr ;
//! atom       = NAME | INT | FLOAT | STRING | "True" | "False" | "None"
//!            | "(" [ expr { "," expr } [ "," ] ] ")"         (* (a), (a,), (a, b), () *)
//!            | "[" [ expr { "," expr } [ "," ] ] "]" ;       (* a list: [0.1, 0.9] *)
//! ```
//!
//! `INT` is `10` or `10_000`, `FLOAT` is `2.5`, `.5`, `1.` or `1e-3`, `STRING` is `'…'` or
//! `"…"` without escapes; `#` starts a comment.
//!
//! # Semantics
//!
//! - Names are assignments made earlier in the program, then `inputs`.
//! - A statement's value may be a tuple without parentheses, as in Python: `x.sum(), x.mean()`
//!   is `(x.sum(), x.mean())`. A program whose result is a tuple of arrays (that, `(a, b)`,
//!   or `qr(a)`) has several results: [`evaluate_all`] returns each item, and
//!   [`crate::compute_many`] or [`crate::to_zarr_many`] computes them in one pass.
//! - Literal-only expressions fold to Python scalars with Python's rules (`1/2` is 0.5,
//!   `7 // -2` is -4, `2 ** -1` is 0.5, integers are exact int64 and overflow is an
//!   error). A scalar next to an array is weak (NEP 50: `u8 + 1` stays uint8); a scalar
//!   result becomes a 0-d array of int64, float64 or bool.
//! - Indexing follows NumPy: `x[::2, 50:]`, `x[-1]`, `x[::-1]`, out-of-range slice bounds
//!   clip; integer indices drop the axis.
//! - Attributes: `.T`. Methods: `sum prod min max mean var std` (with `axis=` an int or a
//!   tuple, `keepdims=`, `split_every=`, and `ddof=` for `var`/`std`), `astype(dtype)`,
//!   `clip(lo, hi)`, `transpose([axes])`, `rechunk(chunks)`. All of these are functions
//!   too (`sum(x, axis=0)`), as are `sqrt exp log abs sin cos`, `minimum maximum where`.
//! - Creation: `random(shape, chunks=, seed=0)`, `random_normal(shape, chunks=, seed=0,
//!   loc=0.0, scale=1.0)`, `zeros(shape, dtype="float64", chunks=)`, `ones(…)`,
//!   `full(shape, value, dtype=, chunks=)`, `arange([start,] stop[, step], chunks=)`,
//!   `linspace(start, stop, num=50, endpoint=True, chunks=)`. A shape is an int or a tuple;
//!   `chunks` is an int for every axis or a tuple. Without `chunks`, every axis is cut at
//!   the same length, the largest that keeps a chunk at or under 128 MiB (arrays up to
//!   128 MiB are one chunk), like dask's `chunks="auto"`.
//!
//! # Errors
//!
//! Syntax errors, unknown names, functions, methods and keywords, and arguments of the
//! wrong kind are [`Error::Parse`] with the 1-based column (in characters, counted over the
//! whole text) of the offending token. Errors of the array layer (shapes that do not
//! broadcast, dtypes, out-of-range indices, unknown dtype names) keep their own variants.

mod ast;
mod builtins;
mod eval;
mod lexer;
mod parser;
mod value;

use std::collections::HashMap;

use crate::array::Array;
use crate::config::ComputeOptions;
use crate::error::{Error, Result};

pub use builtins::{Function, Param, ParamKind};
pub use value::Value;

use crate::array::NumpyIndex;

/// The names of the functions a program can call (methods included), in the order the
/// language documents them.
pub fn function_names() -> Vec<&'static str> {
    builtins::names()
}

/// Every function a program can call, from the one table that also binds their arguments:
/// name, parameters (keywords, defaults), whether it is a method, a line of documentation.
/// Other front ends (the Python package's array namespace) list their functions from it.
///
/// ```
/// let sum = brickwork::parse::functions().into_iter().find(|f| f.name == "sum").unwrap();
/// assert!(sum.method);
/// assert_eq!(sum.params[1].name, "axis");
/// assert_eq!(sum.params[1].default, Some("None"));
/// ```
pub fn functions() -> Vec<Function> {
    builtins::functions()
}

/// Calls the function `name` of the table ([`functions`]) with evaluated arguments, as a
/// program's `name(args..., key=value...)` would: what other front ends (the Python
/// package's array namespace) call, so that every function of the table is theirs with the
/// same signature, defaults and behaviour. What must be computed while calling (a boolean
/// selection's count, index arrays' values, `unique`'s values) runs under `opts`.
///
/// ```
/// # fn main() -> brickwork::Result<()> {
/// use brickwork::parse::{Value, call};
/// use brickwork::{Array, ComputeOptions};
/// let x = Array::random(&[10, 4], &[5, 4], 0)?;
/// let opts = ComputeOptions::default();
/// let axis = vec![("axis".to_string(), Value::Scalar(1i64.into()))];
/// let Value::Array(s) = call("sum", vec![Value::Array(x)], axis, &opts)? else {
///     unreachable!("sum gives an array")
/// };
/// assert_eq!(s.shape(), vec![10]);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for an unknown function, arguments that do not bind to its
/// signature or are of the wrong kind (the message names the function and the argument);
/// the array layer's errors for invalid operations.
pub fn call(
    name: &str,
    args: Vec<Value>,
    keywords: Vec<(String, Value)>,
    opts: &ComputeOptions,
) -> Result<Value> {
    let arg = |value| builtins::Arg { value, col: 0 };
    let args = args.into_iter().map(arg).collect();
    let keywords = keywords.into_iter().map(|(k, v)| (k, 0, arg(v))).collect();
    builtins::call(name, 0, None, args, keywords, opts).map_err(without_column)
}

/// One item of a NumPy index, evaluated: what stands between the commas of `x[...]`.
#[derive(Clone, Debug)]
pub enum IndexItem {
    /// A slice `start:stop:step`.
    Slice(NumpyIndex),
    /// An int; `None` (a new axis of length 1); a bool array or a tuple of bools (a mask
    /// over the axes it stands for); an integer array or a tuple of ints (taken along its
    /// axis; several adjacent ones select points, as dask's `vindex`).
    Value(Value),
}

/// `x[items]` with NumPy's semantics, as a program's `x[...]` indexes (ints, slices, new
/// axes, boolean masks, integer arrays): what other front ends (the Python package's
/// `x[x > 0]`, `x[[0, 5, 36], :]`) call. An ellipsis is theirs to expand into full slices.
/// What an index array selects is computed now, under `opts`; the result is lazy.
///
/// # Errors
/// [`Error::InvalidArgument`] for items that are not indices, several index arrays that
/// are not adjacent integer arrays, a bool array beside another; the array layer's errors
/// (an index out of range, a mask of the wrong shape).
pub fn index(x: &Array, items: Vec<IndexItem>, opts: &ComputeOptions) -> Result<Array> {
    let items = items.into_iter().map(|i| (i, 0)).collect();
    eval::index(x, items, opts).map_err(without_column)
}

/// A language error outside of a program's text: its message, without a column.
fn without_column(e: Error) -> Error {
    match e {
        Error::Parse { message, .. } => Error::invalid(message),
        e => e,
    }
}

/// The list of functions for `brickwork eval --help`, by section: with `long`, one line per
/// function with its signature and documentation; otherwise the names of each section.
pub fn help(long: bool) -> String {
    let mut out = String::new();
    let mut section = "";
    for f in functions() {
        if f.section != section {
            section = f.section;
            out.push_str(if out.is_empty() { "" } else { "\n" });
            out.push_str(section);
            out.push(':');
            if long {
                out.push('\n');
            }
        }
        if long {
            let method = if f.method { " (also a method)" } else { "" };
            out.push_str(&format!(
                "  {}({}){method}\n      {}\n",
                f.name, f.signature, f.doc
            ));
        } else {
            out.push(' ');
            out.push_str(f.name);
        }
    }
    out.push('\n');
    out
}

/// The deepest nesting of the syntax tree (parentheses, operators, calls) a program may have.
const MAX_DEPTH: usize = 100;

/// Parses and evaluates a NumPy-like program over named inputs, returning the (lazy) result.
/// What shapes depend on is computed while evaluating, with default options (see
/// [`evaluate_with`]): the counts of a boolean index, the values of integer index arrays.
///
/// # Errors
/// [`Error::Parse`] for programs that do not parse or name unknown things, and for a
/// result that is a tuple of arrays (see [`evaluate_all`]); the array layer's errors for
/// invalid operations (see the [module docs](self)).
pub fn evaluate(text: &str, inputs: &HashMap<String, Array>) -> Result<Array> {
    evaluate_with(text, inputs, &ComputeOptions::default())
}

/// [`evaluate`], running what must be computed while the program is evaluated (how many
/// elements a boolean index selects, the values of integer index arrays, a histogram's
/// range) under `opts`: its scheduler and memory limit.
///
/// # Errors
/// As [`evaluate`].
pub fn evaluate_with(
    text: &str,
    inputs: &HashMap<String, Array>,
    opts: &ComputeOptions,
) -> Result<Array> {
    let result = lexer::lex(text)
        .and_then(parser::parse)
        .and_then(|program| eval::run(&program, inputs, opts));
    result.map_err(|e| with_input(e, text))
}

/// Parses and evaluates a program that may have several results: a result that is a tuple
/// (`x.sum(axis=0), x.mean(axis=1)`, `(a, b)`, `qr(a)`) gives its items, in order (one
/// level: a tuple inside it is not flattened); any other result gives one array, as
/// [`evaluate_with`] does. Pass the results to [`crate::compute_many`] or
/// [`crate::to_zarr_many_with`] to compute them in one pass, reading what they share once.
///
/// ```
/// # fn main() -> brickwork::Result<()> {
/// use std::collections::HashMap;
/// use brickwork::ComputeOptions;
/// let opts = ComputeOptions::default();
/// let results = brickwork::parse::evaluate_all(
///     "x = random((100, 100), chunks=(30, 30), seed=0); x.sum(axis=0), x.mean(axis=1)",
///     &HashMap::new(),
///     &opts,
/// )?;
/// assert_eq!(results.len(), 2);
/// let refs: Vec<&brickwork::Array> = results.iter().collect();
/// let (blocks, _) = brickwork::compute_many(&refs, &opts)?;
/// assert_eq!(blocks[1].shape(), &[100]);
/// # Ok(()) }
/// ```
///
/// # Errors
/// As [`evaluate`]; [`Error::Parse`] at the item for a tuple item that is not an array (a
/// number, a string, a nested tuple), naming its position, and for an empty tuple.
pub fn evaluate_all(
    text: &str,
    inputs: &HashMap<String, Array>,
    opts: &ComputeOptions,
) -> Result<Vec<Array>> {
    let result = lexer::lex(text)
        .and_then(parser::parse)
        .and_then(|program| eval::run_all(&program, inputs, opts));
    result.map_err(|e| with_input(e, text))
}

/// An [`Error::Parse`] at `column`; [`evaluate`] fills in the input.
fn syntax_error(column: usize, message: impl Into<String>) -> Error {
    Error::Parse {
        input: String::new(),
        column,
        message: message.into(),
    }
}

fn with_input(e: Error, text: &str) -> Error {
    match e {
        Error::Parse {
            input,
            column,
            message,
        } if input.is_empty() => Error::Parse {
            input: text.to_string(),
            column,
            message,
        },
        e => e,
    }
}
