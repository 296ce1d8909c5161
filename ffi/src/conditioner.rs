//! The link conditioner that both network handles (the relay client, net.rs; the p2p endpoint,
//! p2p/build.rs) can put on their sends: the same six config fields, checked and applied alike.

use std::time::Duration;

use framelock_net::io::{Conditioner, UdpDriver};

use crate::error::FfiError;

/// A config's link-conditioner fields, checked; off when all are zero.
#[derive(Debug)]
pub(crate) struct Link(Option<Conditioner>);

fn per_mille(v: u32, name: &'static str) -> Result<u32, FfiError> {
    if v > 1000 {
        return Err(FfiError::Invalid(name, "must be 0..=1000 (per mille)"));
    }
    Ok(v)
}

impl Link {
    /// Checks the per-mille fields (an error names `config.<field>`).
    pub(crate) fn new(
        latency_ms: u32,
        jitter_ms: u32,
        loss_per_mille: u32,
        duplicate_per_mille: u32,
        reorder_per_mille: u32,
        seed: u64,
    ) -> Result<Link, FfiError> {
        let loss = per_mille(loss_per_mille, "config.loss_per_mille")?;
        let dup = per_mille(duplicate_per_mille, "config.duplicate_per_mille")?;
        let reorder = per_mille(reorder_per_mille, "config.reorder_per_mille")?;
        let on = latency_ms > 0 || jitter_ms > 0 || loss > 0 || dup > 0 || reorder > 0;
        Ok(Link(on.then(|| Conditioner {
            latency: Duration::from_millis(u64::from(latency_ms)),
            jitter: Duration::from_millis(u64::from(jitter_ms)),
            loss_per_mille: loss,
            duplicate_per_mille: dup,
            reorder_per_mille: reorder,
            seed,
        })))
    }

    /// Puts the conditioner (if on) on `udp`'s sends.
    pub(crate) fn apply(self, udp: &mut UdpDriver) {
        if let Some(c) = self.0 {
            udp.condition(c);
        }
    }
}
