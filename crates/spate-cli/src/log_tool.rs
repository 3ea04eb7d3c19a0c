//! `spate log check` and `spate log repair`: the operator's way out when the record log is
//! damaged (see docs/operations.md). The server must be stopped; both take its lock.

use clap::{Args, Subcommand};
use spate_log::inspect::{inspect_shard, Finding};
use spate_log::recovery::{describe_damage, repair, shard_dirs};
use spate_log::storage::{FsStorage, Storage};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum LogCommand {
    /// Report every shard of a data directory: records, torn tails, damage. Changes nothing.
    Check(LogArgs),
    /// Keep every record before each damaged spot, cut the damaged segment there, and move the
    /// shard's later segments to log/quarantine. Nothing is deleted.
    Repair(RepairArgs),
}

#[derive(Args)]
pub struct LogArgs {
    /// The server's data directory.
    #[arg(long, env = "SPATE_DATA_DIR", default_value = "spate-data")]
    pub data_dir: PathBuf,
}

#[derive(Args)]
pub struct RepairArgs {
    #[command(flatten)]
    pub log: LogArgs,
    /// Confirm: repair changes the data directory.
    #[arg(long)]
    pub yes: bool,
}

pub fn run(command: LogCommand) -> Result<(), String> {
    match command {
        LogCommand::Check(args) => check(&args),
        LogCommand::Repair(args) => run_repair(&args),
    }
}

/// The record logs of a data directory: Kinesis streams' and Firehose delivery streams'.
const LOGS: [&str; 3] = ["log", "firehose", "queues"];

fn check(args: &LogArgs) -> Result<(), String> {
    let _lock = crate::data_dir::lock(&args.data_dir)?;
    let (mut shards, mut damaged) = (0, 0);
    for log in LOGS {
        let root = args.data_dir.join(log);
        if !FsStorage.dir_exists(&root).unwrap_or(false) {
            continue;
        }
        println!("{}:", root.display());
        let (s, d) = check_log(&root)?;
        shards += s;
        damaged += d;
    }
    println!("{shards} shard(s), {damaged} damaged");
    if damaged > 0 {
        return Err(format!(
            "{damaged} shard(s) damaged; `spate log repair --data-dir {} --yes` keeps the records before the damage",
            args.data_dir.display()
        ));
    }
    Ok(())
}

/// Reports one log's shards; returns how many there are and how many are damaged.
fn check_log(root: &std::path::Path) -> Result<(usize, usize), String> {
    let storage = FsStorage;
    let mut damaged = 0;
    let mut shards = 0;
    for (id, dir) in shard_dirs(&storage, root).map_err(|e| e.to_string())? {
        shards += 1;
        let inspection = inspect_shard(&storage, &dir, false).map_err(|e| e.to_string())?;
        let counters = match (inspection.segments.first(), inspection.segments.last()) {
            (Some(a), Some(b)) => format!("counters {}..{}", a.base_counter, b.next_counter),
            _ => "empty".to_string(),
        };
        println!(
            "shard {id:016x}: {} segment(s), {} record(s), {counters}",
            inspection.segments.len(),
            inspection.records()
        );
        for finding in &inspection.findings {
            match finding {
                Finding::TornTail { path, offset, file_len } => println!(
                    "  torn tail (a crash's leftover, cut at start-up): {} from byte {offset} of {file_len}",
                    path.display()
                ),
                Finding::EmptySegment { path } => println!(
                    "  empty segment (a crash's leftover, removed at start-up): {}",
                    path.display()
                ),
                damage @ Finding::Damage { .. } => {
                    damaged += 1;
                    println!("  DAMAGE: {}", describe_damage(damage));
                }
            }
        }
    }
    let quarantine = root.join("quarantine");
    if storage.dir_exists(&quarantine).unwrap_or(false) {
        println!("quarantined segments are kept in {}", quarantine.display());
    }
    Ok((shards, damaged))
}

fn run_repair(args: &RepairArgs) -> Result<(), String> {
    if !args.yes {
        return Err("repair changes the data directory: run `spate log check` first, then repeat with --yes".into());
    }
    let _lock = crate::data_dir::lock(&args.log.data_dir)?;
    for log in LOGS {
        let root = args.log.data_dir.join(log);
        if !FsStorage.dir_exists(&root).unwrap_or(false) {
            continue;
        }
        let report = repair(&FsStorage, &root).map_err(|e| e.to_string())?;
        for (id, findings) in report.iter().filter(|(_, f)| !f.is_empty()) {
            for finding in findings {
                println!("{log} shard {id:016x}: {finding:?}");
            }
        }
    }
    println!("repaired; start the server as usual");
    Ok(())
}
