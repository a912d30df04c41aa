//! The journey report: one self-contained HTML page (inline SVG, nothing fetched) with the
//! policy comparison and, per ability/willingness segment, timelines of sample journeys: the same account
//! under every policy, with the same draws.

use std::fmt::Write as _;

use recoup_core::{Channel, TreatmentCatalog};

use crate::compare::{Comparison, Figures};
use crate::env::AccountLog;
use crate::run::Estimate;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn colour(channel: Channel) -> &'static str {
    match channel {
        Channel::Sms => "#1f77b4",
        Channel::Email => "#ff7f0e",
        Channel::Call => "#d62728",
        Channel::Letter => "#8c564b",
        Channel::Push => "#9467bd",
        Channel::None => "#999999",
    }
}

/// One account's journeys under each policy: a row per policy, a mark per contact (filled when
/// the customer responded), a green bar per payment (height by amount).
fn timeline(days: i32, by_policy: &[(String, &AccountLog)], catalog: &TreatmentCatalog) -> String {
    let left = 90.0;
    let width = 760.0;
    let row_h = 34.0;
    let height = 24.0 + row_h * by_policy.len() as f64;
    let x = |day: i32| left + (width - left - 30.0) * f64::from(day) / f64::from(days.max(1));
    let max_paid = by_policy
        .iter()
        .flat_map(|(_, l)| l.payments.iter().filter(|p| !p.reversed).map(|p| p.amount))
        .fold(1.0f64, f64::max);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" role=\"img\">"
    );
    for d in (0..=days).step_by(10) {
        let _ = write!(
            svg,
            "<line x1=\"{0:.1}\" y1=\"14\" x2=\"{0:.1}\" y2=\"{height}\" stroke=\"#eee\"/><text x=\"{0:.1}\" y=\"11\" font-size=\"10\" text-anchor=\"middle\">day {d}</text>",
            x(d)
        );
    }
    for (k, (policy, log)) in by_policy.iter().enumerate() {
        let y = 24.0 + row_h * k as f64 + row_h / 2.0;
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{:.1}\" font-size=\"12\">{}</text><line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#ccc\"/>",
            y + 4.0,
            escape(policy),
            width - 10.0
        );
        for p in log.payments.iter().filter(|p| !p.reversed) {
            let h = 4.0 + 12.0 * p.amount / max_paid;
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"4\" height=\"{h:.1}\" fill=\"#2ca02c\"><title>day {}: paid {:.2} ({:?})</title></rect>",
                x(p.day) - 2.0,
                y - h,
                p.day,
                p.amount,
                p.reason
            );
        }
        for c in &log.contacts {
            let fill = if c.outcome.is_response() {
                colour(c.channel)
            } else {
                "white"
            };
            let _ = write!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"5\" fill=\"{fill}\" stroke=\"{}\" stroke-width=\"2\"><title>day {} {:02}:00 {}: {}</title></circle>",
                x(c.day),
                y + 8.0,
                colour(c.channel),
                c.day,
                c.hour,
                escape(&catalog.treatments[c.treatment as usize].id),
                c.outcome
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The HTML report of a comparison.
pub fn html(c: &Comparison, catalog: &TreatmentCatalog) -> String {
    let mut h = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>recoup journeys</title><style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px;text-align:right}td:first-child,th:first-child{text-align:left}</style></head><body>",
    );
    let _ = write!(
        h,
        "<h1>Journeys in closed loop</h1><p>{} days, seeds {:?}, about {} accounts in collections per seed; means ± 95% confidence intervals over the seeds. Contacts after an opt-out and rule violations come from an audit of every journey's log and must be 0. The personal and adaptive policies learnt from the logged history of a book of {} accounts.</p>",
        c.days,
        c.seeds,
        c.accounts_per_seed.iter().sum::<usize>() / c.accounts_per_seed.len().max(1),
        c.history_accounts
    );
    h.push_str("<table><tr><th>policy</th><th>collected / account</th><th>net / account</th><th>cure rate</th><th>contacts / account</th><th>cost / account</th><th>opt-outs / 1000</th><th>contacts after opt-out</th><th>rule violations</th><th>collected vs reference</th><th>contacts vs reference</th></tr>");
    let est = |e: &Estimate, scale: f64, digits: usize| {
        if e.half_width.is_nan() {
            format!("{:.*}", digits, scale * e.mean)
        } else {
            format!(
                "{:.*} ± {:.*}",
                digits,
                scale * e.mean,
                digits,
                scale * e.half_width
            )
        }
    };
    let cells = |f: &Figures| {
        format!(
            "<td>{}</td><td>{}</td><td>{}%</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            est(&f.collected_per_account, 1.0, 2),
            est(&f.net_per_account, 1.0, 2),
            est(&f.cure_rate, 100.0, 1),
            est(&f.contacts_per_account, 1.0, 2),
            est(&f.cost_per_account, 1.0, 3),
            est(&f.opt_outs_per_1000, 1.0, 1),
            f.contacts_after_opt_out,
            f.violations
        )
    };
    for p in &c.policies {
        let _ = write!(
            h,
            "<tr><td>{}</td>{}<td>{}</td><td>{}</td></tr>",
            p.policy.as_str(),
            cells(&p.all),
            p.collected_vs_reference
                .as_ref()
                .map_or_else(|| "-".into(), |e| est(e, 1.0, 2)),
            p.contacts_vs_reference
                .as_ref()
                .map_or_else(|| "-".into(), |e| est(e, 1.0, 2)),
        );
    }
    h.push_str("</table>");
    let groups = |title: &str, rows: Vec<(&str, Vec<(&str, &Figures)>)>| {
        let mut t = format!(
            "<h2>{}</h2><table><tr><th>group</th><th>accounts / seed</th><th>policy</th><th>collected / account</th><th>net / account</th><th>cure rate</th><th>contacts / account</th><th>cost / account</th><th>opt-outs / 1000</th><th>contacts after opt-out</th><th>rule violations</th><th>contacts / account: sms, email, call, letter, push</th></tr>",
            escape(title)
        );
        for (name, by_policy) in rows {
            for (policy, g) in by_policy {
                let _ = write!(
                    t,
                    "<tr><td>{}</td><td>{:.0}</td><td>{}</td>{}<td>{}</td></tr>",
                    escape(name),
                    g.accounts_per_seed,
                    policy,
                    cells(g),
                    g.contacts_per_account_by_channel
                        .iter()
                        .map(|v| format!("{v:.2}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        t.push_str("</table>");
        t
    };
    h.push_str(&groups(
        "By stage at the start",
        crate::portfolio::Stage::ALL
            .iter()
            .map(|s| {
                (
                    s.as_str(),
                    c.policies
                        .iter()
                        .filter_map(|p| p.by_stage.get(s).map(|g| (p.policy.as_str(), g)))
                        .collect(),
                )
            })
            .collect(),
    ));
    h.push_str(&groups(
        "By ability/willingness segment at the start",
        crate::portfolio::Quadrant::ALL
            .iter()
            .map(|q| {
                (
                    q.as_str(),
                    c.policies
                        .iter()
                        .filter_map(|p| p.by_segment.get(q).map(|g| (p.policy.as_str(), g)))
                        .collect(),
                )
            })
            .collect(),
    ));
    h.push_str("<p>Marks: a contact per circle (sms blue, email orange, call red, letter brown, push purple; filled when the customer responded), a green bar per payment (height by amount). Hover for details.</p>");
    for segment in crate::portfolio::Quadrant::ALL {
        let samples: Vec<_> = c.samples.iter().filter(|s| s.segment == segment).collect();
        if samples.is_empty() {
            continue;
        }
        let _ = write!(h, "<h2>Typical journeys: {}</h2>", segment.as_str());
        for s in samples {
            let _ = write!(
                h,
                "<h3>account {}, {} at the start</h3>",
                s.account,
                s.stage.as_str()
            );
            let rows: Vec<(String, &AccountLog)> = s
                .by_policy
                .iter()
                .map(|(k, l)| (k.as_str().to_owned(), l))
                .collect();
            h.push_str(&timeline(c.days, &rows, catalog));
        }
    }
    h.push_str("</body></html>\n");
    h
}
