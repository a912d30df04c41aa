//! The evaluation as one self-contained HTML page: tables of the metrics and policy values, and
//! a Qini chart per treatment arm (inline SVG).

use std::fmt::Write as _;

use plotters::style::RGBColor;
use recoup_train::report::{LineChart, Series, line_chart};

use crate::evaluate::EvaluationReport;
use crate::policy::PolicyValue;

const COLORS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Qini curves of one arm for every learner, with the random line.
fn qini_chart(report: &EvaluationReport, arm: usize) -> String {
    let names: Vec<String> = report
        .learners
        .iter()
        .map(|l| format!("{}-learner", l.learner.name().to_uppercase()))
        .collect();
    let series: Vec<Series<'_>> = report
        .learners
        .iter()
        .zip(&names)
        .enumerate()
        .map(|(i, (l, name))| {
            (
                name.as_str(),
                COLORS[i % COLORS.len()],
                l.arms[arm].qini_curve.clone(),
            )
        })
        .collect();
    let (lo, hi) = series
        .iter()
        .flat_map(|s| s.2.iter().map(|q| q.1))
        .fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let pad = ((hi - lo) * 0.05).max(1e-6);
    let end = series
        .first()
        .and_then(|s| s.2.last().copied())
        .unwrap_or((1.0, 0.0));
    let title = format!("Qini: {} vs {}", report.arms[arm + 1], report.arms[0]);
    line_chart(&LineChart {
        title: &title,
        x_label: "share of rows targeted, by predicted uplift",
        y_label: "incremental outcomes per treated row",
        x_range: 0.0..1.0,
        y_range: (lo - pad)..(hi + pad),
        series: &series,
        reference: &[(0.0, 0.0), end],
        markers: false,
    })
}

fn value_cells(v: &PolicyValue) -> String {
    format!(
        "<td>{:.4} ± {:.4}</td><td>{:.4}</td><td>{:.4} ± {:.4}</td>",
        v.ips, v.ips_se, v.snips, v.dr, v.dr_se
    )
}

/// The page.
pub fn html(report: &EvaluationReport, title: &str) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title><style>\
         body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}\
         th{{background:#f4f4f4}}td:first-child{{text-align:left}}</style></head><body><h1>{t}</h1>",
        t = escape(title)
    );
    let counts: Vec<String> = report
        .arms
        .iter()
        .zip(report.train_rows.iter().zip(&report.test_rows))
        .map(|(a, (tr, te))| format!("{} ({tr} / {te})", escape(a)))
        .collect();
    let _ = write!(
        h,
        "<p>Arms, control first (training / test rows): {}. Propensities: {}.</p>",
        counts.join(", "),
        if report.logged_propensities {
            "logged"
        } else {
            "each arm's share of the rows (randomised assignment)"
        }
    );
    h.push_str("<h2>Treatment effects on the test rows</h2><table><tr><th>learner</th><th>arm vs control</th>");
    for (s, _) in report
        .learners
        .first()
        .map_or(&[][..], |l| &l.arms[0].uplift_at[..])
    {
        let _ = write!(h, "<th>uplift@{:.0}%</th>", 100.0 * s);
    }
    h.push_str("<th>Qini coefficient</th><th>AUUC</th><th>fit s</th></tr>");
    for l in &report.learners {
        for a in &l.arms {
            let _ = write!(
                h,
                "<tr><td>{}-learner</td><td>{}</td>",
                l.learner.name().to_uppercase(),
                escape(&a.arm)
            );
            for (_, v) in &a.uplift_at {
                let _ = write!(h, "<td>{v:.4}</td>");
            }
            let _ = write!(
                h,
                "<td>{:.4}</td><td>{:.4}</td><td>{:.2}</td></tr>",
                a.qini_coefficient, a.auuc, l.fit_secs
            );
        }
    }
    h.push_str("</table><h2>Policies: mean outcome per test row</h2><table><tr><th>policy</th><th>share per arm</th><th>IPS ± s.e.</th><th>SNIPS</th><th>DR ± s.e.</th></tr>");
    for l in &report.learners {
        let mix: Vec<String> = l
            .policy_mix
            .iter()
            .map(|m| format!("{:.0}%", 100.0 * m))
            .collect();
        let _ = write!(
            h,
            "<tr><td>{}-learner: the largest predicted effect</td><td>{}</td>{}</tr>",
            l.learner.name().to_uppercase(),
            mix.join(" / "),
            value_cells(&l.policy)
        );
    }
    for (arm, v) in &report.single_arm {
        let _ = write!(
            h,
            "<tr><td>everyone: {}</td><td></td>{}</tr>",
            escape(arm),
            value_cells(v)
        );
    }
    h.push_str("</table><h2>Qini curves</h2>");
    for k in 0..report.arms.len().saturating_sub(1) {
        h.push_str(&qini_chart(report, k));
    }
    h.push_str("</body></html>\n");
    h
}
