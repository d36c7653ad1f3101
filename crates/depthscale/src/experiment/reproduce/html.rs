//! Stage 4, report: `report.html`, one self-contained file: the claims table, then one
//! section per experiment with its figures inlined (SVG as base64 data URIs), the paper's
//! claim, the measured numbers, the command and resolved config to rerun it, its time and seed.
//! No network resource, no script; every text is escaped.

use super::claims::num;
use super::{Outcome, ReproduceReport};
use crate::{Error, Result};
use base64::Engine;
use std::fmt::Write;

/// Escapes `s` for HTML text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body { font-family: sans-serif; margin: 0 auto; padding: 1rem; max-width: 60rem; color: #111; line-height: 1.4; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; border-top: 2px solid #ccc; padding-top: 0.8rem; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; font-size: 0.85rem; }
th, td { border: 1px solid #bbb; padding: 0.2rem 0.4rem; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: #eee; }
col.name { width: 42%; } col.exp { width: 15%; } col.n { width: 10.75%; }
td.agrees { background: #d8f5d8; } td.disagrees { background: #f8d0d0; font-weight: bold; }
img { max-width: 100%; height: auto; display: block; margin: 0.5rem 0; break-inside: avoid; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f6f6; padding: 0.5rem; font-size: 0.75rem; }
.note { color: #444; font-size: 0.9rem; }
@media print { body { max-width: none; padding: 0; } h2 { break-before: page; } tr, img { break-inside: avoid; } details > pre { display: block; } }
";

/// The whole report.
pub fn render(report: &ReproduceReport) -> Result<String> {
    let mut h = String::new();
    let total = report.claims().count();
    let agree = report.claims().filter(|c| c.agrees()).count();
    let quick = report.outcomes.iter().any(|o| o.entry.reduced());
    let exp_seconds: f64 = report
        .outcomes
        .iter()
        .filter_map(|o| o.summary["seconds"].as_f64())
        .sum();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>depthscale reproduce: Scaling ResNets in the Large-depth Regime</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>Scaling ResNets in the Large-depth Regime: reproduction</h1>\n<p>Marion, Fermanian, Biau, Vert (JMLR 26, 2025; arXiv 2206.06929), reproduced by depthscale {}. \
         <strong>{agree} of {total} claims agree</strong> with the theory. {} experiments; their runs took {} s in all \
         (this invocation {} s{}).</p>\n",
        env!("CARGO_PKG_VERSION"),
        report.outcomes.len(),
        num(exp_seconds),
        num(report.seconds),
        if report.outcomes.iter().any(|o| o.skipped) {
            ", experiments already complete were reused"
        } else {
            ""
        },
    );
    if quick {
        h.push_str("<p class=\"note\">Reduced size (<code>--quick</code>): the experiments marked \"reduced\" ran below the paper's settings (each section gives the exact overrides); their claims are checked at that size with the tolerance shown in the table. Run <code>depthscale reproduce</code> without <code>--quick</code> for the paper's settings.</p>\n");
    }
    h.push_str("<h2 id=\"claims\" style=\"break-before: auto\">Claims checked</h2>\n<table class=\"claims\">\n<colgroup><col class=\"exp\"><col class=\"name\"><col class=\"n\"><col class=\"n\"><col class=\"n\"><col class=\"n\"></colgroup>\n<thead><tr><th>experiment</th><th>claim</th><th>measured</th><th>expected (theory)</th><th>tolerance</th><th>verdict</th></tr></thead>\n<tbody>\n");
    for c in report.claims() {
        let _ = writeln!(
            h,
            "<tr><td><a href=\"#{id}\">{exp}</a>{size}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{v}\">{v}</td></tr>",
            escape(&c.name),
            escape(&c.measured_text()),
            escape(&c.expected_text()),
            escape(&c.tolerance_text()),
            id = escape(&section_id(&c.experiment)),
            exp = escape(&c.experiment),
            size = if c.reduced { " (reduced)" } else { "" },
            v = c.verdict(),
        );
    }
    h.push_str("</tbody>\n</table>\n");
    for o in &report.outcomes {
        section(&mut h, o)?;
    }
    h.push_str("</body>\n</html>\n");
    Ok(h)
}

fn section_id(preset: &str) -> String {
    format!("exp-{preset}")
}

/// The figures of an output directory: its `*.svg` files, by name.
pub fn figures(dir: &std::path::Path) -> Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let p = e.map_err(|e| Error::io(dir, e))?.path();
        if p.extension().is_some_and(|x| x == "svg") && p.is_file() {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

fn section(h: &mut String, o: &Outcome) -> Result<()> {
    let p = o.entry.preset;
    let seed = toml::from_str::<toml::Table>(&o.config)
        .ok()
        .and_then(|t| t.get("seed").map(|s| s.to_string()))
        .unwrap_or_else(|| "?".into());
    let seconds = o.summary["seconds"].as_f64().map_or("?".into(), num);
    let _ = writeln!(
        h,
        "<section id=\"{id}\">\n<h2>{p}</h2>\n<p><strong>What the paper claims.</strong> {}</p>\n<p class=\"note\">Run time {seconds} s{}, seed {}, {} size{}.</p>",
        escape(o.entry.claim),
        if o.skipped {
            " (reused: already complete)"
        } else {
            ""
        },
        escape(&seed),
        if o.entry.reduced() {
            "reduced"
        } else {
            "the paper's"
        },
        if o.summary["threads"].is_number() {
            format!(", {} threads", o.summary["threads"])
        } else {
            String::new()
        },
        id = escape(&section_id(p)),
        p = escape(p),
    );
    for f in figures(&o.dir)? {
        let bytes = std::fs::read(&f).map_err(|e| Error::io(&f, e))?;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = writeln!(
            h,
            "<figure><img class=\"figure\" alt=\"{p}: {n}\" src=\"data:image/svg+xml;base64,{}\"><figcaption class=\"note\">{n}</figcaption></figure>",
            base64::engine::general_purpose::STANDARD.encode(bytes),
            p = escape(p),
            n = escape(&name),
        );
    }
    h.push_str("<p><strong>Measured.</strong></p>\n<ul>\n");
    for c in &o.claims {
        let _ = writeln!(
            h,
            "<li>{}: {} (theory {}, {}): {}</li>",
            escape(&c.name),
            escape(&c.measured_text()),
            escape(&c.expected_text()),
            escape(&c.tolerance_text()),
            c.verdict()
        );
    }
    h.push_str("</ul>\n");
    let _ = writeln!(
        h,
        "<p><strong>Rerun alone.</strong></p>\n<pre>{}</pre>\n<details><summary>Resolved config (config.toml)</summary>\n<pre>{}</pre>\n</details>\n<details><summary>summary.json results</summary>\n<pre>{}</pre>\n</details>\n</section>",
        escape(&o.entry.command(&format!("runs/{p}"))),
        escape(&o.config),
        escape(&serde_json::to_string_pretty(&o.summary["results"]).unwrap_or_default()),
    );
    Ok(())
}
