//! `framelock key`, `token`, `serve` and `bot`: a relay on a UDP socket and bots that play through
//! it, over real sockets (loopback in the tests), each a sans-IO state machine run by the mio driver.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use clap::Args;
use framelock_core::arena::{self, INPUT_SIZE};
use framelock_net::io::UdpDriver;
use framelock_net::netcode::{ConnectToken, SeededRng, ServerConfig, TokenParams, UserData};
use framelock_net::relay::{Relay, RelayConfig};
use framelock_net::sync::RoomConfig;

pub use crate::bot::{bot, play, BotArgs, LinkArgs};
use crate::metrics;
use crate::room_log::RoomLogs;

/// `println!` that ignores a closed or broken stdout: a relay keeps relaying (and a bot keeps
/// playing) when whoever read its output went away.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}
pub(crate) use say;

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
    say!("wrote a new key to {}", args.out.display());
    Ok(())
}

pub(crate) fn read_key(path: &Path) -> Result<[u8; 32], NetError> {
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
    /// The relay's address as clients reach it (HOST:PORT, one of its `--public-address`es); repeat
    /// it for a relay with several (a client tries them in order, at most 32).
    #[arg(long, required = true)]
    pub server: Vec<String>,
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

/// Every address `HOST:PORT` names (an IP address, or a name resolved now), for `option`.
pub fn resolve(spec: &str, option: &str) -> Result<Vec<SocketAddr>, NetError> {
    use std::net::ToSocketAddrs;
    if let Ok(addr) = spec.parse::<SocketAddr>() {
        return Ok(vec![addr]);
    }
    let addrs: Vec<SocketAddr> = spec
        .to_socket_addrs()
        .or_else(|e| fail(format!("{option} {spec}: not an address HOST:PORT that resolves ({e})")))?
        .collect();
    if addrs.is_empty() {
        return fail(format!("{option} {spec}: resolves to no address"));
    }
    Ok(addrs)
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
    make_token_for(key, &[server], room, slot, client_id, expires, timeout)
}

/// A connect token for `slot` of `room` on the relay reachable at `servers` (tried in order).
pub fn make_token_for(
    key: &[u8; 32],
    servers: &[SocketAddr],
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
            server_addresses: servers,
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
    let mut servers = Vec::new();
    for spec in &args.server {
        servers.extend(resolve(spec, "--server")?);
    }
    let token = make_token_for(&key, &servers, args.room, args.slot, args.client_id, args.expires, args.timeout)?;
    std::fs::write(&args.out, token.to_bytes())
        .or_else(|e| fail(format!("cannot write {}: {e}", args.out.display())))?;
    say!("wrote a token for room {} slot {} to {}", args.room, args.slot, args.out.display());
    Ok(())
}

/// `framelock serve`: a relay.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The UDP address to listen on: any address, `0.0.0.0:P` and `[::]:P` included (port 0 picks
    /// one; the address is printed).
    #[arg(long)]
    pub listen: SocketAddr,
    /// An address clients reach the relay at, HOST:PORT (repeatable): connect tokens must name one
    /// of them. Port 0 means the port the relay listens on. Default: the `--listen` address, which
    /// must then not be a wildcard.
    #[arg(long)]
    pub public_address: Vec<String>,
    /// On the first SIGTERM or SIGINT the relay drains: it opens no new room, lets running rooms
    /// finish for up to this many seconds, then says goodbye to every client and exits. A second
    /// signal exits at once.
    #[arg(long, default_value_t = 30)]
    pub drain_secs: u64,
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
    /// Rooms open at once (per worker). Default: as many as `--room-memory-mib` holds (see
    /// docs/deploy.md for the per-room arithmetic).
    #[arg(long)]
    pub max_rooms: Option<usize>,
    /// The memory budget that sizes the default `--max-rooms`, in MiB (per worker).
    #[arg(long, default_value_t = 1024)]
    pub room_memory_mib: u64,
    /// A room with nobody connected is freed (its recording closed) after this many seconds.
    #[arg(long, default_value_t = 30)]
    pub room_idle_secs: u64,
    /// A match ends once its room has closed this many frames (0: never by length); the room is
    /// then freed and its recording ends at that frame.
    #[arg(long, default_value_t = 0)]
    pub match_frames: u32,
    /// Closed frames each room keeps for resending and for clients that come back (a power of two,
    /// 16..=65536); a client further behind starts from a snapshot another player sends.
    #[arg(long, default_value_t = 4096)]
    pub history: u32,
    /// Receive and send buffer of the relay's sockets in bytes (default: the system's); a larger one
    /// absorbs the burst of thousands of clients answering the same tick without kernel drops.
    #[arg(long)]
    pub socket_buffer: Option<usize>,
}

/// Heap bytes a room's recording takes besides the room: the log writer's chunk buffer (64 KiB of
/// frames plus room for 512 checksums) and its checksum list, rounded up.
const RECORDING_BYTES: usize = 80 * 1024;

/// The relay settings `args` describe, the connection layer public at `public`.
fn relay_config(args: &ServeArgs, key: [u8; 32], public: Vec<SocketAddr>) -> Result<RelayConfig, NetError> {
    let mut netcode = ServerConfig::new(PROTOCOL_ID, key, args.max_clients, SocketAddr::from(([0, 0, 0, 0], 0)));
    netcode.public_addresses = public;
    let room = RoomConfig {
        slots: args.players,
        tick_rate: args.tick_rate,
        max_input_size: INPUT_SIZE as u8,
        default_input: arena::NEUTRAL_INPUT.to_vec(),
        history: args.history,
        ..RoomConfig::default()
    };
    let per_room = framelock_net::relay::room_bytes(&room) + RECORDING_BYTES;
    let budget = usize::try_from(args.room_memory_mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
    let max_rooms = args.max_rooms.unwrap_or_else(|| (budget / per_room).clamp(1, framelock_net::relay::MAX_ROOMS));
    let cfg = RelayConfig {
        max_rooms,
        room_idle: Duration::from_secs(args.room_idle_secs),
        match_frames: args.match_frames,
        ..RelayConfig::new(netcode, room)
    };
    if let Err(e) = cfg.validate() {
        let option = match e {
            framelock_net::relay::RelayConfigError::OutOfRange { setting: "max_rooms", .. } => "--max-rooms",
            framelock_net::relay::RelayConfigError::OutOfRange { setting: "room_idle", .. } => "--room-idle-secs",
            framelock_net::relay::RelayConfigError::OutOfRange { setting: "match_frames", .. } => "--match-frames",
            framelock_net::relay::RelayConfigError::Room(r) if r.setting == "history" => "--history",
            _ => "the relay settings",
        };
        return fail(format!("{option}: {e}"));
    }
    Ok(cfg)
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
        room_idle: Duration::from_secs(30),
        match_frames: 0,
    };
    Relay::new(driver.now(), cfg, &mut rng).or_else(|e| fail(format!("relay: {e}")))
}

/// SIGTERM and SIGINT received so far: the first drains, the second exits at once.
fn count_signals() -> Result<std::sync::Arc<AtomicU32>, NetError> {
    let signals = std::sync::Arc::new(AtomicU32::new(0));
    let counted = signals.clone();
    ctrlc::set_handler(move || {
        counted.fetch_add(1, Ordering::Relaxed);
    })
    .or_else(|e| fail(format!("cannot handle signals: {e}")))?;
    Ok(signals)
}

/// The addresses `--public-address` names (port 0 kept: the bound port, filled in later).
fn configured_public(args: &ServeArgs) -> Result<Vec<SocketAddr>, NetError> {
    let mut out = Vec::new();
    for spec in &args.public_address {
        out.extend(resolve(spec, "--public-address")?);
    }
    Ok(out)
}

fn start_metrics(args: &ServeArgs) -> Result<Option<metrics::Page>, NetError> {
    match args.metrics {
        Some(m) => {
            let (page, bound) = metrics::serve(m).or_else(|e| fail(format!("cannot serve metrics on {m}: {e}")))?;
            say!("metrics on http://{bound}/metrics (probes /healthz, /readyz)");
            Ok(Some(page))
        }
        None => Ok(None),
    }
}

fn print_public(public: &[SocketAddr]) {
    let list: Vec<String> = public.iter().map(SocketAddr::to_string).collect();
    say!("public at {}", list.join(", "));
}

/// Runs a relay until SIGINT/SIGTERM (or, with `--exit-when-empty`, until its clients left). The
/// first signal drains (no new rooms; running rooms finish for up to `--drain-secs`), then the relay
/// tells every client goodbye, finishes its recordings and exits; a second signal exits at once.
pub fn serve(args: &ServeArgs) -> Result<(), NetError> {
    let signals = count_signals()?;
    let key = read_key(&args.key_file)?;
    let configured = configured_public(args)?;
    let conditioner = args.link.conditioner(u64::from_le_bytes(os_random_32()[..8].try_into().unwrap_or([0; 8])))?;
    if args.workers > 1 {
        if conditioner.is_some() {
            return fail("the link conditioner on the relay needs --workers 1");
        }
        return serve_workers(args, key, configured, &signals);
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
    let public = framelock_net::workers::public_addresses(&configured, addr).or_else(|e| fail(e.to_string()))?;
    let cfg = relay_config(args, key, public.clone())?;
    let mut relay = Relay::new(driver.now(), cfg, &mut SeededRng::from_seed(os_random_32()))
        .or_else(|e| fail(format!("relay: {e}")))?;
    let mut logs = match &args.record_dir {
        Some(dir) => Some(RoomLogs::new(dir, args.players, args.tick_rate, args.seed).map_err(NetError)?),
        None => None,
    };
    say!("listening on {addr}");
    print_public(&public);
    say!("rooms: at most {} open at once", relay.config().max_rooms);
    let page = start_metrics(args)?;
    let shutdown = Shutdown {
        signals: &|| signals.load(Ordering::Relaxed),
        drain: Duration::from_secs(args.drain_secs),
        exit_when_empty: args.exit_when_empty,
    };
    run_relay(&mut driver, &mut relay, logs.as_mut(), page.as_ref(), &shutdown)?;
    if let Some(logs) = logs {
        for path in logs.finish().map_err(NetError)? {
            say!("recorded {}", path.display());
        }
    }
    let io = driver.stats();
    say!(
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
        for path in self.logs.as_mut().map(RoomLogs::take_finished).unwrap_or_default() {
            say!("recorded {}", path.display());
        }
        if relay.is_draining() || std::time::Instant::now() >= self.next_publish {
            self.publish(relay, io);
            self.next_publish += Duration::from_secs(1);
        }
    }

    fn finish(&mut self, relay: &Relay) {
        if let Some(Err(e)) = self.logs.as_mut().map(|l| l.record(relay)) {
            self.fail(e);
        }
        match self.logs.take().map(RoomLogs::finish) {
            Some(Ok(paths)) => paths.iter().for_each(|p| say!("recorded {}", p.display())),
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
fn serve_workers(
    args: &ServeArgs,
    key: [u8; 32],
    configured: Vec<SocketAddr>,
    signals: &AtomicU32,
) -> Result<(), NetError> {
    let workers = usize::from(args.workers);
    let cfg = relay_config(args, key, configured)?;
    let max_rooms = cfg.max_rooms;
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
    say!("listening on {} ({workers} workers)", pool.local_addr());
    print_public(pool.public());
    say!("rooms: at most {max_rooms} open at once per worker");
    let page = start_metrics(args)?;
    let mut was_busy = false;
    let mut draining: Option<std::time::Instant> = None;
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
        let received = signals.load(Ordering::Relaxed);
        if received >= 2 {
            say!("shutting down at once (second signal): telling every client");
            break;
        }
        if received == 1 && draining.is_none() {
            pool.drain();
            if let Some(page) = &page {
                page.set_ready(false);
            }
            say!("draining: {} rooms open, waiting up to {} s for them to finish", total.rooms, args.drain_secs);
            draining = Some(std::time::Instant::now());
        }
        if let Some(since) = draining {
            // Workers publish every iteration while draining: a count 100 ms old is current.
            let settled = since.elapsed() >= Duration::from_millis(100);
            if (settled && total.rooms == 0) || since.elapsed() >= Duration::from_secs(args.drain_secs) {
                say!("shutting down: telling every client");
                break;
            }
        }
    }
    let reports = pool.stop().or_else(|e| fail(format!("relay worker: {e}")))?;
    for r in reports {
        say!(
            "worker {}: rooms {:?}, connects {}, forwarded {} (dropped {})",
            r.worker,
            r.rooms,
            r.connects,
            r.forwarded,
            r.inbox_dropped
        );
    }
    if let Some(e) = errors.lock().ok().and_then(|e| e.first().cloned()) {
        return fail(e);
    }
    Ok(())
}

/// How a relay loop ends.
pub struct Shutdown<'a> {
    /// Shutdown signals received so far: the first drains, the second exits at once.
    pub signals: &'a dyn Fn() -> u32,
    /// How long running rooms may take to finish once draining.
    pub drain: Duration,
    /// Exit once every client that connected has left.
    pub exit_when_empty: bool,
}

/// Runs a relay until `stop` is set (then it tells every client goodbye) or, with
/// `exit_when_empty`, until every client that connected has left. Records rooms into `logs` and
/// renders the metrics `page` on the way.
pub fn relay_loop(
    driver: &mut UdpDriver,
    relay: &mut Relay,
    logs: Option<&mut RoomLogs>,
    page: Option<&metrics::Page>,
    stop: &std::sync::atomic::AtomicBool,
    exit_when_empty: bool,
) -> Result<(), NetError> {
    let signals = || if stop.load(Ordering::Relaxed) { 2 } else { 0 };
    run_relay(driver, relay, logs, page, &Shutdown { signals: &signals, drain: Duration::ZERO, exit_when_empty })
}

/// Runs a relay until `shutdown` says so. Records rooms into `logs` (finishing the log of each room
/// the relay frees) and renders the metrics `page` on the way.
pub fn run_relay(
    driver: &mut UdpDriver,
    relay: &mut Relay,
    mut logs: Option<&mut RoomLogs>,
    page: Option<&metrics::Page>,
    shutdown: &Shutdown<'_>,
) -> Result<(), NetError> {
    let mut looped = metrics::LoopStats::default();
    let mut next_render = driver.now();
    let mut was_busy = false;
    let mut drain_until = None;
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
            for path in logs.take_finished() {
                say!("recorded {}", path.display());
            }
        }
        let connected = relay.server().num_connected();
        was_busy |= connected > 0;
        if shutdown.exit_when_empty && was_busy && connected == 0 {
            return Ok(());
        }
        let signals = (shutdown.signals)();
        if signals == 1 && drain_until.is_none() {
            relay.drain();
            if let Some(page) = page {
                page.set_ready(false);
            }
            let rooms = relay.room_count();
            say!("draining: {rooms} rooms open, waiting up to {} s for them to finish", shutdown.drain.as_secs());
            drain_until = Some(now + shutdown.drain);
        }
        let drained = drain_until.is_some_and(|t| relay.room_count() == 0 || now >= t);
        if signals >= 2 || drained {
            let how = if signals >= 2 { " at once" } else { "" };
            say!("shutting down{how}: telling {connected} clients");
            let now = driver.now();
            relay.disconnect_all(now);
            driver.flush(relay, now);
            return Ok(());
        }
    }
}
