//! `cache-sentinel`: the cache-sentinel library on the command line, for people and CI.
//!
//! Argument parsing and presentation only: every decision (the guard's plans, the pruner's plan,
//! the monitor's judgement) is the library's, and so is every AWS call.

mod args;
mod commands;
mod failure;
mod output;
mod progress;
mod settings;

use args::{Cli, Command};
use clap::Parser;
use failure::{CliError, EXIT_ERROR};
use std::process::ExitCode;

fn main() -> ExitCode {
    // A bug must still end with a sentence and exit code 2, never a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("cache-sentinel: internal error: {info}; please report it");
    }));
    let cli = Cli::parse();
    init_logs(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&CliError::Output(e)),
    };
    match runtime.block_on(run(&cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => fail(&e),
    }
}

async fn run(cli: &Cli) -> Result<u8, CliError> {
    let global = &cli.global;
    match &cli.command {
        Command::Audit { projects, format, across } if across.any() => {
            commands::audit_across::run(global, projects, *format, across).await
        }
        Command::Audit { projects, format, .. } => commands::audit::run(global, projects, *format).await,
        Command::Heal { projects, apply } => commands::heal::run(global, projects, *apply).await,
        Command::Prune { apply, max_minutes } => commands::prune::run(global, *apply, *max_minutes).await,
        Command::Report { projects, builds, since, logs } => {
            commands::report::run(global, projects, *builds, *since, *logs).await
        }
    }
}

fn fail(error: &CliError) -> ExitCode {
    eprintln!("cache-sentinel: {error}");
    ExitCode::from(EXIT_ERROR)
}

/// The library logs with tracing: silent unless -v or RUST_LOG asks, and then plain text on stderr.
fn init_logs(verbose: u8) {
    let level = match verbose {
        0 => "off",
        1 => "info",
        _ => "debug",
    };
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
