//! The `framelock` command.
//!
//! `main` only parses the command line and dispatches; each subcommand lives in its own module and
//! returns an error instead of exiting, so that every failure ends the same way: `error: ...` on
//! stderr and a non-zero exit code, never a panic.
//!
//! Exit codes: 0 success; 1 the demo failed or a replay diverged from its recording; 2 a usage
//! error or a file that cannot be used (unreadable, not an input log, truncated, corrupt).

mod alloc_count;
mod bot;
mod demo;
mod link;
mod load;
mod load_bots;
mod metrics;
mod net;
mod p2p;
mod record;
mod replay;
mod room_log;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Counts heap allocations so `framelock serve` can export them as a metric.
#[global_allocator]
static GLOBAL: alloc_count::Counting = alloc_count::Counting;

/// Deterministic frame sync for multiplayer games: lockstep and rollback sessions.
#[derive(Debug, Parser)]
#[command(name = "framelock", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a room of bot peers in one process over a simulated lossy network (virtual clock) and
    /// check that every peer ends with the same state.
    Demo(demo::DemoArgs),
    /// Verify, describe or export a recorded input log (`framelock demo --record FILE`).
    #[command(subcommand)]
    Replay(replay::ReplayCommand),
    /// Write a new private key for connect tokens and relays.
    Key(net::KeyArgs),
    /// Write a connect token for one slot of one room.
    Token(net::TokenArgs),
    /// Run a relay: rooms with frame clocks, for bots and games with tokens.
    Serve(net::ServeArgs),
    /// Play one slot of a room through a relay with scripted inputs; print the final checksum.
    Bot(net::BotArgs),
    /// Play slots of a peer-to-peer match (no relay) with scripted inputs, or watch one as a
    /// spectator; print the final checksum and network statistics.
    P2p(p2p::P2pArgs),
    /// Load a relay with many clients in one process and compare its CPU per datagram with a raw UDP echo's.
    Load(load::LoadArgs),
}

/// How a failed command ends.
struct Failure {
    message: String,
    code: u8,
    /// Standard output was closed by its reader (`framelock ... | head`): nobody is left to tell.
    broken_pipe: bool,
}

impl From<demo::DemoError> for Failure {
    fn from(e: demo::DemoError) -> Self {
        let broken_pipe = matches!(&e, demo::DemoError::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe);
        Failure { message: e.to_string(), code: 1, broken_pipe }
    }
}

impl From<net::NetError> for Failure {
    fn from(e: net::NetError) -> Self {
        Failure { message: e.0, code: 1, broken_pipe: false }
    }
}

impl From<replay::ReplayError> for Failure {
    fn from(e: replay::ReplayError) -> Self {
        Failure { broken_pipe: e.is_broken_pipe(), code: e.exit_code(), message: e.to_string() }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with code 0; usage errors to stderr with code 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let result: Result<(), Failure> = match &cli.command {
        Command::Demo(args) => demo::run(args, &mut std::io::stdout().lock()).map_err(Failure::from),
        Command::Replay(command) => replay::run(command).map_err(Failure::from),
        Command::Key(args) => net::key(args).map_err(Failure::from),
        Command::Token(args) => net::token(args).map_err(Failure::from),
        Command::Serve(args) => net::serve(args).map_err(Failure::from),
        Command::Bot(args) => net::bot(args).map_err(Failure::from),
        Command::P2p(args) => p2p::p2p(args).map_err(Failure::from),
        Command::Load(args) => load::run(args).map_err(Failure::from),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) if f.broken_pipe => ExitCode::FAILURE,
        Err(f) => {
            let _ = std::io::stdout().flush();
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
