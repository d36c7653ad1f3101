//! The probe's rows in memory, for callers that want the numbers without an output directory
//! (the Python binding's `depthscale.probe`): the same stage 1 ([`super::rows`]) as a run, so
//! the same seed gives the same numbers as `results.csv`.

use super::{ProbeConfig, rows};
use crate::Result;
use crate::experiment::Experiment;
use crate::progress::Progress;

/// One entry per probed column, in `results.csv`'s order (depth, hurst, draw, beta, sample),
/// stored as columns of equal length. An overflowed measurement is `+inf`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProbeTable {
    /// Depth `L` of each entry.
    pub depth: Vec<u64>,
    /// Hurst index of each entry, `None` when the config has no `hurst` grid.
    pub hurst: Option<Vec<f64>>,
    /// Scaling exponent `beta` of each entry.
    pub beta: Vec<f64>,
    /// Weight draw of each entry.
    pub draw: Vec<u64>,
    /// Input sample of each entry.
    pub sample: Vec<u64>,
    /// `||h_L|| / ||h_0||`.
    pub h_ratio: Vec<f64>,
    /// `||h_L - h_0|| / ||h_0||`.
    pub h_diff: Vec<f64>,
    /// `||p_0|| / ||p_L||`.
    pub g_ratio: Vec<f64>,
    /// `||p_L - p_0|| / ||p_L||`.
    pub g_diff: Vec<f64>,
    /// Wall-clock seconds of the probing itself (sampling and passes, no setup).
    pub seconds: f64,
}

impl ProbeConfig {
    /// Validates the config and probes every column, returning the rows in memory (what a run
    /// writes to `results.csv`, bit for bit); no file is written and no figure drawn. Stops
    /// with [`crate::Error::Interrupted`] between batches when `progress` is cancelled. The
    /// memory of the run's [`Experiment::footprint`] is checked first
    /// ([`crate::budget::check_memory`]). Runs on the default backend
    /// ([`crate::kernels::BackendChoice::default`]).
    pub fn measure(&self, progress: &dyn Progress) -> Result<ProbeTable> {
        self.validate()?;
        crate::budget::check_memory(&self.footprint()?)?;
        let plan = self.plan()?;
        let measured = rows::measure(self.seed, &plan, &Default::default(), progress)?;
        let n = measured.rows.len();
        let mut t = ProbeTable {
            hurst: self.hurst.as_ref().map(|_| Vec::with_capacity(n)),
            seconds: measured.seconds,
            ..ProbeTable::default()
        };
        for r in &measured.rows {
            t.depth.push(r.depth as u64);
            if let (Some(h), Some(v)) = (t.hurst.as_mut(), r.hurst) {
                h.push(v);
            }
            t.beta.push(r.beta);
            t.draw.push(r.draw as u64);
            t.sample.push(r.sample as u64);
            t.h_ratio.push(r.m.h_ratio);
            t.h_diff.push(r.m.h_diff);
            t.g_ratio.push(r.m.g_ratio);
            t.g_diff.push(r.m.g_diff);
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use crate::progress::Silent;

    /// A caller that has asked the work to stop.
    struct Stopped;

    impl Progress for Stopped {
        fn start(&self, _message: &str, _total: u64) {}
        fn advance(&self, _units: u64) {}
        fn cancelled(&self) -> bool {
            true
        }
    }

    fn config() -> ProbeConfig {
        let t: toml::Table = toml::from_str(
            "width = 4\nn_in = 3\ndepth = [5, 9]\nbeta = [0.5, 1.0]\ndraws = 3\nsamples = 2",
        )
        .unwrap();
        crate::experiment::typed(t).unwrap()
    }

    #[test]
    fn columns_have_one_entry_per_probe_and_a_cancelled_caller_stops_the_work() {
        let t = config().measure(&Silent).unwrap();
        let n = 2 * 3 * 2 * 2;
        for col in [&t.h_ratio, &t.h_diff, &t.g_ratio, &t.g_diff, &t.beta] {
            assert_eq!(col.len(), n);
        }
        assert_eq!(t.depth.len(), n);
        assert!(t.hurst.is_none());
        assert_eq!(&t.depth[..12], &[5; 12]);
        assert!(matches!(
            config().measure(&Stopped),
            Err(Error::Interrupted)
        ));
    }
}
