//! `framelock demo --p2p`: a peer-to-peer match without a relay — two players and a spectator
//! hosted by player 0, each on its own UDP socket and thread on loopback, in real time, through the
//! link conditioner — ending with every process's checksum of the last frame and its statistics.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Instant;

use framelock_net::io::UdpDriver;

use super::{DemoArgs, DemoError};
use crate::net::{self, LinkArgs};
use crate::p2p::{self, P2pArgs, P2pReport};

pub fn run(args: &DemoArgs, out: &mut impl Write) -> Result<(), DemoError> {
    let key = net::os_random_32();
    let mut drivers = Vec::new();
    let mut addrs = Vec::new();
    for _ in 0..3 {
        let d = UdpDriver::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .map_err(|e| DemoError::Failed(format!("cannot open a socket: {e}")))?;
        addrs.push(d.local_addr().map_err(DemoError::Io)?);
        drivers.push(d);
    }
    let frames = args.frames();
    writeln!(
        out,
        "framelock demo --p2p: 2 players ({}, {}) and a spectator ({}) over loopback, {frames} frames at {} Hz, latency {}±{} ms, loss {}%",
        addrs[0],
        addrs[1],
        addrs[2],
        args.tick_rate,
        args.latency_ms,
        args.jitter_ms,
        args.loss * 100.0
    )?;
    let base = P2pArgs {
        listen: addrs[0],
        key_file: Default::default(),
        local_slots: Vec::new(),
        peers: Vec::new(),
        spectators: Vec::new(),
        spectate: None,
        players: Some(2),
        frames,
        tick_rate: args.tick_rate,
        seed: args.seed,
        input_delay: args.input_delay,
        max_prediction: args.max_prediction,
        auto_time_sync: true,
        disconnect_timeout: 5,
        link: LinkArgs {
            loss: args.loss,
            latency: u64::from(args.latency_ms),
            jitter: u64::from(args.jitter_ms),
            ..LinkArgs::default()
        },
    };
    let roles = [
        P2pArgs { local_slots: vec![0], peers: vec![(1, addrs[1])], spectators: vec![addrs[2]], ..base.clone() },
        P2pArgs { listen: addrs[1], local_slots: vec![1], peers: vec![(0, addrs[0])], ..base.clone() },
        P2pArgs { listen: addrs[2], spectate: Some(addrs[0]), ..base },
    ];
    let started = Instant::now();
    let results: Vec<(String, Result<P2pReport, net::NetError>)> = std::thread::scope(|scope| {
        let threads: Vec<_> = drivers
            .into_iter()
            .zip(&roles)
            .map(|(driver, role)| {
                let who = p2p::who(role);
                scope.spawn(move || {
                    let r = p2p::play(driver, role, key, &mut |_| {});
                    (who, r)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|_| ("?".into(), Err(net::NetError("a peer panicked".into())))))
            .collect()
    });
    let mut checksums = Vec::new();
    for (who, r) in results {
        let report = r.map_err(|e| DemoError::Failed(format!("{who}: {e}")))?;
        writeln!(out, "{who}: frame {} checksum {:#018x}", report.frame, report.checksum)?;
        for line in &report.lines {
            writeln!(out, "  {line}")?;
        }
        checksums.push(report.checksum);
    }
    if checksums.iter().all(|&c| c == checksums[0]) {
        writeln!(
            out,
            "checksums agree: 2 players and the spectator at frame {frames} = {:#018x}; {:.1} s",
            checksums[0],
            started.elapsed().as_secs_f64()
        )?;
        Ok(())
    } else {
        Err(DemoError::Failed(format!("the peers disagree at frame {frames}: {checksums:x?}")))
    }
}
