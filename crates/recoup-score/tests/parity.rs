use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recoup_score::CompiledTrees;
use recoup_train::{Dataset, FeatureKind, GbdtParams, fit_gbdt};

/// A real trained model (missing values, 63 leaves, 80 trees) and rows it has not seen.
fn model_and_rows() -> (recoup_model::TreeEnsemble, Vec<f64>, usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (n, nf) = (6000, 5);
    let mut cols: Vec<Vec<f64>> = (0..nf).map(|_| Vec::with_capacity(n)).collect();
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let x: Vec<f64> = (0..nf)
            .map(|f| {
                if rng.random_bool(0.1 * f as f64 / 4.0) {
                    f64::NAN
                } else {
                    rng.random_range(-3.0..3.0)
                }
            })
            .collect();
        let v = |k: usize| if x[k].is_nan() { 0.0 } else { x[k] };
        let z = v(0) - 0.5 * v(1) + if x[2].is_nan() { 1.0 } else { v(2) * v(3) };
        y.push(f64::from(rng.random_bool(1.0 / (1.0 + (-z).exp()))));
        for (c, v) in cols.iter_mut().zip(&x) {
            c.push(*v);
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
        n_trees: 80,
        num_leaves: 63,
        min_data_in_leaf: 5,
        learning_rate: 0.2,
        ..GbdtParams::default()
    };
    let model = fit_gbdt(&params, &data, None).expect("training works");
    let rows: Vec<f64> = (0..10_007 * nf)
        .map(|_| {
            if rng.random_bool(0.08) {
                f64::NAN
            } else {
                rng.random_range(-3.5..3.5)
            }
        })
        .collect();
    (model.ensemble, rows, nf)
}

#[test]
fn batch_parallel_and_row_by_row_scores_are_identical() {
    let (e, rows, nf) = model_and_rows();
    let c = CompiledTrees::new(&e).unwrap();
    let n = rows.len() / nf;
    let mut two = vec![0.0; n];
    let mut one = vec![0.0; n];
    rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(|| c.predict_raw(&rows, &mut two));
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| c.predict_raw(&rows, &mut one));
    assert_eq!(one, two);
    for (i, v) in two.iter().enumerate() {
        let row = &rows[i * nf..(i + 1) * nf];
        assert_eq!(*v, e.predict_raw(row), "row {i}");
        let mut single = [0.0];
        c.predict_raw(row, &mut single);
        assert_eq!(single[0], *v, "row {i} alone");
    }
}
