//! Cumulative sums and products along an axis, block by block: each block accumulates in
//! place starting from the last slice of the block before it along the axis. The additions
//! (multiplications) happen in the same order as NumPy's `cumsum` (`cumprod`) along the
//! axis, so results are bit-identical to NumPy's for every chunking.

use ndarray::{ArrayD, ArrayViewD, Axis, Zip};

use crate::block::{Block, BlockElement, BlockRef};
use crate::error::{Error, Result};
use crate::expr::ScanOp;
use crate::kernel::elementwise::Arith;

/// Accumulates `block` along `axis` in place; `before` is the block before it along the
/// axis (whose last slice is the running total so far), `None` for the first.
///
/// # Errors
/// A bool block or blocks of different dtypes (bugs in the planner).
pub fn scan(
    op: ScanOp,
    block: &mut Block,
    axis: usize,
    before: Option<BlockRef<'_>>,
) -> Result<()> {
    macro_rules! go {
        ($a:expr, $t:ty) => {{
            let prev = match &before {
                None => None,
                Some(b) => Some(
                    b.view::<$t>()
                        .ok_or_else(|| Error::internal("scan: blocks of different dtypes"))?,
                ),
            };
            scan_typed::<$t>(op, $a, axis, prev.as_ref().map(|p| last_slice(p, axis)));
        }};
    }
    match block {
        Block::I8(a) => go!(a, i8),
        Block::I16(a) => go!(a, i16),
        Block::I32(a) => go!(a, i32),
        Block::I64(a) => go!(a, i64),
        Block::U8(a) => go!(a, u8),
        Block::U16(a) => go!(a, u16),
        Block::U32(a) => go!(a, u32),
        Block::U64(a) => go!(a, u64),
        Block::F32(a) => go!(a, f32),
        Block::F64(a) => go!(a, f64),
        Block::C64(a) => go!(a, crate::Complex64),
        Block::C128(a) => go!(a, crate::Complex128),
        Block::Bool(_) => return Err(Error::internal("scan of a bool block")),
    }
    Ok(())
}

/// The last slice of `a` along `axis`.
fn last_slice<'a, T>(a: &'a ArrayViewD<'_, T>, axis: usize) -> ArrayViewD<'a, T> {
    let n = a.shape()[axis];
    a.index_axis(Axis(axis), n.saturating_sub(1))
}

fn scan_typed<T: Arith + BlockElement>(
    op: ScanOp,
    a: &mut ArrayD<T>,
    axis: usize,
    carry: Option<ArrayViewD<'_, T>>,
) {
    let f = match op {
        ScanOp::Cumsum => T::add,
        ScanOp::Cumprod => T::mul,
    };
    let n = a.shape()[axis];
    if n == 0 {
        return;
    }
    if let Some(c) = carry {
        Zip::from(a.index_axis_mut(Axis(axis), 0))
            .and(&c)
            .for_each(|x, &p| *x = f(p, *x));
    }
    for i in 1..n {
        let (done, mut rest) = a.view_mut().split_at(Axis(axis), i);
        let prev = done.index_axis(Axis(axis), i - 1);
        Zip::from(rest.index_axis_mut(Axis(axis), 0))
            .and(&prev)
            .for_each(|x, &p| *x = f(p, *x));
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{ArrayD, IxDyn};

    use super::*;

    #[test]
    fn a_scan_continues_from_the_block_before() {
        let first =
            Block::F64(ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1.0, 2.0, 3.0, 4.0]).unwrap());
        let mut first_scanned = first.clone();
        scan(ScanOp::Cumsum, &mut first_scanned, 0, None).unwrap();
        assert_eq!(
            first_scanned
                .clone()
                .into_typed::<f64>()
                .into_raw_vec_and_offset()
                .0,
            vec![1.0, 2.0, 4.0, 6.0]
        );
        let mut second =
            Block::F64(ArrayD::from_shape_vec(IxDyn(&[1, 2]), vec![10.0, 20.0]).unwrap());
        scan(
            ScanOp::Cumsum,
            &mut second,
            0,
            Some(BlockRef::Block(&first_scanned)),
        )
        .unwrap();
        assert_eq!(
            second.into_typed::<f64>().into_raw_vec_and_offset().0,
            vec![14.0, 26.0]
        );
        let mut rows =
            Block::I64(ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![1, 2, 3, 4, 5, 6]).unwrap());
        scan(ScanOp::Cumprod, &mut rows, 1, None).unwrap();
        assert_eq!(
            rows.into_typed::<i64>().into_raw_vec_and_offset().0,
            vec![1, 2, 6, 4, 20, 120]
        );
    }
}
