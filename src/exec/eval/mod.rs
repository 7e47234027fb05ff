//! Running one task: reading a chunk, evaluating a fused program, reducing.

mod inputs;
mod map;
mod program;
mod run;
mod tiles;

pub(crate) use run::run_counted;
