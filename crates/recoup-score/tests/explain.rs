use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recoup_model::{NodeRef, Tree, TreeEnsemble};
use recoup_score::{reason_codes, shap_values};
use recoup_train::{Dataset, FeatureKind, GbdtParams, fit_gbdt};

fn trained(nf: usize) -> TreeEnsemble {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let n = 3000;
    let mut cols: Vec<Vec<f64>> = (0..nf).map(|_| Vec::with_capacity(n)).collect();
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let x: Vec<f64> = (0..nf)
            .map(|f| {
                if f == 1 && rng.random_bool(0.2) {
                    f64::NAN
                } else {
                    rng.random_range(-2.0..2.0)
                }
            })
            .collect();
        let v = |k: usize| if x[k].is_nan() { 1.0 } else { x[k] };
        let z = v(0) * v(1) - v(2) + 0.5 * v(3);
        y.push(f64::from(rng.random_bool(1.0 / (1.0 + (-z).exp()))));
        for (c, xv) in cols.iter_mut().zip(&x) {
            c.push(*xv);
        }
    }
    let data = Dataset::new(
        (0..nf).map(|f| format!("x{f}")).collect(),
        vec![FeatureKind::Numeric; nf],
        cols,
        y,
        None,
    )
    .expect("valid data");
    let params = GbdtParams {
        n_trees: 6,
        num_leaves: 8,
        learning_rate: 0.3,
        ..GbdtParams::default()
    };
    fit_gbdt(&params, &data, None).expect("trains").ensemble
}

/// E[tree | features in `set` fixed at `row`], others integrated out by covers.
fn conditional(t: &Tree, r: NodeRef, row: &[f64], set: u32) -> f64 {
    match r {
        NodeRef::Leaf(l) => t.leaf_value[l as usize],
        NodeRef::Split(s) => {
            let s = s as usize;
            let f = t.feature[s] as usize;
            if set & (1 << f) != 0 {
                let x = row[f];
                let left = if x.is_nan() {
                    t.missing_left[s]
                } else {
                    x <= t.threshold[s]
                };
                conditional(t, if left { t.left[s] } else { t.right[s] }, row, set)
            } else {
                let c = |r: NodeRef| match r {
                    NodeRef::Split(k) => t.split_cover[k as usize],
                    NodeRef::Leaf(k) => t.leaf_cover[k as usize],
                };
                (c(t.left[s]) * conditional(t, t.left[s], row, set)
                    + c(t.right[s]) * conditional(t, t.right[s], row, set))
                    / t.split_cover[s]
            }
        }
    }
}

fn value(e: &TreeEnsemble, row: &[f64], set: u32) -> f64 {
    e.trees.iter().fold(e.base_score, |s, t| {
        s + if t.feature.is_empty() {
            t.leaf_value[0]
        } else {
            conditional(t, NodeRef::Split(0), row, set)
        }
    })
}

fn factorial(n: usize) -> f64 {
    (1..=n).map(|k| k as f64).product()
}

#[test]
fn shap_values_are_exact_shapley_values_and_sum_to_the_margin() {
    let nf = 4;
    let e = trained(nf);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for _ in 0..25 {
        let row: Vec<f64> = (0..nf)
            .map(|f| {
                if f == 1 && rng.random_bool(0.3) {
                    f64::NAN
                } else {
                    rng.random_range(-2.5..2.5)
                }
            })
            .collect();
        let (phi, base) = shap_values(&e, &row).unwrap();
        let total = base + phi.iter().sum::<f64>();
        assert!(
            (total - e.predict_raw(&row)).abs() < 1e-9,
            "{total} vs {}",
            e.predict_raw(&row)
        );
        assert!((base - value(&e, &row, 0)).abs() < 1e-9);
        for (i, &shap) in phi.iter().enumerate() {
            let mut exact = 0.0;
            for set in 0u32..(1 << nf) {
                if set & (1 << i) != 0 {
                    continue;
                }
                let s = set.count_ones() as usize;
                let w = factorial(s) * factorial(nf - s - 1) / factorial(nf);
                exact += w * (value(&e, &row, set | (1 << i)) - value(&e, &row, set));
            }
            assert!(
                (shap - exact).abs() < 1e-9,
                "feature {i}: {shap} vs {exact}"
            );
        }
        let codes = reason_codes(&e, &row, 3).unwrap();
        assert!(codes.len() <= 3);
        assert!(codes.windows(2).all(|w| w[0].1.abs() >= w[1].1.abs()));
    }
    let mut bare = e.clone();
    bare.trees[0].leaf_cover.clear();
    bare.trees[0].split_cover.clear();
    assert!(
        shap_values(&bare, &[0.0; 4])
            .unwrap_err()
            .contains("covers")
    );
}
