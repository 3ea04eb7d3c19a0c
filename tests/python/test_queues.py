"""Kinesis Queues end to end: boto3 (a botocore whose model has the queue operations) against
the real binary: receive with long polls, acknowledge, visibility, dead letters and restore;
the rules that tie queues to their streams; kill -9 with records in flight."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from spate_support import ServerFactory, stream_arn


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    with ServerFactory(tmp_path_factory) as f:
        yield f


@pytest.fixture(scope="module")
def server(factory):
    return factory("durable")


@pytest.fixture(scope="module")
def kinesis(server):
    return server.client()


def on_demand_stream(kinesis) -> str:
    name = unique("qs")
    kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    return name


def create_queue(kinesis, stream: str, **attributes) -> str:
    out = kinesis.create_queue(
        QueueName=unique("q"),
        StreamConfigurationList=[{"StreamARN": stream_arn(stream), "StartingPosition": {"Type": "TRIM_HORIZON"}}],
        **({"QueueAttributes": attributes} if attributes else {}),
    )
    arn = out["QueueDescription"]["QueueARN"]
    for _ in range(100):
        if kinesis.describe_queue(QueueARN=arn)["QueueDescription"]["QueueStatus"] == "ACTIVE":
            return arn
        time.sleep(0.05)
    raise AssertionError("queue never ACTIVE")


def put(kinesis, stream: str, datas) -> None:
    kinesis.put_records(StreamName=stream, Records=[{"Data": d.encode(), "PartitionKey": f"k{i}"} for i, d in enumerate(datas)])


def receive_all(kinesis, arn: str, **kw) -> list[dict]:
    out = []
    while True:
        got = kinesis.receive_queue_records(QueueARN=arn, Limit=10, **kw)["QueueRecords"]
        if not got:
            return out
        out.extend(got)


def test_records_are_received_acknowledged_and_never_delivered_again(kinesis):
    stream = on_demand_stream(kinesis)
    arn = create_queue(kinesis, stream, VisibilityTimeoutSeconds=1)
    put(kinesis, stream, [f"r{i}" for i in range(25)])
    got = receive_all(kinesis, arn)
    assert sorted(r["Data"].decode() for r in got) == sorted(f"r{i}" for i in range(25))
    record = got[0]
    assert record["ReceiveCount"] == 1 and record["PartitionKey"].startswith("k")
    assert record["FirstReceiveTimestamp"] >= record["ApproximateArrivalTimestamp"]
    acked = got[:20]
    for start in range(0, len(acked), 10):
        out = kinesis.acknowledge_queue_records(
            QueueARN=arn, Entries=[{"ReceiptHandle": r["ReceiptHandle"]} for r in acked[start:start + 10]])
        assert len(out["Successful"]) == len(acked[start:start + 10]) and out["Failed"] == []
    time.sleep(1.1)  # the visibility timeout of the 5 unacknowledged records
    again = receive_all(kinesis, arn)
    assert sorted(r["RecordId"] for r in again) == sorted(r["RecordId"] for r in got[20:])
    assert all(r["ReceiveCount"] == 2 for r in again)
    stale = kinesis.acknowledge_queue_records(QueueARN=arn, Entries=[{"ReceiptHandle": got[20]["ReceiptHandle"]}])
    assert stale["Failed"][0]["ErrorCode"] == "InvalidReceiptHandle"


def test_a_long_poll_returns_when_a_record_arrives(kinesis):
    stream = on_demand_stream(kinesis)
    arn = create_queue(kinesis, stream)
    result = {}

    def poll():
        started = time.monotonic()
        result["records"] = kinesis.receive_queue_records(QueueARN=arn, WaitTimeSeconds=20)["QueueRecords"]
        result["took"] = time.monotonic() - started

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.3)
    put(kinesis, stream, ["wake"])
    thread.join(30)
    assert [r["Data"] for r in result["records"]] == [b"wake"]
    assert result["took"] < 10


def test_dead_letters_are_received_restored_and_acknowledged(kinesis):
    stream = on_demand_stream(kinesis)
    arn = create_queue(kinesis, stream, VisibilityTimeoutSeconds=30,
                       DeadLetterConfiguration={"TargetType": "BUILT_IN", "MaxReceiveCount": 2})
    put(kinesis, stream, ["poison"])
    for _ in range(2):
        r = kinesis.receive_queue_records(QueueARN=arn)["QueueRecords"][0]
        out = kinesis.update_queue_records_visibility(
            QueueARN=arn, Entries=[{"ReceiptHandle": r["ReceiptHandle"], "VisibilityTimeoutSeconds": 0}])
        assert len(out["Successful"]) == 1
    assert kinesis.receive_queue_records(QueueARN=arn)["QueueRecords"] == []
    dead = kinesis.receive_dead_letter_queue_records(QueueARN=arn, Limit=10)["QueueRecords"]
    assert [(d["Data"], d["ReceiveCount"]) for d in dead] == [(b"poison", 2)]
    restored = kinesis.restore_dead_letter_queue_records(QueueARN=arn, Entries=[{"ReceiptHandle": dead[0]["ReceiptHandle"]}])
    assert len(restored["Successful"]) == 1
    back = kinesis.receive_queue_records(QueueARN=arn)["QueueRecords"]
    assert back[0]["ReceiveCount"] == 1 and back[0]["RecordId"] == dead[0]["RecordId"]
    kinesis.update_queue_records_visibility(QueueARN=arn, Entries=[{"ReceiptHandle": back[0]["ReceiptHandle"], "VisibilityTimeoutSeconds": 0}])
    kinesis.update_queue_records_visibility(
        QueueARN=arn, Entries=[{"ReceiptHandle": kinesis.receive_queue_records(QueueARN=arn)["QueueRecords"][0]["ReceiptHandle"], "VisibilityTimeoutSeconds": 0}])
    dead = kinesis.receive_dead_letter_queue_records(QueueARN=arn)["QueueRecords"]
    out = kinesis.acknowledge_dead_letter_queue_records(QueueARN=arn, Entries=[{"ReceiptHandle": dead[0]["ReceiptHandle"]}])
    assert len(out["Successful"]) == 1
    assert kinesis.receive_dead_letter_queue_records(QueueARN=arn)["QueueRecords"] == []


def test_queues_are_tied_to_on_demand_streams(kinesis):
    provisioned = unique("prov")
    kinesis.create_stream(StreamName=provisioned, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=provisioned, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    with pytest.raises(kinesis.exceptions.ValidationException):
        kinesis.create_queue(QueueName=unique("q"), StreamConfigurationList=[{"StreamARN": stream_arn(provisioned)}])
    stream = on_demand_stream(kinesis)
    arn = create_queue(kinesis, stream)
    with pytest.raises(kinesis.exceptions.ResourceInUseException):
        kinesis.delete_stream(StreamName=stream)
    listed = kinesis.list_queues(StreamFilter=[{"StreamARN": stream_arn(stream)}])["QueueSummaries"]
    assert [q["QueueARN"] for q in listed] == [arn]
    updated = kinesis.update_queue(QueueARN=arn, QueueAttributes={"VisibilityTimeoutSeconds": 120})
    assert updated["QueueDescription"]["QueueAttributes"]["VisibilityTimeoutSeconds"] == 120
    kinesis.delete_queue(QueueARN=arn)
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.describe_queue(QueueARN=arn)
    kinesis.delete_stream(StreamName=stream)


def test_kill_9_loses_no_acknowledgement_and_redelivers_in_flight_records(factory):
    server = factory("durable")
    kinesis = server.client()
    stream = on_demand_stream(kinesis)
    arn = create_queue(kinesis, stream, VisibilityTimeoutSeconds=1)
    put(kinesis, stream, [f"r{i}" for i in range(40)])
    got = receive_all(kinesis, arn)
    assert len(got) == 40
    acked = got[:30]
    for start in range(0, 30, 10):
        kinesis.acknowledge_queue_records(QueueARN=arn, Entries=[{"ReceiptHandle": r["ReceiptHandle"]} for r in acked[start:start + 10]])
    server.kill()
    server.start()
    kinesis = server.client()
    time.sleep(1.1)
    again = receive_all(kinesis, arn)
    assert sorted(r["RecordId"] for r in again) == sorted(r["RecordId"] for r in got[30:])
    assert all(r["ReceiveCount"] == 2 for r in again)

