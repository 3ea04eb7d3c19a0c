//! Command functions: long-running child processes speaking Spate's line protocol, so a
//! handler module is loaded once, not per invocation.
//!
//! Spate writes one JSON line per invocation to the child's stdin:
//! `{"id": 7, "event": <event>, "context": {"functionName", "invokedFunctionArn",
//! "awsRequestId", "memoryLimitInMB", "deadlineMs"}}`; the child answers with one line on its
//! stdout: `{"id": 7, "result": <json>}` or `{"id": 7, "error": {"errorType", "errorMessage",
//! "stackTrace"}}`. Any other stdout line is the function's output and is logged. A process
//! takes one invocation at a time; up to [`PROCESSES_PER_FUNCTION_MAX`] run per function. A
//! process that times out is killed; one that exits is replaced at the next invocation.

use super::invoke::{InvokeContext, Outcome};
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Semaphore;

/// Processes one function may run at once (its concurrency), in processes.
pub const PROCESSES_PER_FUNCTION_MAX: usize = 8;

/// How a function's processes are started.
#[derive(Debug, Clone)]
pub struct Launch {
    pub argv: Vec<String>,
    pub dir: Option<PathBuf>,
    pub env: Vec<(String, String)>,
}

struct Worker {
    // Killed when dropped.
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

pub struct ProcessPool {
    launch: Launch,
    idle: Mutex<Vec<Worker>>,
    permits: Semaphore,
    next_id: AtomicU64,
}

#[derive(Deserialize)]
struct Answer {
    id: u64,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
}

impl ProcessPool {
    pub fn new(launch: Launch) -> ProcessPool {
        ProcessPool {
            launch,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(PROCESSES_PER_FUNCTION_MAX),
            next_id: AtomicU64::new(1),
        }
    }

    fn spawn(&self) -> std::io::Result<Worker> {
        let (program, args) = self
            .launch
            .argv
            .split_first()
            .ok_or_else(|| std::io::Error::other("the command is empty"))?;
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(self.launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some(dir) = &self.launch.dir {
            command.current_dir(dir);
        }
        let mut child = command.spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| std::io::Error::other("no stdin"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout"))?;
        Ok(Worker {
            child,
            stdin,
            stdout: BufReader::new(stdout).lines(),
        })
    }

    pub async fn invoke(
        &self,
        event: &[u8],
        context: &InvokeContext,
        timeout: Duration,
    ) -> Outcome {
        let Ok(_permit) = self.permits.acquire().await else {
            return Outcome::error("Runtime.Closed", "the function is being removed");
        };
        let reused = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut worker = match reused {
            Some(w) => w,
            None => match self.spawn() {
                Ok(w) => w,
                Err(e) => {
                    let argv = self.launch.argv.join(" ");
                    return Outcome::error("Runtime.StartError", format!("starting `{argv}`: {e}"));
                }
            },
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        match tokio::time::timeout(timeout, exchange(&mut worker, id, event, context)).await {
            Err(_) => Outcome::timed_out(&context.request_id, timeout.as_secs() as u32),
            Ok(Err(message)) => {
                let status = match worker.child.wait().await {
                    Ok(status) => status.to_string(),
                    Err(e) => e.to_string(),
                };
                Outcome::error(
                    "Runtime.ExitError",
                    format!(
                        "RequestId: {} Error: Runtime exited with error: {status} ({message})",
                        context.request_id
                    ),
                )
            }
            Ok(Ok(outcome)) => {
                self.idle
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(worker);
                outcome
            }
        }
    }
}

/// Sends one invocation and reads lines until its answer. `Err` when the process went away.
async fn exchange(
    worker: &mut Worker,
    id: u64,
    event: &[u8],
    context: &InvokeContext,
) -> Result<Outcome, String> {
    let context = json!({
        "functionName": context.function_name,
        "invokedFunctionArn": context.function_arn,
        "awsRequestId": context.request_id,
        "memoryLimitInMB": context.memory_mb,
        "deadlineMs": context.deadline_ms,
    });
    let mut line = format!("{{\"id\":{id},\"context\":{context},\"event\":").into_bytes();
    line.extend_from_slice(event);
    line.extend_from_slice(b"}\n");
    let write = async {
        worker.stdin.write_all(&line).await?;
        worker.stdin.flush().await
    };
    write.await.map_err(|e| format!("writing the event: {e}"))?;
    loop {
        let next = worker.stdout.next_line().await;
        let text = match next {
            Ok(Some(text)) => text,
            Ok(None) => return Err("its stdout closed".into()),
            Err(e) => return Err(format!("reading its answer: {e}")),
        };
        match serde_json::from_str::<Answer>(&text) {
            Ok(answer) if answer.id == id => {
                return Ok(match answer.error {
                    Some(error) => Outcome::FunctionError(error),
                    None => Outcome::Ok(answer.result.unwrap_or(Value::Null)),
                })
            }
            _ => tracing::info!(target: "spate::function", "{text}"),
        }
    }
}
