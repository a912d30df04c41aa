//! Importing LightGBM's text model format (`Booster.save_model`, `model_to_string`) into a
//! [`TreeEnsemble`], so LightGBM models run on recoup's evaluator with the same outputs.
//!
//! LightGBM sends a row left when `x <= threshold`. Missing values follow the split's missing
//! type (bits 2-3 of `decision_type`): `NaN` sends NaN the default way (bit 1); `None` treats NaN
//! as 0.0, which recoup stores as the direction 0.0 takes; `Zero` sends zeros and NaN the default
//! way, which recoup can represent only when that is also where 0.0 goes. Categorical splits
//! (bit 0) and linear trees are refused, not approximated.

use crate::tree::{NodeRef, Tree, TreeEnsemble};

/// A LightGBM binary model: the ensemble (raw score = sum of trees, p = sigmoid(raw)) and the
/// feature names in LightGBM's column order.
#[derive(Debug, Clone, PartialEq)]
pub struct LightGbmModel {
    pub ensemble: TreeEnsemble,
    pub feature_names: Vec<String>,
}

fn values<T: std::str::FromStr>(
    block: &[(&str, &str)],
    key: &str,
    tree: usize,
) -> Result<Vec<T>, String> {
    let raw = block
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| *v)
        .ok_or_else(|| format!("tree {tree}: no `{key}`"))?;
    raw.split_whitespace()
        .map(|v| {
            v.parse::<T>()
                .map_err(|_| format!("tree {tree}: `{key}` has an unreadable value `{v}`"))
        })
        .collect()
}

fn child(c: i64, tree: usize) -> Result<NodeRef, String> {
    if c >= 0 {
        u32::try_from(c)
            .map(NodeRef::Split)
            .map_err(|_| format!("tree {tree}: child {c}"))
    } else {
        u32::try_from(-c - 1)
            .map(NodeRef::Leaf)
            .map_err(|_| format!("tree {tree}: child {c}"))
    }
}

/// Parses a LightGBM text model of a binary classifier.
pub fn from_text(text: &str) -> Result<LightGbmModel, String> {
    let mut header: Vec<(&str, &str)> = Vec::new();
    let mut trees_text: Vec<Vec<(&str, &str)>> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line == "end of trees" {
            break;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if k == "Tree" {
            trees_text.push(Vec::new());
        } else if let Some(t) = trees_text.last_mut() {
            t.push((k, v));
        } else {
            header.push((k, v));
        }
    }
    let get = |k: &str| header.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
    if get("version").is_none() && !text.starts_with("tree") {
        return Err("not a LightGBM text model (no `tree` header)".into());
    }
    let objective = get("objective").unwrap_or_default();
    let mut parts = objective.split_whitespace();
    if parts.next() != Some("binary") {
        return Err(format!(
            "objective `{objective}`: only binary classifiers can be imported"
        ));
    }
    let sigmoid: f64 = parts
        .find_map(|p| p.strip_prefix("sigmoid:"))
        .map_or(Ok(1.0), str::parse)
        .map_err(|_| format!("objective `{objective}`: unreadable sigmoid"))?;
    if get("num_class").is_some_and(|c| c.trim() != "1") {
        return Err("multiclass models cannot be imported".into());
    }
    let n_features = get("max_feature_idx")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .ok_or("no max_feature_idx")?
        + 1;
    let feature_names: Vec<String> = get("feature_names")
        .map(|v| v.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_else(|| (0..n_features).map(|i| format!("Column_{i}")).collect());

    let mut trees = Vec::with_capacity(trees_text.len());
    for (t, block) in trees_text.iter().enumerate() {
        let num_leaves: usize = values::<usize>(block, "num_leaves", t)?
            .first()
            .copied()
            .ok_or_else(|| format!("tree {t}: empty num_leaves"))?;
        if block
            .iter()
            .any(|(k, v)| *k == "is_linear" && v.trim() == "1")
        {
            return Err(format!("tree {t}: linear trees cannot be imported"));
        }
        let leaf_value: Vec<f64> = values::<f64>(block, "leaf_value", t)?
            .into_iter()
            .map(|v| v * sigmoid)
            .collect();
        if leaf_value.len() != num_leaves {
            return Err(format!(
                "tree {t}: {num_leaves} leaves but {} leaf values",
                leaf_value.len()
            ));
        }
        if num_leaves == 1 {
            trees.push(Tree::leaf(leaf_value[0]));
            continue;
        }
        let feature: Vec<u32> = values(block, "split_feature", t)?;
        let threshold: Vec<f64> = values(block, "threshold", t)?;
        let decision: Vec<u32> = values(block, "decision_type", t)?;
        let left: Vec<i64> = values(block, "left_child", t)?;
        let right: Vec<i64> = values(block, "right_child", t)?;
        let n = num_leaves - 1;
        if [
            feature.len(),
            threshold.len(),
            decision.len(),
            left.len(),
            right.len(),
        ]
        .iter()
        .any(|&l| l != n)
        {
            return Err(format!("tree {t}: split arrays do not have {n} entries"));
        }
        let mut missing_left = Vec::with_capacity(n);
        for i in 0..n {
            let d = decision[i];
            if d & 1 == 1 {
                return Err(format!(
                    "tree {t}, split {i}: categorical splits cannot be imported exactly; retrain with the column encoded as numbers"
                ));
            }
            let default_left = d & 2 != 0;
            let zero_goes_left = 0.0 <= threshold[i];
            missing_left.push(match (d >> 2) & 3 {
                0 => zero_goes_left,
                2 => default_left,
                1 if default_left == zero_goes_left => default_left,
                1 => {
                    return Err(format!(
                        "tree {t}, split {i}: zero-as-missing sends 0 against its threshold; cannot be imported exactly"
                    ));
                }
                other => return Err(format!("tree {t}, split {i}: missing type {other}")),
            });
        }
        // Data counts, when the file has them, for explanations.
        let (split_cover, leaf_cover) = match (
            values::<f64>(block, "internal_count", t),
            values::<f64>(block, "leaf_count", t),
        ) {
            (Ok(s), Ok(l)) if s.len() == n && l.len() == num_leaves => (s, l),
            _ => (Vec::new(), Vec::new()),
        };
        let tree = Tree {
            feature,
            threshold,
            missing_left,
            left: left
                .iter()
                .map(|&c| child(c, t))
                .collect::<Result<_, _>>()?,
            right: right
                .iter()
                .map(|&c| child(c, t))
                .collect::<Result<_, _>>()?,
            leaf_value,
            split_cover,
            leaf_cover,
        };
        tree.check(n_features)
            .map_err(|e| format!("tree {t}: {e}"))?;
        trees.push(tree);
    }
    Ok(LightGbmModel {
        ensemble: TreeEnsemble {
            n_features,
            base_score: 0.0,
            trees,
        },
        feature_names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tree 0 of a real LightGBM 4.7 model (3 features, Column_1 with NaN), and a stump.
    const MODEL: &str = "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=2\nobjective=binary sigmoid:1\nfeature_names=Column_0 Column_1 Column_2\n\nTree=0\nnum_leaves=4\nnum_cat=0\nsplit_feature=0 1 1\nthreshold=0.026908742892424179 0.52794771324365064 -0.48687557445159552\ndecision_type=2 10 8\nleft_child=1 -1 -2\nright_child=2 -3 -4\nleaf_value=-0.21991381266938276 -0.088299981683637313 0.064293904801539306 0.15098526899031584\nis_linear=0\nshrinkage=1\n\nTree=1\nnum_leaves=1\nleaf_value=0.25\n\nend of trees\n";

    #[test]
    fn imports_splits_missing_directions_and_single_leaves() {
        let m = from_text(MODEL).unwrap();
        assert_eq!(m.feature_names, ["Column_0", "Column_1", "Column_2"]);
        let e = &m.ensemble;
        assert_eq!(e.trees.len(), 2);
        // decision_type 2: missing type None -> NaN acts as 0.0 (0.0 <= 0.0269: left).
        assert!(e.trees[0].missing_left[0]);
        // 10: NaN, default left; 8: NaN, default right.
        assert_eq!(e.trees[0].missing_left[1..], [true, false]);
        // x0 <= 0.0269 -> split 1 on x1 <= 0.5279 -> leaf 0.
        assert_eq!(e.predict_raw(&[0.0, 0.5, 9.0]), -0.21991381266938276 + 0.25);
        // x0 > 0.0269 -> split 2 on x1: NaN goes right -> leaf 3.
        assert_eq!(
            e.predict_raw(&[1.0, f64::NAN, 0.0]),
            0.15098526899031584 + 0.25
        );
        // NaN in x0 (missing type None) behaves as 0.0.
        assert_eq!(
            e.predict_raw(&[f64::NAN, 0.6, 0.0]),
            e.predict_raw(&[0.0, 0.6, 0.0])
        );
    }

    #[test]
    fn refuses_what_it_cannot_import_exactly() {
        let categorical = MODEL.replace("decision_type=2 10 8", "decision_type=3 10 8");
        assert!(from_text(&categorical).unwrap_err().contains("categorical"));
        let regression = MODEL.replace("objective=binary sigmoid:1", "objective=regression");
        assert!(from_text(&regression).unwrap_err().contains("binary"));
        // Zero-as-missing sending 0 left while 0.0 > threshold (-0.4869) would go right.
        let zero = MODEL.replace("decision_type=2 10 8", "decision_type=2 10 6");
        assert!(from_text(&zero).unwrap_err().contains("zero-as-missing"));
        assert!(from_text("hello").is_err());
    }
}
