//! Stage 4, report: `report.html`, one self-contained file: the claims table, then one
//! section per experiment with its figures inlined (SVG as base64 data URIs), the paper's
//! claim, the measured numbers, the command and resolved config to rerun it, its time and seed.
//! No network resource, no script; every text is escaped.

use super::claims::num;
use super::{Outcome, ReproduceReport};
use crate::{Error, Result};
use base64::Engine;
use std::fmt::Write;
use std::path::Path;

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
td.agrees { background: #d8f5d8; } td.disagrees, td.missing { background: #f8d0d0; font-weight: bold; } td.missing { color: #b00000; }
p.mutant { background: #f8d0d0; color: #b00000; font-weight: bold; padding: 0.5em; }
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
         (this invocation {} s). {}</p>\n",
        env!("CARGO_PKG_VERSION"),
        report.outcomes.len(),
        num(exp_seconds),
        num(report.seconds),
        provenance(report),
    );
    if let Some(m) = crate::mutant::active() {
        let _ = writeln!(
            h,
            "<p class=\"mutant\">This reproduction ran under the mutant test's deliberately wrong implementation \"{}\" ({}): its claims are expected to fail.</p>",
            m.name(),
            escape(m.description())
        );
    }
    if !report.excluded.is_empty() {
        h.push_str("<p class=\"note\"><strong>Left out of this report</strong> (their directories do not hold a complete experiment of this reproduction):</p>\n<ul class=\"excluded\">\n");
        for x in &report.excluded {
            let _ = writeln!(h, "<li>{}: {}</li>", escape(x.preset), escape(&x.reason));
        }
        h.push_str("</ul>\n");
    }
    if quick {
        h.push_str("<p class=\"note\">Reduced size (<code>--quick</code>): the experiments marked \"reduced\" ran below the paper's settings (each section gives the exact overrides); their claims are checked at that size with the tolerance shown in the table. Run <code>depthscale reproduce</code> without <code>--quick</code> for the paper's settings.</p>\n");
    }
    h.push_str("<h2 id=\"claims\" style=\"break-before: auto\">Claims checked</h2>\n<table class=\"claims\">\n<colgroup><col class=\"exp\"><col class=\"name\"><col class=\"n\"><col class=\"n\"><col class=\"name\"><col class=\"n\"><col class=\"n\"></colgroup>\n<thead><tr><th>experiment</th><th>claim</th><th>measured</th><th>expected (theory)</th><th>tolerance (how derived)</th><th>must catch (mutants)</th><th>verdict</th></tr></thead>\n<tbody>\n");
    for c in report.claims() {
        let _ = writeln!(
            h,
            "<tr><td><a href=\"#{id}\">{exp}</a>{size}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{v}\">{v}</td></tr>",
            escape(&c.name),
            escape(&c.measured_text()),
            escape(&c.expected_text()),
            escape(&c.tolerance_text()),
            escape(&c.mutants_text()),
            id = escape(&section_id(&c.experiment)),
            exp = escape(&c.experiment),
            size = if c.reduced { " (reduced)" } else { "" },
            v = c.verdict(),
        );
    }
    h.push_str("</tbody>\n</table>\n");
    mutants_caught(&mut h, report);
    h.push_str(REFERENCE_DIFFERENCES);
    for o in &report.outcomes {
        section(&mut h, o)?;
    }
    h.push_str("</body>\n</html>\n");
    Ok(h)
}

/// The report's "differences from the reference code" section: where depthscale and the
/// authors' code (PierreMarion23/scaling-resnets) differ, and which side follows the paper.
const REFERENCE_DIFFERENCES: &str = "<h2 id=\"reference\" style=\"break-before: auto\">Differences from the reference code</h2>\n<ul>\n\
<li><strong>Fractional Gaussian noise.</strong> The reference's circulant embedding sets r[N] = 0 and reuses the first eigenvalue for the last; depthscale embeds gamma(0..N) exactly (Davies-Harte), which is what the paper's fBm is. Issue 21 measured the reference's lag-1 increment correlation at H = 0.9 at 0.41 against the exact 0.74, and its gradient critical beta at H = 0.9 at 0.79 against depthscale's 0.74. Figure 6's claims check depthscale's generator against the exact correlation and variance.</li>\n\
<li><strong>Bias.</strong> The reference has no bias for i.i.d. and RBF layers (Figure 8, the train preset) and a zero-initialised bias for fBm (Figure 9); depthscale's fig8 preset now follows it (bias = false; its quick-size claims moved by less than 0.005); the train and fig9 presets keep depthscale's default bias (not yet compared).</li>\n\
<li><strong>Smooth weights.</strong> The reference takes increments of the Gaussian process on linspace(0, 1, L + 1) normalised by their empirical standard deviation; depthscale's rbf(0.1) uses the process's values (rbf(BW, increments) is the other convention). Measured at the quick size of fig4, seed 0: mean log10 h_diff at L = 1000, beta = 1 is -0.53 with values and -0.70 with increments (g_diff -0.58 and -0.68), and both pass Figures 4 and 5's claims (change of mean log10 h_diff from L = 670 to 1000: beta = 1, -0.007 and -0.008, theory 0; beta = 2, -0.181 and -0.175, theory -0.174). The presets keep values; the level differs by a constant factor, the regimes do not.</li>\n\
<li><strong>Figure 2.</strong> The reference uses 10^4 independent (weights, input) pairs; depthscale's full preset now uses 2,000 independent pairs (one input per weight draw; it drew 100 weights x 100 inputs before, whose inputs share a draw and are correlated), the quick size 400. 10^4 pairs would cost about 875 s CPU here (17.5 s per 200 measured), 2,000 about 175 s.</li>\n\
<li><strong>Figures 1 and 3.</strong> The reference draws fresh weights per beta; depthscale shares each draw across betas (the marginals are the same, the bands of the curves are correlated across betas, and the figures' captions say so). Each claim tests one beta at a time, so its standard error is unaffected.</li>\n\
<li><strong>Figure 7 at finite depth.</strong> At L = 1000 the critical beta sits below max(H, 1/2) in both codes (about 0.04 below 1/2 for H &lt; 1/2, 0.07 to 0.10 below H above 0.6); the offset below 1/2 shrinks like 1/ln L (0.060 at L = 100, 0.043 at L = 1000, 0.037 at L = 3000, depthscale at the quick grid), so Figure 7's claims allow it.</li>\n</ul>\n";

/// Under the claims table: the mutants (deliberately wrong implementations) the claims of this
/// report must catch, each with its claims; the mutant test runs each one and asserts that
/// these claims fail while the unmutated run agrees.
fn mutants_caught(h: &mut String, report: &ReproduceReport) {
    h.push_str("<p><strong>Mutants the claims catch.</strong> Each claim lists the deliberately wrong implementations it must fail on; the mutant test (<code>crates/depthscale-cli/tests/mutants.rs</code>, the whole matrix with <code>--ignored</code>) runs each at quick size and asserts that these claims fail while the unmutated run agrees.</p>\n<ul>\n");
    for m in crate::mutant::Mutant::ALL {
        let n = report
            .claims()
            .filter(|c| c.mutants.contains(&m.name()))
            .count();
        let _ = writeln!(
            h,
            "<li><code>{}</code> ({}): {}</li>",
            m.name(),
            escape(m.description()),
            if n == 0 {
                "no claim of this report".to_owned()
            } else {
                format!("{n} claims")
            }
        );
    }
    let none = report.claims().filter(|c| c.mutants.is_empty()).count();
    let _ = writeln!(
        h,
        "</ul>\n<p class=\"note\">{none} claims catch none of these mutants (regime checks that every wrong scale of the set only pushes further, and the comparisons listed in the README).</p>"
    );
}

/// Which experiments this invocation ran, which it reused, which an earlier one ran.
fn provenance(report: &ReproduceReport) -> String {
    let list = |f: &dyn Fn(&Outcome) -> bool| {
        let names: Vec<_> = report
            .outcomes
            .iter()
            .filter(|o| f(o))
            .map(|o| escape(o.entry.preset))
            .collect();
        (!names.is_empty()).then(|| names.join(", "))
    };
    let mut parts = Vec::new();
    if let Some(l) = list(&|o| !o.skipped) {
        parts.push(format!("Run this time: {l}."));
    }
    if let Some(l) = list(&|o| o.skipped && o.selected) {
        parts.push(format!("Reused (already complete): {l}."));
    }
    if let Some(l) = list(&|o| !o.selected) {
        parts.push(format!(
            "From an earlier invocation (not selected this time): {l}."
        ));
    }
    parts.join(" ")
}

fn section_id(preset: &str) -> String {
    format!("exp-{preset}")
}

/// The figures a run wrote into its output directory `dir`: the names of its `*.svg` regular
/// files (symbolic links left out), sorted. The runner records them in `summary.json`
/// (`figures`); the report embeds only those.
pub fn figures(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        // `DirEntry::file_type` does not follow symbolic links
        if name.ends_with(".svg") && e.file_type().is_ok_and(|t| t.is_file()) {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

/// The largest figure embedded in the report.
pub const FIGURE_CAP: u64 = 32 << 20;

/// The figure `name` recorded in an experiment's summary, read from `dir`: a plain `.svg` name,
/// a regular file (never through a symbolic link), at most [`FIGURE_CAP`] bytes. `Err`: why it
/// is left out of the report.
pub fn read_figure(dir: &Path, name: &str) -> std::result::Result<Vec<u8>, String> {
    let plain = Path::new(name)
        .file_name()
        .is_some_and(|n| n == std::ffi::OsStr::new(name));
    if !plain || !name.ends_with(".svg") || name.starts_with('.') {
        return Err("not the name of a figure".into());
    }
    let path = dir.join(name);
    let meta = std::fs::symlink_metadata(&path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > FIGURE_CAP {
        return Err(format!(
            "larger than the {} embedded",
            crate::budget::human(u128::from(FIGURE_CAP))
        ));
    }
    let file = std::fs::File::open(&path).map_err(|e| e.to_string())?;
    // the file opened is the one inspected (not a symbolic link swapped in meanwhile)
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let opened = file.metadata().map_err(|e| e.to_string())?;
        if (opened.dev(), opened.ino()) != (meta.dev(), meta.ino()) {
            return Err("replaced while being read".into());
        }
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, FIGURE_CAP + 1), &mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > FIGURE_CAP {
        return Err("grew while being read".into());
    }
    Ok(bytes)
}

/// Presets that measure the same cells as an earlier one and draw the same two figures: the
/// paper's Figure 1 (3) shows the hidden states (gradients) of i.i.d. weights, Figure 4 (5) those
/// of smooth weights. Each (preset, figure) is shown only where the paper shows it.
const SHARED_FIGURES: &[(&str, &str, &str)] = &[
    ("fig1", "gradients.svg", "fig3"),
    ("fig3", "hidden.svg", "fig1"),
    ("fig4", "gradients.svg", "fig5"),
    ("fig5", "hidden.svg", "fig4"),
];

/// The preset whose section shows figure `name` of `preset` instead, if any.
pub fn shown_elsewhere(preset: &str, name: &str) -> Option<&'static str> {
    SHARED_FIGURES
        .iter()
        .find(|(p, n, _)| *p == preset && *n == name)
        .map(|(_, _, other)| *other)
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
        match (o.skipped, o.selected) {
            (false, _) => " (run this time)",
            (true, true) => " (reused: already complete)",
            (true, false) => " (from an earlier invocation)",
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
    let names = o.summary["figures"].as_array();
    if names.is_none() {
        let _ = writeln!(
            h,
            "<p class=\"note\">Its summary.json lists no figures (written by an earlier depthscale): see the directory {}.</p>",
            escape(p)
        );
    }
    for name in names.into_iter().flatten() {
        let name = name.as_str().unwrap_or_default();
        if let Some(other) = shown_elsewhere(p, name) {
            let _ = writeln!(
                h,
                "<p class=\"note\">{} is not repeated here: it is the same figure as in {}, from the same measurements.</p>",
                escape(name),
                escape(other)
            );
            continue;
        }
        match read_figure(&o.dir, name) {
            Ok(bytes) => {
                let _ = writeln!(
                    h,
                    "<figure><img class=\"figure\" alt=\"{p}: {n}\" src=\"data:image/svg+xml;base64,{}\"><figcaption class=\"note\">{n}</figcaption></figure>",
                    base64::engine::general_purpose::STANDARD.encode(bytes),
                    p = escape(p),
                    n = escape(name),
                );
            }
            Err(why) => {
                let _ = writeln!(
                    h,
                    "<p class=\"note\">Figure {} not embedded: {}.</p>",
                    escape(name),
                    escape(&why)
                );
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_figure_of_a_shared_measurement_is_shown_once() {
        for (a, b) in [("fig1", "fig3"), ("fig4", "fig5")] {
            for name in ["hidden.svg", "gradients.svg"] {
                let shown = [a, b]
                    .iter()
                    .filter(|p| shown_elsewhere(p, name).is_none())
                    .count();
                assert_eq!(shown, 1, "{name} of {a}/{b}");
            }
        }
        assert_eq!(shown_elsewhere("fig3", "gradients.svg"), None);
        assert_eq!(shown_elsewhere("fig1-leaky", "gradients.svg"), None);
    }

    #[test]
    fn figures_are_regular_svg_files_under_the_cap_never_links() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        std::fs::write(d.join("a.svg"), "<svg/>").unwrap();
        std::fs::write(d.join("notes.txt"), "x").unwrap();
        std::fs::write(t.path().join("secret"), "<svg>secret</svg>").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(d.join("secret"), d.join("link.svg")).unwrap();
        std::fs::File::create(d.join("huge.svg"))
            .unwrap()
            .set_len(FIGURE_CAP + 1)
            .unwrap();
        assert_eq!(figures(d).unwrap(), ["a.svg", "huge.svg"]);
        assert_eq!(read_figure(d, "a.svg").unwrap(), b"<svg/>");
        #[cfg(unix)]
        assert!(read_figure(d, "link.svg").unwrap_err().contains("regular"));
        assert!(read_figure(d, "huge.svg").unwrap_err().contains("larger"));
        for bad in [
            "../secret",
            "/etc/passwd",
            "notes.txt",
            "sub/a.svg",
            ".a.svg",
        ] {
            assert!(read_figure(d, bad).is_err(), "{bad}");
        }
    }
}
