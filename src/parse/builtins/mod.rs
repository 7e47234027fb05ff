//! The functions and methods a program can call, and Python-style argument binding.

mod api;
mod args;
mod call;
mod creation;
mod elementwise;
mod fft;
mod filters;
mod linalg;
mod random;
mod reductions;
mod structure;
mod table;

pub(super) use args::Arg;
pub(super) use call::call;
pub use table::{Function, Param, ParamKind};
pub(super) use table::{functions, is_function, is_method, is_namespace, names};
