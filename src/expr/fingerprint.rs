//! A fingerprint of a computation: which output an expression graph produces.
//!
//! A resumed write (`WriteOptions::resume`) keeps the chunks an interrupted run wrote; that
//! is only right when the resumed run computes the same array. The fingerprint, stored with
//! the output while it is written, tells: it hashes every node's operation and parameters,
//! dtype and chunk grid (reduction trees depend on the chunking), with inputs referred to by
//! position, so two graphs built the same way have the same fingerprint in any process.
//! Sources contribute their canonical path, shape, dtype, chunk shape and generation
//! ([`crate::store::BlockRead::generation`]: the write id of an array brickwork wrote, else
//! the identity of its metadata file), in-memory arrays their elements, so resuming after a
//! source was overwritten is refused. The contents of a source store are not hashed: a
//! change that keeps its generation (chunks rewritten in place by another program) is not
//! seen.
//!
//! The hash is 64-bit FNV-1a: stable across processes and builds of this version (unlike
//! `std`'s randomly keyed hasher), and collisions between two computations written to the
//! same path are not a practical concern.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use super::{Expr, ExprKind, ExprRef};
use crate::block::Block;

/// The fingerprint of the computation of `root`, as 16 hex digits.
pub fn fingerprint(root: &ExprRef) -> String {
    let nodes = Expr::post_order(root);
    let position: HashMap<u64, usize> =
        nodes.iter().enumerate().map(|(i, n)| (n.id(), i)).collect();
    let mut h = Fnv::default();
    for node in &nodes {
        node.op_name().hash(&mut h);
        node.dtype().hash(&mut h);
        node.grid().hash(&mut h);
        for input in node.inputs() {
            position[&input.id()].hash(&mut h);
        }
        hash_parameters(node.kind(), &mut h);
    }
    format!("{:016x}", h.finish())
}

/// The parameters of an operation that its name, dtype, grid and inputs do not tell.
fn hash_parameters(kind: &ExprKind, h: &mut Fnv) {
    match kind {
        ExprKind::Source { source } => {
            let path = source.path();
            path.canonicalize()
                .unwrap_or_else(|_| path.to_path_buf())
                .hash(h);
            source.shape().hash(h);
            source.dtype().hash(h);
            source.chunk_shape().hash(h);
            // The version of the data read: a write resumed after a source was overwritten
            // would mix chunks of two versions.
            source.generation().hash(h);
        }
        ExprKind::Memory { data } => hash_block(data, h),
        // Derived `Debug` prints every field exactly (floats round-trip).
        ExprKind::Generator { generator } => format!("{generator:?}").hash(h),
        ExprKind::Unary { op, .. } => format!("{op:?}").hash(h),
        ExprKind::Binary { op, .. } => format!("{op:?}").hash(h),
        ExprKind::Transpose { perm, .. } => perm.hash(h),
        ExprKind::Index { axes, .. } => format!("{axes:?}").hash(h),
        ExprKind::Reduce { spec, .. } => format!("{spec:?}").hash(h),
        ExprKind::Contract { spec, .. } => format!("{spec:?}").hash(h),
        ExprKind::Scan { op, axis, .. } => (op, axis).hash(h),
        ExprKind::Concat { axis, .. } => axis.hash(h),
        ExprKind::Reshape { map, .. } => map.hash(h),
        // A closure cannot be hashed: its Rust type name and given name stand for it.
        ExprKind::MapBlocks { spec, .. } => {
            spec.func.token.hash(h);
            spec.func.name.hash(h);
            spec.out_axes.hash(h);
            spec.kept_blocks.hash(h);
            format!("{:?}", spec.overlap).hash(h);
        }
        ExprKind::Where { .. }
        | ExprKind::Cast { .. }
        | ExprKind::Rechunk { .. }
        | ExprKind::BroadcastTo { .. } => {}
    }
}

/// The shape and elements of an in-memory array.
fn hash_block(b: &Block, h: &mut Fnv) {
    b.shape().hash(h);
    crate::dispatch_block!(b, a => match a.as_slice() {
        Some(s) => h.write(bytemuck::cast_slice(s)),
        None => a.iter().for_each(|v| h.write(bytemuck::bytes_of(v))),
    });
}

/// 64-bit FNV-1a.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use crate::{Array, s};

    fn fp(a: &Array) -> String {
        super::fingerprint(a.expr().unwrap())
    }

    #[test]
    fn the_same_computation_built_twice_has_the_same_fingerprint() {
        let build = |seed| {
            let x = Array::random(&[40, 30], &[7, 7], seed).unwrap();
            (&x + &x.t().slice(s![..30, ..]).unwrap().t())
                .sum_axis(crate::Axis(0))
                .unwrap()
        };
        assert_eq!(fp(&build(1)), fp(&build(1)));
        assert_ne!(fp(&build(1)), fp(&build(2)));
    }

    #[test]
    fn parameters_chunks_and_data_change_the_fingerprint() {
        let x = Array::random(&[40, 30], &[7, 7], 0).unwrap();
        let y = Array::random(&[40, 30], &[8, 7], 0).unwrap();
        assert_ne!(fp(&x), fp(&y), "chunking");
        assert_ne!(fp(&(&x + 1.0)), fp(&(&x + 2.0)), "scalar");
        assert_ne!(fp(&(&x + 1.0)), fp(&(&x - 1.0)), "operation");
        let a = ndarray::ArrayD::<f64>::zeros(ndarray::IxDyn(&[3, 4]));
        let mut b = a.clone();
        b[[1, 2]] = 1.0;
        assert_ne!(
            fp(&Array::from_ndarray(a, &[2, 2]).unwrap()),
            fp(&Array::from_ndarray(b, &[2, 2]).unwrap()),
            "in-memory data"
        );
    }
}
