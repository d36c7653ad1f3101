//! Training deep ResNets on real data: datasets, loss, optimizer and schedule, trainer, sweeps.

pub mod data;
