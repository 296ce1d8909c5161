//! A seeded, deterministic in-memory datagram link between peers on a virtual clock.
//!
//! The demo (and later the chaos tests) run whole rooms in one process, so the network is replaced
//! by this link: every packet gets a one-way delay of `latency ± jitter` and is lost with
//! probability `loss`. Packets are delivered in arrival-time order, so jitter reorders them just as
//! a real network would. All randomness comes from one seeded [`Rng`] drawn in send order, and time
//! is whatever the caller says it is: the same seed and the same sends give the same deliveries, on
//! every run and every platform.
//!
//! The link carries any payload type: the demo sends plain structs, the network crate will send
//! bytes.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use framelock_core::Rng;

/// Virtual time in microseconds.
pub type Micros = u64;

/// How the link treats packets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkConfig {
    /// The mean one-way delay.
    pub latency: Micros,
    /// The delay varies uniformly within `latency - jitter ..= latency + jitter` (never below 0).
    pub jitter: Micros,
    /// The probability that a packet is lost, in `0.0..=1.0`.
    pub loss: f64,
}

/// What the link did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Packets handed to [`Link::send`].
    pub sent: u64,
    /// Packets the link dropped.
    pub lost: u64,
    /// Packets handed out by [`Link::poll`].
    pub delivered: u64,
}

/// A packet arriving at its destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery<P> {
    /// The sending peer.
    pub from: usize,
    /// The receiving peer.
    pub to: usize,
    /// When it was sent.
    pub sent_at: Micros,
    /// When it arrived (at or before the `now` it was polled at).
    pub arrives_at: Micros,
    /// What it carries.
    pub payload: P,
}

/// The lossy, jittery link between all peers of a room.
#[derive(Debug)]
pub struct Link<P> {
    cfg: LinkConfig,
    rng: Rng,
    /// A packet is lost when a uniform `u64` draw is below this (`loss * 2^64`).
    loss_below: u64,
    seq: u64,
    /// Packets in flight by (arrival time, send order, index in `slab`): earliest first, ties in
    /// send order, so delivery is deterministic. The heap holds only these small keys; the
    /// packets themselves stay put in `slab` (cheaper to sift when many are in flight).
    queue: BinaryHeap<Reverse<(Micros, u64, usize)>>,
    slab: Vec<Option<Delivery<P>>>,
    /// Free entries of `slab`.
    free: Vec<usize>,
    stats: LinkStats,
}

impl<P> Link<P> {
    /// A link with these properties whose random choices are seeded by `seed`.
    pub fn new(cfg: LinkConfig, seed: u64) -> Self {
        // `as` saturates: a loss of 1.0 (or more) drops everything but the draw u64::MAX, which is
        // close enough; NaN becomes 0 (no loss). The CLI validates the range anyway.
        let loss_below = (cfg.loss * 18_446_744_073_709_551_616.0) as u64;
        Link {
            cfg,
            rng: Rng::new(seed),
            loss_below,
            seq: 0,
            queue: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            stats: LinkStats::default(),
        }
    }

    /// Sends `payload` from peer `from` to peer `to` at time `now`. Returns when it will arrive, or
    /// `None` when the link lost it.
    pub fn send(&mut self, now: Micros, from: usize, to: usize, payload: P) -> Option<Micros> {
        // Both draws happen for every packet, so the delays of later packets do not depend on
        // which earlier ones were lost.
        let lost = self.rng.next_u64() < self.loss_below;
        let arrives_at = now + self.delay();
        self.stats.sent += 1;
        if lost {
            self.stats.lost += 1;
            return None;
        }
        self.seq += 1;
        let delivery = Some(Delivery { from, to, sent_at: now, arrives_at, payload });
        let index = match self.free.pop() {
            Some(i) => {
                self.slab[i] = delivery;
                i
            }
            None => {
                self.slab.push(delivery);
                self.slab.len() - 1
            }
        };
        self.queue.push(Reverse((arrives_at, self.seq, index)));
        Some(arrives_at)
    }

    /// One draw of the one-way delay.
    fn delay(&mut self) -> Micros {
        let LinkConfig { latency, jitter, .. } = self.cfg;
        if jitter == 0 {
            return latency;
        }
        // The span 2 * jitter + 1 fits u32 for jitters up to ~35 minutes; beyond that, use the
        // full u64 (with a negligible modulo bias) rather than fail.
        let span = jitter.saturating_mul(2).saturating_add(1);
        let offset = match u32::try_from(span) {
            Ok(span) => u64::from(self.rng.below(span)),
            Err(_) => self.rng.next_u64() % span,
        };
        (latency + offset).saturating_sub(jitter)
    }

    /// The next packet that has arrived by `now` (earliest arrival first), if any.
    pub fn poll(&mut self, now: Micros) -> Option<Delivery<P>> {
        let &Reverse((arrives_at, _, index)) = self.queue.peek()?;
        if arrives_at > now {
            return None;
        }
        self.queue.pop();
        let delivery = self.slab.get_mut(index)?.take()?;
        self.free.push(index);
        self.stats.delivered += 1;
        Some(delivery)
    }

    /// How many packets are on their way.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    /// Counters of what the link did.
    pub fn stats(&self) -> LinkStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Micros = 1000;

    fn cfg(latency_ms: u64, jitter_ms: u64, loss: f64) -> LinkConfig {
        LinkConfig { latency: latency_ms * MS, jitter: jitter_ms * MS, loss }
    }

    /// One delivery as a test sees it: (payload, from, to, sent, arrives_at, polled at).
    type Seen = (u64, usize, usize, Micros, Micros, Micros);

    /// Sends `n` packets, one per millisecond between 4 peers, polling every millisecond, and
    /// returns the delivery schedule.
    fn schedule(cfg: LinkConfig, seed: u64, n: u64) -> Vec<Seen> {
        let mut link = Link::new(cfg, seed);
        let mut out = Vec::new();
        let mut now = 0;
        let mut drain = |link: &mut Link<u64>, now| {
            while let Some(d) = link.poll(now) {
                out.push((d.payload, d.from, d.to, d.sent_at, d.arrives_at, now));
            }
        };
        for i in 0..n {
            now = i * MS;
            link.send(now, (i % 4) as usize, ((i + 1) % 4) as usize, i);
            drain(&mut link, now);
        }
        while link.in_flight() > 0 {
            now += MS;
            drain(&mut link, now);
        }
        out
    }

    #[test]
    fn same_seed_same_schedule() {
        let c = cfg(80, 20, 0.1);
        let a = schedule(c, 7, 2000);
        assert_eq!(a, schedule(c, 7, 2000));
        assert_ne!(a, schedule(c, 8, 2000), "another seed gives another schedule");
        assert!(a.windows(2).any(|w| w[0].0 > w[1].0), "jitter reorders packets");
    }

    #[test]
    fn loss_fraction_is_roughly_as_configured() {
        for loss in [0.0, 0.05, 0.2, 0.5] {
            let mut link = Link::new(cfg(10, 5, loss), 42);
            let lost = (0..10_000u64).filter(|&i| link.send(i, 0, 1, ()).is_none()).count();
            let fraction = lost as f64 / 10_000.0;
            // 0.03 is more than 7 standard deviations at loss 0.5.
            assert!((fraction - loss).abs() < 0.03, "loss {loss}: lost {fraction}");
            let s = link.stats();
            assert_eq!((s.sent, s.lost), (10_000, lost as u64));
            assert_eq!(link.in_flight(), 10_000 - lost);
        }
    }

    #[test]
    fn delays_stay_within_latency_and_jitter() {
        let c = cfg(80, 20, 0.05);
        let deliveries = schedule(c, 3, 5000);
        assert!(deliveries.len() > 4500);
        for &(_, _, _, sent, arrives_at, polled) in &deliveries {
            let delay = arrives_at - sent;
            assert!(delay >= c.latency - c.jitter, "delayed by {delay} us");
            assert!(delay <= c.latency + c.jitter, "delayed by {delay} us");
            assert!(polled >= arrives_at, "handed out before it arrived");
            assert!(polled - sent >= c.latency - c.jitter, "delivered {} us after sending", polled - sent);
        }
        let delays = || deliveries.iter().map(|d| d.4 - d.3);
        assert!(delays().min() < Some(61 * MS) && delays().max() > Some(99 * MS), "the whole jitter range is used");
        assert!(deliveries.windows(2).all(|w| w[0].4 <= w[1].4), "delivered in arrival order");
    }

    #[test]
    fn never_delivered_early() {
        let mut link = Link::new(cfg(50, 10, 0.0), 1);
        let at = link.send(1000, 0, 1, "hello");
        assert!(matches!(at, Some(t) if (41_000..=61_000).contains(&t)));
        assert_eq!(link.poll(1000 + 39_999), None);
        let t = at.unwrap_or(0);
        assert_eq!(link.poll(t - 1), None);
        let d = link.poll(t);
        assert_eq!(d.map(|d| (d.from, d.to, d.payload)), Some((0, 1, "hello")));
        assert_eq!(link.poll(u64::MAX), None);
        assert_eq!(link.stats(), LinkStats { sent: 1, lost: 0, delivered: 1 });
    }

    #[test]
    fn jitter_larger_than_latency_clamps_at_zero() {
        let mut link = Link::new(cfg(1, 5, 0.0), 9);
        for _ in 0..1000 {
            let at = link.send(100, 0, 1, ());
            assert!(matches!(at, Some(t) if (100..=100 + 6 * MS).contains(&t)));
        }
    }

    #[test]
    fn full_loss_and_no_jitter() {
        let mut link = Link::new(cfg(16, 0, 1.0), 5);
        assert!((0..1000).all(|i| link.send(i, 0, 1, ()).is_none()));
        let mut link = Link::new(cfg(16, 0, 0.0), 5);
        assert!((0..1000).all(|i| link.send(i, 0, 1, ()) == Some(i + 16 * MS)));
    }
}
