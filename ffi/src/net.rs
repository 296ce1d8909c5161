//! The network client: a player (or spectator) of a relay room, running the reference simulation or
//! the engine's callbacks, on its own UDP socket.

use std::net::SocketAddr;
use std::time::Duration;

use framelock_core::arena::{scratch_size_bound, snapshot_size_bound, Arena, INPUT_SIZE, NEUTRAL_INPUT};
use framelock_core::{Authority, Driver, Error, Mode, Outcome, Session, SessionBuilder, Simulation};
use framelock_net::io::UdpDriver;
use framelock_net::netcode::{ClientState, ConnectToken};
use framelock_net::player::NetClient;
use framelock_net::sync::RoomClient;

use crate::arena::{default_params, framelock_arena_params, framelock_arena_player, params_of, player_of};
use crate::conditioner::Link;
use crate::error::{bytes, check_size, free_box, guard, handle, handle_mut, out, FfiError};
use crate::framelock_status;
use crate::session::{framelock_callbacks, framelock_outcome, write_tick_outcome, Callbacks};
use crate::tagged_sim::{TaggedCallbackSim, FRAME_TAG};

/// The netcode protocol id of framelock rooms ("FLOCK" + format 1): what `framelock serve` and
/// `framelock token` use, and the default of framelock_net_client_config.protocol_id.
pub const FRAMELOCK_PROTOCOL_ID: u64 = 0x464c_4f43_4b00_0001;
/// The size of a connect token in bytes (the file `framelock token` writes).
pub const FRAMELOCK_CONNECT_TOKEN_BYTES: u32 = 2048;
/// framelock_net_client_config.slot of a spectator (follows the room, sends no inputs).
pub const FRAMELOCK_NET_SPECTATOR: u32 = 255;
/// The largest input a network client sends (the relay's limit).
pub const FRAMELOCK_NET_MAX_INPUT_SIZE: u32 = 255;
/// The highest room tick rate (frames per second).
pub const FRAMELOCK_NET_MAX_TICK_RATE: u32 = 120;
/// The most ticks framelock_net_client_ticks_due() reports at once (a client that fell behind
/// catches up a few frames per call).
pub const FRAMELOCK_NET_MAX_TICKS_DUE: u32 = 8;

/// Connection state: the token expired before a connection was established.
pub const FRAMELOCK_NET_STATE_TOKEN_EXPIRED: i32 = -6;
/// Connection state: the relay rejected the token.
pub const FRAMELOCK_NET_STATE_INVALID_TOKEN: i32 = -5;
/// Connection state: the connected relay stopped answering.
pub const FRAMELOCK_NET_STATE_TIMED_OUT: i32 = -4;
/// Connection state: no keep-alive answered the challenge responses.
pub const FRAMELOCK_NET_STATE_RESPONSE_TIMED_OUT: i32 = -3;
/// Connection state: no challenge answered the connection requests (no relay at the address?).
pub const FRAMELOCK_NET_STATE_REQUEST_TIMED_OUT: i32 = -2;
/// Connection state: the relay was full.
pub const FRAMELOCK_NET_STATE_DENIED: i32 = -1;
/// Connection state: not connected (after framelock_net_client_disconnect(), or the relay left).
pub const FRAMELOCK_NET_STATE_DISCONNECTED: i32 = 0;
/// Connection state: sending connection requests.
pub const FRAMELOCK_NET_STATE_SENDING_REQUEST: i32 = 1;
/// Connection state: sending challenge responses.
pub const FRAMELOCK_NET_STATE_SENDING_RESPONSE: i32 = 2;
/// Connection state: connected; framelock_net_client_tick() plays.
pub const FRAMELOCK_NET_STATE_CONNECTED: i32 = 3;

const _: () = assert!(FRAMELOCK_CONNECT_TOKEN_BYTES as usize == framelock_net::netcode::CONNECT_TOKEN_BYTES);
const _: () = assert!(FRAMELOCK_NET_SPECTATOR == framelock_net::relay::SPECTATOR as u32);
const _: () = assert!(FRAMELOCK_NET_STATE_CONNECTED == ClientState::Connected as i32);
const _: () = assert!(FRAMELOCK_NET_STATE_TOKEN_EXPIRED == ClientState::ConnectTokenExpired as i32);
const _: () = assert!(FRAMELOCK_NET_STATE_DENIED == ClientState::ConnectionDenied as i32);

/// A network client playing in a relay room (opaque): its UDP socket, its connection, its rollback
/// session and its game (the reference simulation, or the engine's callbacks). Create with
/// framelock_net_client_new() or framelock_net_client_new_with_callbacks(), free with
/// framelock_net_client_free().
#[derive(Debug)]
pub struct framelock_net_client {
    driver: UdpDriver,
    client: Client,
    /// The longest input a tick takes.
    max_input: usize,
    period: Duration,
    /// When the next tick is due, once connected.
    next_tick: Option<Duration>,
}

/// The network client's game: the arena, or the engine's callbacks.
#[derive(Debug)]
enum Client {
    Arena(NetClient<Arena>),
    Callbacks(NetClient<TaggedCallbackSim>),
}

/// Runs `$body` with `$c` bound to the `NetClient` whatever its simulation.
macro_rules! each {
    ($client:expr, $c:ident => $body:expr) => {
        match $client {
            Client::Arena($c) => $body,
            Client::Callbacks($c) => $body,
        }
    };
}

impl Client {
    fn session(&self) -> &Session {
        each!(self, c => c.room().driver().session())
    }

    fn connection(&self) -> &framelock_net::netcode::Client {
        each!(self, c => c.connection())
    }

    fn is_connected(&self) -> bool {
        each!(self, c => c.is_connected())
    }

    fn room_stats(&self) -> framelock_net::sync::ClientStats {
        each!(self, c => c.room().stats())
    }

    fn run_once(&mut self, driver: &mut UdpDriver, wait: Duration) -> std::io::Result<()> {
        each!(self, c => driver.run_once(c, wait))
    }

    fn flush(&mut self, driver: &mut UdpDriver, now: Duration) {
        each!(self, c => driver.flush(c, now))
    }

    fn tick(&mut self, now: Duration, input: &[u8]) -> Result<Option<Outcome>, Error> {
        each!(self, c => c.tick(now, input))
    }

    fn disconnect(&mut self, now: Duration) {
        each!(self, c => c.disconnect(now))
    }
}

/// How to create a network client. Fill it with framelock_net_client_config_init(), then set the
/// token, the slot and what the relay was started with (players, tick rate).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct framelock_net_client_config {
    /// sizeof(framelock_net_client_config).
    pub struct_size: u32,
    /// The connect token (FRAMELOCK_CONNECT_TOKEN_BYTES bytes, e.g. the file `framelock token`
    /// wrote). Copied by framelock_net_client_new().
    pub token: *const u8,
    /// The length of token: FRAMELOCK_CONNECT_TOKEN_BYTES.
    pub token_len: usize,
    /// The protocol id the token must be for (default FRAMELOCK_PROTOCOL_ID).
    pub protocol_id: u64,
    /// Player slots in the room, 1..=64, as the relay was started with (default 4).
    pub players: u32,
    /// The slot the token is for, 0..players-1, or FRAMELOCK_NET_SPECTATOR (the token's slot is
    /// encrypted for the relay, so it is repeated here). Default 0.
    pub slot: u32,
    /// The room's frames per second, 1..=120, as the relay was started with (default 30). Paces
    /// framelock_net_client_ticks_due().
    pub tick_rate: u32,
    /// The reference simulation's params (every client of a room must use the same);
    /// `arena.players` is ignored: the arena has `players` players.
    pub arena: framelock_arena_params,
    /// Frames simulated past the last confirmed frame, 1..=64 (default 16).
    pub max_prediction: u32,
    /// The initial input delay in frames, 0..=32 (default 2); the client adjusts it to the relay's
    /// time-sync feedback.
    pub input_delay: u32,
    /// Every this many frames a final checksum is reported to the relay (default 30).
    pub checksum_interval: u32,
    /// framelock_net_client_new_with_callbacks() only: the largest input in bytes, 0..=255, as the
    /// relay's rooms were configured (default 8). The arena's is FRAMELOCK_ARENA_INPUT_SIZE.
    pub max_input_size: u32,
    /// framelock_net_client_new_with_callbacks() only: the largest snapshot the save_state
    /// callback writes, in bytes (default 65536).
    pub max_snapshot_size: usize,
    /// Link conditioner (a test tool: it allocates per datagram; all zero, the default, is off):
    /// one-way latency added to sent datagrams, in milliseconds.
    pub latency_ms: u32,
    /// Link conditioner: the latency varies by up to this many milliseconds either way.
    pub jitter_ms: u32,
    /// Link conditioner: sent datagrams dropped, per mille (0..=1000).
    pub loss_per_mille: u32,
    /// Link conditioner: sent datagrams duplicated, per mille (0..=1000).
    pub duplicate_per_mille: u32,
    /// Link conditioner: sent datagrams held back by an extra jitter, per mille (0..=1000).
    pub reorder_per_mille: u32,
    /// Link conditioner: the seed of its decisions.
    pub conditioner_seed: u64,
}

/// What a network client counted. Set struct_size before calling framelock_net_client_get_stats().
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct framelock_net_client_stats {
    /// sizeof(framelock_net_client_stats).
    pub struct_size: u32,
    /// The connection state, a FRAMELOCK_NET_STATE_ constant.
    pub state: i32,
    /// The frame the next tick simulates.
    pub current_frame: u32,
    /// The first frame whose inputs are not all confirmed by the relay.
    pub confirmed_until: u32,
    /// Every frame below this has its final checksum (framelock_net_client_checksum()).
    pub checksummed_until: u32,
    /// The current input delay in frames.
    pub input_delay: u32,
    /// The longest rollback, in frames.
    pub max_rollback: u32,
    /// Frames simulated for the first time.
    pub frames_advanced: u64,
    /// Frames simulated again after a rollback.
    pub frames_resimulated: u64,
    /// Rollbacks performed.
    pub rollbacks: u64,
    /// Ticks that could not advance the frame (prediction window full).
    pub stalls: u64,
    /// Desyncs the relay reported involving this client's slot.
    pub desyncs_reported: u64,
    /// Input-delay changes made for time sync.
    pub delay_changes: u64,
    /// Relay messages dropped because they did not decode.
    pub malformed: u64,
    /// Relay messages ignored because they did not continue the frames received (resent later).
    pub out_of_order: u64,
    /// Datagrams received on the socket.
    pub datagrams_in: u64,
    /// Datagrams sent on the socket.
    pub datagrams_out: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Datagrams dropped because the socket's send buffer was full.
    pub send_dropped: u64,
    /// Datagrams the link conditioner dropped on purpose.
    pub conditioner_dropped: u64,
    /// Packets the connection layer dropped (stale, replayed, undecryptable, ...).
    pub packets_dropped: u64,
}

fn state_code(s: ClientState) -> i32 {
    s as i32
}

/// What the game simulation is: the reference simulation, or the engine's callbacks.
#[derive(Debug)]
enum Game {
    Arena,
    Callbacks(Callbacks),
}

fn new_client(
    cfg: &framelock_net_client_config,
    token_bytes: &[u8],
    game: Game,
) -> Result<framelock_net_client, FfiError> {
    check_size::<framelock_net_client_config>(cfg.struct_size, "framelock_net_client_config")?;
    if !(1..=64).contains(&cfg.players) {
        return Err(FfiError::Invalid("config.players", "must be 1..=64"));
    }
    let players = cfg.players as usize;
    let spectator = cfg.slot == FRAMELOCK_NET_SPECTATOR;
    if !spectator && cfg.slot >= cfg.players {
        return Err(FfiError::Invalid("config.slot", "must be below config.players, or FRAMELOCK_NET_SPECTATOR"));
    }
    if !(1..=FRAMELOCK_NET_MAX_TICK_RATE).contains(&cfg.tick_rate) {
        return Err(FfiError::Invalid("config.tick_rate", "must be 1..=120"));
    }
    if cfg.checksum_interval == 0 {
        return Err(FfiError::Invalid("config.checksum_interval", "must be at least 1"));
    }
    let (c, seed) = (cfg, cfg.conditioner_seed);
    let link =
        Link::new(c.latency_ms, c.jitter_ms, c.loss_per_mille, c.duplicate_per_mille, c.reorder_per_mille, seed)?;

    let mut b = SessionBuilder::new(players).authority(Authority::Relay);
    b = if spectator {
        b.mode(Mode::Lockstep)
    } else {
        b.local_slot(cfg.slot as usize)
            .mode(Mode::Rollback { max_prediction: cfg.max_prediction })
            .input_delay(cfg.input_delay)
    };
    let arena_params = match &game {
        Game::Arena => {
            let params = params_of(&framelock_arena_params { players: cfg.players, ..cfg.arena })?;
            b = b
                .max_input_size(INPUT_SIZE)
                .default_input(&NEUTRAL_INPUT)
                .max_snapshot_size(snapshot_size_bound(&params))
                .frame_arena_size(scratch_size_bound(&params));
            Some(params)
        }
        Game::Callbacks(_) => {
            if cfg.max_input_size > FRAMELOCK_NET_MAX_INPUT_SIZE {
                return Err(FfiError::Invalid("config.max_input_size", "must be 0..=255"));
            }
            let snapshot = cfg
                .max_snapshot_size
                .checked_add(FRAME_TAG)
                .ok_or(FfiError::Invalid("config.max_snapshot_size", "is too large"))?;
            b = b.max_input_size(cfg.max_input_size as usize).max_snapshot_size(snapshot);
            None
        }
    };
    if token_bytes.len() != FRAMELOCK_CONNECT_TOKEN_BYTES as usize {
        return Err(FfiError::Token("is not FRAMELOCK_CONNECT_TOKEN_BYTES (2048) bytes long"));
    }
    let token = ConnectToken::read(token_bytes).map_err(|_| FfiError::Token("is not a connect token (malformed)"))?;
    if token.protocol_id != cfg.protocol_id {
        return Err(FfiError::Token("is for another protocol id than config.protocol_id"));
    }
    let Some(server) = token.server_addresses().first().copied() else {
        return Err(FfiError::Token("names no server address"));
    };
    let session = b.build()?;
    let max_input = session.max_input_size();

    let bind = if server.is_ipv6() { SocketAddr::from(([0u16; 8], 0)) } else { SocketAddr::from(([0, 0, 0, 0], 0)) };
    let mut udp = UdpDriver::bind(bind).map_err(|err| FfiError::Io { what: "cannot bind the UDP socket", err })?;
    link.apply(&mut udp);
    fn room<S: Simulation>(driver: Driver<S>, spectator: bool, slot: u32, interval: u32) -> RoomClient<S> {
        if spectator {
            RoomClient::spectator(driver)
        } else {
            RoomClient::new(driver, slot as usize, interval)
        }
    }
    let (slot, interval, now) = (cfg.slot, cfg.checksum_interval, udp.now());
    let client = match (game, arena_params) {
        (Game::Arena, Some(params)) => {
            let sim =
                Arena::new(params).map_err(|e| Error::InvalidConfig { setting: "arena params", reason: e.reason })?;
            Client::Arena(NetClient::new(now, token, room(Driver::new(session, sim), spectator, slot, interval)))
        }
        (Game::Callbacks(cb), _) => {
            let sim = TaggedCallbackSim::new(cb);
            Client::Callbacks(NetClient::new(now, token, room(Driver::new(session, sim), spectator, slot, interval)))
        }
        (Game::Arena, None) => return Err(FfiError::WrongState("internal: arena params missing")),
    };
    Ok(framelock_net_client {
        driver: udp,
        client,
        max_input,
        period: Duration::from_micros(1_000_000 / u64::from(cfg.tick_rate)),
        next_tick: None,
    })
}

/// Fills `config` with the defaults (no token, 4 players, slot 0, 30 Hz, default arena params, protocol
/// FRAMELOCK_PROTOCOL_ID, no link conditioner) and sets its struct_size.
///
/// Returns FRAMELOCK_OK or FRAMELOCK_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn framelock_net_client_config_init(
    config: *mut framelock_net_client_config,
) -> framelock_status {
    guard(|| {
        let config = out(config, "config")?;
        let arena = default_params();
        let c = framelock_net_client_config {
            struct_size: core::mem::size_of::<framelock_net_client_config>() as u32,
            token: core::ptr::null(),
            token_len: 0,
            protocol_id: FRAMELOCK_PROTOCOL_ID,
            players: 4,
            slot: 0,
            tick_rate: 30,
            arena,
            max_prediction: 16,
            input_delay: 2,
            checksum_interval: 30,
            max_input_size: 8,
            max_snapshot_size: 65536,
            latency_ms: 0,
            jitter_ms: 0,
            loss_per_mille: 0,
            duplicate_per_mille: 0,
            reorder_per_mille: 0,
            conditioner_seed: 0,
        };
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { config.write(c) };
        Ok(())
    })
}

/// Creates a network client: reads the token, binds a UDP socket (`0.0.0.0:0`, or `[::]:0` when the
/// token's first server address is IPv6) and starts connecting (the handshake runs in
/// framelock_net_client_poll()). It allocates everything it needs here. The caller owns the handle
/// and frees it with framelock_net_client_free().
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT (config, out_client, or token with a nonzero
/// token_len); FRAMELOCK_ERR_STRUCT_SIZE (config or config.arena); FRAMELOCK_ERR_INVALID_TOKEN;
/// FRAMELOCK_ERR_INVALID_ARGUMENT or FRAMELOCK_ERR_INVALID_CONFIG (a setting out of range);
/// FRAMELOCK_ERR_IO (the socket).
#[no_mangle]
pub unsafe extern "C" fn framelock_net_client_new(
    config: *const framelock_net_client_config,
    out_client: *mut *mut framelock_net_client,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a readable config struct.
        let cfg = unsafe { handle(config, "config") }?;
        check_size::<framelock_net_client_config>(cfg.struct_size, "framelock_net_client_config")?;
        // SAFETY: NULL (with token_len 0) or token_len readable bytes, as documented.
        let token = unsafe { bytes(cfg.token, cfg.token_len, "config.token") }?;
        let out_client = out(out_client, "out_client")?;
        let c = Box::new(new_client(cfg, token, Game::Arena)?);
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_client.write(Box::into_raw(c)) };
        Ok(())
    })
}

/// Creates a network client whose game is the engine's own state, through three callbacks (as
/// framelock_session_advance_with() takes them): the same as framelock_net_client_new() otherwise.
/// `config.max_input_size` and `config.max_snapshot_size` size the session (the relay's rooms must
/// take inputs that long); `config.arena` is not used. The callbacks struct is copied, but the
/// callbacks run, with `callbacks->user`, during every framelock_net_client_tick() of the handle's
/// life: keep `user` valid until framelock_net_client_free(). They are told the frame concerned,
/// also on a load (framelock keeps the frame of each snapshot with it). The snapshot checksum is
/// taken over the engine's bytes plus that frame (or is the engine's own, with
/// framelock_snapshot_set_checksum()).
///
/// Returns as framelock_net_client_new(), and FRAMELOCK_ERR_NULL_ARGUMENT (callbacks, or a callback,
/// is NULL); FRAMELOCK_ERR_STRUCT_SIZE (callbacks).
#[no_mangle]
pub unsafe extern "C" fn framelock_net_client_new_with_callbacks(
    config: *const framelock_net_client_config,
    callbacks: *const framelock_callbacks,
    out_client: *mut *mut framelock_net_client,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a readable config struct.
        let cfg = unsafe { handle(config, "config") }?;
        check_size::<framelock_net_client_config>(cfg.struct_size, "framelock_net_client_config")?;
        // SAFETY: NULL or a readable callbacks struct.
        let cb = unsafe { Callbacks::read(callbacks) }?;
        // SAFETY: NULL (with token_len 0) or token_len readable bytes, as documented.
        let token = unsafe { bytes(cfg.token, cfg.token_len, "config.token") }?;
        let out_client = out(out_client, "out_client")?;
        let c = Box::new(new_client(cfg, token, Game::Callbacks(cb))?);
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_client.write(Box::into_raw(c)) };
        Ok(())
    })
}

/// Frees a network client and closes its socket (call framelock_net_client_disconnect() first to
/// tell the relay). Accepts NULL (does nothing).
#[no_mangle]
pub unsafe extern "C" fn framelock_net_client_free(client: *mut framelock_net_client) {
    // SAFETY: NULL or a handle from framelock_net_client_new(), freed once (the C contract).
    unsafe { free_box(client) }
}

/// One network iteration: waits up to `max_wait_ms` milliseconds (less when the connection's next
/// timer or, once connected, the next tick is due sooner; 0 does not block) for datagrams, takes
/// every datagram that arrived, runs the connection's timers (handshake, keep-alive, timeout) and
/// sends what is due. Call it in every iteration of the game loop.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_IO (the socket failed).
#[no_mangle]
pub unsafe extern "C" fn framelock_net_client_poll(
    client: *mut framelock_net_client,
    max_wait_ms: u32,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle, used by one thread at a time.
        let c = unsafe { handle_mut(client, "client") }?;
        let mut wait = Duration::from_millis(u64::from(max_wait_ms));
        if let Some(t) = c.next_tick {
            wait = wait.min(t.saturating_sub(c.driver.now()));
        }
        c.client.run_once(&mut c.driver, wait).map_err(|err| FfiError::Io { what: "socket", err })?;
        Ok(())
    })
}

/// Writes how many ticks are due now at the room's tick rate to `*out_count` (0 while not
/// connected; at most FRAMELOCK_NET_MAX_TICKS_DUE, so a client that fell behind catches up a few
/// frames at a time) and counts them as done: call framelock_net_client_tick() that many times.
/// The clock starts when the connection is up. Engines with their own frame clock may ignore this
/// and call framelock_net_client_tick() at the room's rate themselves.
///
/// Returns FRAMELOCK_OK or FRAMELOCK_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn framelock_net_client_ticks_due(
    client: *mut framelock_net_client,
    out_count: *mut u32,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle, used by one thread at a time.
        let c = unsafe { handle_mut(client, "client") }?;
        let out_count = out(out_count, "out_count")?;
        let now = c.driver.now();
        let mut n = 0;
        if !c.client.is_connected() {
            c.next_tick = None;
        } else {
            let next = c.next_tick.get_or_insert(now);
            while *next <= now && n < FRAMELOCK_NET_MAX_TICKS_DUE {
                *next += c.period;
                n += 1;
            }
        }
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_count.write(n) };
        Ok(())
    })
}

/// One frame at the room's tick rate (the caller paces it, e.g. with
/// framelock_net_client_ticks_due()): simulates the frames the relay already confirmed that this
/// client lacks, adds `input` (`len` bytes, at most FRAMELOCK_ARENA_INPUT_SIZE for the arena, else
/// config.max_input_size; ignored for a spectator) for its slot, advances (rolling back when the relay's inputs differ from the
/// predictions) and sends the update. Writes the outcome to `*out_outcome` (may be NULL): while not
/// connected nothing is simulated and `advanced` is false. Allocates nothing without a link
/// conditioner.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT (client, or input with a nonzero len);
/// FRAMELOCK_ERR_INPUT_TOO_LONG; FRAMELOCK_ERR_SIMULATION (a callback returned nonzero, or a
/// snapshot did not fit config.max_snapshot_size); FRAMELOCK_ERR_ARENA_EXHAUSTED (a bug);
/// FRAMELOCK_ERR_FRAME_OVERFLOW.
#[no_mangle]
pub unsafe extern "C" fn framelock_net_client_tick(
    client: *mut framelock_net_client,
    input: *const u8,
    len: usize,
    out_outcome: *mut framelock_outcome,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle, used by one thread at a time.
        let c = unsafe { handle_mut(client, "client") }?;
        // SAFETY: NULL (with len 0) or `len` readable bytes.
        let input = unsafe { bytes(input, len, "input") }?;
        if input.len() > c.max_input {
            return Err(Error::InputTooLong { slot: 0, len: input.len(), max: c.max_input }.into());
        }
        let now = c.driver.now();
        let o = c.client.tick(now, input)?;
        c.client.flush(&mut c.driver, now);
        // SAFETY: NULL or writable, as documented.
        unsafe { write_tick_outcome(out_outcome, c.client.session(), o) };
        Ok(())
    })
}

/// Writes whether the connection is up (FRAMELOCK_NET_STATE_CONNECTED) to `*out_connected`.
///
/// Returns FRAMELOCK_OK or FRAMELOCK_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn framelock_net_client_is_connected(
    client: *const framelock_net_client,
    out_connected: *mut bool,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let c = unsafe { handle(client, "client") }?;
        let out_connected = out(out_connected, "out_connected")?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_connected.write(c.client.is_connected()) };
        Ok(())
    })
}

/// Writes the connection state (a FRAMELOCK_NET_STATE_ constant: negative for a failure, 0
/// disconnected, 1 and 2 connecting, 3 connected) to `*out_state`.
///
/// Returns FRAMELOCK_OK or FRAMELOCK_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn framelock_net_client_state(
    client: *const framelock_net_client,
    out_state: *mut i32,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let c = unsafe { handle(client, "client") }?;
        let out_state = out(out_state, "out_state")?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_state.write(state_code(c.client.connection().state())) };
        Ok(())
    })
}

/// Leaves the room: sends the relay the disconnect packets now (redundantly, as the protocol
/// does). The state becomes FRAMELOCK_NET_STATE_DISCONNECTED; ticks no longer simulate. With a link
/// conditioner, keep calling framelock_net_client_poll() for its latency so the held datagrams
/// go out.
///
/// Returns FRAMELOCK_OK or FRAMELOCK_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn framelock_net_client_disconnect(client: *mut framelock_net_client) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle, used by one thread at a time.
        let c = unsafe { handle_mut(client, "client") }?;
        let now = c.driver.now();
        c.client.disconnect(now);
        c.client.flush(&mut c.driver, now);
        c.next_tick = None;
        Ok(())
    })
}

/// Writes the client's counters to `*out_stats`, whose struct_size the caller sets first.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_STRUCT_SIZE.
#[no_mangle]
pub unsafe extern "C" fn framelock_net_client_get_stats(
    client: *const framelock_net_client,
    out_stats: *mut framelock_net_client_stats,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let c = unsafe { handle(client, "client") }?;
        let out_stats = out(out_stats, "out_stats")?;
        // SAFETY: non-NULL; the caller set struct_size (reading one u32 at the start of the struct).
        let size = unsafe { out_stats.cast::<u32>().read() };
        check_size::<framelock_net_client_stats>(size, "framelock_net_client_stats")?;
        let session = c.client.session();
        let ss = session.stats();
        let rs = c.client.room_stats();
        let io = c.driver.stats();
        let v = framelock_net_client_stats {
            struct_size: size,
            state: state_code(c.client.connection().state()),
            current_frame: session.current_frame(),
            confirmed_until: session.confirmed_until(),
            checksummed_until: session.checksummed_until(),
            input_delay: session.input_delay(),
            max_rollback: ss.max_rollback,
            frames_advanced: ss.frames_advanced,
            frames_resimulated: ss.frames_resimulated,
            rollbacks: ss.rollbacks,
            stalls: ss.stalls,
            desyncs_reported: rs.desyncs_reported,
            delay_changes: rs.delay_changes,
            malformed: rs.malformed,
            out_of_order: rs.out_of_order,
            datagrams_in: io.datagrams_in,
            datagrams_out: io.datagrams_out,
            bytes_in: io.bytes_in,
            bytes_out: io.bytes_out,
            send_dropped: io.send_dropped,
            conditioner_dropped: io.conditioner_dropped,
            packets_dropped: c.client.connection().stats().dropped_total(),
        };
        // SAFETY: non-NULL, writable out-parameter of the checked size.
        unsafe { out_stats.write(v) };
        Ok(())
    })
}

/// Writes the final checksum of the state at the start of `frame` (confirmed by the relay, below
/// framelock_net_client_stats.checksummed_until) to `*out_checksum`: every client of the room
/// computes the same one.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_CHECKSUM_UNAVAILABLE (not final
/// yet, or too old).
#[no_mangle]
pub unsafe extern "C" fn framelock_net_client_checksum(
    client: *const framelock_net_client,
    frame: u32,
    out_checksum: *mut u64,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let c = unsafe { handle(client, "client") }?;
        let out_checksum = out(out_checksum, "out_checksum")?;
        let session = c.client.session();
        let v = session.checksum(frame).ok_or(FfiError::Core(Error::ChecksumUnavailable { frame, slot: 0 }))?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_checksum.write(v) };
        Ok(())
    })
}

/// Writes the frame the next tick simulates to `*out_frame`.
///
/// Returns FRAMELOCK_OK or FRAMELOCK_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn framelock_net_client_current_frame(
    client: *const framelock_net_client,
    out_frame: *mut u32,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let c = unsafe { handle(client, "client") }?;
        let out_frame = out(out_frame, "out_frame")?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_frame.write(c.client.session().current_frame()) };
        Ok(())
    })
}

/// Writes player `slot` of the client's arena (the predicted current state, for drawing) to
/// `*out_player`.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_INVALID_ARGUMENT (no such player);
/// FRAMELOCK_ERR_WRONG_STATE (a client made with framelock_net_client_new_with_callbacks()).
#[no_mangle]
pub unsafe extern "C" fn framelock_net_client_arena_get_player(
    client: *const framelock_net_client,
    slot: u32,
    out_player: *mut framelock_arena_player,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let c = unsafe { handle(client, "client") }?;
        let out_player = out(out_player, "out_player")?;
        let Client::Arena(a) = &c.client else {
            return Err(FfiError::WrongState("this network client runs the engine's callbacks, not the arena"));
        };
        let v = player_of(a.room().driver().sim(), slot)?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_player.write(v) };
        Ok(())
    })
}
