//! Python-style argument binding: evaluated arguments matched to a builtin's parameters
//! ([`Bound`]), and their conversion to what the adapters take (arrays, axes, shapes,
//! chunks, dtypes...).

use super::creation::auto_chunks;
use super::table::{Builtin, ParamKind};
use crate::array::Array;
use crate::config::ComputeOptions;
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};
use crate::parse::syntax_error;
use crate::parse::value::{Value, into_array};

/// An evaluated argument and the column of its expression.
pub(in crate::parse) struct Arg {
    pub(in crate::parse) value: Value,
    pub(in crate::parse) col: usize,
}

/// A keyword argument: its name, the name's column, and its value.
pub(in crate::parse) type KeywordArg = (String, usize, Arg);

/// Arguments matched to a builtin's parameters, defaults filled in from its signature.
pub(super) struct Bound {
    pub(super) name: &'static str,
    /// Column of the call.
    pub(super) col: usize,
    params: Vec<&'static str>,
    slots: Vec<Option<Arg>>,
    /// For what must be computed while evaluating.
    pub(super) opts: ComputeOptions,
}

impl Bound {
    pub(super) fn new(
        b: &'static Builtin,
        col: usize,
        args: Vec<Arg>,
        keywords: Vec<KeywordArg>,
        opts: &ComputeOptions,
    ) -> Result<Bound> {
        let params = b.params();
        let mut slots: Vec<Option<Arg>> = params.iter().map(|_| None).collect();
        let given = args.len();
        let mut args = args.into_iter();
        for (i, p) in params.iter().enumerate() {
            match p.kind {
                ParamKind::PositionalOrKeyword => slots[i] = args.next(),
                ParamKind::VarPositional => {
                    let rest: Vec<Arg> = args.by_ref().collect();
                    let col = rest.first().map_or(col, |a| a.col);
                    let items = rest.into_iter().map(|a| a.value).collect();
                    slots[i] = Some(Arg {
                        value: Value::Tuple(items),
                        col,
                    });
                }
                ParamKind::KeywordOnly => {}
            }
        }
        if let Some(extra) = args.next() {
            let positional = params
                .iter()
                .filter(|p| p.kind == ParamKind::PositionalOrKeyword)
                .count();
            return Err(syntax_error(
                extra.col,
                format!(
                    "{}() takes at most {positional} positional argument(s), got {given}",
                    b.name
                ),
            ));
        }
        for (key, key_col, arg) in keywords {
            let i = params
                .iter()
                .position(|p| p.name == key && p.kind != ParamKind::VarPositional)
                .ok_or_else(|| unexpected_keyword(b, &key, key_col))?;
            if slots[i].is_some() {
                return Err(syntax_error(
                    key_col,
                    format!("{}() got multiple values for argument '{key}'", b.name),
                ));
            }
            slots[i] = Some(arg);
        }
        for (slot, p) in slots.iter_mut().zip(&params) {
            if slot.is_some() || p.kind == ParamKind::VarPositional {
                continue;
            }
            let Some(default) = p.default else {
                return Err(syntax_error(
                    col,
                    format!("{}() missing required argument '{}'", b.name, p.name),
                ));
            };
            *slot = Some(Arg {
                value: literal(default).ok_or_else(|| {
                    Error::internal(format!("{}: default {default:?} is not a literal", b.name))
                })?,
                col,
            });
        }
        Ok(Bound {
            name: b.name,
            col,
            params: params.iter().map(|p| p.name).collect(),
            slots,
            opts: opts.clone(),
        })
    }

    /// Whether the builtin has a parameter called `param`.
    pub(super) fn has(&self, param: &str) -> bool {
        self.params.contains(&param)
    }

    /// The name of the builtin's first parameter (the array of most functions).
    pub(super) fn first(&self) -> &'static str {
        self.params.first().copied().unwrap_or("x")
    }

    /// The argument for parameter `param`, if given (`None` counts as not given).
    pub(super) fn get(&self, param: &str) -> Option<&Arg> {
        let i = self.params.iter().position(|p| *p == param)?;
        self.slots[i]
            .as_ref()
            .filter(|a| !matches!(a.value, Value::None))
    }

    pub(super) fn bad(&self, arg: &Arg, param: &str, expected: &str) -> Error {
        syntax_error(
            arg.col,
            format!(
                "{}() argument '{param}' must be {expected}, got {}",
                self.name,
                arg.value.type_name()
            ),
        )
    }

    /// A required argument (given, by [`Bound::new`], but maybe as `None`).
    pub(super) fn required(&self, param: &str) -> Result<&Arg> {
        self.get(param).ok_or_else(|| self.none_error(param))
    }

    pub(super) fn none_error(&self, param: &str) -> Error {
        syntax_error(
            self.col,
            format!("{}() argument '{param}' cannot be None", self.name),
        )
    }

    /// An array argument: an array, a number (a 0-d array), or a list of numbers.
    pub(super) fn array(&self, param: &str) -> Result<Array> {
        let arg = self.required(param)?;
        if matches!(arg.value, Value::Tuple(_))
            && let Some(a) = super::api::literal_array(&arg.value, None, None)?
        {
            return Ok(a);
        }
        into_array(arg.value.clone(), arg.col)
    }

    pub(super) fn value(&self, param: &str) -> Result<Value> {
        Ok(self.required(param)?.value.clone())
    }

    /// A number, if given.
    pub(super) fn scalar(&self, param: &str) -> Result<Option<Scalar>> {
        self.get(param)
            .map(|_| self.required_scalar(param))
            .transpose()
    }

    pub(super) fn required_scalar(&self, param: &str) -> Result<Scalar> {
        let arg = self.required(param)?;
        match arg.value {
            Value::Scalar(s) => Ok(s),
            _ => Err(self.bad(arg, param, "a number")),
        }
    }

    pub(super) fn float(&self, param: &str, default: f64) -> Result<f64> {
        Ok(self.scalar(param)?.map_or(default, Scalar::as_f64))
    }

    pub(super) fn bool(&self, param: &str, default: bool) -> Result<bool> {
        match self.get(param) {
            None => Ok(default),
            Some(Arg {
                value: Value::Scalar(Scalar::Bool(b)),
                ..
            }) => Ok(*b),
            Some(arg) => Err(self.bad(arg, param, "True or False")),
        }
    }

    pub(super) fn int(&self, param: &str) -> Result<Option<i64>> {
        let Some(arg) = self.get(param) else {
            return Ok(None);
        };
        match arg.value {
            Value::Scalar(Scalar::Int(i)) => Ok(Some(i)),
            _ => Err(self.bad(arg, param, "an int")),
        }
    }

    pub(super) fn count(&self, param: &str) -> Result<Option<usize>> {
        let Some(i) = self.int(param)? else {
            return Ok(None);
        };
        usize::try_from(i).map(Some).map_err(|_| {
            let arg = self.get(param).map_or(1, |a| a.col);
            syntax_error(
                arg,
                format!("{}() argument '{param}' must be >= 0, got {i}", self.name),
            )
        })
    }

    /// An int or a tuple of ints (`None` when not given).
    pub(super) fn ints(&self, param: &str) -> Result<Option<Vec<i64>>> {
        let Some(arg) = self.get(param) else {
            return Ok(None);
        };
        let one = |v: &Value| match v {
            Value::Scalar(Scalar::Int(i)) => Some(*i),
            _ => None,
        };
        let ints = match &arg.value {
            Value::Tuple(items) => items.iter().map(one).collect(),
            v => one(v).map(|i| vec![i]),
        };
        ints.map(Some)
            .ok_or_else(|| self.bad(arg, param, "an int or a tuple of ints"))
    }

    /// Non-negative ints, e.g. a shape.
    pub(super) fn sizes(&self, param: &str) -> Result<Option<Vec<usize>>> {
        let Some(ints) = self.ints(param)? else {
            return Ok(None);
        };
        let sizes: Option<Vec<usize>> = ints.iter().map(|&i| usize::try_from(i).ok()).collect();
        sizes.map(Some).ok_or_else(|| {
            syntax_error(
                self.get(param).map_or(self.col, |a| a.col),
                format!(
                    "{}() argument '{param}' must be non-negative, got {ints:?}",
                    self.name
                ),
            )
        })
    }

    pub(super) fn shape(&self) -> Result<Vec<usize>> {
        self.sizes("shape")?.ok_or_else(|| self.none_error("shape"))
    }

    /// `chunks=`: one int for every axis, or a tuple with one per axis; automatic when not
    /// given.
    pub(super) fn chunks(&self, shape: &[usize], dtype: DType) -> Result<Vec<usize>> {
        let one_for_all = matches!(
            self.get("chunks"),
            Some(Arg {
                value: Value::Scalar(_),
                ..
            })
        );
        match self.sizes("chunks")? {
            None => Ok(auto_chunks(shape, dtype.size())),
            Some(c) if one_for_all => Ok(vec![c[0]; shape.len()]),
            Some(c) => Ok(c),
        }
    }

    /// `astype`'s required dtype.
    pub(super) fn required_dtype(&self) -> Result<DType> {
        self.required("dtype")?;
        self.dtype(DType::F64)
    }

    pub(super) fn dtype(&self, default: DType) -> Result<DType> {
        match self.get("dtype") {
            None => Ok(default),
            Some(Arg {
                value: Value::Str(name),
                ..
            }) => DType::from_name(name).ok_or_else(|| Error::UnknownDType { name: name.clone() }),
            Some(arg) => Err(self.bad(arg, "dtype", "a dtype name such as \"float32\"")),
        }
    }

    /// `axis=`, which may be left out only for a 1-d array `x` (NumPy then works on the
    /// flattened array, which brickwork does not build; `numpy_does` says what NumPy does
    /// with it in the error).
    pub(super) fn axis_of_1d(&self, x: &Array, numpy_does: &str) -> Result<isize> {
        match self.int("axis")? {
            Some(a) => Ok(a as isize),
            None if x.ndim() == 1 => Ok(0),
            None => Err(syntax_error(
                self.col,
                format!(
                    "{}() of a {}-d array needs an axis (without one NumPy {numpy_does} the flattened array)",
                    self.name,
                    x.ndim()
                ),
            )),
        }
    }

    pub(super) fn axes(&self) -> Result<Option<Vec<isize>>> {
        let axes = self.ints("axis")?;
        Ok(axes.map(|a| a.into_iter().map(|i| i as isize).collect()))
    }
}

fn unexpected_keyword(b: &Builtin, key: &str, col: usize) -> Error {
    syntax_error(
        col,
        format!(
            "{}() got an unexpected keyword argument '{key}' (its signature: {}({}))",
            b.name, b.name, b.signature
        ),
    )
}

/// The value of a default in a signature: `None`, `True`, `False`, an int, a float or a
/// quoted string.
pub(super) fn literal(text: &str) -> Option<Value> {
    Some(match text {
        "None" => Value::None,
        "True" => Value::Scalar(Scalar::Bool(true)),
        "False" => Value::Scalar(Scalar::Bool(false)),
        _ if text.starts_with(['\'', '"']) => {
            Value::Str(text.get(1..text.len().checked_sub(1)?)?.to_string())
        }
        _ => match text.parse::<i64>() {
            Ok(i) => Value::Scalar(Scalar::Int(i)),
            Err(_) => Value::Scalar(Scalar::Float(text.parse().ok()?)),
        },
    })
}
