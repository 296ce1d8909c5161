//! The demo's numbers: counters for the progress lines, the cross-peer checksum comparison, and
//! the final report.

use std::io::Write;

use framelock_core::{Event, Frame};

use super::peer::{Packet, Peer};
use super::{DemoArgs, DemoError, TICK_HZ};
use crate::link::Link;

/// Counters summed over all peers, for the progress lines.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Totals {
    pub(super) rollbacks: u64,
    pub(super) resimulated: u64,
    pub(super) stalls: u64,
}

pub(super) fn totals(peers: &[Peer]) -> Totals {
    peers.iter().map(|p| p.driver.session().stats()).fold(Totals::default(), |t, s| Totals {
        rollbacks: t.rollbacks + s.rollbacks,
        resimulated: t.resimulated + s.frames_resimulated,
        stalls: t.stalls + s.stalls,
    })
}

/// Compares every peer's checksum of frames `from..until` with each other.
#[derive(Debug, Default)]
pub(super) struct CrossCheck {
    /// Frames below this were compared.
    until: Frame,
    /// Frames whose checksums all peers still held and compared.
    pub(super) compared: u64,
    /// The first frame where two peers' checksums differ.
    pub(super) first_mismatch: Option<Frame>,
}

impl CrossCheck {
    pub(super) fn run(&mut self, peers: &[Peer], frames: Frame) {
        let common = peers.iter().map(|p| p.driver.session().checksummed_until()).min().unwrap_or(0).min(frames);
        while self.until < common {
            let f = self.until;
            let mut sums = peers.iter().map(|p| p.driver.session().checksum(f));
            if let Some(Some(first)) = sums.next() {
                let mut all = true;
                for s in sums {
                    match s {
                        Some(c) if c == first => {}
                        Some(_) => {
                            self.first_mismatch.get_or_insert(f);
                        }
                        None => all = false,
                    }
                }
                if all {
                    self.compared += 1;
                }
            }
            self.until += 1;
        }
    }
}

/// Prints the per-peer table and the agreement line; fails unless every peer agrees.
pub(super) fn report(
    out: &mut impl Write,
    peers: &[Peer],
    check: &CrossCheck,
    link: &Link<Packet>,
    args: &DemoArgs,
    ticks: u64,
) -> Result<(), DemoError> {
    writeln!(out)?;
    writeln!(out, "peer   frames  rollbacks  max rollback  resimulated  stalls  checksums checked  desyncs")?;
    for p in peers {
        let s = p.driver.session().stats();
        writeln!(
            out,
            "{:>4}  {:>7}  {:>9}  {:>12}  {:>11}  {:>6}  {:>17}  {:>7}",
            p.slot,
            p.driver.session().current_frame(),
            s.rollbacks,
            s.max_rollback,
            s.frames_resimulated,
            s.stalls,
            s.checksums_compared,
            s.desyncs
        )?;
    }
    let l = link.stats();
    let lost_pct = if l.sent == 0 { 0.0 } else { l.lost as f64 * 100.0 / l.sent as f64 };
    writeln!(
        out,
        "{} ticks ({:.1} s virtual), packets {} sent, {} lost ({lost_pct:.1}%), {} in flight at the end",
        ticks,
        ticks as f64 / TICK_HZ as f64,
        l.sent,
        l.lost,
        link.in_flight()
    )?;

    let mut failures = Vec::new();
    let n = peers.len();
    let common = peers.iter().map(|p| p.driver.session().checksummed_until()).min().unwrap_or(0).min(args.frames());
    match common.checked_sub(1) {
        None => {
            writeln!(out, "checksums: no frame is final on every peer")?;
            failures.push("no checksum to compare".to_string());
        }
        Some(frame) => {
            // Group the peers' checksums and report the largest group.
            let sums: Vec<Option<u64>> = peers.iter().map(|p| p.driver.session().checksum(frame)).collect();
            let (value, agree) = sums
                .iter()
                .map(|s| (*s, sums.iter().filter(|t| *t == s).count()))
                .max_by_key(|&(_, count)| count)
                .unwrap_or((None, 0));
            let verdict = if agree == n && value.is_some() { "agree" } else { "DISAGREE" };
            let value = value.map_or_else(|| "none".to_string(), |v| format!("{v:#018x}"));
            writeln!(out, "checksums {verdict}: {agree}/{n} peers at frame {frame} = {value}")?;
            if verdict != "agree" {
                failures.push(format!("checksums disagree at frame {frame}: {agree}/{n} peers agree"));
            }
        }
    }
    let remote: u64 = peers.iter().map(|p| p.driver.session().stats().checksums_compared).sum();
    let skipped: u64 = peers.iter().map(|p| p.checksums_skipped).sum();
    writeln!(
        out,
        "compared across peers: {} frames on all {n} peers; sessions compared {remote} remote checksums ({skipped} skipped)",
        check.compared
    )?;

    if let Some(f) = check.first_mismatch {
        failures.push(format!("peers' checksums first differ at frame {f}"));
    }
    for p in peers {
        if let Some(Event::Desync { frame, slot, local, remote }) = p.first_desync {
            failures.push(format!(
                "peer {} detected a desync with peer {slot} at frame {frame} (local {local:#018x}, remote {remote:#018x})",
                p.slot
            ));
        }
    }
    let desyncs: u64 = peers.iter().map(|p| p.driver.session().stats().desyncs).sum();
    if desyncs > 0 && peers.iter().all(|p| p.first_desync.is_none()) {
        failures.push(format!("sessions counted {desyncs} desyncs"));
    }
    if !peers.iter().all(|p| p.done) {
        let behind: Vec<String> = peers
            .iter()
            .filter(|p| !p.done)
            .map(|p| format!("peer {} at frame {}", p.slot, p.driver.session().current_frame()))
            .collect();
        failures.push(format!("did not finish within {ticks} ticks: {}", behind.join(", ")));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(DemoError::Failed(failures.join("; ")))
    }
}
