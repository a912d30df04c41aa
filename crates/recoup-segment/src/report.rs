//! The segment report: one self-contained HTML page with each segmentation's profiles as a
//! table and as bar charts (inline SVG: no scripts, no fonts, nothing fetched).

use std::fmt::Write as _;

use crate::{Profile, Segmentation};

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn pct(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map_or_else(|| "-".into(), |x| format!("{:.1}%", 100.0 * x))
}

/// Horizontal bars of one value per segment, scaled to the largest.
fn bars(title: &str, rows: &[(&str, f64)], as_percent: bool) -> String {
    let width = 520.0;
    let label_w = 230.0;
    let bar_h = 18.0;
    let height = 30.0 + rows.len() as f64 * (bar_h + 6.0);
    let max = rows
        .iter()
        .map(|r| r.1)
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-12);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" role=\"img\"><title>{}</title><text x=\"0\" y=\"16\" font-size=\"14\" font-weight=\"bold\">{}</text>",
        escape(title),
        escape(title)
    );
    for (k, (name, v)) in rows.iter().enumerate() {
        let y = 26.0 + k as f64 * (bar_h + 6.0);
        let w = if v.is_finite() {
            (v / max) * (width - label_w - 70.0)
        } else {
            0.0
        };
        let text = if !v.is_finite() {
            "-".to_owned()
        } else if as_percent {
            format!("{:.1}%", 100.0 * v)
        } else {
            format!("{v:.3}")
        };
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{:.1}\" font-size=\"12\">{}</text><rect x=\"{label_w}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{bar_h}\" fill=\"#3b6ea5\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\">{text}</text>",
            y + 13.0,
            escape(name),
            label_w + w + 4.0,
            y + 13.0
        );
    }
    svg.push_str("</svg>");
    svg
}

fn profile_table(profiles: &[&Profile]) -> String {
    let mut h = String::from(
        "<table><tr><th>segment</th><th>accounts</th><th>share</th><th>willingness</th><th>ability</th><th>pay rate 30d</th><th>cure rate 30d</th><th>response sms / email / call / letter / push</th><th>best treatments (amount per contact; lift over no contact; contacts)</th><th>latent ability / willingness</th></tr>",
    );
    for p in profiles {
        let best = p
            .best_treatments
            .iter()
            .map(|t| {
                format!(
                    "{} ({:.1}; {}; {})",
                    t.treatment,
                    t.amount,
                    t.lift.map_or_else(|| "-".into(), |l| format!("{l:+.1}")),
                    t.contacts
                )
            })
            .collect::<Vec<_>>()
            .join("<br>");
        let latent = p
            .latent
            .map_or_else(|| "-".into(), |(a, w)| format!("{a:+.2} / {w:+.2}"));
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{:.1}%</td><td>{:.3}</td><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&p.name),
            p.size,
            100.0 * p.share,
            p.willingness,
            p.ability,
            pct(p.pay_rate),
            pct(p.cure_rate),
            p.response_rates
                .iter()
                .map(|r| format!("{:.1}%", 100.0 * r))
                .collect::<Vec<_>>()
                .join(" / "),
            if best.is_empty() { "-".into() } else { best },
            latent
        );
    }
    h.push_str("</table>");
    h
}

fn feature_table(profiles: &[&Profile]) -> String {
    let mut h = String::from("<table><tr><th>feature</th>");
    for p in profiles {
        let _ = write!(h, "<th>{}</th>", escape(&p.name));
    }
    h.push_str("</tr>");
    if let Some(first) = profiles.first() {
        for (j, (name, _)) in first.feature_means.iter().enumerate() {
            let _ = write!(h, "<tr><td>{}</td>", escape(name));
            for p in profiles {
                let _ = write!(h, "<td>{:.2}</td>", p.feature_means[j].1);
            }
            h.push_str("</tr>");
        }
    }
    h.push_str("</table>");
    h
}

fn section(title: &str, profiles: &[&Profile]) -> String {
    let mut h = format!("<h2>{}</h2>", escape(title));
    h.push_str(&profile_table(profiles));
    h.push_str("<div class=\"charts\">");
    let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
    let series = |f: &dyn Fn(&Profile) -> f64| -> Vec<(&str, f64)> {
        names
            .iter()
            .copied()
            .zip(profiles.iter().map(|p| f(p)))
            .collect()
    };
    h.push_str(&bars("share of accounts", &series(&|p| p.share), true));
    if profiles.iter().any(|p| p.pay_rate.is_some()) {
        h.push_str(&bars(
            "pay rate in the next 30 days",
            &series(&|p| p.pay_rate.unwrap_or(f64::NAN)),
            true,
        ));
    }
    h.push_str(&bars(
        "mean willingness",
        &series(&|p| p.willingness),
        false,
    ));
    h.push_str(&bars("mean ability", &series(&|p| p.ability), false));
    for (k, ch) in ["sms", "email", "call", "letter", "push"]
        .iter()
        .enumerate()
    {
        h.push_str(&bars(
            &format!("{ch} response rate"),
            &series(&|p| p.response_rates[k]),
            true,
        ));
    }
    h.push_str("</div><h3>Feature means</h3>");
    h.push_str(&feature_table(profiles));
    h
}

/// The HTML report of a segmentation.
pub fn html(seg: &Segmentation) -> String {
    let quadrants: Vec<&Profile> = seg
        .profiles
        .iter()
        .filter(|p| p.kind == "quadrant")
        .collect();
    let clusters: Vec<&Profile> = seg
        .profiles
        .iter()
        .filter(|p| p.kind == "cluster")
        .collect();
    let mut h = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>recoup segments</title><style>body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px;text-align:right}td:first-child,th:first-child{text-align:left}.charts{display:flex;flex-wrap:wrap;gap:1em}</style></head><body>",
    );
    let accounts = seg.accounts.len();
    let _ = write!(
        h,
        "<h1>Segments of the accounts in collections</h1><p>{} accounts of <code>{}</code> at {}. Willingness: {} (willing above the median, {:.4}). Ability: the mean of the capacity signals (no reversed payment in a year; last payment over the amount due; credit headroom; kept promises), able above the median, {:.4}.</p><p>Clusters: k-means on {} standardised behavioural features, k = {} by mean silhouette ({}).</p>",
        accounts,
        escape(&seg.file.display().to_string()),
        seg.as_of_text,
        escape(&seg.willingness_source),
        seg.willingness_threshold,
        seg.ability_threshold,
        crate::CLUSTER_FEATURES.len(),
        seg.k,
        seg.silhouettes
            .iter()
            .map(|(k, s)| format!("k={k}: {s:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    h.push_str(&section("Ability and willingness", &quadrants));
    h.push_str(&section("Behavioural clusters", &clusters));
    h.push_str("</body></html>\n");
    h
}
