//! Tile kernels of the blocked LU and Cholesky factorizations (`Array::solve`, `inv`,
//! `det`, `slogdet`, `cholesky`): faer's partial-pivoting LU, Cholesky, triangular solves
//! and matrix products on row-major float64 tiles, always sequential (`Par::Seq`: the
//! executor already runs one task per core).
//!
//! Pivots are chosen by *tournament* (TSLU, the pivoting of communication-avoiding LU):
//! each tile of a column panel proposes the rows its own partial-pivoting LU would take,
//! pairs of proposals are merged by the same rule up a tree, and the LU of the winning
//! rows gives the diagonal tile. The rows it takes then move to the top of the panel and
//! the rows they displace take their places. Candidate blocks carry each row's values and,
//! in one more column, its row number in the panel (`-1` for padding).

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{self as llt, LltRegularization};
use faer::linalg::matmul::matmul;
use faer::linalg::triangular_solve as trsm;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, s};

use crate::error::{Error, Result};

/// A row-major tile as a faer matrix (copied only when its rows are not contiguous).
fn faer_ref<'a>(a: &'a ArrayView2<'_, f64>) -> MatRef<'a, f64> {
    let (m, n) = a.dim();
    let (rs, cs) = (a.strides()[0], a.strides()[1]);
    // SAFETY: the pointer and strides are those of the ndarray view, whose elements all
    // lie inside it; the view outlives the returned reference.
    unsafe { MatRef::from_raw_parts(a.as_ptr(), m, n, rs, cs) }
}

/// A mutable row-major tile as a faer matrix.
fn faer_mut<'a>(a: &'a mut ArrayViewMut2<'_, f64>) -> MatMut<'a, f64> {
    let (m, n) = a.dim();
    let (rs, cs) = (a.strides()[0], a.strides()[1]);
    // SAFETY: as in `faer_ref`, and the view is borrowed mutably for the result's life.
    unsafe { MatMut::from_raw_parts_mut(a.as_mut_ptr(), m, n, rs, cs) }
}

/// Columns factored at a time by [`lu_in_place`] before the rest is updated by a product.
const PANEL: usize = 48;

/// The partial-pivoting LU of `a` (m × n, row-major) in place, packed (unit `L` below the
/// diagonal, `U` on and above), and its row order: row `i` of `P a` is row `perm[i]` of
/// `a`. LAPACK's `getrf`, blocked: a panel of columns factored one by one, then a
/// triangular solve and a product for the rest. A zero pivot leaves its column unscaled,
/// as LAPACK does (faer's LU divides by it: NaN for singular tiles, which are common
/// here, as zero tiles of sparse or banded matrices).
pub fn lu_in_place(a: &mut Array2<f64>) -> Vec<usize> {
    let (m, n) = a.dim();
    let mut perm: Vec<usize> = (0..m).collect();
    let kmax = m.min(n);
    for j0 in (0..kmax).step_by(PANEL) {
        let j1 = (j0 + PANEL).min(kmax);
        for j in j0..j1 {
            let mut imax = j;
            let mut max = 0.0f64;
            for i in j..m {
                let v = a[[i, j]].abs();
                if v > max || v.is_nan() && !max.is_nan() {
                    max = v;
                    imax = i;
                }
            }
            if imax != j {
                for c in 0..n {
                    a.swap([j, c], [imax, c]);
                }
                perm.swap(j, imax);
            }
            let pivot = a[[j, j]];
            if pivot == 0.0 {
                continue;
            }
            let (top, mut rest) = a.view_mut().split_at(Axis(0), j + 1);
            let u = top.row(j);
            let u = u.slice(s![j + 1..j1]);
            for mut row in rest.rows_mut() {
                let l = row[j] / pivot;
                row[j] = l;
                if l != 0.0 {
                    row.slice_mut(s![j + 1..j1]).scaled_add(-l, &u);
                }
            }
        }
        if j1 < n {
            let (mut top, mut rest) = a.view_mut().split_at(Axis(0), j1);
            let mut panel_rows = top.slice_mut(s![j0..j1, ..]);
            let (l11, mut u12) = panel_rows.view_mut().split_at(Axis(1), j1);
            let l11 = l11.slice(s![.., j0..j1]);
            trsm::solve_unit_lower_triangular_in_place(
                faer_ref(&l11),
                faer_mut(&mut u12),
                Par::Seq,
            );
            if j1 < m {
                let (l21, mut a22) = rest.view_mut().split_at(Axis(1), j1);
                let l21 = l21.slice(s![.., j0..j1]);
                matmul(
                    faer_mut(&mut a22),
                    Accum::Add,
                    faer_ref(&l21),
                    faer_ref(&u12.view()),
                    -1.0,
                    Par::Seq,
                );
            }
        }
    }
    perm
}

/// The rows (indices into `values`' rows) a partial-pivoting LU of `values` takes as its
/// first `k` pivots, in order.
fn pivot_rows(values: ArrayView2<'_, f64>, k: usize) -> Vec<usize> {
    let mut a = values.to_owned();
    let perm = lu_in_place(&mut a);
    perm.into_iter().take(k.min(values.nrows())).collect()
}

/// A candidate block: the rows `rows` of `values` with their panel row numbers `index`,
/// padded to `k` rows (index -1).
fn candidates(values: ArrayView2<'_, f64>, rows: &[usize], index: &[f64], k: usize) -> Array2<f64> {
    let n = values.ncols();
    let mut out = Array2::<f64>::zeros((k, n + 1));
    out.column_mut(n).fill(-1.0);
    for (r, &i) in rows.iter().enumerate() {
        out.slice_mut(s![r, ..n]).assign(&values.row(i));
        out[[r, n]] = index[i];
    }
    out
}

/// The `k` rows tile `tile` (a panel's rows from `row0` on) proposes as pivots.
pub fn propose(tile: ArrayView2<'_, f64>, row0: usize, k: usize) -> Array2<f64> {
    let index: Vec<f64> = (0..tile.nrows()).map(|i| (row0 + i) as f64).collect();
    let rows = pivot_rows(tile, k);
    candidates(tile, &rows, &index, k)
}

/// The `k` rows that win among stacked candidate blocks (the tournament's merge).
pub fn merge(stacked: ArrayView2<'_, f64>, k: usize) -> Array2<f64> {
    let n = stacked.ncols() - 1;
    let valid: Vec<usize> = (0..stacked.nrows())
        .filter(|&i| stacked[[i, n]] >= 0.0)
        .collect();
    let values = stacked.select(ndarray::Axis(0), &valid);
    let index: Vec<f64> = valid.iter().map(|&i| stacked[[i, n]]).collect();
    let rows = pivot_rows(values.view().slice(s![.., ..n]), k);
    candidates(values.view().slice(s![.., ..n]), &rows, &index, k)
}

/// The diagonal tile from the winning rows (k × (k + 1)): their partial-pivoting LU,
/// packed, with the rows in pivot order and each row's panel row number in the last column.
pub fn pivot_tile(winners: ArrayView2<'_, f64>) -> Array2<f64> {
    let k = winners.nrows();
    let mut a = winners.slice(s![.., ..k]).to_owned();
    let perm = lu_in_place(&mut a);
    let mut out = Array2::<f64>::zeros((k, k + 1));
    out.slice_mut(s![.., ..k]).assign(&a);
    for (r, &i) in perm.iter().enumerate() {
        out[[r, k]] = winners[[i, k]];
    }
    out
}

/// A diagonal tile's pivot rows (its last column).
pub fn pivots(z: &ArrayView2<'_, f64>) -> Vec<usize> {
    let k = z.nrows();
    (0..k).map(|r| z[[r, k]] as usize).collect()
}

/// The moves of the step's row exchange besides the pivots' own (to the top rows): each
/// top row a pivot does not come from goes where a pivot below the top came from, in
/// order. `(destination, source)` panel row numbers.
pub fn displaced(pivots: &[usize]) -> Vec<(usize, usize)> {
    let k = pivots.len();
    let mut taken = vec![false; k];
    let mut below: Vec<usize> = Vec::new();
    for &p in pivots {
        if p < k {
            taken[p] = true;
        } else {
            below.push(p);
        }
    }
    below.sort_unstable();
    let free = (0..k).filter(|&r| !taken[r]);
    below.into_iter().zip(free).collect()
}

/// The sign (±1) of the step's row exchange: the pivots to the top, the displaced rows to
/// the pivots' places.
pub fn exchange_sign(pivots: &[usize]) -> f64 {
    // The exchange as a map from destination to source over the rows it touches.
    let mut map: std::collections::HashMap<usize, usize> =
        pivots.iter().copied().enumerate().collect();
    map.extend(displaced(pivots));
    let mut seen = std::collections::HashSet::new();
    let mut sign = 1.0;
    for &start in map.keys() {
        if seen.contains(&start) {
            continue;
        }
        let mut len = 0;
        let mut i = start;
        while seen.insert(i) {
            len += 1;
            i = map[&i];
        }
        if len % 2 == 0 {
            sign = -sign;
        }
    }
    sign
}

/// The rows of tile `tile` (a column's rows `row0..`) that the step moves to the top, in
/// their top places; zero elsewhere (the sum over a column's tiles is the new top).
pub fn gather_top(tile: ArrayView2<'_, f64>, row0: usize, pivots: &[usize]) -> Array2<f64> {
    let rows = row0..row0 + tile.nrows();
    let mut out = Array2::<f64>::zeros((pivots.len(), tile.ncols()));
    for (r, &p) in pivots.iter().enumerate() {
        if rows.contains(&p) {
            out.row_mut(r).assign(&tile.row(p - row0));
        }
    }
    out
}

/// Tile `tile` (rows `row0..` of a column, below the top) after the exchange: the rows
/// the pivots left take the displaced top rows from `top` (the column's old top rows).
pub fn exchange_below(
    tile: ArrayView2<'_, f64>,
    row0: usize,
    top: ArrayView2<'_, f64>,
    moves: &[(usize, usize)],
) -> Array2<f64> {
    let mut out = tile.to_owned();
    let rows = row0..row0 + tile.nrows();
    for &(dst, src) in moves {
        if rows.contains(&dst) {
            out.row_mut(dst - row0).assign(&top.row(src));
        }
    }
    out
}

/// `L⁻¹ g` for the unit lower triangle `L` of diagonal tile `z`.
pub fn unit_lower_solve(z: ArrayView2<'_, f64>, g: ArrayView2<'_, f64>) -> Array2<f64> {
    let k = z.nrows();
    let l = z.slice(s![.., ..k]);
    let mut out = g.as_standard_layout().into_owned();
    trsm::solve_unit_lower_triangular_in_place(
        faer_ref(&l),
        faer_mut(&mut out.view_mut()),
        Par::Seq,
    );
    out
}

/// `x U⁻¹` for the upper triangle `U` of diagonal tile `z`. A zero on `U`'s diagonal
/// (a singular matrix) leaves its column unscaled, as LAPACK's `getrf` does, so that the
/// factorization goes on and the determinant is 0.
pub fn right_upper_solve(x: Array2<f64>, z: ArrayView2<'_, f64>) -> Array2<f64> {
    let k = z.nrows();
    let mut u = z.slice(s![.., ..k]).to_owned();
    for i in 0..k {
        if u[[i, i]] == 0.0 {
            u[[i, i]] = 1.0;
        }
    }
    let (h, _) = x.dim();
    let mut out = if x.is_standard_layout() {
        x
    } else {
        x.as_standard_layout().into_owned()
    };
    // x U⁻¹ = y ⇔ Uᵀ yᵀ = xᵀ; a row-major h × k block is its transpose in column-major.
    let data = out.as_slice_mut().expect("standard layout");
    let xt = MatMut::from_column_major_slice_mut(data, k, h);
    trsm::solve_lower_triangular_in_place(faer_ref(&u.view()).transpose(), xt, Par::Seq);
    out
}

/// `U⁻¹ y` for the upper triangle `U` of diagonal tile `z`.
///
/// # Errors
/// A zero on `U`'s diagonal: the matrix is singular (`what` names the operation).
pub fn upper_solve(
    z: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    row0: usize,
    what: &str,
) -> Result<Array2<f64>> {
    let k = z.nrows();
    if let Some(i) = (0..k).find(|&i| z[[i, i]] == 0.0) {
        return Err(Error::invalid(format!(
            "{what}: the matrix is singular (a zero pivot in row {} of its LU factorization)",
            row0 + i
        )));
    }
    let u = z.slice(s![.., ..k]);
    let mut out = y.as_standard_layout().into_owned();
    trsm::solve_upper_triangular_in_place(faer_ref(&u), faer_mut(&mut out.view_mut()), Par::Seq);
    Ok(out)
}

/// `c − a b`, in place.
pub fn minus_product(
    mut c: Array2<f64>,
    a: ArrayView2<'_, f64>,
    b: ArrayView2<'_, f64>,
) -> Array2<f64> {
    if a.ncols() > 0 {
        matmul(
            faer_mut(&mut c.view_mut()),
            Accum::Add,
            faer_ref(&a),
            faer_ref(&b),
            -1.0,
            Par::Seq,
        );
    }
    c
}

/// The lower Cholesky factor of a symmetric positive-definite tile (its lower triangle
/// is read), zero above the diagonal.
///
/// # Errors
/// A tile that is not positive definite: `row0` places its failing row in the matrix.
pub fn cholesky(a: ArrayView2<'_, f64>, row0: usize) -> Result<Array2<f64>> {
    let k = a.nrows();
    let mut col = Mat::<f64>::from_fn(k, k, |i, j| a[[i, j]]);
    let mut mem = MemBuffer::new(llt::cholesky_in_place_scratch::<f64>(
        k,
        Par::Seq,
        Default::default(),
    ));
    llt::cholesky_in_place(
        col.as_mut(),
        LltRegularization::default(),
        Par::Seq,
        MemStack::new(&mut mem),
        Default::default(),
    )
    .map_err(|e| {
        let at = match e {
            llt::LltError::NonPositivePivot { index } => row0 + index,
        };
        Error::invalid(format!(
            "cholesky: the matrix is not positive definite (its leading minor of order {} is not positive)",
            at + 1
        ))
    })?;
    Ok(Array2::from_shape_fn((k, k), |(i, j)| {
        if j <= i { col[(i, j)] } else { 0.0 }
    }))
}

/// `x L⁻ᵀ` for a lower triangular tile `l`.
pub fn right_lower_t_solve(x: ArrayView2<'_, f64>, l: ArrayView2<'_, f64>) -> Array2<f64> {
    let k = l.nrows();
    let (h, _) = x.dim();
    let mut out = x.as_standard_layout().into_owned();
    // x L⁻ᵀ = y ⇔ L yᵀ = xᵀ.
    let data = out.as_slice_mut().expect("standard layout");
    let xt = MatMut::from_column_major_slice_mut(data, k, h);
    trsm::solve_lower_triangular_in_place(faer_ref(&l), xt, Par::Seq);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn the_exchange_moves_pivots_up_and_displaced_rows_down() {
        // Pivots 5, 1, 7 to the top three rows; rows 0 and 2 (not pivots) go to 5 and 7.
        let p = [5, 1, 7];
        assert_eq!(displaced(&p), vec![(5, 0), (7, 2)]);
        // Two cycles 0→5→0 and 2→7→2 (rows 1 fixed... moved to itself via 1→1): sign +1.
        assert_eq!(exchange_sign(&p), 1.0);
        assert_eq!(exchange_sign(&[1, 0]), -1.0);
        assert_eq!(exchange_sign(&[0, 1]), 1.0);
    }

    #[test]
    fn tournament_of_one_tile_is_partial_pivoting() {
        let a = array![[1.0, 2.0], [4.0, 1.0], [2.0, 8.0]];
        let c = propose(a.view(), 10, 2);
        // The largest in column 0 first (row 11), then the largest of the rest.
        assert_eq!(c.column(2).to_vec(), vec![11.0, 12.0]);
        let z = pivot_tile(c.view());
        assert_eq!(pivots(&z.view()), vec![11, 12]);
    }
}
