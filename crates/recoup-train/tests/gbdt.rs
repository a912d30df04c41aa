use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recoup_train::metrics::roc_auc;
use recoup_train::{Dataset, FeatureKind, GbdtParams, TrainError, fit_gbdt};

/// y ~ Bernoulli(sigmoid(2 x0 - x1 + 3 [x2 missing] + level effect)), x0 non-monotone noise.
fn synthetic(n: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut cols: Vec<Vec<f64>> = (0..4).map(|_| Vec::with_capacity(n)).collect();
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let x0: f64 = rng.random_range(-2.0..2.0);
        let x1: f64 = rng.random_range(-2.0..2.0);
        let missing = rng.random_bool(0.2);
        let x2 = if missing {
            f64::NAN
        } else {
            rng.random_range(0.0..1.0)
        };
        let level = rng.random_range(0..4usize);
        let effect = [0.0, 1.5, -1.5, 0.5][level];
        let z = 2.0 * x0 - x1 + if missing { 3.0 } else { 0.0 } + effect + 0.5 * (5.0 * x0).sin();
        let p = 1.0 / (1.0 + (-z).exp());
        y.push(f64::from(rng.random_bool(p)));
        cols[0].push(x0);
        cols[1].push(x1);
        cols[2].push(x2);
        cols[3].push(level as f64);
    }
    Dataset::new(
        vec!["x0".into(), "x1".into(), "x2".into(), "level".into()],
        vec![
            FeatureKind::Numeric,
            FeatureKind::Numeric,
            FeatureKind::Numeric,
            FeatureKind::Categorical {
                levels: vec!["a".into(), "b".into(), "c".into(), "d".into()],
            },
        ],
        cols,
        y,
        None,
    )
    .expect("a valid synthetic dataset")
}

fn params() -> GbdtParams {
    GbdtParams {
        n_trees: 60,
        learning_rate: 0.1,
        num_leaves: 15,
        seed: 7,
        ..GbdtParams::default()
    }
}

#[test]
fn learns_the_signal_and_is_deterministic() {
    let train = synthetic(20_000, 1);
    let test = synthetic(5_000, 2);
    let a = fit_gbdt(&params(), &train, None).unwrap();
    a.ensemble.check().unwrap();
    let auc = roc_auc(&test.target, &a.predict_proba(&test), None);
    // The Bayes-optimal AUC of this generator is about 0.89.
    assert!(auc > 0.86, "AUC {auc}");
    let b = fit_gbdt(&params(), &train, None).unwrap();
    assert_eq!(a.ensemble, b.ensemble);
    // One thread or two: the same trees.
    let one = fit_gbdt(
        &GbdtParams {
            threads: 1,
            ..params()
        },
        &train,
        None,
    )
    .unwrap();
    assert_eq!(a.ensemble, one.ensemble);
    // Subsampling draws from the seed.
    let sub = GbdtParams {
        feature_fraction: 0.5,
        bagging_fraction: 0.7,
        bagging_freq: 1,
        ..params()
    };
    let s1 = fit_gbdt(&sub, &train, None).unwrap();
    let s2 = fit_gbdt(&sub, &train, None).unwrap();
    let s3 = fit_gbdt(&GbdtParams { seed: 8, ..sub }, &train, None).unwrap();
    assert_eq!(s1.ensemble, s2.ensemble);
    assert_ne!(s1.ensemble, s3.ensemble);
    assert!(roc_auc(&test.target, &s1.predict_proba(&test), None) > 0.85);
}

#[test]
fn missing_values_take_the_learned_direction() {
    // y = 1 exactly when x is missing; values themselves carry no signal.
    let n = 1000;
    let x: Vec<f64> = (0..n)
        .map(|i| {
            if i % 4 == 0 {
                f64::NAN
            } else {
                (i % 97) as f64
            }
        })
        .collect();
    let y: Vec<f64> = x.iter().map(|v| f64::from(v.is_nan())).collect();
    let data = Dataset::new(
        vec!["x".into()],
        vec![FeatureKind::Numeric],
        vec![x],
        y,
        None,
    )
    .unwrap();
    let m = fit_gbdt(&params(), &data, None).unwrap();
    let p = m.predict_proba(&data);
    assert_eq!(roc_auc(&data.target, &p, None), 1.0);
    let t = &m.ensemble.trees[0];
    assert_eq!(t.n_splits(), 1, "one split separates missing from present");
    // Every value on one side; the bound is finite so that the model survives JSON.
    assert_eq!(t.threshold[0], f64::MAX);
    let json = serde_json::to_string(&m.ensemble).unwrap();
    let back: recoup_model::TreeEnsemble = serde_json::from_str(&json).unwrap();
    assert_eq!(back, m.ensemble);
}

#[test]
fn monotone_constraints_hold_everywhere() {
    let train = synthetic(10_000, 3);
    let mut p = params();
    p.monotone.insert("x0".into(), 1);
    p.monotone.insert("x1".into(), -1);
    let m = fit_gbdt(&p, &train, None).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for _ in 0..200 {
        let x1: f64 = rng.random_range(-2.5..2.5);
        let x2 = if rng.random_bool(0.3) {
            f64::NAN
        } else {
            rng.random_range(0.0..1.0)
        };
        let level = f64::from(rng.random_range(0..4u8));
        let mut prev = f64::NEG_INFINITY;
        for k in 0..=100 {
            let x0 = -2.5 + 5.0 * f64::from(k) / 100.0;
            let v = m.ensemble.predict_raw(&[x0, x1, x2, level]);
            assert!(v >= prev - 1e-12, "not increasing in x0 at {x0}");
            prev = v;
        }
        let x0: f64 = rng.random_range(-2.5..2.5);
        let mut prev = f64::INFINITY;
        for k in 0..=100 {
            let x1 = -2.5 + 5.0 * f64::from(k) / 100.0;
            let v = m.ensemble.predict_raw(&[x0, x1, x2, level]);
            assert!(v <= prev + 1e-12, "not decreasing in x1 at {x1}");
            prev = v;
        }
    }
    // Without the constraint the sine wiggle makes x0 non-monotone somewhere.
    let free = fit_gbdt(&params(), &train, None).unwrap();
    let wiggles = (0..=400)
        .map(|k| -2.0 + 4.0 * f64::from(k) / 400.0)
        .collect::<Vec<_>>();
    let ys: Vec<f64> = wiggles
        .iter()
        .map(|&x0| free.ensemble.predict_raw(&[x0, 0.0, 0.5, 0.0]))
        .collect();
    assert!(ys.windows(2).any(|w| w[1] < w[0] - 1e-9));
}

#[test]
fn early_stopping_keeps_the_best_iteration() {
    let train = synthetic(3_000, 4);
    let valid = synthetic(3_000, 5);
    let p = GbdtParams {
        n_trees: 400,
        learning_rate: 0.3,
        num_leaves: 63,
        min_data_in_leaf: 2,
        early_stopping_rounds: 10,
        ..params()
    };
    let m = fit_gbdt(&p, &train, Some(&valid)).unwrap();
    let losses = &m.valid_logloss;
    assert!(losses.len() < 400, "overfitting must stop early");
    let best = losses
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    assert_eq!(m.ensemble.trees.len(), best + 1);
    assert_eq!(losses.len(), best + 1 + 10);
}

#[test]
fn bad_settings_and_targets_are_refused() {
    let data = synthetic(500, 6);
    let err = fit_gbdt(
        &GbdtParams {
            learning_rate: 0.0,
            ..params()
        },
        &data,
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("learning_rate"), "{err}");
    let mut p = params();
    p.monotone.insert("nope".into(), 1);
    let err = fit_gbdt(&p, &data, None).unwrap_err();
    assert!(err.to_string().contains("monotone.nope"), "{err}");
    let mut constant = data.clone();
    constant.target = vec![1.0; constant.n_rows()];
    assert!(matches!(
        fit_gbdt(&params(), &constant, None),
        Err(TrainError::ConstantTarget { .. })
    ));
    let err = Dataset::new(
        vec!["x".into()],
        vec![FeatureKind::Numeric],
        vec![vec![1.0, f64::INFINITY]],
        vec![0.0, 1.0],
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("inf"), "{err}");
    let err = Dataset::new(
        vec!["x".into()],
        vec![FeatureKind::Numeric],
        vec![vec![1.0, 2.0]],
        vec![0.0, 2.0],
        None,
    )
    .unwrap_err();
    assert!(matches!(err, TrainError::NotBinary { row: 1, .. }), "{err}");
}

#[test]
fn squared_error_fits_a_real_valued_target_and_leaves_binary_models_unchanged() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let n = 4000;
    let x: Vec<f64> = (0..n).map(|_| rng.random_range(-2.0..2.0)).collect();
    let z: Vec<f64> = (0..n)
        .map(|i| {
            if i % 10 == 0 {
                f64::NAN
            } else {
                rng.random_range(0.0..1.0)
            }
        })
        .collect();
    // A step in x, a slope in z, and +3 where z is missing.
    let y: Vec<f64> = x
        .iter()
        .zip(&z)
        .map(|(&a, &b)| {
            let step = if a > 0.5 { 2.0 } else { -1.0 };
            step + if b.is_nan() { 3.0 } else { b }
        })
        .collect();
    let data = Dataset::new_continuous(
        vec!["x".into(), "z".into()],
        vec![FeatureKind::Numeric; 2],
        vec![x.clone(), z.clone()],
        y.clone(),
        None,
    )
    .unwrap();
    let p = GbdtParams {
        objective: recoup_train::Objective::SquaredError,
        n_trees: 200,
        learning_rate: 0.1,
        ..params()
    };
    let fit = fit_gbdt(&p, &data, None).unwrap();
    let pred = fit.predict_raw(&data);
    let mse = recoup_train::metrics::mean_squared_error(&y, &pred, None);
    let mean = y.iter().sum::<f64>() / n as f64;
    let var = recoup_train::metrics::mean_squared_error(&y, &vec![mean; n], None);
    assert!(mse < 0.01 * var, "mse {mse} vs variance {var}");
    assert!(
        fit.ensemble.base_score == mean,
        "the base score is the mean"
    );
    // A binary dataset refuses real-valued targets; a continuous one takes them.
    assert!(matches!(
        Dataset::new(
            vec!["x".into()],
            vec![FeatureKind::Numeric],
            vec![x.clone()],
            y.clone(),
            None
        ),
        Err(TrainError::NotBinary { .. })
    ));
    let binary = serde_json::to_value(GbdtParams::default()).unwrap();
    assert!(
        binary.get("objective").is_none(),
        "binary params serialise as before"
    );
}
