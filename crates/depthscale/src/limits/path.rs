//! Matrix-valued paths over `t in [0, 1]` and paths stored by their values on a uniform grid.

/// A `d x d` matrix-valued path `X` over `[0, 1]` with `X(0) = 0`, observed through its
/// increments on uniform grids `{k/n}`.
///
/// Matrices are row-major (`d * d` values). Implementations must be consistent across grids:
/// the increment over `[(k-1)/n, k/n]` is the same object whatever other grids are observed,
/// so networks of different depths see one underlying path.
pub trait MatrixPath: Sync {
    /// The side `d` of the matrices.
    fn dim(&self) -> usize;

    /// Whether the grid `{k/n : k = 0..=n}` can be observed exactly.
    fn observes(&self, n: usize) -> bool;

    /// Writes `X(k/n) - X((k-1)/n)` (`d x d`, row-major) into `out`, `1 <= k <= n`.
    ///
    /// Panics if the grid is not observable, `k` is out of range or `out` has the wrong length
    /// (programming errors: the experiment validates its grids up front).
    fn increment(&self, n: usize, k: usize, out: &mut [f64]);
}

/// A path stored by its values `X(k/n)`, `k = 0..=n`: observable on every grid `{k/m}` with `m`
/// dividing `n`, where an increment is the difference of two stored values (so the increments
/// on a coarse grid are exactly the coarse differences of the same stored numbers).
#[derive(Clone, Debug, PartialEq)]
pub struct GridPath {
    dim: usize,
    n: usize,
    /// Time-major: `X(k/n)` is `values[k * d^2 .. (k + 1) * d^2]`.
    values: Vec<f64>,
}

impl GridPath {
    /// Wraps the values `X(k/n)`, `k = 0..=n`, time-major (`(n + 1) * dim^2` numbers).
    pub fn from_values(dim: usize, n: usize, values: Vec<f64>) -> Self {
        assert!(n >= 1, "a grid path needs n >= 1");
        assert_eq!(
            values.len(),
            (n + 1) * dim * dim,
            "grid path: values must hold (n + 1) * dim^2 numbers"
        );
        Self { dim, n, values }
    }

    /// The resolution `n` of the stored grid.
    pub fn resolution(&self) -> usize {
        self.n
    }

    /// The stored value `X(k/n)` (`d x d`, row-major).
    pub fn value(&self, k: usize) -> &[f64] {
        let m = self.dim * self.dim;
        &self.values[k * m..(k + 1) * m]
    }

    /// All stored values, time-major.
    pub fn values(&self) -> &[f64] {
        &self.values
    }
}

impl MatrixPath for GridPath {
    fn dim(&self) -> usize {
        self.dim
    }

    fn observes(&self, n: usize) -> bool {
        n >= 1 && self.n.is_multiple_of(n)
    }

    fn increment(&self, n: usize, k: usize, out: &mut [f64]) {
        assert!(
            self.observes(n),
            "grid {n} is not a subgrid of resolution {}",
            self.n
        );
        assert!((1..=n).contains(&k), "increment index {k} outside 1..={n}");
        let s = self.n / n;
        let (a, b) = (self.value((k - 1) * s), self.value(k * s));
        assert_eq!(out.len(), a.len(), "increment: wrong output length");
        for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
            *o = y - x;
        }
    }
}
