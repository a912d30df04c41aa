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

/// A time-based split: rows at or after the `(1 - test_fraction)` quantile of `time` are the
/// test side (whole periods: every row of the cut-off time goes to the test side). `None` when
/// one side would be empty (a single period).
pub fn by_time(time: &[i64], test_fraction: f64) -> Option<(Vec<usize>, Vec<usize>, i64)> {
    let mut sorted = time.to_vec();
    sorted.sort_unstable();
    let k = ((time.len() as f64) * (1.0 - test_fraction)).floor() as usize;
    let cutoff = *sorted.get(k.min(sorted.len().saturating_sub(1)))?;
    let (train, test): (Vec<usize>, Vec<usize>) = (0..time.len()).partition(|&r| time[r] < cutoff);
    (!train.is_empty() && !test.is_empty()).then_some((train, test, cutoff))
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
    fn time_split_keeps_whole_periods_on_the_later_side() {
        // Four monthly periods of 10 rows: a 20% test share cuts inside the last period's
        // rows, so the whole last period is the test side.
        let time: Vec<i64> = (0..40).map(|r| [0, 31, 59, 90][r / 10]).collect();
        let (train, test, cutoff) = by_time(&time, 0.2).unwrap();
        assert_eq!(cutoff, 90);
        assert_eq!(test, (30..40).collect::<Vec<_>>());
        assert_eq!(train.len(), 30);
        assert!(
            by_time(&[5; 10], 0.2).is_none(),
            "one period cannot be split in time"
        );
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
