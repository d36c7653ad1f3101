//! Where a training experiment's data comes from: the bundled `mnist-10k` or a dataset on disk,
//! with optional subsets (the config fields `dataset`, `data_dir`, `data_fingerprint`,
//! `train_samples`, `test_samples` shared by `train`, `sweep`, `weights`, `coord-check` and
//! `transfer`), and their resolution ([`resolve`]) before a run records them.

use crate::progress::Progress;
use crate::train::data::{self, Dataset, DatasetKind};
use crate::{Error, Result};
use std::path::Path;

/// Name of the bundled dataset.
pub const BUNDLED: &str = "mnist-10k";

/// Resolves the data fields of a config in place, before it is validated and recorded in
/// `config.toml`: a `data_dir` becomes absolute (canonical: the same directory reached from
/// anywhere is spelled the same), and `data_fingerprint` is set to the fingerprint of the data
/// found there ([`data::fingerprint`]: size and CRC-32 of the files read). A fingerprint the
/// config already gives (a rerun of a recorded `config.toml`) must match the data found, else
/// the run is refused naming `data_fingerprint`. The bundled `mnist-10k` has no fingerprint;
/// fields that [`DataSource::validate`] will refuse are left as they are.
pub(crate) fn resolve(
    dataset: &str,
    data_dir: &mut Option<String>,
    data_fingerprint: &mut Option<String>,
) -> Result<()> {
    let Some(dir) = data_dir.as_deref() else {
        if data_fingerprint.is_some() {
            return Err(Error::config(
                "data_fingerprint",
                "only a dataset read from `data_dir` has a fingerprint; give `data_dir` or remove `data_fingerprint`",
            ));
        }
        return Ok(());
    };
    let Ok(kind) = dataset.trim().parse::<DatasetKind>() else {
        return Ok(());
    };
    let abs = std::fs::canonicalize(dir).map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::NotFound {
            "does not exist".to_owned()
        } else {
            format!("cannot be resolved: {e}")
        };
        Error::config("data_dir", format!("{dir} {why}"))
    })?;
    let abs = abs
        .to_str()
        .ok_or_else(|| Error::config("data_dir", format!("{} is not valid UTF-8", abs.display())))?
        .to_owned();
    let found = data::fingerprint(kind, Path::new(&abs))?;
    if let Some(recorded) = data_fingerprint.as_deref()
        && recorded != found
    {
        return Err(Error::config(
            "data_fingerprint",
            format!(
                "the data in {abs} ({found}) is not the data this config was run with ({recorded}); point `data_dir` at that data, or remove `data_fingerprint` to run on this one"
            ),
        ));
    }
    *data_dir = Some(abs);
    *data_fingerprint = Some(found);
    Ok(())
}

/// Where a run's data comes from: the config fields `dataset`, `data_dir`, `train_samples`,
/// `test_samples`.
#[derive(Clone, Copy, Debug)]
pub struct DataSource<'a> {
    /// `mnist-10k` or a [`DatasetKind`] name.
    pub dataset: &'a str,
    /// Directory or archive of an on-disk dataset.
    pub data_dir: Option<&'a str>,
    /// Keep only the first `n` training images.
    pub train_samples: Option<usize>,
    /// Keep only the first `n` test images.
    pub test_samples: Option<usize>,
}

impl DataSource<'_> {
    /// The on-disk kind, `None` for the bundled set; checks `data_dir` is given exactly when
    /// needed and exists, and the subset sizes are positive.
    pub fn validate(&self) -> Result<Option<DatasetKind>> {
        for (field, n) in [
            ("train_samples", self.train_samples),
            ("test_samples", self.test_samples),
        ] {
            if n == Some(0) {
                return Err(Error::config(
                    field,
                    "must be a positive integer (>= 1), or absent for the whole set",
                ));
            }
        }
        if self.dataset.trim() == BUNDLED {
            return match self.data_dir {
                Some(_) => Err(Error::config(
                    "data_dir",
                    format!(
                        "{BUNDLED} is bundled and takes no data_dir; set dataset to mnist, fashion-mnist or cifar10 to read a directory"
                    ),
                )),
                None => Ok(None),
            };
        }
        let kind: DatasetKind = self.dataset.parse().map_err(|_| {
            Error::config(
                "dataset",
                format!(
                    "unknown dataset {:?}; accepted: {BUNDLED} (bundled), mnist, fashion-mnist, cifar10",
                    self.dataset
                ),
            )
        })?;
        let dir = self.data_dir.ok_or_else(|| {
            Error::config(
                "data_dir",
                format!(
                    "dataset {kind} is read from disk: give its directory (e.g. --data DIR; `depthscale data fetch {kind} --dir DIR` downloads it)"
                ),
            )
        })?;
        if !Path::new(dir).exists() {
            return Err(Error::config("data_dir", format!("{dir} does not exist")));
        }
        Ok(Some(kind))
    }

    /// The sizes `(n_train, n_test, n_features)` the dataset is expected to have: the nominal
    /// sizes of its format (mnist-10k 8,000 + 2,000, MNIST and Fashion-MNIST 60,000 + 10,000,
    /// CIFAR-10 50,000 + 10,000) cut to the requested subsets. Used for resource estimates
    /// before anything is read.
    pub fn expected_sizes(&self) -> (usize, usize, usize) {
        let (train, test, features) = match self.dataset.trim().parse::<DatasetKind>() {
            Ok(DatasetKind::Cifar10) => (50_000, 10_000, 3072),
            Ok(_) => (60_000, 10_000, 784),
            Err(_) => (8_000, 2_000, 784),
        };
        (
            self.train_samples.map_or(train, |n| n.min(train)),
            self.test_samples.map_or(test, |n| n.min(test)),
            features,
        )
    }

    /// Loads the dataset (a progress phase of one unit) and keeps the requested subsets.
    pub fn load(&self, progress: &dyn Progress) -> Result<Dataset> {
        let kind = self.validate()?;
        progress.start(&format!("loading {}", self.dataset.trim()), 1);
        let mut data = match (kind, self.data_dir) {
            (Some(kind), Some(dir)) => data::load(kind, Path::new(dir))?,
            _ => data::bundled_mnist()?,
        };
        progress.advance(1);
        progress.finish();
        let f = data.n_features;
        if let Some(n) = self.train_samples.filter(|&n| n < data.n_train()) {
            data.train_images.truncate(n * f);
            data.train_labels.truncate(n);
        }
        if let Some(n) = self.test_samples.filter(|&n| n < data.n_test()) {
            data.test_images.truncate(n * f);
            data.test_labels.truncate(n);
        }
        Ok(data)
    }
}
