//! Passes over a lowered plan, one rule per file, applied by the driver between lowering
//! and scheduling.

pub mod inline;
pub mod realign;

pub use inline::{inline_late_reads, inline_reads};
pub use realign::{misaligned, read_copy};
