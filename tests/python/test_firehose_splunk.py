"""Firehose's Splunk destination end to end with boto3, against the in-tree HTTP Event
Collector (splunk_receiver.py: no Splunk server installs here): raw and event endpoints with
the token and a request channel, delivery only once the batch is acknowledged, refusals retried
and then backed up under splunk-failed/ with Firehose's error codes, and a kill -9 while a batch
waits for its acknowledgement loses nothing. The 180-600 s acknowledgement timeout itself is
tested in process with a paused clock (crates/spate-firehose/src/tests/splunk.rs)."""

from __future__ import annotations

import base64
import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from splunk_receiver import Collector
from spate_support import ServerFactory

ROLE = "arn:aws:iam::000000000000:role/firehose"


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    with ServerFactory(tmp_path_factory) as f:
        yield f


@pytest.fixture(scope="module")
def buckets(tmp_path_factory):
    path = tmp_path_factory.mktemp("buckets")
    (path / "hec-backup").mkdir()
    return path


@pytest.fixture(scope="module")
def server(factory, buckets):
    return factory("memory", extra_args=["--firehose-allow-http", "--buckets-dir", str(buckets)])


@pytest.fixture(scope="module")
def firehose(server):
    return server.client("firehose")


@pytest.fixture
def collector():
    c = Collector().start()
    yield c
    c.stop()


def config(collector: Collector, name: str, **extra) -> dict:
    return {
        "HECEndpoint": collector.url, "HECEndpointType": "Raw", "HECToken": collector.token,
        "S3Configuration": {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::hec-backup", "Prefix": f"{name}/"},
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
        **extra,
    }


def create(firehose, collector: Collector, **extra) -> str:
    name = f"hec-{uuid.uuid4().hex[:12]}"
    firehose.create_delivery_stream(DeliveryStreamName=name, SplunkDestinationConfiguration=config(collector, name, **extra))
    return name


def wait(what, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (result := what()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return result


def put(firehose, name: str, records: list[bytes]) -> None:
    firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": r} for r in records])


def failed_events(buckets, name: str) -> list[dict]:
    lines = []
    for f in sorted((buckets / "hec-backup").rglob("*")):
        relative = str(f.relative_to(buckets / "hec-backup"))
        if f.is_file() and "splunk-failed" in relative and name in relative:
            lines += [json.loads(line) for line in f.read_text().splitlines()]
    return lines


def describe(firehose, name: str) -> dict:
    return firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]


def test_the_destination_is_described_with_aws_defaults(firehose, collector):
    name = create(firehose, collector)
    d = describe(firehose, name)["Destinations"][0]["SplunkDestinationDescription"]
    assert (d["HECEndpoint"], d["HECEndpointType"], d["HECToken"]) == (collector.url, "Raw", collector.token)
    assert d["HECAcknowledgmentTimeoutInSeconds"] == 180
    assert d["RetryOptions"] == {"DurationInSeconds": 3600}
    assert d["S3BackupMode"] == "FailedEventsOnly"
    assert d["BufferingHints"] == {"SizeInMBs": 1, "IntervalInSeconds": 0}
    assert d["S3DestinationDescription"]["BucketARN"] == "arn:aws:s3:::hec-backup"


def test_raw_events_are_delivered_once_acknowledged(firehose, collector):
    name = create(firehose, collector)
    put(firehose, name, [b"first line\n", b"second line\n"])
    wait(lambda: collector.raw_text() == b"first line\nsecond line\n")
    wait(lambda: collector.polls)
    [send] = collector.sends
    assert collector.polls[-1] == (send.channel, [send.ack_id])
    put(firehose, name, [b"third line\n"])
    wait(lambda: len(collector.sends) == 2)
    assert collector.sends[1].channel == send.channel, "one request channel per stream"
    assert collector.sends[1].ack_id == send.ack_id + 1
    assert collector.violations == []


def test_event_endpoint_takes_hec_events_and_bad_ones_are_backed_up(firehose, collector, buckets):
    name = create(firehose, collector, HECEndpointType="Event", RetryOptions={"DurationInSeconds": 0})
    put(firehose, name, [b'{"event": {"user": "a"}, "sourcetype": "app"}', b'{"event": "b"}'])
    wait(lambda: len(collector.events) == 2)
    assert collector.events[0] == {"event": {"user": "a"}, "sourcetype": "app"}
    put(firehose, name, [b"not an event"])
    [failed] = wait(lambda: failed_events(buckets, name))
    assert failed["errorCode"] == "Splunk.InvalidDataFormat"
    assert "Invalid data format" in failed["errorMessage"]
    assert base64.b64decode(failed["rawData"]) == b"not an event"
    assert failed["EventId"] and failed["attemptsMade"] >= 1 and failed["arrivalTimestamp"] > 10**12
    assert len(collector.events) == 2


def test_a_refused_token_is_retried_then_backed_up(firehose, collector, buckets):
    name = create(firehose, collector, HECToken="not-the-token", RetryOptions={"DurationInSeconds": 1})
    put(firehose, name, [b"x1", b"x2"])
    failed = wait(lambda: failed_events(buckets, name))
    assert [f["errorCode"] for f in failed] == ["Splunk.InvalidToken", "Splunk.InvalidToken"]
    assert [base64.b64decode(f["rawData"]) for f in failed] == [b"x1", b"x2"]
    assert failed[0]["attemptsMade"] >= 2, "retried before the backup"
    assert collector.sends == []


def test_update_destination_changes_the_token(firehose, collector):
    name = create(firehose, collector, HECToken="old-token")
    d = describe(firehose, name)
    firehose.update_destination(
        DeliveryStreamName=name, CurrentDeliveryStreamVersionId=d["VersionId"],
        DestinationId=d["Destinations"][0]["DestinationId"],
        SplunkDestinationUpdate={"HECToken": collector.token, "HECAcknowledgmentTimeoutInSeconds": 300})
    d = describe(firehose, name)["Destinations"][0]["SplunkDestinationDescription"]
    assert (d["HECToken"], d["HECAcknowledgmentTimeoutInSeconds"]) == (collector.token, 300)
    put(firehose, name, [b"after update"])
    wait(lambda: collector.raw_text() == b"after update")


def test_update_destination_changes_s3_to_splunk_and_back(firehose, collector, buckets):
    name = f"hec-{uuid.uuid4().hex[:12]}"
    firehose.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration={
        "RoleARN": ROLE, "BucketARN": "arn:aws:s3:::hec-backup", "Prefix": f"{name}/s3/",
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}})

    def update(**member):
        d = describe(firehose, name)
        firehose.update_destination(
            DeliveryStreamName=name, CurrentDeliveryStreamVersionId=d["VersionId"],
            DestinationId=d["Destinations"][0]["DestinationId"], **member)

    # Nothing is merged across types (AWS's rule), so a partial Splunk update is refused.
    with pytest.raises(ClientError) as e:
        update(SplunkDestinationUpdate={"HECToken": collector.token})
    assert e.value.response["Error"]["Code"] == "InvalidArgumentException"
    assert "HECEndpointType" in e.value.response["Error"]["Message"]
    update(SplunkDestinationUpdate={
        "HECEndpoint": collector.url, "HECEndpointType": "Raw", "HECToken": collector.token,
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
        "S3Update": {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::hec-backup", "Prefix": f"{name}/"}})
    d = describe(firehose, name)["Destinations"][0]
    assert "ExtendedS3DestinationDescription" not in d
    assert d["SplunkDestinationDescription"]["HECEndpoint"] == collector.url
    put(firehose, name, [b"to splunk"])
    wait(lambda: collector.raw_text() == b"to splunk")

    update(ExtendedS3DestinationUpdate={"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::hec-backup",
                                        "Prefix": f"{name}/back/",
                                        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}})
    assert "ExtendedS3DestinationDescription" in describe(firehose, name)["Destinations"][0]
    put(firehose, name, [b"to s3 again"])
    landed = wait(lambda: [p for p in (buckets / "hec-backup" / name / "back").rglob("*") if p.is_file()])
    assert [p.read_bytes() for p in landed] == [b"to s3 again"]
    assert collector.raw_text() == b"to splunk", "nothing more went to Splunk"


def test_configurations_are_validated_with_aws_messages(server, firehose, collector):
    name = f"hec-{uuid.uuid4().hex[:8]}"
    unchecked = server.client("firehose", parameter_validation=False)  # the server must check
    with pytest.raises(ClientError) as e:
        unchecked.create_delivery_stream(DeliveryStreamName=name, SplunkDestinationConfiguration=config(
            collector, name, HECAcknowledgmentTimeoutInSeconds=60, HECEndpointType="Json"))
    error = e.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "hECAcknowledgmentTimeoutInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 180" in error["Message"]
    assert "hECEndpointType" in error["Message"]
    with pytest.raises(ClientError) as e:
        firehose.create_delivery_stream(DeliveryStreamName=name, SplunkDestinationConfiguration=config(
            collector, name, HECEndpoint="ftp://splunk.example.com"))
    assert e.value.response["Error"]["Code"] == "InvalidArgumentException"
    assert "HECEndpoint" in e.value.response["Error"]["Message"]


def test_a_batch_waiting_for_its_acknowledgement_survives_kill_9(factory, buckets, collector):
    server = factory("durable", extra_args=["--firehose-allow-http", "--buckets-dir", str(buckets)])
    firehose = server.client("firehose")
    collector.acknowledge = False
    name = create(firehose, collector)
    put(firehose, name, [b"must not be lost\n"])
    wait(lambda: len(collector.polls) >= 2, timeout=30)
    server.restart()  # kill -9 while the batch waits, then start on the same data directory
    collector.acknowledge = True
    wait(lambda: any(s.body == b"must not be lost\n" for s in collector.sends[1:]), timeout=60)
    firehose = server.client("firehose")
    wait(lambda: collector.polls and collector.polls[-1][1] == [collector.sends[-1].ack_id])
    assert failed_events(buckets, name) == []
