//! The learners on a synthetic world with known effects: three arms, effects that change sign
//! with a covariate, randomised or confounded (logged propensities) assignment.
#![allow(clippy::unwrap_used)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recoup_train::{Dataset, FeatureKind, GbdtParams};
use recoup_uplift::{Learner, UpliftData, UpliftParams, best_arm, fit};

/// Control rate 0.3; arm 1 adds 0.3 where x0 > 0; arm 2 adds 0.3 where x0 < 0 and takes 0.1
/// elsewhere. With `confounded`, arm 1 is twice as likely where x0 > 0 (propensities logged).
fn world(n: usize, seed: u64, confounded: bool) -> (UpliftData, Vec<[f64; 2]>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut x0, mut x1, mut y, mut arm, mut prop, mut truth) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..n {
        let a: f64 = rng.random_range(-1.0..1.0);
        let b: f64 = rng.random_range(-1.0..1.0);
        let effects = [
            if a > 0.0 { 0.3 } else { 0.0 },
            if a < 0.0 { 0.3 } else { -0.1 },
        ];
        let p: [f64; 3] = if confounded && a > 0.0 {
            [0.25, 0.5, 0.25]
        } else {
            [1.0 / 3.0; 3]
        };
        let u: f64 = rng.random_range(0.0..1.0);
        let k = if u < p[0] {
            0
        } else if u < p[0] + p[1] {
            1
        } else {
            2
        };
        let rate = 0.3 + if k == 0 { 0.0 } else { effects[k - 1] };
        y.push(f64::from(u8::from(rng.random_bool(rate))));
        x0.push(a);
        x1.push(b);
        arm.push(k);
        prop.push(p[k]);
        truth.push(effects);
    }
    let features = Dataset::new(
        vec!["x0".into(), "x1".into()],
        vec![FeatureKind::Numeric; 2],
        vec![x0, x1],
        y,
        None,
    )
    .unwrap();
    let data = UpliftData {
        features,
        arm,
        arms: vec!["control".into(), "one".into(), "two".into()],
        propensity: confounded.then_some(prop),
    };
    (data, truth)
}

fn params(learner: Learner) -> UpliftParams {
    UpliftParams {
        learner,
        gbdt: GbdtParams {
            n_trees: 60,
            learning_rate: 0.1,
            num_leaves: 4,
            min_data_in_leaf: 40,
            seed: 3,
            ..GbdtParams::default()
        },
        ..UpliftParams::default()
    }
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma) * (x - ma)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb) * (y - mb)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn every_learner_recovers_effects_that_change_sign_and_picks_the_right_arm() {
    for confounded in [false, true] {
        let (train, _) = world(12_000, 1, confounded);
        let (test, truth) = world(4_000, 2, false);
        for learner in [Learner::T, Learner::X, Learner::Dr] {
            let model = fit(&params(learner), &train).unwrap();
            let effects = model.predict_effects(&test.features);
            assert_eq!(effects.len(), 2);
            for k in 0..2 {
                let true_k: Vec<f64> = truth.iter().map(|t| t[k]).collect();
                let r = correlation(&effects[k], &true_k);
                assert!(
                    r > 0.6,
                    "{learner:?} (confounded {confounded}), arm {}: correlation {r}",
                    k + 1
                );
            }
            // The true best arm is 1 where x0 > 0 and 2 where x0 < 0; away from the boundary
            // the policy should almost always agree.
            let policy = best_arm(&effects, &[0.0; 3]);
            let (mut agree, mut total) = (0, 0);
            for (r, &p) in policy.iter().enumerate() {
                let x0 = test.features.columns[0][r];
                if x0.abs() > 0.3 {
                    total += 1;
                    agree += usize::from(p == if x0 > 0.0 { 1 } else { 2 });
                }
            }
            let share = agree as f64 / total as f64;
            assert!(
                share > 0.85,
                "{learner:?} (confounded {confounded}): {share}"
            );
        }
    }
}

#[test]
fn fits_are_deterministic_and_bad_inputs_are_refused() {
    let (data, _) = world(3_000, 4, true);
    for learner in [Learner::T, Learner::X, Learner::Dr] {
        let a = fit(&params(learner), &data)
            .unwrap()
            .predict_effects(&data.features);
        let b = fit(&params(learner), &data)
            .unwrap()
            .predict_effects(&data.features);
        assert!(a == b, "{learner:?} is not deterministic");
    }
    let mut one_arm = data.clone();
    one_arm.arms.truncate(1);
    assert!(
        fit(&params(Learner::T), &one_arm)
            .unwrap_err()
            .to_string()
            .contains("1 arm")
    );
    let mut empty_arm = data.clone();
    empty_arm.arm.iter_mut().for_each(|a| *a = (*a).min(1));
    let err = fit(&params(Learner::T), &empty_arm)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`two` has no rows"), "{err}");
    let mut bad = data.clone();
    bad.propensity.as_mut().unwrap()[7] = 0.0;
    let err = fit(&params(Learner::Dr), &bad).unwrap_err().to_string();
    assert!(
        err.contains("row 7") && err.contains("propensity 0"),
        "{err}"
    );
    let mut setting = params(Learner::Dr);
    setting.min_propensity = 0.0;
    assert!(
        fit(&setting, &data)
            .unwrap_err()
            .to_string()
            .contains("min_propensity")
    );
}

#[test]
fn saved_models_predict_as_the_fitted_ones() {
    let (data, _) = world(3_000, 6, true);
    let dir = tempfile::tempdir().unwrap();
    for learner in [Learner::T, Learner::X, Learner::Dr] {
        let model = fit(&params(learner), &data).unwrap();
        let file = model
            .to_model_file(
                &data.features,
                &recoup_uplift::ModelFileInfo {
                    outcome: "y",
                    treatment_column: "arm",
                    dtypes: &["float64".into(), "float64".into()],
                    training_fingerprint: "f".into(),
                    seed: 3,
                },
            )
            .unwrap();
        let saved = recoup_uplift::save_version(dir.path(), learner.name(), &file, &[]).unwrap();
        let back = recoup_model::uplift::UpliftModelFile::load(&saved.join("uplift.json")).unwrap();
        assert_eq!(back.header.arms, data.arms);
        let effects = model.predict_effects(&data.features);
        let baseline = &model.predict_outcomes(&data.features)[0];
        let rows = data.features.row_major();
        for r in (0..data.arm.len()).step_by(97) {
            let row = &rows[r * 2..r * 2 + 2];
            assert!((back.baseline(row) - baseline[r]).abs() < 1e-12);
            for k in 1..3 {
                assert!(
                    (back.effect(k, row) - effects[k - 1][r]).abs() < 1e-12,
                    "{learner:?} arm {k} row {r}"
                );
            }
        }
        // An edited body is refused.
        let bytes = std::fs::read(saved.join("uplift.json")).unwrap();
        let mut edited = bytes.clone();
        let at = edited.len() - 10;
        edited[at] = if edited[at] == b'1' { b'2' } else { b'1' };
        assert!(
            recoup_model::uplift::UpliftModelFile::from_bytes(&edited, std::path::Path::new("u"))
                .is_err()
        );
    }
}

#[test]
fn an_arm_with_a_constant_outcome_is_a_constant_rate() {
    let (mut data, _) = world(2_000, 8, false);
    for (y, a) in data.features.target.iter_mut().zip(&data.arm) {
        if *a == 2 {
            *y = 0.0;
        }
    }
    let model = fit(&params(Learner::T), &data).unwrap();
    let mu = model.predict_outcomes(&data.features);
    let n2 = data.arm.iter().filter(|&&a| a == 2).count() as f64;
    assert!(mu[2].iter().all(|&p| (p - 0.5 / (n2 + 1.0)).abs() < 1e-12));
}
