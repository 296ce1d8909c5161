//! `framelock key`, `token`, `serve` and `bot`: a relay on a UDP socket and bots that play through
//! it, over real sockets (loopback in the tests), each a sans-IO state machine run by the mio driver.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use framelock_core::arena::{self, scratch_size_bound, snapshot_size_bound, Arena, ArenaParams, INPUT_SIZE};
use framelock_core::{Authority, Driver, Mode, SessionBuilder};
use framelock_net::io::{Conditioner, UdpDriver};
use framelock_net::netcode::{ConnectToken, SeededRng, ServerConfig, TokenParams, UserData};
use framelock_net::player::NetClient;
use framelock_net::relay::{Relay, RelayConfig};
use framelock_net::sync::{RoomClient, RoomConfig};

use crate::metrics;
use crate::room_log::RoomLogs;

/// The netcode protocol id of framelock rooms ("FLOCK" + format 1).
pub const PROTOCOL_ID: u64 = 0x464c_4f43_4b00_0001;

/// A failure of one of these commands.
#[derive(Debug)]
pub struct NetError(pub String);

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn fail<T>(msg: impl Into<String>) -> Result<T, NetError> {
    Err(NetError(msg.into()))
}

/// 32 bytes from the operating system's randomness (through std's randomly keyed hasher: std has
/// no public random API, and the keys of `RandomState` come from the OS).
pub fn os_random_32() -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    out
}

/// `framelock key`: writes a new private key (64 hex digits) shared by the token issuer and relays.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// Where to write the key.
    #[arg(long)]
    pub out: PathBuf,
}

/// Writes a new key file.
pub fn key(args: &KeyArgs) -> Result<(), NetError> {
    let hex: String = os_random_32().iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(&args.out, hex + "\n").or_else(|e| fail(format!("cannot write {}: {e}", args.out.display())))?;
    println!("wrote a new key to {}", args.out.display());
    Ok(())
}

fn read_key(path: &Path) -> Result<[u8; 32], NetError> {
    let text =
        std::fs::read_to_string(path).or_else(|e| fail(format!("cannot read the key file {}: {e}", path.display())))?;
    let hex = text.trim();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return fail(format!("the key file {} must hold 64 hex digits (see `framelock key`)", path.display()));
    }
    let mut key = [0u8; 32];
    for (i, k) in key.iter_mut().enumerate() {
        *k = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).or_else(|_| fail("bad hex digit in the key file"))?;
    }
    Ok(key)
}

/// `framelock token`: a connect token for one slot of one room.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The private key file (`framelock key`).
    #[arg(long)]
    pub key_file: PathBuf,
    /// The relay's address, as clients reach it.
    #[arg(long)]
    pub server: SocketAddr,
    /// The room.
    #[arg(long)]
    pub room: u64,
    /// The player slot (0..=63), or 255 for a spectator.
    #[arg(long)]
    pub slot: u8,
    /// The client's id (unique per player).
    #[arg(long)]
    pub client_id: u64,
    /// Seconds until the token expires.
    #[arg(long, default_value_t = 300)]
    pub expires: u64,
    /// Seconds without packets before a connection times out.
    #[arg(long, default_value_t = 5)]
    pub timeout: i32,
    /// Where to write the 2,048-byte token.
    #[arg(long)]
    pub out: PathBuf,
}

/// A connect token for `slot` of `room` on the relay at `server`, valid `expires` seconds.
pub fn make_token(
    key: &[u8; 32],
    server: SocketAddr,
    room: u64,
    slot: u8,
    client_id: u64,
    expires: u64,
    timeout: i32,
) -> Result<ConnectToken, NetError> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let mut rng = SeededRng::from_seed(os_random_32());
    ConnectToken::generate(
        &TokenParams {
            protocol_id: PROTOCOL_ID,
            client_id,
            create_timestamp: now,
            expire_timestamp: now.saturating_add(expires),
            timeout_seconds: timeout,
            server_addresses: &[server],
            user_data: UserData::for_room_slot(room, slot),
        },
        key,
        &mut rng,
    )
    .or_else(|e| fail(format!("cannot make the token: {e:?}")))
}

/// Writes a connect token.
pub fn token(args: &TokenArgs) -> Result<(), NetError> {
    if args.slot >= 64 && args.slot != framelock_net::relay::SPECTATOR {
        return fail("--slot must be 0..=63, or 255 for a spectator");
    }
    let key = read_key(&args.key_file)?;
    let token = make_token(&key, args.server, args.room, args.slot, args.client_id, args.expires, args.timeout)?;
    std::fs::write(&args.out, token.to_bytes())
        .or_else(|e| fail(format!("cannot write {}: {e}", args.out.display())))?;
    println!("wrote a token for room {} slot {} to {}", args.room, args.slot, args.out.display());
    Ok(())
}

/// `framelock serve`: a relay.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The UDP address to listen on (port 0 picks one; the address is printed).
    #[arg(long)]
    pub listen: SocketAddr,
    /// The private key file (`framelock key`).
    #[arg(long)]
    pub key_file: PathBuf,
    /// Player slots per room.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=64))]
    pub players: u8,
    /// Frames per second of every room.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u16).range(1..=120))]
    pub tick_rate: u16,
    /// Connections at once.
    #[arg(long, default_value_t = 64)]
    pub max_clients: usize,
    /// Exit once every client that connected has left (for scripts and tests).
    #[arg(long)]
    pub exit_when_empty: bool,
    /// The link conditioner on the relay's socket (one worker only).
    #[command(flatten)]
    pub link: LinkArgs,
    /// Worker threads sharing the port (SO_REUSEPORT); each room lives on one worker.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: u16,
    /// Serve Prometheus metrics at http://ADDR/metrics (port 0 picks one; the address is printed).
    #[arg(long)]
    pub metrics: Option<SocketAddr>,
    /// Record every room to `DIR/room-<id>.flog` (replayable with `framelock replay verify`).
    #[arg(long)]
    pub record_dir: Option<PathBuf>,
    /// The arena seed the room's bots play with (written into recordings so they replay).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Receive and send buffer of the relay's sockets in bytes (default: the system's); a larger one
    /// absorbs the burst of thousands of clients answering the same tick without kernel drops.
    #[arg(long)]
    pub socket_buffer: Option<usize>,
}

/// A relay for arena rooms of `players` slots at `tick_rate` on `driver`'s socket.
pub fn new_relay(
    driver: &UdpDriver,
    key: [u8; 32],
    max_clients: usize,
    players: u8,
    tick_rate: u16,
) -> Result<Relay, NetError> {
    let addr = driver.local_addr().or_else(|e| fail(format!("socket: {e}")))?;
    let mut rng = SeededRng::from_seed(os_random_32());
    let cfg = RelayConfig {
        netcode: ServerConfig::new(PROTOCOL_ID, key, max_clients, addr),
        room: RoomConfig {
            slots: players,
            tick_rate,
            max_input_size: INPUT_SIZE as u8,
            default_input: arena::NEUTRAL_INPUT.to_vec(),
            ..RoomConfig::default()
        },
        max_rooms: 64,
    };
    Relay::new(driver.now(), cfg, &mut rng).or_else(|e| fail(format!("relay: {e:?}")))
}

/// Runs a relay until SIGINT/SIGTERM (or, with `--exit-when-empty`, until its clients left). On a
/// signal it tells every client goodbye, finishes its recordings and exits within a second.
pub fn serve(args: &ServeArgs) -> Result<(), NetError> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, std::sync::atomic::Ordering::Relaxed))
            .or_else(|e| fail(format!("cannot handle signals: {e}")))?;
    }
    let key = read_key(&args.key_file)?;
    let conditioner = args.link.conditioner(u64::from_le_bytes(os_random_32()[..8].try_into().unwrap_or([0; 8])))?;
    if args.workers > 1 {
        if conditioner.is_some() {
            return fail("the link conditioner on the relay needs --workers 1");
        }
        return serve_workers(args, key, &stop);
    }
    let mut driver =
        UdpDriver::bind(args.listen).or_else(|e| fail(format!("cannot listen on {}: {e}", args.listen)))?;
    if let Some(c) = conditioner {
        driver.condition(c);
    }
    if let Some(bytes) = args.socket_buffer {
        driver.set_socket_buffers(bytes).or_else(|e| fail(format!("--socket-buffer {bytes}: {e}")))?;
    }
    let addr = driver.local_addr().or_else(|e| fail(format!("socket: {e}")))?;
    let mut relay = new_relay(&driver, key, args.max_clients, args.players, args.tick_rate)?;
    let mut logs = match &args.record_dir {
        Some(dir) => Some(RoomLogs::new(dir, args.players, args.tick_rate, args.seed).map_err(NetError)?),
        None => None,
    };
    println!("listening on {addr}");
    let page = match args.metrics {
        Some(m) => {
            let (page, bound) = metrics::serve(m).or_else(|e| fail(format!("cannot serve metrics on {m}: {e}")))?;
            println!("metrics on http://{bound}/metrics");
            Some(page)
        }
        None => None,
    };
    relay_loop(&mut driver, &mut relay, logs.as_mut(), page.as_ref(), &stop, args.exit_when_empty)?;
    if let Some(logs) = logs {
        for path in logs.finish().map_err(NetError)? {
            println!("recorded {}", path.display());
        }
    }
    let io = driver.stats();
    println!(
        "relay done: {} datagrams in, {} out; connects {}, disconnects {}, dropped {}",
        io.datagrams_in,
        io.datagrams_out,
        relay.server().stats().connects,
        relay.server().stats().disconnects,
        relay.server().stats().dropped_total()
    );
    Ok(())
}

/// Records a worker's rooms and publishes its counters for the metrics page, on the worker's thread.
struct ServeHook {
    logs: Option<RoomLogs>,
    published: std::sync::Arc<std::sync::Mutex<Vec<metrics::Counters>>>,
    index: usize,
    looped: metrics::LoopStats,
    next_publish: std::time::Instant,
    errors: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ServeHook {
    fn publish(&mut self, relay: &Relay, io: &framelock_net::io::IoStats) {
        if let Ok(mut p) = self.published.lock() {
            p[self.index] = metrics::Counters::of(relay, *io, &self.looped);
        }
    }

    fn fail(&mut self, e: String) {
        if let Ok(mut errors) = self.errors.lock() {
            errors.push(e);
        }
        self.logs = None;
    }
}

impl framelock_net::workers::WorkerHook for ServeHook {
    fn after_iteration(&mut self, relay: &Relay, io: &framelock_net::io::IoStats, took: Duration) {
        self.looped.tick(took);
        if let Some(Err(e)) = self.logs.as_mut().map(|l| l.record(relay)) {
            self.fail(e);
        }
        if std::time::Instant::now() >= self.next_publish {
            self.publish(relay, io);
            self.next_publish += Duration::from_secs(1);
        }
    }

    fn finish(&mut self, relay: &Relay) {
        if let Some(Err(e)) = self.logs.as_mut().map(|l| l.record(relay)) {
            self.fail(e);
        }
        match self.logs.take().map(RoomLogs::finish) {
            Some(Ok(paths)) => paths.iter().for_each(|p| println!("recorded {}", p.display())),
            Some(Err(e)) => self.fail(e),
            None => {}
        }
        if let Ok(mut p) = self.published.lock() {
            p[self.index].connections = 0;
        }
    }
}

/// `serve --workers N` (N > 1): a pool of relay loops sharing the port, each recording its own rooms,
/// their counters summed on the metrics page, until SIGINT/SIGTERM (or, with `--exit-when-empty`,
/// until the clients left).
fn serve_workers(args: &ServeArgs, key: [u8; 32], stop: &std::sync::atomic::AtomicBool) -> Result<(), NetError> {
    let workers = usize::from(args.workers);
    let cfg = RelayConfig {
        netcode: ServerConfig::new(PROTOCOL_ID, key, args.max_clients, args.listen),
        room: RoomConfig {
            slots: args.players,
            tick_rate: args.tick_rate,
            max_input_size: INPUT_SIZE as u8,
            default_input: arena::NEUTRAL_INPUT.to_vec(),
            ..RoomConfig::default()
        },
        max_rooms: 64,
    };
    let published = std::sync::Arc::new(std::sync::Mutex::new(vec![metrics::Counters::default(); workers]));
    let errors = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut hooks: Vec<Box<dyn framelock_net::workers::WorkerHook>> = Vec::new();
    for index in 0..workers {
        let logs = match &args.record_dir {
            Some(dir) => Some(RoomLogs::new(dir, args.players, args.tick_rate, args.seed).map_err(NetError)?),
            None => None,
        };
        hooks.push(Box::new(ServeHook {
            logs,
            published: published.clone(),
            index,
            looped: metrics::LoopStats::default(),
            next_publish: std::time::Instant::now(),
            errors: errors.clone(),
        }));
    }
    let seed = u64::from_le_bytes(os_random_32()[..8].try_into().unwrap_or([0; 8]));
    let opts = framelock_net::workers::WorkerOptions { socket_buffer: args.socket_buffer };
    let pool = framelock_net::workers::Workers::spawn_with(cfg, args.listen, workers, seed, hooks, opts)
        .or_else(|e| fail(format!("cannot listen on {}: {e}", args.listen)))?;
    println!("listening on {} ({workers} workers)", pool.local_addr());
    let page = match args.metrics {
        Some(m) => {
            let (page, bound) = metrics::serve(m).or_else(|e| fail(format!("cannot serve metrics on {m}: {e}")))?;
            println!("metrics on http://{bound}/metrics");
            Some(page)
        }
        None => None,
    };
    let mut was_busy = false;
    loop {
        std::thread::sleep(Duration::from_millis(20));
        let total = published.lock().map(|p| {
            let mut total = metrics::Counters::default();
            p.iter().for_each(|c| total.add(c));
            total
        });
        let Ok(total) = total else { break };
        if let Some(page) = &page {
            page.set(metrics::render(&total, crate::alloc_count::allocations()));
        }
        was_busy |= total.connections > 0;
        if args.exit_when_empty && was_busy && total.connections == 0 {
            break;
        }
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            println!("shutting down: telling every client");
            break;
        }
    }
    let reports = pool.stop().or_else(|e| fail(format!("relay worker: {e}")))?;
    for r in reports {
        println!(
            "worker {}: rooms {:?}, connects {}, forwarded {} (dropped {})",
            r.worker, r.rooms, r.connects, r.forwarded, r.inbox_dropped
        );
    }
    if let Some(e) = errors.lock().ok().and_then(|e| e.first().cloned()) {
        return fail(e);
    }
    Ok(())
}

/// Runs a relay until `stop` is set (then it tells every client goodbye) or, with
/// `exit_when_empty`, until every client that connected has left. Records rooms into `logs` and
/// renders the metrics `page` on the way.
pub fn relay_loop(
    driver: &mut UdpDriver,
    relay: &mut Relay,
    mut logs: Option<&mut RoomLogs>,
    page: Option<&metrics::Page>,
    stop: &std::sync::atomic::AtomicBool,
    exit_when_empty: bool,
) -> Result<(), NetError> {
    let mut looped = metrics::LoopStats::default();
    let mut next_render = driver.now();
    let mut was_busy = false;
    loop {
        driver.run_once(relay, Duration::from_millis(50)).or_else(|e| fail(format!("socket: {e}")))?;
        looped.tick(driver.last_work());
        let now = driver.now();
        if let Some(page) = page.filter(|_| now >= next_render) {
            let counters = metrics::Counters::of(relay, driver.stats(), &looped);
            page.set(metrics::render(&counters, crate::alloc_count::allocations()));
            next_render = now + Duration::from_secs(1);
        }
        if let Some(logs) = logs.as_deref_mut() {
            logs.record(relay).map_err(NetError)?;
        }
        let connected = relay.server().num_connected();
        was_busy |= connected > 0;
        if exit_when_empty && was_busy && connected == 0 {
            return Ok(());
        }
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            println!("shutting down: telling {connected} clients");
            let now = driver.now();
            relay.disconnect_all(now);
            driver.flush(relay, now);
            return Ok(());
        }
    }
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
    println!("bot {}: frame {} checksum {checksum:#018x}", args.slot, args.frames);
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
    loop {
        let now = driver.now();
        if now > deadline {
            return fail(format!("bot {slot}: frame {} was not final in time", args.frames));
        }
        if !client.is_connected() && now > started + Duration::from_secs(10) {
            return fail(format!("bot {slot}: could not connect ({:?})", client.connection().state()));
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
            client.disconnect(now);
            // Let the conditioner deliver what it still holds (the disconnect among it).
            let drain_until = driver.now() + Duration::from_millis(args.link.latency + 2 * args.link.jitter + 100);
            while driver.delayed() > 0 && driver.now() < drain_until {
                driver.run_once(&mut client, Duration::from_millis(5)).or_else(|e| fail(format!("socket: {e}")))?;
                driver.flush(&mut client, driver.now());
            }
            return Ok(checksum);
        }
    }
}
