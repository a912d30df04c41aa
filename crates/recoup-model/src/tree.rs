//! Binary decision trees and additive ensembles of them.
//!
//! A split sends a row left when its value is `<= threshold`, and a missing value (NaN) to the
//! side recorded in `missing_left`. This is LightGBM's numeric convention, so its models can be
//! imported without changing any threshold.

use serde::{Deserialize, Serialize};

/// Where a branch of a split leads: another split or a leaf, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeRef {
    Split(u32),
    Leaf(u32),
}

/// One tree in struct-of-arrays form. Split `i` is `(feature[i], threshold[i],
/// missing_left[i], left[i], right[i])`; split 0 is the root. A tree without splits is a single
/// leaf, `leaf_value[0]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Tree {
    pub feature: Vec<u32>,
    pub threshold: Vec<f64>,
    pub missing_left: Vec<bool>,
    pub left: Vec<NodeRef>,
    pub right: Vec<NodeRef>,
    pub leaf_value: Vec<f64>,
    /// Training rows that reached each split and each leaf (empty when unknown). Explanations
    /// (TreeSHAP) weigh a split's children by them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub split_cover: Vec<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leaf_cover: Vec<f64>,
}

impl Tree {
    /// A tree that returns `value` for every row.
    pub fn leaf(value: f64) -> Self {
        Self {
            leaf_value: vec![value],
            ..Self::default()
        }
    }

    pub fn n_splits(&self) -> usize {
        self.feature.len()
    }

    /// The leaf a row falls into. `row` is indexed by feature number.
    pub fn leaf_index(&self, row: &[f64]) -> usize {
        self.leaf_by(|s| self.goes_left(s, row))
    }

    /// Whether split `s` sends `row` left: `x <= threshold`, or the stored direction for NaN.
    pub fn goes_left(&self, s: usize, row: &[f64]) -> bool {
        let x = row[self.feature[s] as usize];
        if x.is_nan() {
            self.missing_left[s]
        } else {
            x <= self.threshold[s]
        }
    }

    /// The leaf reached from the root when split `s` sends the row left exactly when
    /// `go_left(s)`: the walk shared by every representation of a row (raw values, bins).
    pub fn leaf_by(&self, go_left: impl Fn(usize) -> bool) -> usize {
        if self.feature.is_empty() {
            return 0;
        }
        let mut node = 0usize;
        loop {
            let next = if go_left(node) {
                self.left[node]
            } else {
                self.right[node]
            };
            match next {
                NodeRef::Split(n) => node = n as usize,
                NodeRef::Leaf(leaf) => return leaf as usize,
            }
        }
    }

    pub fn predict(&self, row: &[f64]) -> f64 {
        self.leaf_value[self.leaf_index(row)]
    }

    /// Checks that every reference points inside the tree, every split and leaf is reached
    /// exactly once from the root, and features are below `n_features`.
    pub fn check(&self, n_features: usize) -> Result<(), String> {
        let n = self.feature.len();
        if self.threshold.len() != n
            || self.missing_left.len() != n
            || self.left.len() != n
            || self.right.len() != n
        {
            return Err("split arrays have different lengths".into());
        }
        if self.leaf_value.len() != n + 1 {
            return Err(format!(
                "{} splits need {} leaves, found {}",
                n,
                n + 1,
                self.leaf_value.len()
            ));
        }
        if let Some(f) = self.feature.iter().find(|&&f| f as usize >= n_features) {
            return Err(format!(
                "split on feature {f}, but the model has {n_features}"
            ));
        }
        if !(self.split_cover.is_empty() && self.leaf_cover.is_empty())
            && (self.split_cover.len() != n || self.leaf_cover.len() != n + 1)
        {
            return Err("covers do not match the splits and leaves".into());
        }
        if let Some(t) = self.threshold.iter().find(|t| t.is_nan()) {
            return Err(format!("threshold {t}"));
        }
        let mut seen_split = vec![false; n];
        let mut seen_leaf = vec![false; n + 1];
        if n > 0 {
            let mut stack = vec![0usize];
            seen_split[0] = true;
            while let Some(s) = stack.pop() {
                for child in [self.left[s], self.right[s]] {
                    match child {
                        NodeRef::Split(c) => {
                            let c = c as usize;
                            if c >= n || seen_split[c] {
                                return Err(format!(
                                    "split {s} points at split {c} twice or out of range"
                                ));
                            }
                            seen_split[c] = true;
                            stack.push(c);
                        }
                        NodeRef::Leaf(l) => {
                            let l = l as usize;
                            if l > n || seen_leaf[l] {
                                return Err(format!(
                                    "split {s} points at leaf {l} twice or out of range"
                                ));
                            }
                            seen_leaf[l] = true;
                        }
                    }
                }
            }
        } else {
            seen_leaf[0] = true;
        }
        if seen_leaf.contains(&false) || seen_split.contains(&false) {
            return Err("some nodes are not reachable from the root".into());
        }
        Ok(())
    }
}

/// A sum of trees on the log-odds scale: `raw = base_score + sum of tree outputs`, and for a
/// binary classifier `p = sigmoid(raw)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeEnsemble {
    pub n_features: usize,
    pub base_score: f64,
    pub trees: Vec<Tree>,
}

impl TreeEnsemble {
    /// The base score plus each tree's output, added in tree order (the order every recoup
    /// evaluator uses, so their results are equal to the bit).
    pub fn predict_raw(&self, row: &[f64]) -> f64 {
        self.trees
            .iter()
            .fold(self.base_score, |s, t| s + t.predict(row))
    }

    pub fn predict_proba(&self, row: &[f64]) -> f64 {
        crate::sigmoid(self.predict_raw(row))
    }

    pub fn check(&self) -> Result<(), String> {
        for (i, t) in self.trees.iter().enumerate() {
            t.check(self.n_features)
                .map_err(|e| format!("tree {i}: {e}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x0 <= 1.5 (missing right) ? (x1 <= 0 (missing left) ? -1 : 2) : 5
    fn small() -> Tree {
        Tree {
            feature: vec![0, 1],
            threshold: vec![1.5, 0.0],
            missing_left: vec![false, true],
            left: vec![NodeRef::Split(1), NodeRef::Leaf(0)],
            right: vec![NodeRef::Leaf(2), NodeRef::Leaf(1)],
            leaf_value: vec![-1.0, 2.0, 5.0],
            ..Tree::default()
        }
    }

    #[test]
    fn rows_follow_thresholds_and_missing_directions() {
        let t = small();
        t.check(2).unwrap();
        assert_eq!(t.predict(&[1.5, 0.0]), -1.0);
        assert_eq!(t.predict(&[1.0, 0.1]), 2.0);
        assert_eq!(t.predict(&[1.6, -3.0]), 5.0);
        assert_eq!(t.predict(&[f64::NAN, -3.0]), 5.0);
        assert_eq!(t.predict(&[0.0, f64::NAN]), -1.0);
        assert_eq!(Tree::leaf(0.25).predict(&[]), 0.25);
    }

    #[test]
    fn check_rejects_broken_trees() {
        let mut t = small();
        t.right[1] = NodeRef::Leaf(0);
        assert!(t.check(2).is_err());
        let t = small();
        assert!(t.check(1).unwrap_err().contains("feature 1"));
        let mut t = small();
        t.leaf_value.pop();
        assert!(t.check(2).is_err());
    }

    #[test]
    fn ensemble_adds_trees_to_the_base_score() {
        let e = TreeEnsemble {
            n_features: 2,
            base_score: 0.5,
            trees: vec![small(), Tree::leaf(-0.5)],
        };
        assert_eq!(e.predict_raw(&[2.0, 0.0]), 5.0);
        assert!((e.predict_proba(&[2.0, 0.0]) - crate::sigmoid(5.0)).abs() < 1e-15);
        assert!((crate::sigmoid(-800.0)).is_finite() && crate::sigmoid(800.0) == 1.0);
    }
}
