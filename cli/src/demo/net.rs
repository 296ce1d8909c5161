//! `framelock demo --net`: the same match over real sockets on loopback — a relay and one bot per
//! player, each on its own UDP socket and thread, in real time, through the link conditioner —
//! with the relay recording the room.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use framelock_net::io::UdpDriver;

use super::{DemoArgs, DemoError};
use crate::net::{self, BotArgs};
use crate::room_log::RoomLogs;

/// The room every bot joins.
const ROOM: u64 = 1;

pub fn run(args: &DemoArgs, out: &mut impl Write) -> Result<(), DemoError> {
    let failed = |e: net::NetError| DemoError::Failed(e.0);
    let key = net::os_random_32();
    let mut driver = UdpDriver::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .map_err(|e| DemoError::Failed(format!("cannot open the relay's socket: {e}")))?;
    let addr = driver.local_addr().map_err(DemoError::Io)?;
    let players = args.players;
    let mut relay = net::new_relay(&driver, key, usize::from(players) + 4, players, args.tick_rate).map_err(failed)?;
    // The relay records into the --record file's folder; the file is renamed at the end.
    let record_dir = args
        .record
        .as_ref()
        .map(|f| f.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(".".as_ref()).to_path_buf());
    let mut logs = match &record_dir {
        Some(dir) => Some(RoomLogs::new(dir, players, args.tick_rate, args.seed).map_err(DemoError::Failed)?),
        None => None,
    };
    writeln!(
        out,
        "framelock demo --net: relay on {addr}, {players} bots over loopback, {} frames at {} Hz (~{} s), latency {}±{} ms, loss {}%",
        args.frames,
        args.tick_rate,
        args.frames / u32::from(args.tick_rate) + 1,
        args.latency_ms,
        args.jitter_ms,
        args.loss * 100.0
    )?;
    let started = Instant::now();
    let stop = AtomicBool::new(false);
    let results: Vec<Result<u64, net::NetError>> = std::thread::scope(|scope| {
        let relay_thread = scope.spawn(|| net::relay_loop(&mut driver, &mut relay, logs.as_mut(), None, &stop, true));
        let bots: Vec<_> = (0..players)
            .map(|slot| {
                let bot = BotArgs {
                    token: Default::default(),
                    slot,
                    players,
                    tick_rate: args.tick_rate,
                    frames: args.frames,
                    seed: args.seed,
                    link: net::LinkArgs {
                        loss: args.loss,
                        latency: u64::from(args.latency_ms),
                        jitter: u64::from(args.jitter_ms),
                        ..net::LinkArgs::default()
                    },
                };
                let token = net::make_token(&key, addr, ROOM, slot, 1_000 + u64::from(slot), 3_600, 5);
                scope.spawn(move || net::play(token?, &bot))
            })
            .collect();
        let results: Vec<_> = bots
            .into_iter()
            .map(|b| b.join().unwrap_or_else(|_| Err(net::NetError("a bot panicked".into()))))
            .collect();
        if results.iter().any(Result::is_err) {
            // The relay exits when its clients are gone; after a failure some may never have come.
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let relay_result = relay_thread.join().unwrap_or_else(|_| Err(net::NetError("the relay panicked".into())));
        results.into_iter().chain(relay_result.err().map(Err)).collect()
    });
    let mut checksums = Vec::new();
    for (slot, r) in results.into_iter().enumerate() {
        let checksum = r.map_err(failed)?;
        writeln!(out, "bot {slot}: frame {} checksum {checksum:#018x}", args.frames)?;
        checksums.push(checksum);
    }
    let seconds = started.elapsed().as_secs_f64();
    let io = driver.stats();
    writeln!(
        out,
        "relay: {} datagrams in, {} out; substitutes {}, late inputs {}, desyncs {}; {:.1} s",
        io.datagrams_in,
        io.datagrams_out,
        relay.room(ROOM).map_or(0, |r| r.stats().substitutes),
        relay.room(ROOM).map_or(0, |r| r.stats().late_inputs),
        relay.room(ROOM).map_or(0, |r| r.stats().desyncs),
        seconds
    )?;
    if let (Some(logs), Some(file)) = (logs, &args.record) {
        for path in logs.finish().map_err(DemoError::Failed)? {
            std::fs::rename(&path, file)
                .map_err(|e| DemoError::Failed(format!("cannot move {} to {}: {e}", path.display(), file.display())))?;
            writeln!(out, "recorded {} (check it with `framelock replay verify`)", file.display())?;
        }
    }
    if checksums.iter().all(|&c| c == checksums[0]) {
        writeln!(
            out,
            "checksums agree: {}/{} bots at frame {} = {:#018x}",
            checksums.len(),
            players,
            args.frames,
            checksums[0]
        )?;
        Ok(())
    } else {
        Err(DemoError::Failed(format!("the bots disagree at frame {}: {checksums:x?}", args.frames)))
    }
}
