//! `spate`: the server and its operator tools.

mod bench;
mod cert;
mod config;
mod data_dir;
mod log_tool;
mod serve;
mod stream;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "spate",
    version,
    about = "A Kinesis-compatible streaming server",
    // A later flag overrides an earlier one, so wrappers can append settings to a base command.
    args_override_self = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(Box<config::ServeArgs>),
    /// Load generator for any Kinesis endpoint.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Operate on a stream of a running server.
    #[command(subcommand)]
    Stream(stream::StreamCommand),
    /// Check or repair the record log of a stopped server's data directory.
    #[command(subcommand)]
    Log(log_tool::LogCommand),
    /// Development TLS certificates.
    #[command(subcommand)]
    Cert(cert::CertCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(log_level())
        .init();
    let result = match cli.command {
        Command::Serve(args) => serve::run(*args),
        Command::Bench(command) => bench::run(command),
        Command::Stream(command) => stream::run(command),
        Command::Log(command) => log_tool::run(command),
        Command::Cert(command) => cert::run(command),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spate: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `SPATE_LOG=debug|info|warn|error` (default info).
fn log_level() -> tracing::Level {
    match std::env::var("SPATE_LOG")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "trace" => tracing::Level::TRACE,
        "debug" => tracing::Level::DEBUG,
        "warn" => tracing::Level::WARN,
        "error" => tracing::Level::ERROR,
        _ => tracing::Level::INFO,
    }
}
