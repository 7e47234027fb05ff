//! Binning values as NumPy's `histogram` and `bincount` do, one block at a time.

use ndarray::ArrayViewD;

use crate::dtype::Element;

/// The bins of a histogram.
#[derive(Clone, Debug, PartialEq)]
pub enum BinEdges {
    /// `n` equal bins over `[lo, hi]` (NumPy's edges `lo + i * (hi - lo) / n`, the last
    /// exactly `hi`); each bin holds `[edge_i, edge_i+1)`, the last also `hi`.
    Uniform {
        /// Number of bins.
        n: usize,
        /// Lower edge.
        lo: f64,
        /// Upper edge.
        hi: f64,
    },
    /// Explicit increasing edges (at least two): bin `i` holds `[e_i, e_i+1)`, the last bin
    /// also its upper edge.
    Edges(Vec<f64>),
}

impl BinEdges {
    /// Number of bins.
    pub fn len(&self) -> usize {
        match self {
            BinEdges::Uniform { n, .. } => *n,
            BinEdges::Edges(e) => e.len() - 1,
        }
    }

    /// True when there are no bins.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The edges, as NumPy computes them (`np.linspace(lo, hi, n + 1)` for uniform bins).
    pub fn edges(&self) -> Vec<f64> {
        match self {
            BinEdges::Uniform { n, lo, hi } => {
                let step = (hi - lo) / *n as f64;
                let mut e: Vec<f64> = (0..=*n).map(|i| i as f64 * step + lo).collect();
                e[*n] = *hi;
                e
            }
            BinEdges::Edges(e) => e.clone(),
        }
    }

    /// The bin of `v`, `None` outside the edges (NaN included). Uniform bins follow NumPy:
    /// the index computed from the value, corrected against the edges.
    pub fn bin(&self, v: f64, edges: &[f64]) -> Option<usize> {
        let (first, last) = (edges[0], edges[edges.len() - 1]);
        if !(v >= first && v <= last) {
            return None;
        }
        let n = edges.len() - 1;
        Some(match self {
            BinEdges::Uniform { n, lo, hi } => {
                let n = *n;
                let norm = n as f64 / (hi - lo);
                let mut i = (((v - lo) * norm) as usize).min(n - 1);
                if v < edges[i] {
                    i -= 1;
                } else if i != n - 1 && v >= edges[i + 1] {
                    i += 1;
                }
                i
            }
            BinEdges::Edges(_) => edges
                .partition_point(|&e| e <= v)
                .saturating_sub(1)
                .min(n - 1),
        })
    }
}

/// Adds the values of `x` into `counts` (one per bin), each weighing its `weights` element
/// or 1.
pub fn histogram<T: Element, W: Element>(
    x: ArrayViewD<'_, T>,
    weights: Option<ArrayViewD<'_, W>>,
    bins: &BinEdges,
    edges: &[f64],
    counts: &mut [f64],
) {
    match weights {
        None => {
            for &v in x.iter() {
                if let Some(b) = bins.bin(v.to_f64(), edges) {
                    counts[b] += 1.0;
                }
            }
        }
        Some(w) => {
            for (&v, &w) in x.iter().zip(w.iter()) {
                if let Some(b) = bins.bin(v.to_f64(), edges) {
                    counts[b] += w.to_f64();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_follow_numpy() {
        let b = BinEdges::Uniform {
            n: 3,
            lo: 0.0,
            hi: 1.0,
        };
        let e = b.edges();
        assert_eq!(e.len(), 4);
        assert_eq!(b.bin(0.0, &e), Some(0));
        assert_eq!(b.bin(1.0, &e), Some(2));
        assert_eq!(b.bin(e[1], &e), Some(1));
        assert_eq!(b.bin(-0.1, &e), None);
        assert_eq!(b.bin(f64::NAN, &e), None);
        let b = BinEdges::Edges(vec![0.0, 1.0, 10.0]);
        let e = b.edges();
        assert_eq!(b.bin(1.0, &e), Some(1));
        assert_eq!(b.bin(10.0, &e), Some(1));
        assert_eq!(b.bin(0.5, &e), Some(0));
    }
}
