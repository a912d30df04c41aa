//! The run report: one self-contained HTML page (inline SVG charts drawn with plotters) and a
//! Markdown model card.

use plotters::prelude::*;

use crate::run::{Metrics, RunConfig, RunMetrics};

const GBDT_COLOR: RGBColor = RGBColor(31, 119, 180);
const CARD_COLOR: RGBColor = RGBColor(255, 127, 14);

/// A named line of a chart: (name, colour, points).
pub type Series<'a> = (&'a str, RGBColor, Vec<(f64, f64)>);

/// What a line chart shows.
#[derive(Debug)]
pub struct LineChart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub x_range: std::ops::Range<f64>,
    pub y_range: std::ops::Range<f64>,
    pub series: &'a [Series<'a>],
    /// A thin grey reference line (the random model, the diagonal).
    pub reference: &'a [(f64, f64)],
    /// Whether each point gets a marker.
    pub markers: bool,
}

/// A line chart as an SVG string (460 x 360), drawn with plotters; a chart that
/// cannot be drawn is logged and left empty.
pub fn line_chart(c: &LineChart<'_>) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (460, 360)).into_drawing_area();
        let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(c.title, ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(50)
                .build_cartesian_2d(c.x_range.clone(), c.y_range.clone())?;
            chart
                .configure_mesh()
                .x_desc(c.x_label)
                .y_desc(c.y_label)
                .light_line_style(WHITE)
                .draw()?;
            chart.draw_series(LineSeries::new(
                c.reference.iter().copied(),
                ShapeStyle::from(&BLACK.mix(0.4)).stroke_width(1),
            ))?;
            for (name, color, points) in c.series {
                let col = *color;
                chart
                    .draw_series(LineSeries::new(points.iter().copied(), col.stroke_width(2)))?
                    .label(*name)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], col.stroke_width(2))
                    });
                if c.markers {
                    chart.draw_series(points.iter().map(|&p| Circle::new(p, 2, col.filled())))?;
                }
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK.mix(0.3))
                .draw()?;
            root.present()?;
            Ok(())
        };
        if let Err(e) = draw() {
            tracing::warn!("chart `{}` could not be drawn: {e}", c.title);
        }
    }
    svg
}

/// A line chart on [0, 1] x [0, 1] with a dashed reference line, as an SVG string.
fn unit_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series<'_>],
    reference: &[(f64, f64)],
) -> String {
    line_chart(&LineChart {
        title,
        x_label,
        y_label,
        x_range: 0.0..1.0,
        y_range: 0.0..1.0,
        series,
        reference,
        markers: true,
    })
}

/// Horizontal bars of the largest feature importances (share of total gain).
fn importance_chart(m: &Metrics, top: usize) -> String {
    let total: f64 = m
        .importance
        .iter()
        .map(|i| i.gain)
        .sum::<f64>()
        .max(f64::MIN_POSITIVE);
    let rows: Vec<(String, f64)> = m
        .importance
        .iter()
        .take(top)
        .map(|i| (i.feature.clone(), i.gain / total))
        .collect();
    let n = rows.len().max(1);
    let max = rows.iter().map(|r| r.1).fold(0.0, f64::max).max(1e-9);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (700, 40 + 22 * n as u32)).into_drawing_area();
        let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(
                    "Feature importance (share of split gain)",
                    ("sans-serif", 18),
                )
                .margin(8)
                .x_label_area_size(24)
                .y_label_area_size(260)
                .build_cartesian_2d(0f64..max * 1.05, -0.5f64..n as f64 - 0.5)?;
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(n)
                .y_label_formatter(&|y| {
                    // Bar k (largest first) sits at y = n - 1 - k.
                    let k = n as f64 - 1.0 - y.round();
                    if (y - y.round()).abs() < 1e-6 && k >= 0.0 && (k as usize) < rows.len() {
                        rows[k as usize].0.clone()
                    } else {
                        String::new()
                    }
                })
                .draw()?;
            chart.draw_series(rows.iter().enumerate().map(|(k, (_, v))| {
                let y = (n - k - 1) as f64;
                Rectangle::new([(0.0, y - 0.35), (*v, y + 0.35)], GBDT_COLOR.filled())
            }))?;
            root.present()?;
            Ok(())
        };
        if let Err(e) = draw() {
            tracing::warn!("importance chart could not be drawn: {e}");
        }
    }
    svg
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn gains_points(m: &Metrics) -> Vec<(f64, f64)> {
    let n: usize = m.gains.iter().map(|g| g.rows).sum();
    let mut seen = 0;
    let mut out = vec![(0.0, 0.0)];
    for g in &m.gains {
        seen += g.rows;
        out.push((seen as f64 / n as f64, g.cumulative_capture));
    }
    out
}

fn reliability_points(m: &Metrics) -> Vec<(f64, f64)> {
    m.reliability
        .iter()
        .map(|b| (b.mean_predicted, b.observed_rate))
        .collect()
}

/// `report.html`: metrics of both models side by side, the calibration choice, the
/// scorecard's coefficients and four charts, readable offline.
pub fn html(cfg: &RunConfig, version: &str, m: &RunMetrics) -> String {
    let diagonal = [(0.0, 0.0), (1.0, 1.0)];
    let roc = unit_chart(
        "ROC (test rows)",
        "false positive rate",
        "true positive rate",
        &[
            ("trees", GBDT_COLOR, m.gbdt.roc_curve.clone()),
            ("scorecard", CARD_COLOR, m.scorecard.roc_curve.clone()),
        ],
        &diagonal,
    );
    let calibration = unit_chart(
        "Calibration (test rows, 10 bins)",
        "mean predicted probability",
        "observed rate",
        &[
            ("trees", GBDT_COLOR, reliability_points(&m.gbdt)),
            ("scorecard", CARD_COLOR, reliability_points(&m.scorecard)),
        ],
        &diagonal,
    );
    let gains = unit_chart(
        "Cumulative gains by decile",
        "share of rows, highest scores first",
        "share of positives found",
        &[
            ("trees", GBDT_COLOR, gains_points(&m.gbdt)),
            ("scorecard", CARD_COLOR, gains_points(&m.scorecard)),
        ],
        &diagonal,
    );
    let importance = importance_chart(&m.gbdt, 15);
    let row = |label: &str, f: &dyn Fn(&Metrics) -> String| {
        format!(
            "<tr><td>{label}</td><td>{}</td><td>{}</td></tr>",
            f(&m.gbdt),
            f(&m.scorecard)
        )
    };
    let table = [
        row("rows (train / test)", &|x| {
            format!("{} / {}", x.rows_train, x.rows_test)
        }),
        row("ROC AUC", &|x| format!("{:.4}", x.roc_auc)),
        row("Gini", &|x| format!("{:.4}", x.gini)),
        row("KS", &|x| format!("{:.4}", x.ks)),
        row("log-loss", &|x| format!("{:.4}", x.log_loss)),
        row("Brier", &|x| format!("{:.4}", x.brier)),
        row("expected calibration error", &|x| {
            format!("{:.4}", x.expected_calibration_error)
        }),
        row("top-decile lift", &|x| {
            x.gains
                .first()
                .map_or("-".into(), |g| format!("{:.2}", g.cumulative_lift))
        }),
    ]
    .join("\n");
    let calib = |c: &crate::calibrate::CalibrationChoice| {
        c.candidates
            .iter()
            .map(|(n, l)| {
                if *n == c.chosen {
                    format!("<b>{n} {l:.4}</b>")
                } else {
                    format!("{n} {l:.4}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let coefs = m
        .scorecard_coefficients
        .iter()
        .map(|c| {
            format!(
                "<tr><td>{}</td><td>{:.4}</td><td>{}</td></tr>",
                escape(&c.feature),
                c.coefficient,
                c.bins
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let cv = m.gbdt.cv_roc_auc.map_or(String::new(), |(mean, sd)| {
        format!(
            "<p>Cross-validated AUC of the trees on the training rows: {mean:.4} ± {sd:.4}.</p>"
        )
    });
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>recoup: {name} {version}</title>
<style>
body {{ font-family: sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #ccc; padding: 4px 10px; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
.charts {{ display: flex; flex-wrap: wrap; gap: 12px; }}
</style></head><body>
<h1>{name} <small>{version}</small></h1>
<p>Target <code>{target}</code> from <code>{table}</code>. Split: {split}. Ranking metrics
(AUC, Gini, KS) read raw scores, probability metrics the calibrated probabilities.</p>
<table><tr><th>metric (test rows)</th><th>gradient-boosted trees ({trees} trees)</th><th>scorecard</th></tr>
{rows}
</table>
{cv}
<p>Calibration chosen by cross-fitted log-loss on {cal_rows} held-out rows. Trees: {calib_gbdt}.
Scorecard: {calib_card}.</p>
<div class="charts">{roc}{calibration}{gains}</div>
{importance}
<h2>Scorecard coefficients</h2>
<p>Logistic regression on weight-of-evidence bins: a coefficient near 1 keeps the feature's
univariate evidence, near 0 means other features already carry it.</p>
<table><tr><th>feature</th><th>coefficient</th><th>bins</th></tr>
{coefs}
</table>
</body></html>
"#,
        name = escape(&cfg.name),
        target = escape(&cfg.data.target),
        table = escape(&cfg.data.table.display().to_string()),
        split = escape(&m.split),
        trees = m.gbdt.trees,
        rows = table,
        cal_rows = m.gbdt_calibration.rows,
        calib_gbdt = calib(&m.gbdt_calibration),
        calib_card = calib(&m.scorecard_calibration),
    )
}

/// Input names that often stand for, or correlate with, protected characteristics.
const SENSITIVE_HINTS: [&str; 14] = [
    "age",
    "sex",
    "gender",
    "marital",
    "race",
    "ethnic",
    "religion",
    "nationality",
    "language",
    "region",
    "zip",
    "postcode",
    "dependents",
    "time_zone",
];

/// `card.md`: intended use, data, metrics, limitations and fairness notes.
pub fn model_card(
    cfg: &RunConfig,
    version: &str,
    m: &RunMetrics,
    features: &[String],
    fingerprint: &str,
) -> String {
    let sensitive: Vec<&String> = features
        .iter()
        .filter(|f| {
            let l = f.to_ascii_lowercase();
            SENSITIVE_HINTS.iter().any(|h| l.contains(h))
        })
        .collect();
    let g = &m.gbdt;
    format!(
        "# Model card: {name} {version}\n\n\
## Intended use\n\
Ranks accounts by the probability of `{target}` to decide whom to contact, how and when, as one\n\
input to a collections strategy that also applies consent, contact rules and human review. Not\n\
for credit decisions about new lending, and not as the only basis for an adverse action.\n\n\
## Data\n\
- Table: `{table}` ({features} input columns), target `{target}`.\n\
- Split: {split}; {train} training rows, {test} test rows (positive rate {rate:.3}).\n\
- Training fingerprint: `{fingerprint}` (BLAKE3 of the training rows).\n\n\
## Metrics (test rows)\n\
| | trees | scorecard |\n|---|---:|---:|\n\
| ROC AUC | {a:.4} | {ca:.4} |\n| Gini | {gi:.4} | {cgi:.4} |\n| KS | {ks:.4} | {cks:.4} |\n\
| log-loss | {ll:.4} | {cll:.4} |\n| Brier | {b:.4} | {cb:.4} |\n| calibration error | {e:.4} | {ce:.4} |\n\n\
Calibration: {cal} (trees), {ccal} (scorecard). Full figures in `metrics.json`, charts in\n\
`report.html`.\n\n\
## Limitations\n\
- Scores describe the population and period of the training data; monitor the score\n\
  distribution and realised rates, and retrain when they drift.\n\
- Behaviour under a different contact strategy is not measured here: a propensity model learns\n\
  outcomes under the logging policy, not the effect of a contact (see the uplift stage).\n\
- Rows with missing values follow learned default directions; a column missing far more often\n\
  at scoring time than in training changes the scores.\n\n\
## Fairness notes\n\
Inputs whose names suggest protected characteristics or close proxies: {sens}. Review whether\n\
each is lawful and appropriate for the decision, compare score distributions and error rates\n\
across groups before use, and drop a column with `--drop` to retrain without it. All inputs:\n\
{all}.\n",
        name = cfg.name,
        target = cfg.data.target,
        table = cfg.data.table.display(),
        features = features.len(),
        split = m.split,
        train = g.rows_train,
        test = g.rows_test,
        rate = g.positive_rate_test,
        a = g.roc_auc,
        ca = m.scorecard.roc_auc,
        gi = g.gini,
        cgi = m.scorecard.gini,
        ks = g.ks,
        cks = m.scorecard.ks,
        ll = g.log_loss,
        cll = m.scorecard.log_loss,
        b = g.brier,
        cb = m.scorecard.brier,
        e = g.expected_calibration_error,
        ce = m.scorecard.expected_calibration_error,
        cal = m.gbdt_calibration.chosen,
        ccal = m.scorecard_calibration.chosen,
        sens = if sensitive.is_empty() {
            "none by name".to_owned()
        } else {
            sensitive
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        },
        all = features
            .iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(", "),
    )
}
