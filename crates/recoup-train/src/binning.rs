//! Feature binning: each feature's values become at most `max_bin` ordered bins (u8), plus one
//! bin for missing values, so that split finding scans small histograms instead of rows.
//!
//! Bin `b` holds the values in `(upper[b-1], upper[b]]`; the last non-missing bin's upper bound
//! is +inf. Bounds are midpoints between neighbouring distinct values, so a split "bin <= b"
//! is exactly the raw rule "x <= upper[b]" that the trees store.

use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::dataset::Dataset;

/// How one feature's raw values map to bins.
#[derive(Debug, Clone, PartialEq)]
pub struct BinMapper {
    /// Upper bounds of the non-missing bins, increasing; the last is +inf.
    pub upper: Vec<f64>,
    /// Whether the training data had missing values (then bin `upper.len()` holds them).
    pub has_missing: bool,
}

impl BinMapper {
    /// Bins from the distinct values of a (sampled) column. `values` may hold NaN.
    pub fn fit(values: &[f64], max_bin: usize) -> Self {
        let has_missing = values.iter().any(|v| v.is_nan());
        let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        v.sort_unstable_by(f64::total_cmp);
        // Distinct values with their counts.
        let mut distinct: Vec<(f64, usize)> = Vec::new();
        for x in v {
            match distinct.last_mut() {
                Some((last, n)) if *last == x => *n += 1,
                _ => distinct.push((x, 1)),
            }
        }
        let mut upper = Vec::new();
        if distinct.len() <= max_bin {
            for w in distinct.windows(2) {
                upper.push(midpoint(w[0].0, w[1].0));
            }
        } else {
            // Greedy equal-frequency bins; a value is never split across bins.
            let total: usize = distinct.iter().map(|d| d.1).sum();
            let mut remaining_total = total;
            let mut remaining_bins = max_bin;
            let mut in_bin = 0usize;
            for (i, w) in distinct.windows(2).enumerate() {
                in_bin += w[0].1;
                let target = remaining_total as f64 / remaining_bins as f64;
                let left_distinct = distinct.len() - i - 1;
                // Close the bin when it is full, or when every remaining value needs a bin.
                if remaining_bins > 1 && (in_bin as f64 >= target || left_distinct < remaining_bins)
                {
                    upper.push(midpoint(w[0].0, w[1].0));
                    remaining_total -= in_bin;
                    remaining_bins -= 1;
                    in_bin = 0;
                }
            }
        }
        upper.push(f64::INFINITY);
        Self { upper, has_missing }
    }

    /// Non-missing bins.
    pub fn n_value_bins(&self) -> usize {
        self.upper.len()
    }

    /// All bins, the missing one included.
    pub fn n_bins(&self) -> usize {
        self.upper.len() + 1
    }

    pub fn missing_bin(&self) -> u8 {
        self.upper.len() as u8
    }

    pub fn bin(&self, x: f64) -> u8 {
        if x.is_nan() {
            return self.missing_bin();
        }
        self.upper.partition_point(|&u| u < x) as u8
    }
}

/// The midpoint of two neighbouring values, nudged so that it is strictly below `hi` (the
/// average of two adjacent floats can round up to `hi`).
fn midpoint(lo: f64, hi: f64) -> f64 {
    let m = lo + (hi - lo) / 2.0;
    if m >= hi { lo } else { m }
}

/// A dataset's features as bins, column by column.
#[derive(Debug, Clone)]
pub struct BinnedMatrix {
    pub n_rows: usize,
    pub mappers: Vec<BinMapper>,
    /// `bins[f][row]`.
    pub bins: Vec<Vec<u8>>,
}

impl BinnedMatrix {
    /// Fits the bin mappers on up to `sample_rows` rows (drawn with `seed`) and bins every row.
    pub fn fit(data: &Dataset, max_bin: usize, sample_rows: usize, seed: u64) -> Self {
        let n = data.n_rows();
        let rows: Option<Vec<usize>> = (n > sample_rows).then(|| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut r = sample(&mut rng, n, sample_rows).into_vec();
            r.sort_unstable();
            r
        });
        let mappers: Vec<BinMapper> = data
            .columns
            .par_iter()
            .map(|col| match &rows {
                Some(rows) => {
                    let s: Vec<f64> = rows.iter().map(|&r| col[r]).collect();
                    BinMapper::fit(&s, max_bin)
                }
                None => BinMapper::fit(col, max_bin),
            })
            .collect();
        let bins = Self::bin_with(&mappers, data);
        Self {
            n_rows: n,
            mappers,
            bins,
        }
    }

    /// Bins `data` with mappers fitted elsewhere.
    pub fn bin_with(mappers: &[BinMapper], data: &Dataset) -> Vec<Vec<u8>> {
        mappers
            .par_iter()
            .zip(data.columns.par_iter())
            .map(|(m, col)| col.iter().map(|&x| m.bin(x)).collect())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_distinct_values_get_one_bin_each() {
        let m = BinMapper::fit(&[3.0, 1.0, 2.0, 2.0, f64::NAN], 255);
        assert_eq!(m.upper, vec![1.5, 2.5, f64::INFINITY]);
        assert!(m.has_missing);
        assert_eq!(m.bin(1.0), 0);
        assert_eq!(m.bin(1.5), 0);
        assert_eq!(m.bin(1.6), 1);
        assert_eq!(m.bin(99.0), 2);
        assert_eq!(m.bin(f64::NAN), 3);
        assert_eq!(m.n_bins(), 4);
    }

    #[test]
    fn many_values_get_balanced_bins_and_bounds_agree_with_bins() {
        let v: Vec<f64> = (0..10_000)
            .map(|i| ((i * 7919) % 10_000) as f64 / 3.0)
            .collect();
        let m = BinMapper::fit(&v, 16);
        assert_eq!(m.n_value_bins(), 16);
        let mut counts = [0usize; 16];
        for &x in &v {
            let b = m.bin(x) as usize;
            counts[b] += 1;
            // The raw rule and the bin rule agree at every bound.
            for (k, &u) in m.upper.iter().enumerate() {
                assert_eq!(x <= u, b <= k);
            }
        }
        assert!(
            counts.iter().all(|&c| (600..=650).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn a_constant_column_has_one_bin() {
        let m = BinMapper::fit(&[4.0; 10], 255);
        assert_eq!(m.upper, vec![f64::INFINITY]);
        assert!(!m.has_missing);
    }

    #[test]
    fn adjacent_floats_keep_distinct_bins() {
        let a = 1.0f64;
        let b = f64::from_bits(a.to_bits() + 1);
        let m = BinMapper::fit(&[a, b], 255);
        assert_eq!((m.bin(a), m.bin(b)), (0, 1));
    }
}
