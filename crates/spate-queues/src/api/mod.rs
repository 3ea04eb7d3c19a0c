//! The wire edge of Kinesis Queues: the twelve queue operations of the current model, served
//! under Kinesis's target prefix after the streams service (the router gives an operation to
//! the first service that has it).

mod control;
mod records;

use crate::service::Queues;
use spate_wire::service::{run, BoxFuture, Call, Operation, Reply, TargetService};
use spate_wire::validate::Validator;
use spate_wire::{ApiError, Str};
use std::sync::Arc;

pub struct QueuesApi {
    queues: Arc<Queues>,
}

impl QueuesApi {
    pub fn new(queues: Arc<Queues>) -> Arc<QueuesApi> {
        Arc::new(QueuesApi { queues })
    }
}

/// Ten records of up to 10 MiB each, in base64.
const RECEIVE_RESPONSE_MAX_BYTES: usize = 140 << 20;

const OPERATIONS: &[Operation] = &[
    Operation::new("CreateQueue"),
    Operation::new("DeleteQueue"),
    Operation::new("DescribeQueue"),
    Operation::new("ListQueues").with_response_max_bytes(4 << 20),
    Operation::new("UpdateQueue"),
    Operation::new("ReceiveQueueRecords").with_response_max_bytes(RECEIVE_RESPONSE_MAX_BYTES),
    Operation::new("AcknowledgeQueueRecords"),
    Operation::new("UpdateQueueRecordsVisibility"),
    Operation::new("ReceiveDeadLetterQueueRecords")
        .with_response_max_bytes(RECEIVE_RESPONSE_MAX_BYTES),
    Operation::new("AcknowledgeDeadLetterQueueRecords"),
    Operation::new("RestoreDeadLetterQueueRecords"),
    Operation::new("UpdateDeadLetterQueueRecordsVisibility"),
];

impl TargetService for QueuesApi {
    fn target_prefix(&self) -> &'static str {
        "Kinesis_20131202"
    }

    fn speaks_cbor(&self) -> bool {
        true
    }

    fn operation(&self, name: &str) -> Option<Operation> {
        OPERATIONS.iter().find(|op| op.name == name).copied()
    }

    fn call(self: Arc<Self>, call: Call) -> BoxFuture<Reply> {
        Box::pin(async move { dispatch(&self.queues, call).await })
    }
}

async fn dispatch(q: &Arc<Queues>, call: Call) -> Reply {
    use crate::state::Side::{DeadLetters, Queue};
    let c = &call;
    match call.operation {
        "CreateQueue" => run(c, |i| control::create(q, i)).await,
        "DeleteQueue" => run(c, |i| control::delete(q, i)).await,
        "DescribeQueue" => run(c, |i| control::describe(q, i)).await,
        "ListQueues" => run(c, |i| control::list(q, i)).await,
        "UpdateQueue" => run(c, |i| control::update(q, i)).await,
        "ReceiveQueueRecords" => run(c, |i| records::receive(q, i, Queue)).await,
        "ReceiveDeadLetterQueueRecords" => run(c, |i| records::receive(q, i, DeadLetters)).await,
        "AcknowledgeQueueRecords" => run(c, |i| records::acknowledge(q, i, Queue)).await,
        "AcknowledgeDeadLetterQueueRecords" => {
            run(c, |i| records::acknowledge(q, i, DeadLetters)).await
        }
        "UpdateQueueRecordsVisibility" => run(c, |i| records::visibility(q, i, Queue)).await,
        "UpdateDeadLetterQueueRecordsVisibility" => {
            run(c, |i| records::visibility(q, i, DeadLetters)).await
        }
        "RestoreDeadLetterQueueRecords" => run(c, |i| records::restore(q, i)).await,
        _ => Reply::Error(ApiError::bare(spate_wire::ErrorKind::UnknownOperation)),
    }
}

fn text(v: &Option<Str>) -> Option<&str> {
    v.as_ref().map(Str::as_str)
}

/// QueueARN: required, 1-2048 characters, `arn:aws.*:kinesis:.*:\d{12}:queue/\S+`.
fn check_queue_arn(v: &mut Validator, arn: &Option<Str>) {
    v.required(arn, "queueARN");
    if let Some(a) = text(arn) {
        v.length(Some(a), "queueARN", 1, 2048);
        if !is_queue_arn(a) {
            v.fail(
                Some(a),
                "queueARN",
                "Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:queue/\\S+",
            );
        }
    }
}

fn is_queue_arn(a: &str) -> bool {
    let parts: Vec<&str> = a.splitn(6, ':').collect();
    matches!(parts.as_slice(), [arn, partition, "kinesis", _, account, resource]
        if *arn == "arn" && partition.starts_with("aws")
            && account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
            && resource.strip_prefix("queue/").is_some_and(|n| !n.is_empty() && !n.contains(char::is_whitespace)))
}
