//! Progress bars on standard error (hidden automatically when it is not a terminal).

use depthscale::progress::Progress;
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Mutex;

/// Draws each phase of library work as an indicatif bar with rate and time left.
#[derive(Default)]
pub struct Bars {
    current: Mutex<Option<ProgressBar>>,
    overall: bool,
}

impl Bars {
    /// One bar for a whole reproduction: which experiment (the prefix) and the overall time
    /// left, without unit counts (its units are estimated milliseconds).
    pub fn overall() -> Self {
        Self {
            current: Mutex::default(),
            overall: true,
        }
    }
}

impl Progress for Bars {
    fn start(&self, message: &str, total: u64) {
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
        if let Some(bar) = self.current.lock().expect("progress lock").as_ref() {
            bar.inc(units);
        }
    }

    fn note(&self, message: &str) {
        if let Some(bar) = self.current.lock().expect("progress lock").as_ref() {
            bar.set_prefix(message.to_owned());
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.current.lock().expect("progress lock").take() {
            bar.finish_and_clear();
        }
    }
}
