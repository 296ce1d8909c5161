//! A keyed hash for the server's lookup tables (address → connection, client id → slot, token MAC →
//! entry). The keys come from the server's RNG, so an attacker who picks source addresses cannot aim
//! at one bucket; tables are never iterated, so the hash has no effect on any order.

use std::hash::{BuildHasher, Hasher};

use rand_core::RngCore;

/// Builds [`KeyedHasher`]s with two random keys.
#[derive(Debug, Clone, Copy)]
pub struct KeyedState {
    k0: u64,
    k1: u64,
}

impl KeyedState {
    /// Keys drawn from `rng`.
    pub fn new(rng: &mut impl RngCore) -> Self {
        KeyedState { k0: rng.next_u64(), k1: rng.next_u64() | 1 }
    }
}

impl BuildHasher for KeyedState {
    type Hasher = KeyedHasher;
    fn build_hasher(&self) -> KeyedHasher {
        KeyedHasher { state: self.k0, k1: self.k1 }
    }
}

/// A folded-multiply hash (the construction of foldhash/ahash's fallback) seeded with secret keys.
#[derive(Debug, Clone, Copy)]
pub struct KeyedHasher {
    state: u64,
    k1: u64,
}

fn fold(a: u64, b: u64) -> u64 {
    let p = u128::from(a).wrapping_mul(u128::from(b));
    (p as u64) ^ ((p >> 64) as u64)
}

impl Hasher for KeyedHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(w) ^ (rest.len() as u64) << 59);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    fn write_u16(&mut self, i: u16) {
        self.write_u64(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.state = fold(self.state ^ i, self.k1 ^ 0x243f_6a88_85a3_08d3);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn finish(&self) -> u64 {
        fold(self.state, self.k1 ^ 0x1319_8a2e_0370_7344).rotate_left(23)
    }
}
