//! The product of two blocks summed over shared axes: the kernel of `matmul`, `tensordot`,
//! `outer`, `vecdot` and two-operand `einsum` (see [`ContractSpec`]).
//!
//! The operands' axes are grouped as batch (in both operands and the result), left free
//! (left operand and result), right free (right operand and result) and contracted (both
//! operands, not the result). Each operand is viewed as a stack of matrices — left as
//! (batch, left free, contracted), right as (batch, contracted, right free) — copied only
//! when its axes are not already in that order, and each pair of matrices is multiplied
//! with a GEMM kernel: the `gemm` crate for float32 and float64 (packed, vectorized with
//! run-time CPU dispatch, single-threaded: the executor runs one task per core), or
//! OpenBLAS with the cargo feature `openblas` (see `src/kernel/blas.rs`); ndarray's generic
//! product for integers, which wrap on overflow like NumPy's.
//!
//! [`GEMM_KERNEL`] names the float kernel this build uses.

use ndarray::{
    Array3, ArrayD, ArrayView2, ArrayViewD, ArrayViewMut2, Axis, CowArray, Ix3, IxDyn, LinalgScalar,
};

use crate::block::{Block, BlockElement, BlockRef};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::expr::ContractSpec;

/// The labels of a contraction in the order the kernel multiplies them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Groups {
    /// In both operands and the result, in result order.
    pub batch: Vec<u32>,
    /// In the left operand and the result, in result order.
    pub left: Vec<u32>,
    /// In the right operand and the result, in result order.
    pub right: Vec<u32>,
    /// In both operands only, in left-operand order.
    pub contracted: Vec<u32>,
}

impl Groups {
    /// Groups the labels of `spec`.
    pub fn of(spec: &ContractSpec) -> Groups {
        let in_l = |l: &u32| spec.lhs.contains(l);
        let in_r = |l: &u32| spec.rhs.contains(l);
        Groups {
            batch: spec
                .out
                .iter()
                .copied()
                .filter(|l| in_l(l) && in_r(l))
                .collect(),
            left: spec
                .out
                .iter()
                .copied()
                .filter(|l| in_l(l) && !in_r(l))
                .collect(),
            right: spec
                .out
                .iter()
                .copied()
                .filter(|l| !in_l(l) && in_r(l))
                .collect(),
            contracted: spec.contracted(),
        }
    }

    /// The left operand's labels in kernel order.
    pub fn lhs_order(&self) -> Vec<u32> {
        [&self.batch, &self.left, &self.contracted]
            .into_iter()
            .flatten()
            .copied()
            .collect()
    }

    /// The right operand's labels in kernel order.
    pub fn rhs_order(&self) -> Vec<u32> {
        [&self.batch, &self.contracted, &self.right]
            .into_iter()
            .flatten()
            .copied()
            .collect()
    }

    /// The result's labels as the kernel produces them.
    pub fn out_order(&self) -> Vec<u32> {
        [&self.batch, &self.left, &self.right]
            .into_iter()
            .flatten()
            .copied()
            .collect()
    }
}

/// The float32/float64 GEMM kernel of this build: `"openblas"` with the cargo feature
/// `openblas`, else `"gemm"` (the `gemm` crate).
pub const GEMM_KERNEL: &str = if cfg!(feature = "openblas") {
    "openblas"
} else {
    "gemm"
};

/// Matrix product `c = a · b` of one element type.
pub trait MatMul: LinalgScalar + BlockElement {
    /// Writes `a · b` into `c` (whose previous contents are ignored).
    fn matmul(a: ArrayView2<'_, Self>, b: ArrayView2<'_, Self>, c: ArrayViewMut2<'_, Self>);
}

macro_rules! gemm_matmul {
    ($t:ty) => {
        impl MatMul for $t {
            fn matmul(a: ArrayView2<'_, $t>, b: ArrayView2<'_, $t>, mut c: ArrayViewMut2<'_, $t>) {
                let (m, k) = a.dim();
                let n = b.dim().1;
                if m == 0 || n == 0 {
                    return;
                }
                if k == 0 {
                    c.fill(0.0);
                    return;
                }
                #[cfg(feature = "openblas")]
                if super::blas::gemm(a.view(), b.view(), c.view_mut()) {
                    return;
                }
                let (a_rs, a_cs) = (a.strides()[0], a.strides()[1]);
                let (b_rs, b_cs) = (b.strides()[0], b.strides()[1]);
                let (c_rs, c_cs) = (c.strides()[0], c.strides()[1]);
                // SAFETY: the pointers and strides are those of ndarray views of shapes
                // (m, k), (k, n) and (m, n), so every element gemm addresses is inside its
                // view; `c` is a unique mutable view that does not alias `a` or `b`; with
                // `read_dst` false its previous contents are not read.
                unsafe {
                    gemm::gemm(
                        m,
                        n,
                        k,
                        c.as_mut_ptr(),
                        c_cs,
                        c_rs,
                        false,
                        a.as_ptr(),
                        a_cs,
                        a_rs,
                        b.as_ptr(),
                        b_cs,
                        b_rs,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
            }
        }
    };
}

gemm_matmul!(f32);
gemm_matmul!(f64);

macro_rules! ndarray_matmul {
    ($($t:ty),*) => {$(
        impl MatMul for $t {
            fn matmul(a: ArrayView2<'_, $t>, b: ArrayView2<'_, $t>, mut c: ArrayViewMut2<'_, $t>) {
                // Integer products wrap, as NumPy's do.
                c.fill(0);
                for (i, row) in a.outer_iter().enumerate() {
                    let mut out = c.row_mut(i);
                    for (p, &x) in row.iter().enumerate() {
                        if x != 0 {
                            out.zip_mut_with(&b.row(p), |o, &y| *o = o.wrapping_add(x.wrapping_mul(y)));
                        }
                    }
                }
            }
        }
    )*};
}

ndarray_matmul!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! complex_matmul {
    ($($t:ty),*) => {$(
        impl MatMul for $t {
            fn matmul(a: ArrayView2<'_, $t>, b: ArrayView2<'_, $t>, mut c: ArrayViewMut2<'_, $t>) {
                c.fill(<$t>::default());
                for (i, row) in a.outer_iter().enumerate() {
                    let mut out = c.row_mut(i);
                    for (p, &x) in row.iter().enumerate() {
                        out.zip_mut_with(&b.row(p), |o, &y| *o = *o + x * y);
                    }
                }
            }
        }
    )*};
}

complex_matmul!(crate::Complex64, crate::Complex128);

/// The contraction of two blocks whose axes carry `spec.lhs` and `spec.rhs`: a block with
/// axes in `spec.out` order.
///
/// # Errors
/// Blocks of different dtypes, bool blocks, or lengths that do not match (bugs in the
/// planner).
pub fn contract(spec: &ContractSpec, lhs: &Block, rhs: &Block) -> Result<Block> {
    contract_refs(spec, BlockRef::Block(lhs), BlockRef::Block(rhs))
}

/// [`contract`] of borrowed blocks (an earlier stage's blocks or memory-mapped chunks,
/// multiplied in place where their axes are already in the kernel's order).
///
/// # Errors
/// As [`contract`].
pub fn contract_refs(spec: &ContractSpec, lhs: BlockRef<'_>, rhs: BlockRef<'_>) -> Result<Block> {
    if lhs.dtype() != rhs.dtype() {
        return Err(Error::internal(format!(
            "{}: operands of dtypes {} and {}",
            spec.name,
            lhs.dtype(),
            rhs.dtype()
        )));
    }
    macro_rules! go {
        ($t:ty) => {{
            let a = lhs
                .view::<$t>()
                .ok_or_else(|| Error::internal("dtype checked"))?;
            let b = rhs
                .view::<$t>()
                .ok_or_else(|| Error::internal("dtype checked"))?;
            <$t>::wrap(contract_typed(spec, a, b)?)
        }};
    }
    Ok(match lhs.dtype() {
        DType::F64 => go!(f64),
        DType::F32 => go!(f32),
        DType::I64 => go!(i64),
        DType::I32 => go!(i32),
        DType::I16 => go!(i16),
        DType::I8 => go!(i8),
        DType::U64 => go!(u64),
        DType::U32 => go!(u32),
        DType::U16 => go!(u16),
        DType::U8 => go!(u8),
        DType::C64 => go!(crate::Complex64),
        DType::C128 => go!(crate::Complex128),
        DType::Bool => {
            return Err(Error::internal(format!("{}: bool operands", spec.name)));
        }
    })
}

/// Positions of `order`'s labels in `labels`.
fn positions(labels: &[u32], order: &[u32]) -> Vec<usize> {
    order
        .iter()
        .map(|l| labels.iter().position(|x| x == l).unwrap_or(usize::MAX))
        .collect()
}

/// The lengths of the axes labelled `group` of an array with axes `labels` and `shape`.
fn group_len(labels: &[u32], shape: &[usize], group: &[u32]) -> usize {
    positions(labels, group).iter().map(|&p| shape[p]).product()
}

fn contract_typed<T: MatMul>(
    spec: &ContractSpec,
    a: ArrayViewD<'_, T>,
    b: ArrayViewD<'_, T>,
) -> Result<ArrayD<T>> {
    let g = Groups::of(spec);
    let len =
        |labels: &[u32], x: &ArrayViewD<'_, T>, group: &[u32]| group_len(labels, x.shape(), group);
    let (nb, m, k) = (
        len(&spec.lhs, &a, &g.batch),
        len(&spec.lhs, &a, &g.left),
        len(&spec.lhs, &a, &g.contracted),
    );
    let n = len(&spec.rhs, &b, &g.right);
    if len(&spec.rhs, &b, &g.batch) != nb || len(&spec.rhs, &b, &g.contracted) != k {
        return Err(Error::internal(format!(
            "{}: blocks of shapes {:?} and {:?} do not pair up",
            spec.name,
            a.shape(),
            b.shape()
        )));
    }
    // Each operand as a stack of matrices: a view when its axes are already in kernel
    // order and contiguous, else one copy.
    let err = |e: ndarray::ShapeError| Error::internal_from(spec.name, e);
    let a3 = matrices(a.view(), positions(&spec.lhs, &g.lhs_order()), (nb, m, k)).map_err(err)?;
    let b3 = matrices(b.view(), positions(&spec.rhs, &g.rhs_order()), (nb, k, n)).map_err(err)?;
    let mut c = Array3::<T>::zeros((nb, m, n));
    for i in 0..nb {
        T::matmul(
            a3.index_axis(Axis(0), i),
            b3.index_axis(Axis(0), i),
            c.index_axis_mut(Axis(0), i),
        );
    }
    let produced = g.out_order();
    let mut shape = Vec::with_capacity(produced.len());
    for l in &produced {
        let (labels, x) = if spec.lhs.contains(l) {
            (&spec.lhs, &a)
        } else {
            (&spec.rhs, &b)
        };
        shape.push(group_len(labels, x.shape(), std::slice::from_ref(l)));
    }
    let c = c
        .into_shape_with_order(IxDyn(&shape))
        .map_err(|e| Error::internal_from(spec.name, e))?;
    let out = c.permuted_axes(positions(&produced, &spec.out));
    Ok(if out.is_standard_layout() {
        out
    } else {
        out.as_standard_layout().into_owned()
    })
}

/// `x` with its axes permuted by `perm`, as a stack of matrices of `shape`: a view when the
/// permuted axes are contiguous in C order, else a copy.
fn matrices<T: Clone>(
    x: ArrayViewD<'_, T>,
    perm: Vec<usize>,
    shape: (usize, usize, usize),
) -> std::result::Result<CowArray<'_, T, Ix3>, ndarray::ShapeError> {
    let p = x.permuted_axes(perm);
    Ok(if p.is_standard_layout() {
        CowArray::from(p.into_shape_with_order(shape)?)
    } else {
        CowArray::from(
            p.as_standard_layout()
                .into_owned()
                .into_shape_with_order(shape)?,
        )
    })
}

#[cfg(test)]
mod tests {
    use ndarray::{ArrayD, IxDyn, array};

    use super::*;

    fn spec(lhs: &[u32], rhs: &[u32], out: &[u32]) -> ContractSpec {
        ContractSpec {
            name: "test",
            lhs: lhs.to_vec(),
            rhs: rhs.to_vec(),
            out: out.to_vec(),
            split_every: 4,
        }
    }

    #[test]
    fn matrix_products_of_every_layout_match_ndarray() {
        let a = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let b = array![[1.0, 0.5], [2.0, -1.0], [0.0, 3.0]];
        let want = a.dot(&b);
        let got = contract(
            &spec(&[0, 1], &[1, 2], &[0, 2]),
            &Block::F64(a.clone().into_dyn()),
            &Block::F64(b.clone().into_dyn()),
        )
        .unwrap();
        assert_eq!(got, Block::F64(want.clone().into_dyn()));
        // Transposed operands and result.
        let got = contract(
            &spec(&[1, 0], &[2, 1], &[2, 0]),
            &Block::F64(a.t().to_owned().into_dyn()),
            &Block::F64(b.t().to_owned().into_dyn()),
        )
        .unwrap();
        assert_eq!(got, Block::F64(want.t().to_owned().into_dyn()));
        // Integers, outer product, batch.
        let ai = a.mapv(|v| v as i32);
        let bi = b.mapv(|v| (v * 2.0) as i32);
        let got = contract(
            &spec(&[0, 1], &[1, 2], &[0, 2]),
            &Block::I32(ai.clone().into_dyn()),
            &Block::I32(bi.clone().into_dyn()),
        )
        .unwrap();
        assert_eq!(got, Block::I32(ai.dot(&bi).into_dyn()));
        let u = ArrayD::from_shape_vec(IxDyn(&[2]), vec![1.0f32, 2.0]).unwrap();
        let v = ArrayD::from_shape_vec(IxDyn(&[3]), vec![3.0f32, 4.0, 5.0]).unwrap();
        let got = contract(&spec(&[0], &[1], &[0, 1]), &Block::F32(u), &Block::F32(v)).unwrap();
        assert_eq!(
            got,
            Block::F32(array![[3.0f32, 4.0, 5.0], [6.0, 8.0, 10.0]].into_dyn())
        );
        let x = ArrayD::from_shape_fn(IxDyn(&[2, 3, 4]), |i| (i[0] * 12 + i[1] * 4 + i[2]) as f64);
        let y = ArrayD::from_shape_fn(IxDyn(&[2, 4, 5]), |i| (i[0] + i[1] * 2 + i[2]) as f64 - 3.0);
        let got = contract(
            &spec(&[0, 1, 2], &[0, 2, 3], &[0, 1, 3]),
            &Block::F64(x.clone()),
            &Block::F64(y.clone()),
        )
        .unwrap();
        for batch in 0..2 {
            let xa = x
                .index_axis(Axis(0), batch)
                .into_dimensionality::<ndarray::Ix2>()
                .unwrap();
            let ya = y
                .index_axis(Axis(0), batch)
                .into_dimensionality::<ndarray::Ix2>()
                .unwrap();
            let Block::F64(g) = &got else { panic!() };
            assert_eq!(g.index_axis(Axis(0), batch), xa.dot(&ya).into_dyn());
        }
    }
}
