//! Exact TreeSHAP (path-dependent; Lundberg, Erion and Lee, 2018, algorithm 2) on native
//! trees, and reason codes from it.
//!
//! For one row, each feature's SHAP value is its Shapley share of `raw(x) - E[raw]`, where a
//! feature outside a coalition is integrated out by following both children of its splits,
//! weighted by the training rows (covers) that went each way. The values plus the expected
//! value equal the raw score (the margin) exactly, up to rounding.

use recoup_model::{NodeRef, Tree, TreeEnsemble};

#[derive(Debug, Clone, Copy)]
struct PathElement {
    /// Feature of the split that added this element (`usize::MAX` for the root's).
    feature: usize,
    zero_fraction: f64,
    one_fraction: f64,
    weight: f64,
}

fn extend(path: &mut Vec<PathElement>, zero: f64, one: f64, feature: usize) {
    let depth = path.len();
    path.push(PathElement {
        feature,
        zero_fraction: zero,
        one_fraction: one,
        weight: if depth == 0 { 1.0 } else { 0.0 },
    });
    let d = depth as f64;
    let (one, zero) = (one * recip(depth + 1), zero * recip(depth + 1));
    for i in (0..depth).rev() {
        let w = path[i].weight;
        path[i + 1].weight += one * w * (i as f64 + 1.0);
        path[i].weight = zero * w * (d - i as f64);
    }
}

fn unwind(path: &mut Vec<PathElement>, index: usize) {
    let depth = path.len() - 1;
    let d = depth as f64;
    let one = path[index].one_fraction;
    let zero = path[index].zero_fraction;
    let mut next = path[depth].weight;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let tmp = path[i].weight;
            path[i].weight = next * (d + 1.0) / ((i as f64 + 1.0) * one);
            next = tmp - path[i].weight * zero * (d - i as f64) / (d + 1.0);
        } else {
            path[i].weight = path[i].weight * (d + 1.0) / (zero * (d - i as f64));
        }
    }
    for i in index..depth {
        path[i].feature = path[i + 1].feature;
        path[i].zero_fraction = path[i + 1].zero_fraction;
        path[i].one_fraction = path[i + 1].one_fraction;
    }
    path.pop();
}

/// `RECIP[k] = 1 / k`: the hot loops below multiply instead of dividing.
const RECIP: [f64; 256] = {
    let mut t = [0.0; 256];
    let mut k = 1;
    while k < 256 {
        t[k] = 1.0 / k as f64;
        k += 1;
    }
    t
};

#[inline]
fn recip(k: usize) -> f64 {
    RECIP.get(k).copied().unwrap_or(1.0 / k as f64)
}

/// The total weight of the path with element `index` unwound, without changing the path.
/// Divisions are hoisted out of the loop: it runs for every element of every leaf's path.
fn unwound_sum(path: &[PathElement], index: usize) -> f64 {
    let depth = path.len() - 1;
    let d = depth as f64;
    let one = path[index].one_fraction;
    let zero = path[index].zero_fraction;
    let mut next = path[depth].weight;
    let mut total = 0.0;
    if one != 0.0 {
        let up = (d + 1.0) / one;
        let down = zero / (d + 1.0);
        for i in (0..depth).rev() {
            let tmp = next * up * recip(i + 1);
            total += tmp;
            next = path[i].weight - tmp * down * (d - i as f64);
        }
    } else {
        let up = (d + 1.0) / zero;
        for i in (0..depth).rev() {
            total += path[i].weight * up * recip(depth - i);
        }
    }
    total
}

fn cover(t: &Tree, r: NodeRef) -> f64 {
    match r {
        NodeRef::Split(s) => t.split_cover[s as usize],
        NodeRef::Leaf(l) => t.leaf_cover[l as usize],
    }
}

/// Walks the subtree at `node`. `paths[0]` holds the path down to it; `paths[1..]` are the
/// deeper levels' buffers, reused from row to row so that the walk allocates nothing.
#[allow(clippy::too_many_arguments)]
fn recurse(
    t: &Tree,
    node: NodeRef,
    row: &[f64],
    phi: &mut [f64],
    paths: &mut [Vec<PathElement>],
    zero: f64,
    one: f64,
    feature: usize,
) {
    let Some((path, deeper)) = paths.split_first_mut() else {
        return;
    };
    extend(path, zero, one, feature);
    match node {
        NodeRef::Leaf(l) => {
            let v = t.leaf_value[l as usize];
            for i in 1..path.len() {
                let w = unwound_sum(path, i);
                let e = path[i];
                phi[e.feature] += w * (e.one_fraction - e.zero_fraction) * v;
            }
        }
        NodeRef::Split(s) => {
            let s = s as usize;
            let f = t.feature[s] as usize;
            let (hot, cold) = if t.goes_left(s, row) {
                (t.left[s], t.right[s])
            } else {
                (t.right[s], t.left[s])
            };
            let w = t.split_cover[s];
            let (mut in_zero, mut in_one) = (1.0, 1.0);
            if let Some(k) = path.iter().position(|e| e.feature == f) {
                in_zero = path[k].zero_fraction;
                in_one = path[k].one_fraction;
                unwind(path, k);
            }
            let hot_zero = if w > 0.0 { cover(t, hot) / w } else { 0.0 };
            let cold_zero = if w > 0.0 { cover(t, cold) / w } else { 0.0 };
            for (child, z, o) in [
                (hot, hot_zero * in_zero, in_one),
                (cold, cold_zero * in_zero, 0.0),
            ] {
                let Some(next) = deeper.first_mut() else {
                    return;
                };
                next.clear();
                next.extend_from_slice(path);
                recurse(t, child, row, phi, deeper, z, o, f);
            }
        }
    }
}

/// The cover-weighted mean output of a tree.
fn expected(t: &Tree) -> f64 {
    let total: f64 = t.leaf_cover.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    t.leaf_value
        .iter()
        .zip(&t.leaf_cover)
        .map(|(v, c)| v * c)
        .sum::<f64>()
        / total
}

/// SHAP values of one row: one per feature, and the expected raw score they start from, so
/// that `expected + sum(values) == predict_raw(row)`. Fails when a tree has no covers.
pub fn shap_values(e: &TreeEnsemble, row: &[f64]) -> Result<(Vec<f64>, f64), String> {
    let mut phi = vec![0.0; e.n_features];
    let mut base = e.base_score;
    let mut paths: Vec<Vec<PathElement>> = Vec::new();
    for (k, t) in e.trees.iter().enumerate() {
        if t.leaf_cover.is_empty() {
            return Err(format!(
                "tree {k} has no training covers: explanations need a model trained by recoup \
                 or a LightGBM file with counts"
            ));
        }
        base += expected(t);
        if !t.feature.is_empty() {
            // A path is at most one element per split plus the root's.
            if paths.len() < t.n_splits() + 2 {
                paths.resize_with(t.n_splits() + 2, Vec::new);
            }
            paths[0].clear();
            recurse(
                t,
                NodeRef::Split(0),
                row,
                &mut phi,
                &mut paths,
                1.0,
                1.0,
                usize::MAX,
            );
        }
    }
    Ok((phi, base))
}

/// The `k` features with the largest absolute SHAP values, largest first (ties: lower feature
/// index first), with their values: positive pushed the score up.
pub fn reason_codes(e: &TreeEnsemble, row: &[f64], k: usize) -> Result<Vec<(usize, f64)>, String> {
    let (phi, _) = shap_values(e, row)?;
    let mut order: Vec<usize> = (0..phi.len()).filter(|&f| phi[f] != 0.0).collect();
    order.sort_by(|&a, &b| phi[b].abs().total_cmp(&phi[a].abs()).then(a.cmp(&b)));
    Ok(order.into_iter().take(k).map(|f| (f, phi[f])).collect())
}
