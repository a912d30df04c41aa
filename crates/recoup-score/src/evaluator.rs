//! Tree ensembles compiled for fast batch evaluation.
//!
//! Ensembles whose trees have at most 64 leaves (and whose tables fit 256 MiB) are evaluated by
//! leaf masks ([`crate::leaf_masks`]): no tree is walked. Others fall back to one flat node
//! array evaluated in row blocks: every split of every tree is a node (threshold, feature with
//! the missing-value direction in its top bit, two children); for each tree, groups of rows of
//! a block descend together, so the independent traversals overlap in the CPU and the tree's
//! nodes stay in cache. Blocks run in parallel with rayon. Every path does the arithmetic of
//! `TreeEnsemble::predict_raw` (same comparisons, trees summed in order), so outputs are equal
//! to the bit.

use rayon::prelude::*;
use recoup_model::{NodeRef, TreeEnsemble};

use crate::leaf_masks::LeafMasks;

const MISSING_LEFT: u32 = 1 << 31;
/// Rows that descend a tree together.
const BLOCK: usize = 64;
/// Rows per parallel task.
const TASK_ROWS: usize = 4096;

/// A split, or a leaf: a leaf's children are itself and its `threshold` holds its value, so a
/// row that reached a leaf stays there while the rest of its block keeps descending.
#[derive(Debug, Clone, Copy)]
struct Node {
    threshold: f64,
    /// Feature index; the top bit set sends NaN left.
    feature: u32,
    left: u32,
    right: u32,
}

/// The same trees with thresholds replaced by their rank among the feature's thresholds, so
/// that a row's values become small integers once per row and every step compares integers
/// from a 12-byte node: `x <= t_k` exactly when `rank(x) <= k`, where `rank(x)` counts the
/// feature's thresholds below `x`.
#[derive(Debug, Clone)]
struct Quantized {
    /// Per feature: its distinct split thresholds, increasing.
    thresholds: Vec<Vec<f64>>,
    /// Same indices as [`CompiledTrees::nodes`].
    nodes: Vec<QNode>,
}

#[derive(Debug, Clone, Copy)]
struct QNode {
    /// Feature index; the top bit set sends missing values left.
    feature: u16,
    rank: u16,
    left: u32,
    right: u32,
}

const Q_MISSING_LEFT: u16 = 1 << 15;
/// The rank of a missing value: above every real rank, so it goes right unless sent left.
const Q_NAN: u16 = u16::MAX;

impl Quantized {
    /// `None` when a feature has too many thresholds (or features) for 16-bit ranks.
    fn new(nodes: &[Node], n_features: usize) -> Option<Self> {
        if n_features >= usize::from(Q_MISSING_LEFT) {
            return None;
        }
        let mut thresholds = vec![Vec::new(); n_features];
        for n in nodes.iter().filter(|n| n.left != n.right) {
            thresholds[(n.feature & !MISSING_LEFT) as usize].push(n.threshold);
        }
        for t in &mut thresholds {
            t.sort_unstable_by(f64::total_cmp);
            t.dedup();
            if t.len() >= usize::from(Q_NAN) {
                return None;
            }
        }
        let q = nodes
            .iter()
            .map(|n| {
                let f = (n.feature & !MISSING_LEFT) as usize;
                let rank = if n.left == n.right {
                    0
                } else {
                    u16::try_from(thresholds[f].partition_point(|&t| t < n.threshold)).ok()?
                };
                Some(QNode {
                    feature: u16::try_from(f).ok()?
                        | if n.feature & MISSING_LEFT != 0 {
                            Q_MISSING_LEFT
                        } else {
                            0
                        },
                    rank,
                    left: n.left,
                    right: n.right,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            thresholds,
            nodes: q,
        })
    }
}

/// An ensemble laid out for fast batch evaluation.
#[derive(Debug, Clone)]
pub struct CompiledTrees {
    n_features: usize,
    base_score: f64,
    nodes: Vec<Node>,
    /// Per tree: its root node, its depth (the most steps a row takes to reach a leaf) and its
    /// first leaf (its leaves follow its splits, so a node at or after it is a leaf).
    trees: Vec<(u32, u32, u32)>,
    quantized: Option<Quantized>,
    masks: Option<Masks>,
}

/// The leaf-mask evaluator, when the trees fit it (see [`crate::leaf_masks`]).
#[derive(Debug, Clone)]
enum Masks {
    Narrow(LeafMasks<u32>),
    Wide(LeafMasks<u64>),
}

impl CompiledTrees {
    /// Compiles `e`; fails if it does not pass [`TreeEnsemble::check`] or is too large for
    /// 31-bit indices.
    pub fn new(e: &TreeEnsemble) -> Result<Self, String> {
        e.check()?;
        if e.n_features >= MISSING_LEFT as usize {
            return Err(format!("{} features", e.n_features));
        }
        let mut nodes: Vec<Node> = Vec::new();
        let mut trees = Vec::with_capacity(e.trees.len());
        for t in &e.trees {
            let base = nodes.len();
            let n_splits = t.feature.len();
            let index = |r: NodeRef| -> Result<u32, String> {
                let i = match r {
                    NodeRef::Split(s) => base + s as usize,
                    NodeRef::Leaf(l) => base + n_splits + l as usize,
                };
                u32::try_from(i)
                    .ok()
                    .filter(|&i| i < MISSING_LEFT)
                    .ok_or_else(|| "the ensemble has more than 2^31 nodes".to_owned())
            };
            for i in 0..n_splits {
                nodes.push(Node {
                    threshold: t.threshold[i],
                    feature: t.feature[i] | if t.missing_left[i] { MISSING_LEFT } else { 0 },
                    left: index(t.left[i])?,
                    right: index(t.right[i])?,
                });
            }
            for (l, &v) in t.leaf_value.iter().enumerate() {
                let me = index(NodeRef::Leaf(l as u32))?;
                nodes.push(Node {
                    threshold: v,
                    feature: 0,
                    left: me,
                    right: me,
                });
            }
            let root = if n_splits == 0 {
                index(NodeRef::Leaf(0))?
            } else {
                index(NodeRef::Split(0))?
            };
            trees.push((root, depth(t), index(NodeRef::Leaf(0))?));
        }
        let quantized = Quantized::new(&nodes, e.n_features);
        let masks = LeafMasks::new(e)
            .map(Masks::Narrow)
            .or_else(|| LeafMasks::new(e).map(Masks::Wide));
        Ok(Self {
            n_features: e.n_features,
            base_score: e.base_score,
            nodes,
            trees,
            quantized,
            masks,
        })
    }

    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Raw scores of a block of rows (row-major, `out.len()` rows of `n_features`).
    fn block(&self, rows: &[f64], out: &mut [f64]) {
        let nf = self.n_features;
        let n = out.len();
        out.fill(self.base_score);
        let mut cur = [0u32; BLOCK];
        let cur = &mut cur[..n];
        if let Some(q) = &self.quantized {
            let mut ranks = vec![0u16; n * nf];
            for (r, row) in ranks.chunks_mut(nf.max(1)).zip(rows.chunks(nf.max(1))) {
                for ((rank, &x), t) in r.iter_mut().zip(row).zip(&q.thresholds) {
                    *rank = if x.is_nan() {
                        Q_NAN
                    } else {
                        t.partition_point(|&v| v < x) as u16
                    };
                }
            }
            // Groups of rows descend each tree together and stop when all are at leaves: most
            // rows reach a leaf in a few steps, far fewer than the tree's depth.
            const GROUP: usize = 8;
            for &(root, _, first_leaf) in &self.trees {
                // The tree's nodes stay in L1 cache while every group of the block descends it.
                for (g, o) in out.chunks_mut(GROUP).enumerate() {
                    let r = &ranks[g * GROUP * nf..];
                    let mut c = [root; GROUP];
                    let m = o.len();
                    loop {
                        let mut done = true;
                        for (i, ci) in c[..m].iter_mut().enumerate() {
                            let node = q.nodes[*ci as usize];
                            let x = r[i * nf + usize::from(node.feature & !Q_MISSING_LEFT)];
                            let left = (x <= node.rank)
                                | ((x == Q_NAN) & (node.feature & Q_MISSING_LEFT != 0));
                            *ci = if left { node.left } else { node.right };
                            done &= *ci >= first_leaf;
                        }
                        if done {
                            break;
                        }
                    }
                    for (oi, &ci) in o.iter_mut().zip(&c[..m]) {
                        *oi += self.nodes[ci as usize].threshold;
                    }
                }
            }
            return;
        }
        for &(root, depth, _) in &self.trees {
            cur.fill(root);
            // Every row takes `depth` steps; rows at a leaf stay on it. No data-dependent
            // branches: the CPU overlaps the rows' loads.
            for _ in 0..depth {
                for (i, c) in cur.iter_mut().enumerate() {
                    let node = self.nodes[*c as usize];
                    let x = rows[i * nf + (node.feature & !MISSING_LEFT) as usize];
                    let left =
                        (x <= node.threshold) | (x.is_nan() & (node.feature & MISSING_LEFT != 0));
                    *c = if left { node.left } else { node.right };
                }
            }
            for (o, &c) in out.iter_mut().zip(cur.iter()) {
                *o += self.nodes[c as usize].threshold;
            }
        }
    }

    /// Raw scores (log-odds) of row-major `rows` into `out`, in parallel over row blocks.
    ///
    /// # Panics
    /// When `rows.len() != out.len() * n_features`.
    pub fn predict_raw(&self, rows: &[f64], out: &mut [f64]) {
        let nf = self.n_features;
        assert_eq!(
            rows.len(),
            out.len() * nf,
            "rows must hold out.len() rows of {nf} features"
        );
        let tasks = out
            .par_chunks_mut(TASK_ROWS)
            .zip(rows.par_chunks(TASK_ROWS * nf.max(1)));
        match &self.masks {
            Some(Masks::Narrow(m)) => {
                tasks.for_each_init(Vec::new, |acc, (o, r)| m.block(r, o, acc))
            }
            Some(Masks::Wide(m)) => tasks.for_each_init(Vec::new, |acc, (o, r)| m.block(r, o, acc)),
            None => tasks.for_each(|(o, r)| {
                for (ob, rb) in o.chunks_mut(BLOCK).zip(r.chunks(BLOCK * nf.max(1))) {
                    self.block(rb, ob);
                }
            }),
        }
    }

    /// Probabilities (sigmoid of the raw scores).
    pub fn predict_proba(&self, rows: &[f64], out: &mut [f64]) {
        self.predict_raw(rows, out);
        out.par_iter_mut()
            .for_each(|v| *v = recoup_model::sigmoid(*v));
    }
}

/// Splits on the longest path from the root to a leaf.
fn depth(t: &recoup_model::Tree) -> u32 {
    fn walk(t: &recoup_model::Tree, r: NodeRef) -> u32 {
        match r {
            NodeRef::Leaf(_) => 0,
            NodeRef::Split(s) => 1 + walk(t, t.left[s as usize]).max(walk(t, t.right[s as usize])),
        }
    }
    if t.feature.is_empty() {
        0
    } else {
        walk(t, NodeRef::Split(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use recoup_model::Tree;

    #[test]
    fn compiled_scores_equal_the_reference_evaluator_including_missing_and_leaf_only_trees() {
        let t = Tree {
            feature: vec![0, 1],
            threshold: vec![1.5, 0.0],
            missing_left: vec![false, true],
            left: vec![NodeRef::Split(1), NodeRef::Leaf(0)],
            right: vec![NodeRef::Leaf(2), NodeRef::Leaf(1)],
            leaf_value: vec![-1.0, 2.0, 5.0],
            ..Tree::default()
        };
        let e = TreeEnsemble {
            n_features: 2,
            base_score: 0.1,
            trees: vec![t.clone(), Tree::leaf(0.5), t],
        };
        let c = CompiledTrees::new(&e).unwrap();
        let rows: Vec<f64> = (0..1000)
            .flat_map(|i| {
                let a = if i % 7 == 0 {
                    f64::NAN
                } else {
                    f64::from(i % 5) * 0.5
                };
                let b = if i % 3 == 0 {
                    f64::NAN
                } else {
                    f64::from(i % 4) - 1.5
                };
                [a, b]
            })
            .collect();
        assert!(c.quantized.is_some() && c.masks.is_some());
        // The leaf-mask path; the quantized node walk, used when a tree has more than 64
        // leaves or the mask table would be too large; the plain walk, used when thresholds
        // do not fit 16-bit ranks.
        let mut quantized = c.clone();
        quantized.masks = None;
        let mut plain = quantized.clone();
        plain.quantized = None;
        for compiled in [&c, &quantized, &plain] {
            let mut out = vec![0.0; 1000];
            compiled.predict_raw(&rows, &mut out);
            for (i, o) in out.iter().enumerate() {
                assert_eq!(*o, e.predict_raw(&rows[2 * i..2 * i + 2]), "row {i}");
            }
        }
    }
}
