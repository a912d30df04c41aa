//! Tree ensembles evaluated without walking the trees (the QuickScorer idea, laid out per
//! feature value): number every tree's leaves left to right; a split that sends a row right
//! rules out the leaves of its left subtree, and the row's leaf is the leftmost leaf no split
//! rules out. So a row's leaf in every tree is the lowest set bit of the AND of the masks of
//! the splits that send it right.
//!
//! Which splits send a row right depends, feature by feature, only on where the row's value
//! falls among that feature's thresholds: `x <= t_k` fails exactly for the thresholds below
//! `x`. So for each feature and each gap between its thresholds (plus one for missing values)
//! the AND over all trees is precomputed: a row costs one binary search per feature, one AND of
//! `n_trees` masks per feature (contiguous, vectorised) and one leaf lookup per tree. No
//! data-dependent branch, no pointer chasing. Leaf values are added in tree order, as
//! `TreeEnsemble::predict_raw` does, so the sums are equal to the bit.

use recoup_model::{NodeRef, Tree, TreeEnsemble};

/// Largest table built (bytes); larger ensembles use the node evaluator.
const MAX_TABLE_BYTES: usize = 256 << 20;

/// A leaf bitset: `u32` for trees of up to 32 leaves, `u64` up to 64.
pub(crate) trait Mask:
    Copy + Send + Sync + std::fmt::Debug + std::ops::BitAnd<Output = Self> + std::ops::BitAndAssign
{
    const ONES: Self;
    const BITS: usize;
    fn without(self, lo: usize, hi: usize) -> Self;
    fn lowest(self) -> usize;
}

macro_rules! mask {
    ($t:ty) => {
        impl Mask for $t {
            const ONES: Self = <$t>::MAX;
            const BITS: usize = <$t>::BITS as usize;
            fn without(self, lo: usize, hi: usize) -> Self {
                let width = hi - lo;
                let ones = if width >= <Self as Mask>::BITS {
                    <$t>::MAX
                } else {
                    ((1 as $t) << width) - 1
                };
                self & !(ones << lo)
            }
            #[inline]
            fn lowest(self) -> usize {
                self.trailing_zeros() as usize
            }
        }
    };
}
mask!(u32);
mask!(u64);

#[derive(Debug, Clone)]
struct FeatureTable<M> {
    feature: usize,
    /// Distinct split thresholds, increasing.
    thresholds: Vec<f64>,
    /// `(thresholds.len() + 2) * n_trees` masks: gap `b` (b thresholds below the value) at
    /// `[b * n_trees, (b + 1) * n_trees)`, the missing-value row last.
    masks: Vec<M>,
}

/// An ensemble as per-feature leaf masks.
#[derive(Debug, Clone)]
pub(crate) struct LeafMasks<M> {
    n_features: usize,
    n_trees: usize,
    base_score: f64,
    features: Vec<FeatureTable<M>>,
    /// Leaf values of tree `t`, left to right, from `leaf_start[t]`.
    leaf_values: Vec<f64>,
    leaf_start: Vec<usize>,
}

/// The leaves of `t` left to right, and for every split the range of left-to-right positions
/// of its left subtree's leaves.
fn leaf_order(t: &Tree) -> (Vec<u32>, Vec<(usize, usize)>) {
    let mut order = Vec::with_capacity(t.leaf_value.len());
    let mut left_range = vec![(0, 0); t.n_splits()];
    // Iterative in-order walk: (node, expanded).
    let mut stack = vec![(
        if t.n_splits() == 0 {
            NodeRef::Leaf(0)
        } else {
            NodeRef::Split(0)
        },
        false,
    )];
    let mut starts = vec![0usize; t.n_splits()];
    while let Some((node, expanded)) = stack.pop() {
        match node {
            NodeRef::Leaf(l) => order.push(l),
            NodeRef::Split(s) => {
                let s = s as usize;
                if expanded {
                    // The left subtree is done; its leaves are order[starts[s]..].
                    left_range[s] = (starts[s], order.len());
                    stack.push((t.right[s], false));
                } else {
                    starts[s] = order.len();
                    stack.push((node, true));
                    stack.push((t.left[s], false));
                }
            }
        }
    }
    (order, left_range)
}

impl<M: Mask> LeafMasks<M> {
    /// `None` when a tree has more leaves than `M` has bits or the table would be too large.
    pub(crate) fn new(e: &TreeEnsemble) -> Option<Self> {
        let n_trees = e.trees.len();
        if e.trees.iter().any(|t| t.leaf_value.len() > M::BITS) {
            return None;
        }
        let mut thresholds: Vec<Vec<f64>> = vec![Vec::new(); e.n_features];
        for t in &e.trees {
            for (&f, &v) in t.feature.iter().zip(&t.threshold) {
                thresholds[f as usize].push(v);
            }
        }
        for t in &mut thresholds {
            t.sort_unstable_by(f64::total_cmp);
            t.dedup();
        }
        let cells: usize = thresholds
            .iter()
            .filter(|t| !t.is_empty())
            .map(|t| (t.len() + 2) * n_trees)
            .sum();
        if cells.checked_mul(size_of::<M>())? > MAX_TABLE_BYTES {
            return None;
        }
        // Per feature and threshold rank: (tree, mask of a split on it); per feature the
        // masks of splits that send missing values right.
        let mut at_rank: Vec<Vec<Vec<(usize, M)>>> = thresholds
            .iter()
            .map(|t| vec![Vec::new(); t.len()])
            .collect();
        let mut nan_right: Vec<Vec<(usize, M)>> = vec![Vec::new(); e.n_features];
        let mut leaf_values = Vec::new();
        let mut leaf_start = Vec::with_capacity(n_trees);
        for (k, t) in e.trees.iter().enumerate() {
            let (order, left) = leaf_order(t);
            leaf_start.push(leaf_values.len());
            leaf_values.extend(order.iter().map(|&l| t.leaf_value[l as usize]));
            for (s, &(lo, hi)) in left.iter().enumerate() {
                let f = t.feature[s] as usize;
                let mask = M::ONES.without(lo, hi);
                let r = thresholds[f].partition_point(|&v| v < t.threshold[s]);
                at_rank[f][r].push((k, mask));
                if !t.missing_left[s] {
                    nan_right[f].push((k, mask));
                }
            }
        }
        let mut features = Vec::new();
        for (f, th) in thresholds.into_iter().enumerate() {
            if th.is_empty() {
                continue;
            }
            let gaps = th.len() + 1;
            let mut masks = vec![M::ONES; (gaps + 1) * n_trees];
            for b in 1..gaps {
                let (done, rest) = masks.split_at_mut(b * n_trees);
                let row = &mut rest[..n_trees];
                row.copy_from_slice(&done[(b - 1) * n_trees..]);
                for &(k, m) in &at_rank[f][b - 1] {
                    row[k] &= m;
                }
            }
            let nan = &mut masks[gaps * n_trees..];
            for &(k, m) in &nan_right[f] {
                nan[k] &= m;
            }
            features.push(FeatureTable {
                feature: f,
                thresholds: th,
                masks,
            });
        }
        Some(Self {
            n_features: e.n_features,
            n_trees,
            base_score: e.base_score,
            features,
            leaf_values,
            leaf_start,
        })
    }

    /// Raw scores of row-major `rows` into `out`; `acc` is scratch of `n_trees` masks.
    pub(crate) fn block(&self, rows: &[f64], out: &mut [f64], acc: &mut Vec<M>) {
        let nf = self.n_features;
        let nt = self.n_trees;
        acc.resize(nt, M::ONES);
        for (row, o) in rows.chunks(nf.max(1)).zip(out.iter_mut()) {
            acc.fill(M::ONES);
            for ft in &self.features {
                let x = row[ft.feature];
                let gap = if x.is_nan() {
                    ft.thresholds.len() + 1
                } else {
                    ft.thresholds.partition_point(|&t| t < x)
                };
                let m = &ft.masks[gap * nt..(gap + 1) * nt];
                for (a, &m) in acc.iter_mut().zip(m) {
                    *a &= m;
                }
            }
            let mut sum = self.base_score;
            for (a, &start) in acc.iter().zip(&self.leaf_start) {
                sum += self.leaf_values[start + a.lowest()];
            }
            *o = sum;
        }
    }
}
