//! `framelock demo` (unless `--in-process`): the match over real sockets on loopback — a relay and one bot per
//! player, each on its own UDP socket and thread, in real time, through the link conditioner —
//! with the relay recording the room.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use framelock_core::arena::{scratch_size_bound, snapshot_size_bound, Arena, ArenaParams};
use framelock_core::replay::{LogReader, Replay, VerifyReport};
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
    // The relay records the room into the --record file's folder (default: the temp folder); the
    // file is renamed at the end and then verified by replaying it.
    let record = args.record.clone().unwrap_or_else(|| std::env::temp_dir().join("framelock-demo.flog"));
    let record_dir = record.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(".".as_ref()).to_path_buf();
    let mut logs = Some(RoomLogs::new(&record_dir, players, args.tick_rate, args.seed).map_err(DemoError::Failed)?);
    writeln!(
        out,
        "framelock demo: relay on {addr}, {players} bots over loopback, {} frames at {} Hz (~{} s), latency {}±{} ms, loss {}%",
        args.frames(),
        args.tick_rate,
        args.frames() / u32::from(args.tick_rate) + 1,
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
                    frames: args.frames(),
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
        writeln!(out, "bot {slot}: frame {} checksum {checksum:#018x}", args.frames())?;
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
    if let Some(logs) = logs {
        for path in logs.finish().map_err(DemoError::Failed)? {
            std::fs::rename(&path, &record).map_err(|e| {
                DemoError::Failed(format!("cannot move {} to {}: {e}", path.display(), record.display()))
            })?;
            let report = verify(&record, players, args.seed)?;
            writeln!(
                out,
                "recorded {}: {} frames; replayed, {} recorded checksums match (`framelock replay verify` checks it again)",
                record.display(),
                report.frames,
                report.checksums_verified
            )?;
        }
    }
    if checksums.iter().all(|&c| c == checksums[0]) {
        writeln!(
            out,
            "checksums agree: {}/{} bots at frame {} = {:#018x}",
            checksums.len(),
            players,
            args.frames(),
            checksums[0]
        )?;
        Ok(())
    } else {
        Err(DemoError::Failed(format!("the bots disagree at frame {}: {checksums:x?}", args.frames())))
    }
}

/// Replays the relay's recording of the room with the reference simulation.
fn verify(path: &std::path::Path, players: u8, seed: u64) -> Result<VerifyReport, DemoError> {
    let bytes = std::fs::read(path).map_err(DemoError::Io)?;
    let failed = |e: framelock_core::Error| DemoError::Failed(format!("{}: {e}", path.display()));
    let log = LogReader::parse(&bytes).map_err(failed)?;
    let params = ArenaParams { players, seed, ..ArenaParams::default() };
    let mut arena = Arena::new(params).map_err(DemoError::Sim)?;
    Replay::new(&log)
        .max_snapshot_size(snapshot_size_bound(&params))
        .frame_arena_size(scratch_size_bound(&params))
        .verify(&mut arena, &mut |_| {})
        .map_err(failed)
}
