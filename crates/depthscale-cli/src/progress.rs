//! Progress on standard error: indicatif bars on a terminal; otherwise (a Slurm log, a pipe)
//! plain lines at a bounded rate.

use depthscale::progress::Progress;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A plain line at most this often while a phase advances...
const LINE_EVERY: Duration = Duration::from_secs(30);
/// ...or whenever this fraction of the phase is done since the last line.
const LINE_FRACTION: f64 = 0.05;

/// Draws each phase of library work as an indicatif bar with rate and time left, or, when
/// standard error is not a terminal, as plain lines (at the start, every 30 s or 5% of the
/// phase, at the end; for a reproduction also one as each experiment starts) with the phase's
/// own counts.
pub struct Bars {
    current: Mutex<Option<ProgressBar>>,
    overall: bool,
    plain: Option<Mutex<Plain>>,
}

impl Default for Bars {
    fn default() -> Self {
        Self::new(false)
    }
}

/// The state of the current phase in plain-line mode.
#[derive(Default)]
struct Plain {
    message: String,
    note: String,
    total: u64,
    done: u64,
    start: Option<Instant>,
    last_line: Option<Instant>,
    last_done: u64,
    /// The experiment of the last line (the note up to its first `": "`), so that a
    /// reproduction prints one line as each experiment starts.
    last_stage: String,
}

impl Bars {
    /// One bar for a whole reproduction: which experiment (the prefix) and the overall time
    /// left, without unit counts (its units are estimated milliseconds).
    pub fn overall() -> Self {
        Self::new(true)
    }

    fn new(overall: bool) -> Self {
        let plain = (!std::io::stderr().is_terminal()).then(|| Mutex::new(Plain::default()));
        Self {
            current: Mutex::default(),
            overall,
            plain,
        }
    }
}

/// `1h02m03s`, `4m05s`, `6s`.
fn duration(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, s) => format!("{h}h{m:02}m{s:02}s"),
    }
}

impl Plain {
    /// One line: the phase, its counts (or percent), elapsed and estimated time left.
    fn line(&mut self, overall: bool) {
        let now = Instant::now();
        let elapsed = self.start.map_or(Duration::ZERO, |s| now - s);
        let frac = self.done as f64 / self.total.max(1) as f64;
        let counts = if overall {
            format!("{:.0}%", 100.0 * frac)
        } else {
            format!("{}/{} ({:.0}%)", self.done, self.total, 100.0 * frac)
        };
        let left = if self.done > 0 && self.done < self.total {
            let rest = elapsed.as_secs_f64() * (1.0 - frac) / frac;
            format!(", left ~{}", duration(Duration::from_secs_f64(rest)))
        } else {
            String::new()
        };
        let note = if self.note.is_empty() {
            String::new()
        } else {
            format!(" [{}]", self.note)
        };
        let _ = writeln!(
            std::io::stderr().lock(),
            "{}: {counts}, elapsed {}{left}{note}",
            self.message,
            duration(elapsed)
        );
        self.last_line = Some(now);
        self.last_done = self.done;
    }

    /// Whether a line is due: 30 s since the last one, or 5% of the phase done since.
    fn due(&self) -> bool {
        let step = (self.total as f64 * LINE_FRACTION).ceil().max(1.0) as u64;
        self.done >= self.last_done.saturating_add(step)
            || self.done == self.total
            || self.last_line.is_none_or(|t| t.elapsed() >= LINE_EVERY)
    }
}

impl Progress for Bars {
    fn start(&self, message: &str, total: u64) {
        if let Some(plain) = &self.plain {
            let mut p = plain.lock().expect("progress lock");
            *p = Plain {
                message: message.to_owned(),
                total,
                start: Some(Instant::now()),
                ..Plain::default()
            };
            p.line(self.overall);
            return;
        }
        let bar = ProgressBar::new(total);
        let template = if self.overall {
            "{msg} [{bar:32}] {percent}% elapsed {elapsed_precise}, left {eta_precise} {prefix}"
        } else {
            "{msg:24} [{bar:32}] {pos}/{len} {per_sec} elapsed {elapsed_precise}, left {eta_precise} {prefix}"
        };
        bar.set_style(
            ProgressStyle::with_template(template)
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(message.to_owned());
        if let Some(old) = self.current.lock().expect("progress lock").replace(bar) {
            old.finish_and_clear();
        }
    }

    fn advance(&self, units: u64) {
        if let Some(plain) = &self.plain {
            let mut p = plain.lock().expect("progress lock");
            p.done = p.done.saturating_add(units).min(p.total);
            if units > 0 && p.due() {
                p.line(self.overall);
            }
            return;
        }
        if let Some(bar) = self.current.lock().expect("progress lock").as_ref() {
            bar.inc(units);
        }
    }

    fn note(&self, message: &str) {
        if let Some(plain) = &self.plain {
            let mut p = plain.lock().expect("progress lock");
            p.note = message.to_owned();
            let stage = message.split(": ").next().unwrap_or(message);
            let new_stage = self.overall && stage != p.last_stage;
            if new_stage {
                p.last_stage = stage.to_owned();
            }
            if new_stage || p.last_line.is_some_and(|t| t.elapsed() >= LINE_EVERY) {
                p.line(self.overall);
            }
            return;
        }
        if let Some(bar) = self.current.lock().expect("progress lock").as_ref() {
            bar.set_prefix(message.to_owned());
        }
    }

    fn finish(&self) {
        if let Some(plain) = &self.plain {
            let mut p = plain.lock().expect("progress lock");
            if p.start.is_some() && p.last_done != p.done {
                p.line(self.overall);
            }
            p.start = None;
            return;
        }
        if let Some(bar) = self.current.lock().expect("progress lock").take() {
            bar.finish_and_clear();
        }
    }
}
