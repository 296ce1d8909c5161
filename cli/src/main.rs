//! The `framelock` command.
//!
//! `main` only parses the command line and dispatches; each subcommand lives in its own module and
//! returns an error instead of exiting, so that every failure ends the same way: `error: ...` on
//! stderr and a non-zero exit code, never a panic. Subcommands `replay`, `serve`, `token` and `bot`
//! will join `demo` here.

mod demo;
mod link;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    let result = match &cli.command {
        Command::Demo(args) => demo::run(args, &mut std::io::stdout().lock()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`framelock demo | head`): nobody is left to tell.
        Err(demo::DemoError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::FAILURE,
        Err(e) => {
            let _ = std::io::stdout().flush();
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
