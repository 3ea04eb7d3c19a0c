"""Firehose HTTP endpoint destinations end to end: the protocol as the in-tree receiver checks
it, retries with one request id, and failed batches written to the backup bucket (SeaweedFS)."""

from __future__ import annotations

import base64
import json
import time
import uuid

import pytest

from firehose_receiver import Receiver
from spate_support import ServerFactory, aws_error, raw_call

ROLE = "arn:aws:iam::000000000000:role/firehose"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    with ServerFactory(tmp_path_factory) as f:
        yield f


@pytest.fixture(scope="module")
def server(factory, seaweedfs):
    return factory("durable", extra_args=["--s3-endpoint", seaweedfs.endpoint, "--firehose-allow-http"])


@pytest.fixture(scope="module")
def firehose(server):
    return server.client("firehose")


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def bucket(seaweedfs) -> str:
    name = unique("hb")
    seaweedfs.client().create_bucket(Bucket=name)
    return name


def create(firehose, url: str, bucket: str, **extra) -> str:
    name = unique("http")
    config = {
        "EndpointConfiguration": {"Url": url, "Name": "receiver", "AccessKey": "secret-key"},
        "S3Configuration": {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}"},
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
        **extra,
    }
    firehose.create_delivery_stream(DeliveryStreamName=name, HttpEndpointDestinationConfiguration=config)
    return name


def put(firehose, name: str, records: list[bytes]) -> None:
    firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": r} for r in records])


def wait(what, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (result := what()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return result


def backup_objects(seaweedfs, bucket: str, prefix: str = "") -> list[tuple[str, bytes]]:
    s3 = seaweedfs.client()
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return [(o["Key"], s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()) for o in listed]


def test_records_arrive_in_firehoses_request_format(firehose, receiver, bucket):
    name = create(firehose, receiver.url + "/ingest?token=abc", bucket,
                  RequestConfiguration={"ContentEncoding": "GZIP",
                                        "CommonAttributes": [{"AttributeName": "env", "AttributeValue": "test"}]})
    sent = [b'{"n":1}', b"", b"\x00binary\xff"]
    put(firehose, name, sent)
    [delivery] = wait(receiver.accepted)
    assert receiver.violations == []
    assert delivery.path == "/ingest?token=abc"
    assert delivery.records == sent
    assert delivery.headers["content-encoding"] == "gzip"
    assert delivery.headers["x-amz-firehose-access-key"] == "secret-key"
    assert delivery.headers["x-amz-firehose-source-arn"].endswith(f":deliverystream/{name}")
    assert json.loads(delivery.headers["x-amz-firehose-common-attributes"]) == {"commonAttributes": {"env": "test"}}
    assert abs(delivery.timestamp - time.time() * 1000) < 60_000
    d = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    http = d["Destinations"][0]["HttpEndpointDestinationDescription"]
    assert http["EndpointConfiguration"] == {"Url": receiver.url + "/ingest?token=abc", "Name": "receiver"}
    assert http["RetryOptions"] == {"DurationInSeconds": 300}
    assert http["S3BackupMode"] == "FailedDataOnly"


def test_failures_are_retried_with_the_same_request_id(firehose, receiver, bucket):
    receiver.script = [(500, {"errorMessage": "busy"}), "wrong-id"]
    name = create(firehose, receiver.url, bucket)
    put(firehose, name, [b"once"])
    wait(receiver.accepted, timeout=60)
    ids = {d.request_id for d in receiver.deliveries}
    assert len(receiver.deliveries) == 3 and len(ids) == 1, receiver.deliveries
    assert receiver.violations == []


def test_a_batch_failing_past_the_retry_duration_goes_to_the_backup_bucket(firehose, receiver, seaweedfs, bucket):
    receiver.script = [(503, {"errorMessage": "down"})] * 5
    name = create(firehose, receiver.url, bucket, RetryOptions={"DurationInSeconds": 0})
    put(firehose, name, [b"lost?", b"no"])
    [(key, body)] = wait(lambda: backup_objects(seaweedfs, bucket))
    assert key.startswith("http-endpoint-failed/"), key
    lines = [json.loads(line) for line in body.splitlines()]
    assert [base64.b64decode(line["rawData"]) for line in lines] == [b"lost?", b"no"]
    assert all(line["errorCode"] == "HttpEndpoint.DestinationException" for line in lines)
    assert "503" in lines[0]["errorMessage"] and "down" in lines[0]["errorMessage"]
    assert lines[0]["attemptsMade"] >= 1 and lines[0]["arrivalTimestamp"] > 10**12
    assert receiver.accepted() == []


def test_a_413_is_not_retried_and_the_batch_is_backed_up(firehose, receiver, seaweedfs, bucket):
    receiver.script = [(413, {"errorMessage": "too big"})]
    name = create(firehose, receiver.url, bucket, RetryOptions={"DurationInSeconds": 7200},
                  S3Configuration={"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}", "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/"})
    put(firehose, name, [b"big"])
    [(key, _)] = wait(lambda: backup_objects(seaweedfs, bucket))
    assert key.startswith("errors/http-endpoint-failed/"), key
    assert len(receiver.deliveries) == 1


def test_all_data_backup_keeps_a_copy_of_every_record(firehose, receiver, seaweedfs, bucket):
    name = create(firehose, receiver.url, bucket, S3BackupMode="AllData")
    put(firehose, name, [b"a\n", b"b\n"])
    wait(receiver.accepted)
    [(_, body)] = wait(lambda: backup_objects(seaweedfs, bucket))
    assert body == b"a\nb\n"


def test_plain_http_urls_need_the_operators_permission(factory, seaweedfs):
    server = factory("memory", extra_args=["--s3-endpoint", seaweedfs.endpoint])
    firehose = server.client("firehose")
    with aws_error("ValidationException", "Member must satisfy regular expression pattern: https://.*"):
        create(firehose, "http://127.0.0.1:9/", "any-bucket")
    server.stop()


def test_records_are_transformed_before_they_are_posted(firehose, receiver, seaweedfs, bucket):
    """JSON sub-records split and delimited; a record that is not JSON goes to the S3 error output."""
    processing = {"Enabled": True, "Processors": [
        {"Type": "RecordDeAggregation", "Parameters": [{"ParameterName": "SubRecordType", "ParameterValue": "JSON"}]},
        {"Type": "AppendDelimiterToRecord"}]}
    name = create(firehose, receiver.url, bucket, ProcessingConfiguration=processing)
    put(firehose, name, [b'{"a":1}{"a":2}', b"[1, 2]"])
    [delivery] = wait(receiver.accepted)
    assert delivery.records == [b'{"a":1}\n', b'{"a":2}\n']
    [(key, body)] = wait(lambda: backup_objects(seaweedfs, bucket))
    assert "processing-failed" in key
    failed = json.loads(body.splitlines()[0])
    assert failed["errorCode"] == "RecordDeAggregation.Failed"
    assert base64.b64decode(failed["rawData"]) == b"[1, 2]"
