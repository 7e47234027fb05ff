//! The program interpreter: how a task evaluates its fused programs over a region, tile by
//! tile, from the blocks it reads ([`Inputs`]). The stage kinds ([`super::stage`]) call it
//! from their `run`.

mod inputs;
mod program;
mod tiles;
mod whole;

pub(crate) use inputs::Inputs;
pub(crate) use tiles::{eval_tiled, reduce_tiled};
pub(crate) use whole::{MapArg, eval_whole, map_arg};
