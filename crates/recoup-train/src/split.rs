//! Seeded train/validation splits.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Rows of each class shuffled with `seed`; the first `round(test_fraction * class size)` of
/// each class go to the test side. Both sides are returned in increasing row order.
pub fn stratified(target: &[f64], test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for class in [0.0, 1.0] {
        let mut rows: Vec<usize> = (0..target.len()).filter(|&r| target[r] == class).collect();
        rows.shuffle(&mut rng);
        let k = (rows.len() as f64 * test_fraction).round() as usize;
        test.extend_from_slice(&rows[..k]);
        train.extend_from_slice(&rows[k..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

/// `k` stratified folds: fold `i` is the test side of split `i`.
pub fn stratified_folds(target: &[f64], k: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut folds = vec![Vec::new(); k];
    for class in [0.0, 1.0] {
        let mut rows: Vec<usize> = (0..target.len()).filter(|&r| target[r] == class).collect();
        rows.shuffle(&mut rng);
        for (i, r) in rows.into_iter().enumerate() {
            folds[i % k].push(r);
        }
    }
    for f in &mut folds {
        f.sort_unstable();
    }
    folds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stratified_split_keeps_class_shares_and_every_row_once() {
        let y: Vec<f64> = (0..1000).map(|i| f64::from(i % 10 == 0)).collect();
        let (train, test) = stratified(&y, 0.2, 42);
        assert_eq!(test.len(), 200);
        assert_eq!(test.iter().filter(|&&r| y[r] == 1.0).count(), 20);
        let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        assert_eq!(stratified(&y, 0.2, 42), (train, test));
        assert_ne!(stratified(&y, 0.2, 43).1, stratified(&y, 0.2, 42).1);
    }

    #[test]
    fn folds_partition_the_rows() {
        let y: Vec<f64> = (0..103).map(|i| f64::from(i % 3 == 0)).collect();
        let folds = stratified_folds(&y, 5, 1);
        let mut all: Vec<usize> = folds.concat();
        all.sort_unstable();
        assert_eq!(all, (0..103).collect::<Vec<_>>());
        assert!(folds.iter().all(|f| (20..=21).contains(&f.len())));
    }
}
