//! Histogram gradient-boosted trees for binary log-loss or squared error, grown leaf by leaf.
//!
//! The design follows what makes LightGBM fast and accurate: features binned once into at most
//! 255 bins (plus a missing bin), per-leaf gradient histograms built for the smaller child only
//! (the larger one is the parent's minus the smaller's), best-first growth up to `num_leaves`,
//! and a learned direction for missing values at every split. Monotone constraints bound the
//! outputs of the two subtrees of a constrained split on either side of their midpoint (the
//! "basic" method), which guarantees monotone predictions.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use recoup_core::InvalidSetting;
use recoup_model::{NodeRef, Tree, TreeEnsemble, sigmoid};
use serde::{Deserialize, Serialize};

use crate::binning::{BinMapper, BinnedMatrix};
use crate::dataset::{Dataset, FeatureKind};
use crate::error::TrainError;
use crate::metrics::{log_loss, mean_squared_error};

/// What the trees fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Log-loss of a 0/1 target; the raw score is the log-odds.
    #[default]
    Binary,
    /// Squared error of a real-valued target; the raw score is the prediction. Used for the
    /// second stage of uplift learners (imputed effects, pseudo-outcomes).
    SquaredError,
}

impl Objective {
    pub fn is_binary(&self) -> bool {
        *self == Objective::Binary
    }
}

/// Hyper-parameters, checked by [`GbdtParams::check`] before any work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GbdtParams {
    /// Not written when binary, so the files of binary models are as before.
    #[serde(skip_serializing_if = "Objective::is_binary")]
    pub objective: Objective,
    pub n_trees: usize,
    pub learning_rate: f64,
    pub num_leaves: usize,
    /// 0: no limit besides `num_leaves`.
    pub max_depth: usize,
    pub min_data_in_leaf: usize,
    pub min_sum_hessian_in_leaf: f64,
    pub lambda_l2: f64,
    pub min_gain_to_split: f64,
    /// Share of features drawn (without replacement) for each tree.
    pub feature_fraction: f64,
    /// Share of rows drawn (without replacement) every `bagging_freq` trees; 1.0 or a zero
    /// frequency disables bagging.
    pub bagging_fraction: f64,
    pub bagging_freq: usize,
    pub max_bin: usize,
    /// Stop when the validation log-loss has not improved for this many trees (0: never);
    /// the model keeps the trees up to the best iteration.
    pub early_stopping_rounds: usize,
    /// Feature name -> +1 (prediction never decreases as the feature grows) or -1.
    pub monotone: BTreeMap<String, i8>,
    pub seed: u64,
    /// Worker threads; 0 uses every core.
    pub threads: usize,
}

impl Default for GbdtParams {
    fn default() -> Self {
        Self {
            objective: Objective::Binary,
            n_trees: 300,
            learning_rate: 0.05,
            num_leaves: 31,
            max_depth: 0,
            min_data_in_leaf: 20,
            min_sum_hessian_in_leaf: 1e-3,
            lambda_l2: 0.0,
            min_gain_to_split: 0.0,
            feature_fraction: 1.0,
            bagging_fraction: 1.0,
            bagging_freq: 0,
            max_bin: 255,
            early_stopping_rounds: 0,
            monotone: BTreeMap::new(),
            seed: 0,
            threads: 0,
        }
    }
}

impl GbdtParams {
    pub fn check(&self, names: &[String]) -> Result<(), InvalidSetting> {
        let bad = |field: &str, value: &dyn ToString, expected: &str| {
            Err(InvalidSetting::new(field, value.to_string(), expected))
        };
        if self.n_trees == 0 {
            return bad("n_trees", &self.n_trees, "at least 1");
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return bad("learning_rate", &self.learning_rate, "in (0, 1]");
        }
        if self.num_leaves < 2 || self.num_leaves > 65_536 {
            return bad("num_leaves", &self.num_leaves, "between 2 and 65536");
        }
        if self.min_data_in_leaf == 0 {
            return bad("min_data_in_leaf", &self.min_data_in_leaf, "at least 1");
        }
        if self.min_sum_hessian_in_leaf.is_nan() || self.min_sum_hessian_in_leaf < 0.0 {
            return bad(
                "min_sum_hessian_in_leaf",
                &self.min_sum_hessian_in_leaf,
                ">= 0",
            );
        }
        if !(self.lambda_l2 >= 0.0 && self.lambda_l2.is_finite()) {
            return bad("lambda_l2", &self.lambda_l2, "a finite number >= 0");
        }
        if !(self.min_gain_to_split >= 0.0 && self.min_gain_to_split.is_finite()) {
            return bad(
                "min_gain_to_split",
                &self.min_gain_to_split,
                "a finite number >= 0",
            );
        }
        if !(self.feature_fraction > 0.0 && self.feature_fraction <= 1.0) {
            return bad("feature_fraction", &self.feature_fraction, "in (0, 1]");
        }
        if !(self.bagging_fraction > 0.0 && self.bagging_fraction <= 1.0) {
            return bad("bagging_fraction", &self.bagging_fraction, "in (0, 1]");
        }
        if !(2..=255).contains(&self.max_bin) {
            return bad("max_bin", &self.max_bin, "between 2 and 255");
        }
        for (name, &c) in &self.monotone {
            if !names.contains(name) {
                return bad(
                    &format!("monotone.{name}"),
                    &c,
                    "the name of a feature column",
                );
            }
            if !matches!(c, -1..=1) {
                return bad(&format!("monotone.{name}"), &c, "-1, 0 or 1");
            }
        }
        Ok(())
    }
}

/// A trained ensemble with what training learned about it.
#[derive(Debug, Clone)]
pub struct FittedGbdt {
    pub ensemble: TreeEnsemble,
    /// For each categorical feature, the rank of each level code (levels are ordered by their
    /// smoothed training target mean, so trees split them as an ordered variable). The ensemble
    /// reads ranks; [`FittedGbdt::encode`] maps a dataset's codes to them.
    pub category_rank: Vec<Option<Vec<f64>>>,
    /// Validation loss after each tree (log-loss, or mean squared error for
    /// [`Objective::SquaredError`]), when a validation set was given.
    pub valid_logloss: Vec<f64>,
    /// Trees kept (the best iteration plus one).
    pub best_n_trees: usize,
    pub importance_gain: Vec<f64>,
    pub importance_splits: Vec<u32>,
}

impl FittedGbdt {
    /// The dataset's features as the ensemble reads them, row-major.
    pub fn encode(&self, data: &Dataset) -> Vec<f64> {
        let mut x = data.row_major();
        apply_ranks(&self.category_rank, &mut x, data.n_features());
        x
    }

    /// Raw scores for every row of `data`: log-odds, or predictions of a squared-error model.
    pub fn predict_raw(&self, data: &Dataset) -> Vec<f64> {
        let nf = data.n_features();
        let x = self.encode(data);
        x.par_chunks(nf.max(1))
            .map(|row| self.ensemble.predict_raw(row))
            .collect()
    }

    /// Probabilities for every row of `data` (rayon over rows).
    pub fn predict_proba(&self, data: &Dataset) -> Vec<f64> {
        let nf = data.n_features();
        let x = self.encode(data);
        x.par_chunks(nf.max(1))
            .map(|row| self.ensemble.predict_proba(row))
            .collect()
    }
}

pub fn apply_ranks(ranks: &[Option<Vec<f64>>], x: &mut [f64], nf: usize) {
    for (f, r) in ranks.iter().enumerate() {
        if let Some(r) = r {
            for row in x.chunks_mut(nf) {
                let v = row[f];
                if !v.is_nan() {
                    row[f] = r[v as usize];
                }
            }
        }
    }
}

/// Level ranks by smoothed weighted target mean (ties by level code), from the training rows.
pub fn category_ranks(data: &Dataset) -> Vec<Option<Vec<f64>>> {
    const PRIOR: f64 = 10.0;
    let (mut sw, mut sy) = (0.0, 0.0);
    for r in 0..data.n_rows() {
        sw += data.weight(r);
        sy += data.weight(r) * data.target[r];
    }
    let base = sy / sw;
    data.kinds
        .iter()
        .zip(&data.columns)
        .map(|(kind, col)| {
            let FeatureKind::Categorical { levels } = kind else {
                return None;
            };
            let mut acc = vec![(0.0f64, 0.0f64); levels.len()];
            for (r, &v) in col.iter().enumerate() {
                if !v.is_nan() {
                    let a = &mut acc[v as usize];
                    a.0 += data.weight(r);
                    a.1 += data.weight(r) * data.target[r];
                }
            }
            let mean: Vec<f64> = acc
                .iter()
                .map(|(w, y)| (y + PRIOR * base) / (w + PRIOR))
                .collect();
            let mut order: Vec<usize> = (0..levels.len()).collect();
            order.sort_by(|&a, &b| mean[a].total_cmp(&mean[b]).then(a.cmp(&b)));
            let mut rank = vec![0.0; levels.len()];
            for (k, &code) in order.iter().enumerate() {
                rank[code] = k as f64;
            }
            Some(rank)
        })
        .collect()
}

/// Gains this small are rounding noise (splitting a pure leaf), not signal.
const MIN_GAIN: f64 = 1e-10;

/// Below this many rows (times features, for histograms) work stays on one thread.
const PARALLEL_ROWS: usize = 50_000;

/// Gradient statistics of one bin: sum of gradients, of hessians, and the row count.
type Bin = [f64; 3];

fn add(a: &mut Bin, b: &Bin) {
    a[0] += b[0];
    a[1] += b[1];
    a[2] += b[2];
}

/// The objective's reduction of a leaf with sums (g, h) and output w: -(2gw + (h + l2)w^2),
/// which is g^2 / (h + l2) at the unconstrained optimum w = -g / (h + l2).
fn leaf_gain(g: f64, h: f64, l2: f64, w: f64) -> f64 {
    -(2.0 * g * w + (h + l2) * w * w)
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    feature: usize,
    bin: u8,
    missing_left: bool,
    gain: f64,
    left: Bin,
    left_out: f64,
    right_out: f64,
}

struct Leaf {
    begin: usize,
    end: usize,
    sums: Bin,
    depth: usize,
    lower: f64,
    upper: f64,
    output: f64,
    /// The split whose branch leads here, and whether it is the left branch.
    parent: Option<(usize, bool)>,
    hist: Option<Vec<Bin>>,
    best: Option<Candidate>,
}

/// One grown tree with what training needs besides the tree.
struct GrownTree {
    tree: Tree,
    /// The bin threshold of each split.
    split_bins: Vec<u8>,
    /// Each leaf's rows, as a range of the reordered row list.
    leaf_rows: Vec<(usize, usize)>,
    /// The gain of each split.
    gains: Vec<f64>,
}

/// Settings and data shared by every tree of one fit.
struct Grower<'a> {
    p: &'a GbdtParams,
    binned: &'a BinnedMatrix,
    monotone: Vec<i8>,
    /// Start of each feature's bins in a leaf histogram.
    offsets: Vec<usize>,
    total_bins: usize,
}

impl Grower<'_> {
    fn output(&self, g: f64, h: f64, lower: f64, upper: f64) -> f64 {
        (-g / (h + self.p.lambda_l2)).clamp(lower, upper)
    }

    fn build_hist(&self, rows: &[u32], grad: &[f64], hess: &[f64], active: &[usize]) -> Vec<Bin> {
        let mut hist = vec![[0.0; 3]; self.total_bins];
        let pair = |&r: &u32| [grad[r as usize], hess[r as usize]];
        let gh: Vec<[f64; 2]> = if rows.len() < PARALLEL_ROWS {
            rows.iter().map(pair).collect()
        } else {
            rows.par_iter()
                .with_min_len(PARALLEL_ROWS / 4)
                .map(pair)
                .collect()
        };
        let fill = |f: usize, h: &mut [Bin]| {
            let bins = &self.binned.bins[f];
            // Two interleaved histograms: consecutive rows in the same bin (common in skewed
            // features) would otherwise wait on each other's read-modify-write.
            let mut odd = vec![[0.0; 3]; h.len()];
            let mut pairs = rows.chunks_exact(2).zip(gh.chunks_exact(2));
            for (r, g) in &mut pairs {
                let a = &mut h[bins[r[0] as usize] as usize];
                a[0] += g[0][0];
                a[1] += g[0][1];
                a[2] += 1.0;
                let b = &mut odd[bins[r[1] as usize] as usize];
                b[0] += g[1][0];
                b[1] += g[1][1];
                b[2] += 1.0;
            }
            if rows.len() % 2 == 1 {
                let k = rows.len() - 1;
                let a = &mut h[bins[rows[k] as usize] as usize];
                a[0] += gh[k][0];
                a[1] += gh[k][1];
                a[2] += 1.0;
            }
            for (a, b) in h.iter_mut().zip(&odd) {
                add(a, b);
            }
        };
        let mut slices = split_by_feature(&mut hist, &self.offsets, self.total_bins);
        let work: Vec<(usize, &mut [Bin])> = active
            .iter()
            .map(|&f| (f, std::mem::take(&mut slices[f])))
            .collect();
        if rows.len() * active.len() < PARALLEL_ROWS {
            work.into_iter().for_each(|(f, h)| fill(f, h));
        } else {
            work.into_par_iter().for_each(|(f, h)| fill(f, h));
        }
        hist
    }

    fn best_split(&self, leaf: &Leaf, active: &[usize]) -> Option<Candidate> {
        let hist = leaf.hist.as_ref()?;
        let p = self.p;
        if leaf.sums[2] < 2.0 * p.min_data_in_leaf as f64
            || (p.max_depth > 0 && leaf.depth >= p.max_depth)
        {
            return None;
        }
        let parent_gain = leaf_gain(leaf.sums[0], leaf.sums[1], p.lambda_l2, leaf.output);
        let per_feature = |&f: &usize| -> Option<Candidate> {
            let m: &BinMapper = &self.binned.mappers[f];
            let h = &hist[self.offsets[f]..self.offsets[f] + m.n_bins()];
            let nv = m.n_value_bins();
            let missing = h[nv];
            let mono = self.monotone[f];
            let mut best: Option<Candidate> = None;
            let directions: &[bool] = if missing[2] > 0.0 {
                &[false, true]
            } else {
                &[false]
            };
            for &missing_left in directions {
                let mut acc = if missing_left { missing } else { [0.0; 3] };
                for (b, bin) in h[..nv].iter().enumerate() {
                    add(&mut acc, bin);
                    // Every value bin on the left is a split only when missing values go right.
                    if b + 1 == nv && (missing_left || missing[2] == 0.0) {
                        break;
                    }
                    let left = acc;
                    let right = [
                        leaf.sums[0] - left[0],
                        leaf.sums[1] - left[1],
                        leaf.sums[2] - left[2],
                    ];
                    if left[2] < p.min_data_in_leaf as f64 || left[1] < p.min_sum_hessian_in_leaf {
                        continue;
                    }
                    if right[2] < p.min_data_in_leaf as f64 || right[1] < p.min_sum_hessian_in_leaf
                    {
                        break;
                    }
                    let lo = self.output(left[0], left[1], leaf.lower, leaf.upper);
                    let ro = self.output(right[0], right[1], leaf.lower, leaf.upper);
                    if (mono > 0 && lo > ro) || (mono < 0 && lo < ro) {
                        continue;
                    }
                    let gain = leaf_gain(left[0], left[1], p.lambda_l2, lo)
                        + leaf_gain(right[0], right[1], p.lambda_l2, ro)
                        - parent_gain;
                    if gain > p.min_gain_to_split + MIN_GAIN && best.is_none_or(|c| gain > c.gain) {
                        best = Some(Candidate {
                            feature: f,
                            bin: b as u8,
                            missing_left,
                            gain,
                            left,
                            left_out: lo,
                            right_out: ro,
                        });
                    }
                }
            }
            best
        };
        let found: Vec<Option<Candidate>> = if leaf.sums[2] as usize * active.len() < PARALLEL_ROWS
        {
            active.iter().map(per_feature).collect()
        } else {
            active.par_iter().map(per_feature).collect()
        };
        // Highest gain; the lowest feature number on ties, whatever the thread timing.
        found
            .into_iter()
            .flatten()
            .fold(None, |best: Option<Candidate>, c| match best {
                Some(b) if b.gain >= c.gain => Some(b),
                _ => Some(c),
            })
    }

    /// Grows one tree on `rows`; returns it (outputs already scaled by the learning rate), the
    /// bin of each split, the rows of each leaf (as ranges of the reordered `rows`) and the gain
    /// of each split.
    fn grow(&self, rows: &mut [u32], grad: &[f64], hess: &[f64], active: &[usize]) -> GrownTree {
        let p = self.p;
        let hist = self.build_hist(rows, grad, hess, active);
        // The root's sums are any feature's histogram total.
        let mut sums = [0.0; 3];
        if let Some(&f) = active.first() {
            for b in &hist[self.offsets[f]..self.offsets[f] + self.binned.mappers[f].n_bins()] {
                add(&mut sums, b);
            }
        } else {
            for &r in rows.iter() {
                sums[0] += grad[r as usize];
                sums[1] += hess[r as usize];
            }
        }
        sums[2] = rows.len() as f64;
        let mut root = Leaf {
            begin: 0,
            end: rows.len(),
            sums,
            depth: 0,
            lower: f64::NEG_INFINITY,
            upper: f64::INFINITY,
            output: self.output(sums[0], sums[1], f64::NEG_INFINITY, f64::INFINITY),
            parent: None,
            hist: Some(hist),
            best: None,
        };
        root.best = self.best_split(&root, active);
        let mut leaves = vec![root];
        let mut tree = Tree::default();
        let mut split_bins = Vec::new();
        let mut gains = Vec::new();
        let mut scratch: Vec<u32> = Vec::new();
        while leaves.len() < p.num_leaves {
            let Some((li, c)) = leaves
                .iter()
                .enumerate()
                .filter_map(|(i, l)| l.best.map(|c| (i, c)))
                .fold(
                    None,
                    |best: Option<(usize, Candidate)>, (i, c)| match best {
                        Some((bi, b)) if b.gain >= c.gain => Some((bi, b)),
                        _ => Some((i, c)),
                    },
                )
            else {
                break;
            };
            let s = tree.feature.len();
            let mapper = &self.binned.mappers[c.feature];
            let missing_bin = mapper.missing_bin();
            let parent = &mut leaves[li];
            parent.best = None;
            let parent_hist = parent.hist.take();
            // Stable partition of the leaf's rows, left ones first, without data-dependent
            // branches: every row is written to both sides and only one cursor advances.
            let bins = &self.binned.bins[c.feature];
            let mut goes_left = [false; 256];
            for (b, l) in goes_left.iter_mut().enumerate().take(mapper.n_bins()) {
                *l = if b == missing_bin as usize {
                    c.missing_left
                } else {
                    b <= c.bin as usize
                };
            }
            let range = &mut rows[parent.begin..parent.end];
            let n_left = if range.len() < PARALLEL_ROWS {
                partition_rows(range, &mut scratch, |r| {
                    goes_left[bins[r as usize] as usize]
                })
            } else {
                // Each block partitions itself; the blocks' left parts then go first, in order.
                let block = range.len().div_ceil(rayon::current_num_threads());
                let parts: Vec<(Vec<u32>, usize)> = range
                    .par_chunks(block)
                    .map(|chunk| {
                        let mut c = chunk.to_vec();
                        let mut s = Vec::new();
                        let n = partition_rows(&mut c, &mut s, |r| {
                            goes_left[bins[r as usize] as usize]
                        });
                        (c, n)
                    })
                    .collect();
                let mut at = 0;
                for (c, n) in &parts {
                    range[at..at + n].copy_from_slice(&c[..*n]);
                    at += n;
                }
                let n_left = at;
                for (c, n) in &parts {
                    range[at..at + c.len() - n].copy_from_slice(&c[*n..]);
                    at += c.len() - n;
                }
                n_left
            };
            let mid = parent.begin + n_left;

            tree.feature.push(c.feature as u32);
            // The last bin's bound is +inf (a split of missing against every value); JSON has
            // no infinity, and every finite value is <= f64::MAX alike.
            tree.threshold
                .push(mapper.upper[c.bin as usize].min(f64::MAX));
            tree.missing_left.push(c.missing_left);
            let new_leaf = leaves.len();
            tree.left.push(NodeRef::Leaf(li as u32));
            tree.right.push(NodeRef::Leaf(new_leaf as u32));
            split_bins.push(c.bin);
            gains.push(c.gain);
            tree.split_cover.push(leaves[li].sums[2]);
            let parent = &mut leaves[li];
            if let Some((ps, is_left)) = parent.parent {
                let slot = if is_left {
                    &mut tree.left[ps]
                } else {
                    &mut tree.right[ps]
                };
                *slot = NodeRef::Split(s as u32);
            }
            let (mut l_lower, mut l_upper) = (parent.lower, parent.upper);
            let (mut r_lower, mut r_upper) = (parent.lower, parent.upper);
            let mono = self.monotone[c.feature];
            if mono != 0 {
                let m = (c.left_out + c.right_out) / 2.0;
                if mono > 0 {
                    l_upper = l_upper.min(m);
                    r_lower = r_lower.max(m);
                } else {
                    l_lower = l_lower.max(m);
                    r_upper = r_upper.min(m);
                }
            }
            let right_sums = [
                parent.sums[0] - c.left[0],
                parent.sums[1] - c.left[1],
                parent.sums[2] - c.left[2],
            ];
            let depth = parent.depth + 1;
            let (begin, end) = (parent.begin, parent.end);
            let mut left = Leaf {
                begin,
                end: mid,
                sums: c.left,
                depth,
                lower: l_lower,
                upper: l_upper,
                output: c.left_out.clamp(l_lower, l_upper),
                parent: Some((s, true)),
                hist: None,
                best: None,
            };
            let mut right = Leaf {
                begin: mid,
                end,
                sums: right_sums,
                depth,
                lower: r_lower,
                upper: r_upper,
                output: c.right_out.clamp(r_lower, r_upper),
                parent: Some((s, false)),
                hist: None,
                best: None,
            };
            // Histograms: build the smaller child's, subtract it from the parent's for the other.
            let can_split = |l: &Leaf| {
                l.sums[2] >= 2.0 * p.min_data_in_leaf as f64
                    && (p.max_depth == 0 || l.depth < p.max_depth)
                    && new_leaf + 1 < p.num_leaves
            };
            if can_split(&left) || can_split(&right) {
                let (small, large) = if left.end - left.begin <= right.end - right.begin {
                    (&mut left, &mut right)
                } else {
                    (&mut right, &mut left)
                };
                let small_hist = self.build_hist(&rows[small.begin..small.end], grad, hess, active);
                let mut large_hist = parent_hist.unwrap_or_default();
                for (l, s) in large_hist.iter_mut().zip(&small_hist) {
                    l[0] -= s[0];
                    l[1] -= s[1];
                    l[2] -= s[2];
                }
                small.hist = Some(small_hist);
                large.hist = Some(large_hist);
                left.best = if can_split(&left) {
                    self.best_split(&left, active)
                } else {
                    None
                };
                right.best = if can_split(&right) {
                    self.best_split(&right, active)
                } else {
                    None
                };
                if left.best.is_none() {
                    left.hist = None;
                }
                if right.best.is_none() {
                    right.hist = None;
                }
            }
            leaves[li] = left;
            leaves.push(right);
        }
        tree.leaf_value = leaves.iter().map(|l| l.output * p.learning_rate).collect();
        tree.leaf_cover = leaves.iter().map(|l| l.sums[2]).collect();
        GrownTree {
            tree,
            split_bins,
            leaf_rows: leaves.iter().map(|l| (l.begin, l.end)).collect(),
            gains,
        }
    }
}

/// Stable partition of `rows` (those for which `left` holds first) without data-dependent
/// branches: every row is written to both sides and only one cursor advances. Returns the
/// number of left rows.
fn partition_rows(rows: &mut [u32], scratch: &mut Vec<u32>, left: impl Fn(u32) -> bool) -> usize {
    scratch.clear();
    scratch.resize(rows.len() + 1, 0);
    let (mut n_left, mut n_right) = (0usize, 0usize);
    for k in 0..rows.len() {
        let r = rows[k];
        let l = left(r);
        rows[n_left] = r;
        scratch[n_right] = r;
        n_left += usize::from(l);
        n_right += usize::from(!l);
    }
    rows[n_left..].copy_from_slice(&scratch[..n_right]);
    n_left
}

/// Splits a flat histogram into one mutable slice per feature.
fn split_by_feature<'h>(
    hist: &'h mut [Bin],
    offsets: &[usize],
    total: usize,
) -> Vec<&'h mut [Bin]> {
    let mut out = Vec::with_capacity(offsets.len());
    let mut rest = hist;
    for (f, &start) in offsets.iter().enumerate() {
        let end = offsets.get(f + 1).copied().unwrap_or(total);
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(end - start);
        out.push(head);
        rest = tail;
    }
    out
}

/// The leaf of a binned row in a tree grown on those bins.
fn binned_leaf(tree: &Tree, split_bins: &[u8], binned: &BinnedMatrix, row: usize) -> usize {
    tree.leaf_by(|s| {
        let f = tree.feature[s] as usize;
        let b = binned.bins[f][row];
        if b == binned.mappers[f].missing_bin() {
            tree.missing_left[s]
        } else {
            b <= split_bins[s]
        }
    })
}

/// Trains on `train`, watching `valid` (if any) for early stopping.
pub fn fit(
    params: &GbdtParams,
    train: &Dataset,
    valid: Option<&Dataset>,
) -> Result<FittedGbdt, TrainError> {
    params.check(&train.names)?;
    if let Some(v) = valid
        && v.names != train.names
    {
        return Err(TrainError::Shape(
            "the validation table's features differ from the training table's".into(),
        ));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(params.threads)
        .build()?;
    pool.install(|| fit_in_pool(params, train, valid))
}

fn fit_in_pool(
    p: &GbdtParams,
    train: &Dataset,
    valid: Option<&Dataset>,
) -> Result<FittedGbdt, TrainError> {
    let n = train.n_rows();
    let nf = train.n_features();
    let (mut sw, mut sy) = (0.0, 0.0);
    for r in 0..n {
        sw += train.weight(r);
        sy += train.weight(r) * train.target[r];
    }
    let mean = sy / sw;
    let binary = p.objective.is_binary();
    if binary && !(mean > 0.0 && mean < 1.0) {
        return Err(TrainError::ConstantTarget {
            value: if mean >= 1.0 { 1.0 } else { 0.0 },
        });
    }
    if !mean.is_finite() {
        return Err(TrainError::Shape(format!(
            "the weighted target mean is {mean}: no rows have weight"
        )));
    }
    let base = if binary {
        (mean / (1.0 - mean)).ln()
    } else {
        mean
    };

    let category_rank = category_ranks(train);
    let ranked = train.with_category_ranks(&category_rank);
    let binned = BinnedMatrix::fit(&ranked, p.max_bin, 200_000, p.seed);
    drop(ranked);
    let mut offsets = Vec::with_capacity(nf);
    let mut total_bins = 0;
    for m in &binned.mappers {
        offsets.push(total_bins);
        total_bins += m.n_bins();
    }
    let grower = Grower {
        p,
        binned: &binned,
        monotone: train
            .names
            .iter()
            .map(|n| p.monotone.get(n).copied().unwrap_or(0))
            .collect(),
        offsets,
        total_bins,
    };
    // Features that cannot split (one bin, no missing) are never searched.
    let usable: Vec<usize> = (0..nf)
        .filter(|&f| binned.mappers[f].n_value_bins() > 1 || binned.mappers[f].has_missing)
        .collect();

    let valid_x = valid.map(|v| {
        let mut x = v.row_major();
        apply_ranks(&category_rank, &mut x, nf);
        x
    });
    let mut valid_raw = valid.map_or_else(Vec::new, |v| vec![base; v.n_rows()]);
    let mut valid_logloss = Vec::new();
    let (mut best_iter, mut best_loss) = (0usize, f64::INFINITY);

    let mut rng = ChaCha8Rng::seed_from_u64(p.seed.wrapping_add(0x9E37_79B9_7F4A_7C15));
    let bagging = p.bagging_fraction < 1.0 && p.bagging_freq > 0;
    let mut bag: Vec<u32> = (0..n as u32).collect();
    let mut raw = vec![base; n];
    let mut grad = vec![0.0; n];
    let mut hess = vec![0.0; n];
    let mut trees = Vec::with_capacity(p.n_trees);
    let mut split_gains: Vec<Vec<f64>> = Vec::with_capacity(p.n_trees);
    for it in 0..p.n_trees {
        grad.par_iter_mut()
            .zip(hess.par_iter_mut())
            .enumerate()
            .for_each(|(r, (g, h))| {
                let w = train.weight(r);
                if binary {
                    let pr = sigmoid(raw[r]);
                    *g = w * (pr - train.target[r]);
                    *h = w * (pr * (1.0 - pr)).max(1e-16);
                } else {
                    *g = w * (raw[r] - train.target[r]);
                    *h = w;
                }
            });
        if bagging && it % p.bagging_freq == 0 {
            let k = ((n as f64 * p.bagging_fraction).round() as usize).clamp(1, n);
            bag = sample(&mut rng, n, k)
                .into_iter()
                .map(|r| r as u32)
                .collect();
            bag.sort_unstable();
        }
        let active: Vec<usize> = if p.feature_fraction < 1.0 && usable.len() > 1 {
            let k = ((usable.len() as f64 * p.feature_fraction).round() as usize)
                .clamp(1, usable.len());
            let mut a: Vec<usize> = sample(&mut rng, usable.len(), k)
                .into_iter()
                .map(|i| usable[i])
                .collect();
            a.sort_unstable();
            a
        } else {
            usable.clone()
        };
        let mut rows = bag.clone();
        let GrownTree {
            tree,
            split_bins,
            leaf_rows: ranges,
            gains,
        } = grower.grow(&mut rows, &grad, &hess, &active);
        if bagging {
            raw.par_iter_mut().enumerate().for_each(|(r, s)| {
                *s += tree.leaf_value[binned_leaf(&tree, &split_bins, &binned, r)];
            });
        } else {
            for (leaf, &(b, e)) in ranges.iter().enumerate() {
                let v = tree.leaf_value[leaf];
                for &r in &rows[b..e] {
                    raw[r as usize] += v;
                }
            }
        }
        if let (Some(v), Some(x)) = (valid, &valid_x) {
            valid_raw
                .par_iter_mut()
                .zip(x.par_chunks(nf))
                .for_each(|(s, row)| *s += tree.predict(row));
            let loss = if binary {
                let p_valid: Vec<f64> = valid_raw.iter().map(|&r| sigmoid(r)).collect();
                log_loss(&v.target, &p_valid, v.weight.as_deref())
            } else {
                mean_squared_error(&v.target, &valid_raw, v.weight.as_deref())
            };
            valid_logloss.push(loss);
            if loss < best_loss {
                best_loss = loss;
                best_iter = it;
            }
        } else {
            best_iter = it;
        }
        trees.push(tree);
        split_gains.push(gains);
        if p.early_stopping_rounds > 0
            && valid.is_some()
            && it - best_iter >= p.early_stopping_rounds
        {
            break;
        }
    }
    let keep = best_iter + 1;
    trees.truncate(keep);
    let mut importance_gain = vec![0.0; nf];
    let mut importance_splits = vec![0u32; nf];
    for (t, gains) in trees.iter().zip(&split_gains) {
        for (&f, &g) in t.feature.iter().zip(gains) {
            importance_gain[f as usize] += g;
            importance_splits[f as usize] += 1;
        }
    }
    Ok(FittedGbdt {
        ensemble: TreeEnsemble {
            n_features: nf,
            base_score: base,
            trees,
        },
        category_rank,
        valid_logloss,
        best_n_trees: keep,
        importance_gain,
        importance_splits,
    })
}
