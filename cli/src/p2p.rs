//! `framelock p2p`: one process of a peer-to-peer match (no relay) playing the reference arena
//! with scripted inputs over a UDP socket, through the optional link conditioner; prints the final
//! frame's checksum and per-peer network statistics. The protocol is docs/p2p-protocol.md.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use framelock_core::arena::{self, scratch_size_bound, snapshot_size_bound, Arena, ArenaParams, INPUT_SIZE};
use framelock_core::{checksum64, Frame, Mode};
use framelock_net::io::UdpDriver;
use framelock_net::p2p::{P2pBuilder, P2pEndpoint, P2pEvent};

use crate::net::{os_random_32, read_key, LinkArgs, NetError};

/// Options of `framelock p2p`.
#[derive(Debug, Clone, Args)]
pub struct P2pArgs {
    /// The UDP address to listen on (every peer names it in its --peer).
    #[arg(long)]
    pub listen: SocketAddr,
    /// The session key file (`framelock key`), the same for every process of the match.
    #[arg(long)]
    pub key_file: PathBuf,
    /// A slot played here (repeat for several local players).
    #[arg(long = "local-slot")]
    pub local_slots: Vec<u8>,
    /// A slot played elsewhere: SLOT=ADDR (repeat for every other slot).
    #[arg(long = "peer", value_parser = parse_peer)]
    pub peers: Vec<(u8, SocketAddr)>,
    /// Host a spectator at this address (repeatable; players only).
    #[arg(long = "spectator")]
    pub spectators: Vec<SocketAddr>,
    /// Watch the match as a spectator of the player at this address (no --local-slot or --peer).
    #[arg(long)]
    pub spectate: Option<SocketAddr>,
    /// Player slots (default: the slots named by --local-slot and --peer; a spectator must say).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=64))]
    pub players: Option<u8>,
    /// Play until this frame's checksum is final.
    #[arg(long, default_value_t = 600)]
    pub frames: u32,
    /// Frames per second.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub tick_rate: u16,
    /// The arena and scripted inputs seed (the same for every process).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Frames between a local input and the frame it is for.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=32))]
    pub input_delay: u32,
    /// Frames played ahead of the confirmed inputs (0: lockstep).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(0..=64))]
    pub max_prediction: u32,
    /// Stretch frames slightly while ahead of the peers, instead of only recommending a wait.
    #[arg(long)]
    pub auto_time_sync: bool,
    /// Seconds without a datagram from a peer before it is disconnected.
    #[arg(long, default_value_t = 5)]
    pub disconnect_timeout: u64,
    /// The link conditioner on this process's socket.
    #[command(flatten)]
    pub link: LinkArgs,
}

fn parse_peer(s: &str) -> Result<(u8, SocketAddr), String> {
    let (slot, addr) = s.split_once('=').ok_or_else(|| format!("`{s}` is not SLOT=ADDR"))?;
    let slot = slot.trim().parse::<u8>().map_err(|_| format!("`{slot}` is not a slot number"))?;
    let addr =
        addr.trim().parse::<SocketAddr>().map_err(|_| format!("`{addr}` is not an address like 1.2.3.4:7000"))?;
    Ok((slot, addr))
}

fn fail<T>(msg: impl Into<String>) -> Result<T, NetError> {
    Err(NetError(msg.into()))
}

/// What one process ends with.
#[derive(Debug)]
pub struct P2pReport {
    /// The final frame.
    pub frame: Frame,
    /// Its checksum.
    pub checksum: u64,
    /// Network statistics, one line per peer, and the drops.
    pub lines: Vec<String>,
}

/// `framelock p2p`.
pub fn p2p(args: &P2pArgs) -> Result<(), NetError> {
    let key = read_key(&args.key_file)?;
    let driver = UdpDriver::bind(args.listen).or_else(|e| fail(format!("cannot listen on {}: {e}", args.listen)))?;
    let who = who(args);
    let report = play(driver, args, key, &mut |line| println!("{who}: {line}"))?;
    println!("{who}: frame {} checksum {:#018x}", report.frame, report.checksum);
    for line in &report.lines {
        println!("{who}: {line}");
    }
    Ok(())
}

/// How a process names itself in its output.
pub fn who(args: &P2pArgs) -> String {
    match args.local_slots.as_slice() {
        [] => "spectator".to_string(),
        slots => format!("p2p {}", slots.iter().map(u8::to_string).collect::<Vec<_>>().join("+")),
    }
}

/// The arena every process plays, and the simulation id all must share.
fn arena(args: &P2pArgs, players: u8) -> (ArenaParams, u64) {
    let params = ArenaParams { players, seed: args.seed, ..ArenaParams::default() };
    let mut id = arena::SIMULATION_ID.as_bytes().to_vec();
    id.extend_from_slice(&arena::encode_params(&params));
    (params, checksum64(&id))
}

fn endpoint(driver: &UdpDriver, args: &P2pArgs, key: [u8; 32]) -> Result<P2pEndpoint<Arena>, NetError> {
    let named = args.local_slots.iter().chain(args.peers.iter().map(|p| &p.0)).max().map(|&s| s + 1);
    let players = match (args.players, named, args.spectate) {
        (Some(p), _, _) => p,
        (None, Some(n), None) => n,
        _ => return fail("a spectator needs --players"),
    };
    let (params, sim_id) = arena(args, players);
    let mode = match args.max_prediction {
        0 => Mode::Lockstep,
        n => Mode::Rollback { max_prediction: n },
    };
    let mut b = P2pBuilder::new(usize::from(players), INPUT_SIZE)
        .key(key)
        .rng_seed(os_random_32())
        .tick_rate(args.tick_rate)
        .simulation_id(sim_id)
        .mode(mode)
        .input_delay(args.input_delay)
        .auto_time_sync(args.auto_time_sync)
        .default_input(&arena::NEUTRAL_INPUT)
        .disconnect_timeout(Duration::from_secs(args.disconnect_timeout.max(1)))
        .max_snapshot_size(snapshot_size_bound(&params))
        .frame_arena_size(scratch_size_bound(&params));
    if let Some(host) = args.spectate {
        b = b.spectate(host);
    }
    for &s in &args.local_slots {
        b = b.local_slot(usize::from(s));
    }
    for &(s, a) in &args.peers {
        b = b.remote_slot(usize::from(s), a);
    }
    for &a in &args.spectators {
        b = b.spectator(a);
    }
    let sim = Arena::new(params).or_else(|e| fail(format!("arena: {e}")))?;
    b.build(driver.now(), sim).or_else(|e| fail(e.to_string()))
}

/// Plays on `driver` until `args.frames` is final here and every peer has what it needs from this
/// process (its inputs, a spectator its frames), then returns the checksum and statistics.
/// `log` gets the notable events as they happen.
pub fn play(
    mut driver: UdpDriver,
    args: &P2pArgs,
    key: [u8; 32],
    log: &mut dyn FnMut(String),
) -> Result<P2pReport, NetError> {
    let seed = u64::from_le_bytes(os_random_32()[..8].try_into().unwrap_or([0; 8]));
    if let Some(c) = args.link.conditioner(seed)? {
        driver.condition(c);
    }
    let mut ep = endpoint(&driver, args, key)?;
    let period = Duration::from_secs(1) / u32::from(args.tick_rate);
    let started = driver.now();
    let sync_deadline = started + Duration::from_secs(30);
    let deadline = started + Duration::from_secs(30) + period * (3 * args.frames + 600);
    let mut ticks = 0u32;
    let mut done_at = None;
    let local: Vec<usize> = args.local_slots.iter().map(|&s| usize::from(s)).collect();
    let mut input = vec![0u8; local.len() * INPUT_SIZE];
    let mut result = None;
    loop {
        let now = driver.now();
        if now > deadline || (!ep.is_running() && now > sync_deadline) {
            let what = if ep.is_running() { "was not final in time" } else { "never synchronized" };
            return fail(format!("frame {}: {what}", args.frames));
        }
        let wait = ep.next_tick().map_or(Duration::from_millis(10), |t| t.saturating_sub(now));
        driver.run_once(&mut ep, wait.min(Duration::from_millis(10))).or_else(|e| fail(format!("socket: {e}")))?;
        let mut behind = 0;
        while ep.next_tick().is_some_and(|t| t <= driver.now()) && behind < 8 {
            behind += 1;
            ticks += 1;
            for (k, &s) in local.iter().enumerate() {
                input[k * INPUT_SIZE..(k + 1) * INPUT_SIZE]
                    .copy_from_slice(&arena::scripted_input(args.seed, s, ticks));
            }
            let now = driver.now();
            ep.tick(now, &input).or_else(|e| fail(e.to_string()))?;
            driver.flush(&mut ep, now);
        }
        while let Some(e) = ep.poll_event() {
            match e {
                P2pEvent::Synchronizing { .. } | P2pEvent::Synchronized { .. } => {}
                P2pEvent::Desync { .. } | P2pEvent::ConfigMismatch { .. } => return fail(format!("{e:?}")),
                e => log(format!("{e:?}")),
            }
        }
        let session = ep.driver().session();
        if result.is_none() && session.checksummed_until() > args.frames {
            result = session.checksum(args.frames);
            done_at = Some(driver.now());
        }
        // Linger until every peer acknowledged what it needs from here (or 5 s passed: it is gone).
        if let (Some(checksum), Some(at)) = (result, done_at) {
            let now = driver.now();
            let served = args.spectate.is_some()
                || ep.peers().all(|p| {
                    ep.peer_stats(p.index, now).is_none_or(|s| s.acknowledged > args.frames || s.disconnected)
                });
            if served || now > at + Duration::from_secs(5) {
                let mut lines = Vec::new();
                for p in ep.peers() {
                    if let Some(s) = ep.peer_stats(p.index, now) {
                        lines.push(format!(
                            "peer {} rtt {} ms, {} kbps out, {} kbps in, send queue {}, frame advantage local {} remote {}, datagrams sent {} received {} lost {} duplicated {}",
                            p.addr, s.rtt_ms, s.kbps_sent, s.kbps_received, s.send_queue, s.local_frame_advantage,
                            s.remote_frame_advantage, s.packets_sent, s.packets_received, s.packets_lost, s.packets_duplicated
                        ));
                    }
                }
                let st = ep.driver().session().stats();
                lines.push(format!(
                    "session: {} frames, {} resimulated, {} stalls; drops {:?}; conditioner dropped {}",
                    st.frames_advanced,
                    st.frames_resimulated,
                    st.stalls,
                    ep.drops(),
                    driver.stats().conditioner_dropped
                ));
                // Let the conditioner deliver what it still holds.
                let drain_until = driver.now() + Duration::from_millis(args.link.latency + 2 * args.link.jitter + 50);
                while driver.delayed() > 0 && driver.now() < drain_until {
                    driver.run_once(&mut ep, Duration::from_millis(5)).or_else(|e| fail(format!("socket: {e}")))?;
                }
                return Ok(P2pReport { frame: args.frames, checksum, lines });
            }
        }
    }
}
