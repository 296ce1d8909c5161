//! `framelock bot`: a player of the reference simulation with scripted inputs, through a relay over
//! a real UDP socket (with an optional link conditioner). It always leaves with the connection
//! layer's redundant disconnect, and says how its connection ended when it did not finish.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use framelock_core::arena::{self, scratch_size_bound, snapshot_size_bound, Arena, ArenaParams, INPUT_SIZE};
use framelock_core::{Authority, Driver, Mode, SessionBuilder};
use framelock_net::io::{Conditioner, UdpDriver};
use framelock_net::netcode::{ClientState, ConnectToken};
use framelock_net::player::NetClient;
use framelock_net::sync::RoomClient;

use crate::net::{say, NetError};

fn fail<T>(msg: impl Into<String>) -> Result<T, NetError> {
    Err(NetError(msg.into()))
}

/// `framelock bot`: a player running the reference simulation with scripted inputs.
#[derive(Debug, Args)]
pub struct BotArgs {
    /// The connect token file (`framelock token`).
    #[arg(long)]
    pub token: PathBuf,
    /// The slot the token is for (the token's slot is encrypted for the relay).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=63))]
    pub slot: u8,
    /// Player slots in the room (as the relay was started with).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=64))]
    pub players: u8,
    /// The room's frame rate (as the relay was started with).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u16).range(1..=120))]
    pub tick_rate: u16,
    /// Play until this frame's checksum is final, print it, and leave.
    #[arg(long, default_value_t = 1_000)]
    pub frames: u32,
    /// Seed of the arena and of the bot's inputs (the same for every bot of a room).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The link conditioner on the bot's socket.
    #[command(flatten)]
    pub link: LinkArgs,
}

/// A seeded link conditioner on a socket's send path (bots and the relay).
#[derive(Debug, Clone, Default, Args)]
pub struct LinkArgs {
    /// Link conditioner: fraction of sent datagrams lost (0..=1).
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
    /// Link conditioner: added one-way latency in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency: u64,
    /// Link conditioner: latency varies by up to this many milliseconds.
    #[arg(long, default_value_t = 0)]
    pub jitter: u64,
    /// Link conditioner: fraction of sent datagrams sent twice (0..=1).
    #[arg(long, default_value_t = 0.0)]
    pub duplicate: f64,
    /// Link conditioner: fraction of sent datagrams held back by one more jitter (reordering, 0..=1).
    #[arg(long, default_value_t = 0.0)]
    pub reorder: f64,
}

impl LinkArgs {
    /// The conditioner these options describe (`None`: a plain socket), seeded with `seed`.
    pub fn conditioner(&self, seed: u64) -> Result<Option<Conditioner>, NetError> {
        for (name, v) in [("--loss", self.loss), ("--duplicate", self.duplicate), ("--reorder", self.reorder)] {
            if !(0.0..=1.0).contains(&v) {
                return fail(format!("{name} must be between 0 and 1"));
            }
        }
        let idle = self.loss == 0.0 && self.duplicate == 0.0 && self.reorder == 0.0;
        if idle && self.latency == 0 && self.jitter == 0 {
            return Ok(None);
        }
        Ok(Some(Conditioner {
            latency: Duration::from_millis(self.latency),
            jitter: Duration::from_millis(self.jitter),
            loss_per_mille: (self.loss * 1000.0) as u32,
            duplicate_per_mille: (self.duplicate * 1000.0) as u32,
            reorder_per_mille: (self.reorder * 1000.0) as u32,
            seed,
        }))
    }
}

/// Plays until `--frames` is final and prints its checksum.
pub fn bot(args: &BotArgs) -> Result<(), NetError> {
    let bytes =
        std::fs::read(&args.token).or_else(|e| fail(format!("cannot read the token {}: {e}", args.token.display())))?;
    let token = ConnectToken::read(&bytes)
        .or_else(|e| fail(format!("{} is not a connect token: {e:?}", args.token.display())))?;
    let checksum = play(token, args)?;
    say!("bot {}: frame {} checksum {checksum:#018x}", args.slot, args.frames);
    Ok(())
}

/// Plays `args.slot` with `token` until frame `args.frames` is final, leaves, and returns that
/// frame's checksum (`args.token` is not read).
pub fn play(token: ConnectToken, args: &BotArgs) -> Result<u64, NetError> {
    let conditioner = args.link.conditioner(args.seed ^ u64::from(args.slot) << 32)?;
    let params = ArenaParams { players: args.players, seed: args.seed, ..ArenaParams::default() };
    let slot = usize::from(args.slot);
    if slot >= usize::from(args.players) {
        return fail("--slot must be below --players");
    }
    let session = SessionBuilder::new(usize::from(args.players))
        .local_slot(slot)
        .authority(Authority::Relay)
        .mode(Mode::Rollback { max_prediction: 16 })
        .max_input_size(INPUT_SIZE)
        .default_input(&arena::NEUTRAL_INPUT)
        .input_delay(2)
        .max_snapshot_size(snapshot_size_bound(&params))
        .frame_arena_size(scratch_size_bound(&params))
        .build()
        .or_else(|e| fail(e.to_string()))?;
    let sim = Arena::new(params).or_else(|e| fail(format!("arena: {e}")))?;
    let bind: SocketAddr = if token.server_addresses().first().is_some_and(SocketAddr::is_ipv6) {
        SocketAddr::from(([0u16; 8], 0))
    } else {
        SocketAddr::from(([0, 0, 0, 0], 0))
    };
    let mut driver = UdpDriver::bind(bind).or_else(|e| fail(format!("socket: {e}")))?;
    if let Some(c) = conditioner {
        driver.condition(c);
    }
    let mut client = NetClient::new(driver.now(), token, RoomClient::new(Driver::new(session, sim), slot, 30));
    let period = Duration::from_micros(1_000_000 / u64::from(args.tick_rate));
    let started = driver.now();
    let deadline = started + Duration::from_secs(20) + period * (args.frames + 600);
    let mut next_tick = started;
    let mut ticks = 0u32;
    let mut was_connected = false;
    loop {
        let now = driver.now();
        let state = client.connection().state();
        was_connected |= client.is_connected();
        if now > deadline {
            leave(&mut driver, &mut client, &args.link)?;
            return fail(format!("bot {slot}: frame {} was not final in time", args.frames));
        }
        if was_connected && !client.is_connected() {
            let frame = client.room().driver().session().checksummed_until();
            return fail(format!(
                "bot {slot}: the relay ended the connection ({}) with frames below {frame} final, before frame {}",
                ended(state),
                args.frames
            ));
        }
        if state == ClientState::ConnectionDenied {
            return fail(format!(
                "bot {slot}: the relay refused the connection (the slot is taken, no room is left, the match is \
                 over or the relay is draining)"
            ));
        }
        if !was_connected && (state.is_error() || now > started + Duration::from_secs(10)) {
            return fail(format!("bot {slot}: could not connect ({state:?})"));
        }
        driver
            .run_once(&mut client, next_tick.saturating_sub(now).min(Duration::from_millis(10)))
            .or_else(|e| fail(format!("socket: {e}")))?;
        let now = driver.now();
        // A bot that fell behind (a slow machine, a debug build) plays the missed ticks at once,
        // a few at a time, so its frame keeps pace with the relay's clock.
        let mut behind = 0;
        while now >= next_tick && behind < 8 {
            next_tick += period;
            behind += 1;
            if client.is_connected() {
                ticks += 1;
                let input = arena::scripted_input(args.seed, slot, ticks);
                client.tick(now, &input).or_else(|e| fail(format!("bot {slot}: {e}")))?;
                driver.flush(&mut client, now);
            }
        }
        let session = client.room().driver().session();
        if session.checksummed_until() > args.frames {
            let checksum = session.checksum(args.frames).unwrap_or(0);
            leave(&mut driver, &mut client, &args.link)?;
            return Ok(checksum);
        }
    }
}

/// How a connection that was up ended, in words.
fn ended(state: ClientState) -> &'static str {
    match state {
        ClientState::ConnectionTimedOut => "the relay stopped answering",
        ClientState::Disconnected => "the relay said goodbye: its match ended, it shut down, or it refused the slot",
        _ => "the connection failed",
    }
}

/// Leaves: the connection layer's redundant disconnect packets go out now (through the link
/// conditioner, if any, which is then given time to deliver what it holds).
fn leave<S: framelock_core::Simulation>(
    driver: &mut UdpDriver,
    client: &mut NetClient<S>,
    link: &LinkArgs,
) -> Result<(), NetError> {
    let now = driver.now();
    client.disconnect(now);
    driver.flush(client, now);
    let drain_until = now + Duration::from_millis(link.latency + 2 * link.jitter + 100);
    while driver.delayed() > 0 && driver.now() < drain_until {
        driver.run_once(client, Duration::from_millis(5)).or_else(|e| fail(format!("socket: {e}")))?;
        driver.flush(client, driver.now());
    }
    Ok(())
}
