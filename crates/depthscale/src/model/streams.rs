//! The one convention for the random streams of a network draw.
//!
//! Every tensor of a freshly drawn network, and the inputs and targets it is probed with, has a
//! stream of its own:
//!
//! ```text
//! rng::stream(seed, &[c_1, .., c_k, TAG_INIT, s])
//! ```
//!
//! where `c_1..c_k` are the coordinates of the draw inside its experiment (none for a training
//! run, whose seed is the run's own; `(depth, hurst bits, draw)` for an initialization probe)
//! and `s` the [`DrawStream`] number: `A` 0, `V` 1, `B` 2, `W` 3, biases 4, inputs `x` 5,
//! targets `y` 6. So changing the law of `V` changes no other tensor, adding `W` (res1 to
//! res3) changes neither `A`, `V` nor `B`, and the inputs do not depend on the network's shape
//! or laws.

use crate::rng;

/// Stream tag of a network's initial draws (`"init"`).
pub const TAG_INIT: u64 = 0x696e_6974;

/// The most coordinates a draw can have.
const MAX_COORDS: usize = 6;

/// Which of a network draw's independent random streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrawStream {
    /// The embedding `A`.
    Embed = 0,
    /// The residual weights `V_1..V_L`.
    V = 1,
    /// The readout `B`.
    Readout = 2,
    /// The inner weights `W_1..W_L`.
    W = 3,
    /// The biases.
    Bias = 4,
    /// Inputs `x`.
    Inputs = 5,
    /// Targets `y`.
    Targets = 6,
}

/// The streams of one network draw: `seed` and the draw's coordinates (see the module doc).
#[derive(Clone, Copy, Debug)]
pub struct NetworkStreams {
    seed: u64,
    tags: [u64; MAX_COORDS + 2],
    coords: usize,
}

impl NetworkStreams {
    /// The streams of the draw at `coords` (at most 6 of them) of an experiment seeded by
    /// `seed`.
    ///
    /// # Panics
    /// With more than 6 coordinates.
    pub fn new(seed: u64, coords: &[u64]) -> Self {
        assert!(
            coords.len() <= MAX_COORDS,
            "a network draw has at most {MAX_COORDS} coordinates"
        );
        let mut tags = [0; MAX_COORDS + 2];
        tags[..coords.len()].copy_from_slice(coords);
        tags[coords.len()] = TAG_INIT;
        Self {
            seed,
            tags,
            coords: coords.len(),
        }
    }

    /// The generator of stream `which`.
    pub fn stream(&self, which: DrawStream) -> rng::Rng {
        let mut tags = self.tags;
        tags[self.coords + 1] = which as u64;
        rng::stream(self.seed, &tags[..self.coords + 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    #[test]
    fn streams_follow_the_documented_tags() {
        let first = |mut r: rng::Rng| r.random::<u64>();
        let s = NetworkStreams::new(7, &[1000, 3]);
        assert_eq!(
            first(s.stream(DrawStream::W)),
            first(rng::stream(7, &[1000, 3, TAG_INIT, 3]))
        );
        let t = NetworkStreams::new(7, &[]);
        assert_eq!(
            first(t.stream(DrawStream::Embed)),
            first(rng::stream(7, &[TAG_INIT, 0]))
        );
        // every stream of a draw is distinct
        let all = [
            DrawStream::Embed,
            DrawStream::V,
            DrawStream::Readout,
            DrawStream::W,
            DrawStream::Bias,
            DrawStream::Inputs,
            DrawStream::Targets,
        ]
        .map(|k| first(s.stream(k)));
        for i in 0..all.len() {
            for j in 0..i {
                assert_ne!(all[i], all[j]);
            }
        }
    }
}
