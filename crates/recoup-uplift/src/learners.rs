//! Multi-treatment uplift learners on recoup's gradient-boosted trees.
//!
//! Every learner estimates, for each treatment arm `k >= 1`, the effect
//! `tau_k(x) = E[Y | x, arm k] - E[Y | x, control]`:
//! - **T-learner**: one outcome model per arm; `tau_k = mu_k - mu_0`.
//! - **X-learner** (Künzel et al. 2019): the T-learner's models impute each row's effect
//!   (`Y - mu_0(x)` for rows of arm k, `mu_k(x) - Y` for control rows); two squared-error models
//!   learn those, and are blended by the arm's share `g` of the pair: `g tau_k0 + (1 - g) tau_k1`.
//! - **DR-learner** (Kennedy 2023): outcome models fitted on one half of the rows give the other
//!   half doubly robust pseudo-outcomes `mu_k - mu_0 + [A=k] (Y - mu_k) / e - [A=0] (Y - mu_0) / e`
//!   (`e` the propensity of the arm the row received), and one squared-error model per arm
//!   learns them from all rows (two-fold cross-fitting).
//!
//! Propensities are the logged ones when the data has them (a logging policy that did not
//! assign uniformly), else each arm's share of the rows (a randomised trial).

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use recoup_train::{Dataset, FittedGbdt, GbdtParams, Objective, fit_gbdt};
use serde::{Deserialize, Serialize};

use crate::data::UpliftData;
use crate::error::UpliftError;

/// Which meta-learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Learner {
    T,
    X,
    Dr,
}

impl Learner {
    pub fn name(&self) -> &'static str {
        match self {
            Learner::T => "t",
            Learner::X => "x",
            Learner::Dr => "dr",
        }
    }
}

impl std::str::FromStr for Learner {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "t" | "T" => Ok(Learner::T),
            "x" | "X" => Ok(Learner::X),
            "dr" | "DR" => Ok(Learner::Dr),
            other => Err(format!("unknown learner `{other}`: expected t, x or dr")),
        }
    }
}

/// Settings of an uplift fit, checked by [`UpliftParams::check`] before any work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpliftParams {
    pub learner: Learner,
    /// The outcome models' trees (the objective is set by the learner: binary for 0/1
    /// outcomes, squared error for real-valued outcomes and for second stages).
    pub gbdt: GbdtParams,
    /// Propensities are clipped to at least this, so that no row's weight explodes.
    pub min_propensity: f64,
    pub seed: u64,
}

impl Default for UpliftParams {
    fn default() -> Self {
        Self {
            learner: Learner::T,
            gbdt: GbdtParams {
                n_trees: 100,
                learning_rate: 0.05,
                num_leaves: 15,
                min_data_in_leaf: 50,
                ..GbdtParams::default()
            },
            min_propensity: 0.01,
            seed: 0,
        }
    }
}

impl UpliftParams {
    pub fn check(&self, data: &UpliftData) -> Result<(), UpliftError> {
        self.gbdt.check(&data.features.names)?;
        if !(self.min_propensity > 0.0 && self.min_propensity < 1.0) {
            return Err(recoup_core::InvalidSetting::new(
                "min_propensity",
                self.min_propensity,
                "a number in (0, 1)",
            )
            .into());
        }
        data.check_arms()
    }
}

/// An outcome or effect model: trees with the way to read their raw score.
#[derive(Debug, Clone)]
struct Model {
    fit: FittedGbdt,
    binary: bool,
}

impl Model {
    fn predict(&self, data: &Dataset) -> Vec<f64> {
        if self.binary {
            self.fit.predict_proba(data)
        } else {
            self.fit.predict_raw(data)
        }
    }
}

/// A fitted uplift model: effects of every treatment arm against the control.
#[derive(Debug, Clone)]
pub struct FittedUplift {
    pub learner: Learner,
    /// The arms, control first.
    pub arms: Vec<String>,
    /// Outcome models per arm (every learner has them: the X- and DR-learners' first stage).
    outcome: Vec<Model>,
    /// Second-stage effect models per treatment arm `k >= 1` (X: the pair (tau_k0, tau_k1)
    /// and the blend weight g; DR: one model).
    effect: Vec<Effect>,
}

#[derive(Debug, Clone)]
enum Effect {
    Difference,
    X {
        on_control: Model,
        on_treated: Model,
        g: f64,
    },
    Dr(Model),
}

fn params_for(base: &GbdtParams, objective: Objective, seed: u64) -> GbdtParams {
    GbdtParams {
        objective,
        seed,
        ..base.clone()
    }
}

fn fit_model(
    params: &GbdtParams,
    data: &Dataset,
    rows: &[usize],
    target: Option<Vec<f64>>,
    binary: bool,
    seed: u64,
) -> Result<Model, UpliftError> {
    let mut part = data.take(rows);
    if let Some(t) = target {
        part = part.with_target(t)?;
    }
    let objective = if binary {
        Objective::Binary
    } else {
        Objective::SquaredError
    };
    let total: f64 = part.target.iter().sum();
    if binary && (total == 0.0 || total == part.n_rows() as f64) {
        // An arm whose rows all have the same 0/1 outcome (a small arm, a rare outcome): the
        // trees cannot learn, so the model is that rate, smoothed away from 0 and 1.
        let p = (total + 0.5) / (part.n_rows() as f64 + 1.0);
        tracing::warn!(
            "every one of {} rows has outcome {}: modelled as the constant rate {p:.4}",
            part.n_rows(),
            if total == 0.0 { 0 } else { 1 }
        );
        let nf = part.n_features();
        let fit = FittedGbdt {
            ensemble: recoup_model::TreeEnsemble {
                n_features: nf,
                base_score: (p / (1.0 - p)).ln(),
                trees: Vec::new(),
            },
            category_rank: vec![None; nf],
            valid_logloss: Vec::new(),
            best_n_trees: 0,
            importance_gain: vec![0.0; nf],
            importance_splits: vec![0; nf],
        };
        return Ok(Model { fit, binary });
    }
    let fit = fit_gbdt(&params_for(params, objective, seed), &part, None)?;
    Ok(Model { fit, binary })
}

/// Fits `params.learner` on `data`.
pub fn fit(params: &UpliftParams, data: &UpliftData) -> Result<FittedUplift, UpliftError> {
    params.check(data)?;
    let x = &data.features;
    let binary = data.binary_outcome();
    let n_arms = data.arms.len();
    let rows_of =
        |a: usize| -> Vec<usize> { (0..x.n_rows()).filter(|&r| data.arm[r] == a).collect() };
    let by_arm: Vec<Vec<usize>> = (0..n_arms).map(rows_of).collect();
    let seed = |i: u64| params.seed.wrapping_mul(1_000_003).wrapping_add(i);
    let outcome: Vec<Model> = by_arm
        .iter()
        .enumerate()
        .map(|(a, rows)| fit_model(&params.gbdt, x, rows, None, binary, seed(a as u64)))
        .collect::<Result<_, _>>()?;
    let mut effect = Vec::with_capacity(n_arms - 1);
    match params.learner {
        Learner::T => effect.resize(n_arms - 1, Effect::Difference),
        Learner::X => {
            for k in 1..n_arms {
                let (treated, control) = (&by_arm[k], &by_arm[0]);
                let mu0_t = outcome[0].predict(&x.take(treated));
                let mu_k_c = outcome[k].predict(&x.take(control));
                let d_t: Vec<f64> = treated
                    .iter()
                    .zip(&mu0_t)
                    .map(|(&r, m)| x.target[r] - m)
                    .collect();
                let d_c: Vec<f64> = control
                    .iter()
                    .zip(&mu_k_c)
                    .map(|(&r, m)| m - x.target[r])
                    .collect();
                let on_treated = fit_model(
                    &params.gbdt,
                    x,
                    treated,
                    Some(d_t),
                    false,
                    seed(100 + k as u64),
                )?;
                let on_control = fit_model(
                    &params.gbdt,
                    x,
                    control,
                    Some(d_c),
                    false,
                    seed(200 + k as u64),
                )?;
                let g = treated.len() as f64 / (treated.len() + control.len()) as f64;
                effect.push(Effect::X {
                    on_control,
                    on_treated,
                    g,
                });
            }
        }
        Learner::Dr => {
            let e = data.propensities(params.min_propensity);
            // Two folds, stratified by arm so that every fold has every arm.
            let mut rng = ChaCha8Rng::seed_from_u64(seed(300));
            let mut fold = vec![0usize; x.n_rows()];
            for rows in &by_arm {
                let mut shuffled = rows.clone();
                shuffled.shuffle(&mut rng);
                for (i, &r) in shuffled.iter().enumerate() {
                    fold[r] = i % 2;
                }
            }
            // Outcome models of each fold predict the other fold's rows.
            let mut mu = vec![vec![0.0; x.n_rows()]; n_arms];
            for f in 0..2 {
                let this: Vec<usize> = (0..x.n_rows()).filter(|&r| fold[r] == f).collect();
                let this_x = x.take(&this);
                for (a, rows) in by_arm.iter().enumerate() {
                    let train: Vec<usize> =
                        rows.iter().copied().filter(|&r| fold[r] != f).collect();
                    let m = fit_model(
                        &params.gbdt,
                        x,
                        &train,
                        None,
                        binary,
                        seed(400 + (a * 2 + f) as u64),
                    )?;
                    for (&r, p) in this.iter().zip(m.predict(&this_x)) {
                        mu[a][r] = p;
                    }
                }
            }
            for k in 1..n_arms {
                let pseudo: Vec<f64> = (0..x.n_rows())
                    .map(|r| {
                        let y = x.target[r];
                        let mut v = mu[k][r] - mu[0][r];
                        if data.arm[r] == k {
                            v += (y - mu[k][r]) / e[r];
                        } else if data.arm[r] == 0 {
                            v -= (y - mu[0][r]) / e[r];
                        }
                        v
                    })
                    .collect();
                let all: Vec<usize> = (0..x.n_rows()).collect();
                effect.push(Effect::Dr(fit_model(
                    &params.gbdt,
                    x,
                    &all,
                    Some(pseudo),
                    false,
                    seed(500 + k as u64),
                )?));
            }
        }
    }
    Ok(FittedUplift {
        learner: params.learner,
        arms: data.arms.clone(),
        outcome,
        effect,
    })
}

/// What a saved uplift model records about its training.
#[derive(Debug, Clone)]
pub struct ModelFileInfo<'a> {
    pub outcome: &'a str,
    pub treatment_column: &'a str,
    /// Each feature's dtype, as `recoup train` names them.
    pub dtypes: &'a [String],
    pub training_fingerprint: String,
    pub seed: u64,
}

impl FittedUplift {
    /// The model as an uplift model file for the scorer. Categorical features are refused:
    /// each tree model orders a categorical column's levels by its own rows, so the models
    /// would read the same column differently.
    pub fn to_model_file(
        &self,
        x: &Dataset,
        info: &ModelFileInfo<'_>,
    ) -> Result<recoup_model::uplift::UpliftModelFile, UpliftError> {
        use recoup_model::uplift::{
            Link, Term, UPLIFT_FORMAT, UPLIFT_FORMAT_VERSION, UpliftBody, UpliftHeader,
            UpliftModelFile,
        };
        if let Some(name) = x
            .names
            .iter()
            .zip(&x.kinds)
            .find(|(_, k)| !matches!(k, recoup_train::FeatureKind::Numeric))
            .map(|(n, _)| n)
        {
            return Err(UpliftError::Invalid(format!(
                "feature `{name}` is categorical: saved uplift models take numeric features only \
                 (encode it as numbers, or --drop it)"
            )));
        }
        if info.dtypes.len() != x.n_features() {
            return Err(UpliftError::Invalid(format!(
                "{} dtypes for {} features",
                info.dtypes.len(),
                x.n_features()
            )));
        }
        let term = |m: &Model, weight: f64| Term {
            weight,
            link: if m.binary {
                Link::Sigmoid
            } else {
                Link::Identity
            },
            trees: m.fit.ensemble.clone(),
        };
        let baseline = vec![term(&self.outcome[0], 1.0)];
        let effects = self
            .effect
            .iter()
            .enumerate()
            .map(|(i, e)| match e {
                Effect::Difference => vec![
                    term(&self.outcome[i + 1], 1.0),
                    term(&self.outcome[0], -1.0),
                ],
                Effect::X {
                    on_control,
                    on_treated,
                    g,
                } => {
                    vec![term(on_control, *g), term(on_treated, 1.0 - g)]
                }
                Effect::Dr(m) => vec![term(m, 1.0)],
            })
            .collect();
        let schema = recoup_model::ModelSchema::new(
            x.names
                .iter()
                .zip(info.dtypes)
                .map(|(name, dtype)| recoup_model::FeatureColumn {
                    name: name.clone(),
                    dtype: dtype.clone(),
                    categories: None,
                })
                .collect(),
        );
        Ok(UpliftModelFile {
            header: UpliftHeader {
                format: UPLIFT_FORMAT.into(),
                format_version: UPLIFT_FORMAT_VERSION,
                learner: self.learner.name().into(),
                recoup_version: env!("CARGO_PKG_VERSION").into(),
                outcome: info.outcome.into(),
                binary_outcome: self.outcome[0].binary,
                treatment_column: info.treatment_column.into(),
                arms: self.arms.clone(),
                schema,
                training_fingerprint: info.training_fingerprint.clone(),
                seed: info.seed,
                body_blake3: String::new(),
            },
            body: UpliftBody { baseline, effects },
        })
    }

    /// Predicted outcome under every arm, `[arm][row]` (the outcome models).
    pub fn predict_outcomes(&self, x: &Dataset) -> Vec<Vec<f64>> {
        self.outcome.iter().map(|m| m.predict(x)).collect()
    }

    /// Predicted effect of every treatment arm against the control, `[arm - 1][row]`.
    pub fn predict_effects(&self, x: &Dataset) -> Vec<Vec<f64>> {
        let mu0 = self.outcome[0].predict(x);
        self.effect
            .iter()
            .enumerate()
            .map(|(i, e)| match e {
                Effect::Difference => self.outcome[i + 1]
                    .predict(x)
                    .iter()
                    .zip(&mu0)
                    .map(|(a, b)| a - b)
                    .collect(),
                Effect::X {
                    on_control,
                    on_treated,
                    g,
                } => on_control
                    .predict(x)
                    .iter()
                    .zip(on_treated.predict(x))
                    .map(|(c, t)| g * c + (1.0 - g) * t)
                    .collect(),
                Effect::Dr(m) => m.predict(x),
            })
            .collect()
    }
}
