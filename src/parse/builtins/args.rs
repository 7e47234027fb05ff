//! Python-style argument binding: evaluated arguments matched to a builtin's parameters
//! ([`Bound`]), and their conversion to what the adapters take (arrays, axes, shapes,
//! chunks, dtypes...).

use super::creation::auto_chunks;
use super::table::Builtin;
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

/// Arguments matched to a builtin's parameters.
pub(super) struct Bound {
    name: &'static str,
    /// Column of the call.
    pub(super) col: usize,
    params: &'static [&'static str],
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
        if let Some(extra) = args.get(b.positional) {
            return Err(syntax_error(
                extra.col,
                format!(
                    "{}() takes at most {} positional argument(s), got {}",
                    b.name,
                    b.positional,
                    args.len()
                ),
            ));
        }
        let mut slots: Vec<Option<Arg>> = b.params.iter().map(|_| None).collect();
        for (slot, arg) in slots.iter_mut().zip(args) {
            *slot = Some(arg);
        }
        for (key, key_col, arg) in keywords {
            let i = keyword_slot(b, &key, key_col)?;
            if slots[i].is_some() {
                return Err(syntax_error(
                    key_col,
                    format!("{}() got multiple values for argument '{key}'", b.name),
                ));
            }
            slots[i] = Some(arg);
        }
        if let Some(i) = (0..b.required).find(|&i| slots[i].is_none()) {
            return Err(syntax_error(
                col,
                format!("{}() missing required argument '{}'", b.name, b.params[i]),
            ));
        }
        Ok(Bound {
            name: b.name,
            col,
            params: b.params,
            slots,
            opts: opts.clone(),
        })
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

    pub(super) fn array(&self, param: &str) -> Result<Array> {
        let arg = self.required(param)?;
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

pub(super) fn keyword_slot(b: &Builtin, key: &str, col: usize) -> Result<usize> {
    b.params.iter().position(|p| *p == key).ok_or_else(|| {
        syntax_error(
            col,
            format!(
                "{}() got an unexpected keyword argument '{key}' (it takes {})",
                b.name,
                b.params.join(", ")
            ),
        )
    })
}
