//! What an invocation gives back, whatever ran it.

use serde_json::{json, Value};

/// Context a handler sees (Lambda's `context` object).
#[derive(Debug, Clone)]
pub struct InvokeContext {
    pub function_name: String,
    pub function_arn: String,
    pub request_id: String,
    pub memory_mb: u32,
    /// When the invocation times out, epoch ms.
    pub deadline_ms: i64,
}

/// The result of one invocation. A function error is the function's failure (a thrown error,
/// a crash, a timeout, a non-JSON result), answered with `X-Amz-Function-Error: Unhandled`; it
/// is never Spate's.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Ok(Value),
    FunctionError(Value),
}

impl Outcome {
    /// A function error in the runtimes' payload shape.
    pub fn error(error_type: &str, message: impl Into<String>) -> Outcome {
        Outcome::FunctionError(json!({
            "errorType": error_type,
            "errorMessage": message.into(),
        }))
    }

    pub fn timed_out(request_id: &str, timeout_secs: u32) -> Outcome {
        Outcome::error(
            "Sandbox.Timedout",
            format!(
                "RequestId: {request_id} Error: Task timed out after {timeout_secs}.00 seconds"
            ),
        )
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Outcome::FunctionError(_))
    }

    pub fn payload(&self) -> &Value {
        match self {
            Outcome::Ok(v) | Outcome::FunctionError(v) => v,
        }
    }
}
