//! Seeded RNG.
/// placeholder
#[derive(Debug, Clone)]
pub struct Rng;
