//! k-means (k-means++ seeding, Lloyd iterations, best of several seeded starts) and the mean
//! silhouette that chooses k. Small enough to keep here: rows are standardised features of the
//! accounts in collections, at most a few million, and k is at most a dozen.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// A fitted clustering: centroids in the standardised space.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeans {
    pub k: usize,
    pub dims: usize,
    /// `k x dims`, row-major.
    pub centroids: Vec<f64>,
    /// Sum of squared distances of the rows to their centroid.
    pub inertia: f64,
}

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

impl KMeans {
    /// Fits `k` clusters to `rows` (`n x dims`, row-major), keeping the best of `starts` seeded
    /// starts by inertia.
    pub fn fit(rows: &[f64], dims: usize, k: usize, starts: usize, seed: u64) -> Self {
        let n = rows.len() / dims;
        assert!(k >= 1 && n >= k, "k-means needs at least k rows");
        (0..starts.max(1))
            .map(|s| Self::fit_once(rows, dims, k, seed.wrapping_add(s as u64)))
            .min_by(|a, b| a.inertia.total_cmp(&b.inertia))
            .expect("at least one start")
    }

    fn fit_once(rows: &[f64], dims: usize, k: usize, seed: u64) -> Self {
        let n = rows.len() / dims;
        let row = |i: usize| &rows[i * dims..(i + 1) * dims];
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // k-means++: each next centre drawn with probability proportional to the squared
        // distance to the nearest centre so far.
        let mut centroids = Vec::with_capacity(k * dims);
        centroids.extend_from_slice(row(rng.random_range(0..n)));
        let mut nearest: Vec<f64> = (0..n).map(|i| dist2(row(i), &centroids[..dims])).collect();
        while centroids.len() < k * dims {
            let total: f64 = nearest.iter().sum();
            let pick = if total > 0.0 {
                let mut u = rng.random::<f64>() * total;
                let mut chosen = n - 1;
                for (i, d) in nearest.iter().enumerate() {
                    if u < *d {
                        chosen = i;
                        break;
                    }
                    u -= d;
                }
                chosen
            } else {
                rng.random_range(0..n)
            };
            let start = centroids.len();
            centroids.extend_from_slice(row(pick));
            let c = centroids[start..start + dims].to_vec();
            for (i, d) in nearest.iter_mut().enumerate() {
                *d = d.min(dist2(row(i), &c));
            }
        }
        let mut assignment = vec![usize::MAX; n];
        let mut inertia = f64::INFINITY;
        for _ in 0..100 {
            let model = Self {
                k,
                dims,
                centroids: centroids.clone(),
                inertia: 0.0,
            };
            let next: Vec<(usize, f64)> = (0..n)
                .into_par_iter()
                .map(|i| model.nearest(row(i)))
                .collect();
            inertia = next.iter().map(|(_, d)| d).sum();
            let changed = next.iter().zip(&assignment).any(|((c, _), a)| c != a);
            assignment = next.into_iter().map(|(c, _)| c).collect();
            if !changed {
                break;
            }
            let mut sums = vec![0.0; k * dims];
            let mut counts = vec![0usize; k];
            for (i, &c) in assignment.iter().enumerate() {
                counts[c] += 1;
                for (s, x) in sums[c * dims..(c + 1) * dims].iter_mut().zip(row(i)) {
                    *s += x;
                }
            }
            for c in 0..k {
                // An emptied cluster keeps its centre.
                if counts[c] > 0 {
                    for d in 0..dims {
                        centroids[c * dims + d] = sums[c * dims + d] / counts[c] as f64;
                    }
                }
            }
        }
        Self {
            k,
            dims,
            centroids,
            inertia,
        }
    }

    /// The nearest centroid of a row, and the squared distance to it (ties: the lower index).
    pub fn nearest(&self, x: &[f64]) -> (usize, f64) {
        (0..self.k)
            .map(|c| {
                (
                    c,
                    dist2(x, &self.centroids[c * self.dims..(c + 1) * self.dims]),
                )
            })
            .fold(
                (0, f64::INFINITY),
                |best, cur| if cur.1 < best.1 { cur } else { best },
            )
    }
}

/// Mean silhouette of an assignment: for each row, `(b - a) / max(a, b)` with `a` the mean
/// distance to its own cluster and `b` the smallest mean distance to another cluster (rows
/// alone in their cluster count 0).
pub fn silhouette(rows: &[f64], dims: usize, labels: &[usize], k: usize) -> f64 {
    let n = labels.len();
    let row = |i: usize| &rows[i * dims..(i + 1) * dims];
    let mut sizes = vec![0usize; k];
    for &l in labels {
        sizes[l] += 1;
    }
    let total: f64 = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut sums = vec![0.0; k];
            for j in 0..n {
                if i != j {
                    sums[labels[j]] += dist2(row(i), row(j)).sqrt();
                }
            }
            let own = labels[i];
            if sizes[own] <= 1 {
                return 0.0;
            }
            let a = sums[own] / (sizes[own] - 1) as f64;
            let b = (0..k)
                .filter(|&c| c != own && sizes[c] > 0)
                .map(|c| sums[c] / sizes[c] as f64)
                .fold(f64::INFINITY, f64::min);
            if !b.is_finite() || a.max(b) == 0.0 {
                0.0
            } else {
                (b - a) / a.max(b)
            }
        })
        .sum();
    total / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs() -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let centres = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)];
        let mut rows = Vec::new();
        for i in 0..300 {
            let (x, y) = centres[i % 3];
            rows.push(x + rng.random::<f64>() - 0.5);
            rows.push(y + rng.random::<f64>() - 0.5);
        }
        rows
    }

    #[test]
    fn finds_three_separated_blobs_and_silhouette_prefers_three() {
        let rows = blobs();
        let scores: Vec<f64> = (2..=5)
            .map(|k| {
                let m = KMeans::fit(&rows, 2, k, 3, 1);
                let labels: Vec<usize> = rows.chunks(2).map(|r| m.nearest(r).0).collect();
                silhouette(&rows, 2, &labels, k)
            })
            .collect();
        let best = scores
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i + 2);
        assert_eq!(best, Some(3), "{scores:?}");
        assert!(scores[1] > 0.9, "{scores:?}");
        let m = KMeans::fit(&rows, 2, 3, 3, 1);
        let labels: Vec<usize> = rows.chunks(2).map(|r| m.nearest(r).0).collect();
        // Every blob lands in one cluster of its own.
        for b in 0..3 {
            let first = labels[b];
            assert!((b..300).step_by(3).all(|i| labels[i] == first));
        }
        assert_eq!(m, KMeans::fit(&rows, 2, 3, 3, 1), "seeded");
    }

    #[test]
    fn silhouette_of_a_hand_computed_case() {
        // Clusters {0, 1} and {4}: row 0: a = 1, b = 4 -> 0.75; row 1: a = 1, b = 3 -> 2/3;
        // row 2 is alone -> 0.
        let rows = [0.0, 1.0, 4.0];
        let s = silhouette(&rows, 1, &[0, 0, 1], 2);
        assert!((s - (0.75 + 2.0 / 3.0) / 3.0).abs() < 1e-12, "{s}");
    }
}
