"""Firehose end to end: boto3 against the real binary, delivering to a real S3 server
(SeaweedFS) and to local bucket directories; every compression format read back with a
standard decoder; buffering by size and by interval; retries; kill -9."""

from __future__ import annotations

import gzip
import io
import json
import time
import uuid
import zipfile

import pytest
import snappy

from spate_support import aws_error, raw_call

ROLE = "arn:aws:iam::000000000000:role/firehose"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def server(spawn_module_server, seaweedfs):
    return spawn_module_server(extra_args=["--s3-endpoint", seaweedfs.endpoint])


@pytest.fixture(scope="module")
def spawn_module_server(tmp_path_factory):
    from spate_support import ServerFactory

    with ServerFactory(tmp_path_factory) as factory:
        yield lambda **kw: factory("durable", **kw)


@pytest.fixture(scope="module")
def firehose(server):
    return server.client("firehose")


@pytest.fixture
def bucket(seaweedfs) -> str:
    name = unique("fh")
    seaweedfs.client().create_bucket(Bucket=name)
    return name


def create(firehose, bucket: str, name: str | None = None, **destination) -> str:
    name = name or unique("ds")
    config = {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}", **destination}
    firehose.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration=config)
    return name


def flush(endpoint: str, name: str) -> None:
    response = raw_call(endpoint, None, {"DeliveryStreamName": name},
                        target="SpateAdmin_20261126.FlushDeliveryStream")
    assert response.status == 200, response.body


def objects(s3, bucket: str, prefix: str = "") -> list[tuple[str, bytes]]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    keys = sorted(o["Key"] for o in listed)
    return [(k, s3.get_object(Bucket=bucket, Key=k)["Body"].read()) for k in keys]


def wait_objects(s3, bucket: str, count: int, timeout: float = 20.0) -> list[tuple[str, bytes]]:
    deadline = time.monotonic() + timeout
    while True:
        found = objects(s3, bucket)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_the_seed_snippet_lands_in_s3(server, firehose, seaweedfs, bucket):
    create(firehose, bucket, name="my-firehose-stream-" + uuid.uuid4().hex[:6])
    name = firehose.list_delivery_streams(Limit=10000)["DeliveryStreamNames"]
    name = next(n for n in name if n.startswith("my-firehose-stream-"))
    line = json.dumps({"user": 1, "action": "click"}) + "\n"
    out = firehose.put_record(DeliveryStreamName=name, Record={"Data": line.encode()})
    assert len(out["RecordId"]) == 224 and out["Encrypted"] is False
    flush(server.endpoint, name)
    [(key, body)] = objects(seaweedfs.client(), bucket)
    assert body == line.encode()
    stamp = time.strftime("%Y/%m/%d/%H/", time.gmtime())
    assert key.startswith(stamp + f"{name}-1-"), key


def test_objects_are_cut_by_size(server, firehose, seaweedfs, bucket):
    name = create(firehose, bucket, BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 900})
    record = b"r" * 100_000 + b"\n"
    sent = []
    for batch in range(6):
        records = [record[:-2] + bytes([48 + batch, 10])] * 5
        sent += records
        firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": r} for r in records])
    s3 = seaweedfs.client()
    found = wait_objects(s3, bucket, 2)
    assert len(found) == 2, [k for k, _ in found]
    assert all(len(body) >= 1 << 20 for _, body in found)
    flush(server.endpoint, name)
    delivered = b"".join(body for _, body in sorted(objects(s3, bucket), key=lambda o: o[1][-2:]))
    assert sorted(delivered.split(b"\n")) == sorted(b"".join(sent).split(b"\n"))


def test_objects_are_cut_by_interval(firehose, seaweedfs, bucket):
    name = create(firehose, bucket, BufferingHints={"SizeInMBs": 5, "IntervalInSeconds": 1})
    firehose.put_record(DeliveryStreamName=name, Record={"Data": b"soon"})
    [(key, body)] = wait_objects(seaweedfs.client(), bucket, 1)
    assert body == b"soon"


@pytest.mark.parametrize("fmt, ext", [("GZIP", ".gz"), ("ZIP", ".zip"), ("Snappy", ".snappy"),
                                      ("HADOOP_SNAPPY", ".snappy"), ("UNCOMPRESSED", "")])
def test_each_compression_format_decodes_with_a_standard_decoder(server, firehose, seaweedfs, bucket, fmt, ext):
    name = create(firehose, bucket, CompressionFormat=fmt)
    payload = [json.dumps({"n": i, "pad": "x" * (i % 50)}).encode() + b"\n" for i in range(3000)]
    for start in range(0, len(payload), 500):
        firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": r} for r in payload[start:start + 500]])
    flush(server.endpoint, name)
    [(key, body)] = objects(seaweedfs.client(), bucket)
    assert key.endswith(ext) if ext else "." not in key.rsplit("/", 1)[1], key
    if fmt == "GZIP":
        raw = gzip.decompress(body)
    elif fmt == "ZIP":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            [entry] = archive.namelist()
            raw = archive.read(entry)
    elif fmt == "Snappy":
        raw = snappy.StreamDecompressor().decompress(body)  # the framing format
    elif fmt == "HADOOP_SNAPPY":
        raw = snappy.HadoopStreamDecompressor().decompress(body)
    else:
        raw = body
    assert raw == b"".join(payload)


def test_prefixes_are_evaluated(server, firehose, seaweedfs, bucket):
    name = create(firehose, bucket, Prefix="events/year=!{timestamp:yyyy}/r=!{firehose:random-string}/",
                  ErrorOutputPrefix="errors/!{firehose:error-output-type}/", CustomTimeZone="Asia/Tokyo",
                  FileExtension=".json")
    firehose.put_record(DeliveryStreamName=name, Record={"Data": b"{}"})
    flush(server.endpoint, name)
    [(key, _)] = objects(seaweedfs.client(), bucket)
    year = time.strftime("%Y", time.gmtime(time.time() + 9 * 3600))
    parts = key.split("/")
    assert parts[:2] == ["events", f"year={year}"], key
    assert parts[2].startswith("r=") and len(parts[2]) == 2 + 11, key
    assert parts[3].startswith(f"{name}-1-") and parts[3].endswith(".json"), key


def test_prefix_rules_are_aws_rules(firehose, bucket):
    with aws_error("InvalidArgumentException", "ErrorOutputPrefix cannot be null or empty when Prefix contains expressions"):
        create(firehose, bucket, Prefix="x/!{timestamp:yyyy}/")
    with aws_error("InvalidArgumentException", "Exactly one destination configuration"):
        firehose.create_delivery_stream(DeliveryStreamName=unique("ds"))


def test_a_missing_bucket_is_reported_and_delivery_resumes_when_it_exists(firehose, seaweedfs):
    bucket = unique("late")
    name = create(firehose, bucket, BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 0})
    firehose.put_record(DeliveryStreamName=name, Record={"Data": b"waited"})
    deadline = time.monotonic() + 10
    while "FailureDescription" not in firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]:
        assert time.monotonic() < deadline, "no failure shown"
        time.sleep(0.1)
    s3 = seaweedfs.client()
    s3.create_bucket(Bucket=bucket)
    [(_, body)] = wait_objects(s3, bucket, 1, timeout=30)
    assert body == b"waited"


def test_records_survive_kill_9_buffered_or_while_delivery_fails(spawn_module_server, seaweedfs, tmp_path):
    server = spawn_module_server(extra_args=["--s3-endpoint", seaweedfs.endpoint])
    firehose = server.client("firehose")
    s3 = seaweedfs.client()
    ready, late = unique("ok"), unique("late")
    s3.create_bucket(Bucket=ready)
    buffered = create(firehose, ready)
    failing = create(firehose, late, BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 0})
    sent = [f"record {i}\n".encode() for i in range(1000)]
    for name in (buffered, failing):
        for start in range(0, len(sent), 250):
            firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": r} for r in sent[start:start + 250]])
    server.kill()
    s3.create_bucket(Bucket=late)
    server.start()
    flush(server.endpoint, buffered)
    flush(server.endpoint, failing)
    for bucket in (ready, late):
        delivered = b"".join(body for _, body in objects(s3, bucket))
        assert set(delivered.splitlines(keepends=True)) == set(sent), bucket
    server.stop()


def test_local_bucket_directories_without_an_s3_endpoint(spawn_module_server, tmp_path):
    buckets = tmp_path / "buckets"
    server = spawn_module_server(extra_args=["--buckets-dir", str(buckets)])
    firehose = server.client("firehose")
    name = create(firehose, "local-bucket", CompressionFormat="GZIP")
    firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"a\n"}, {"Data": b"b\n"}])
    flush(server.endpoint, name)
    [path] = [p for p in buckets.rglob("*") if p.is_file()]
    assert path.relative_to(buckets).parts[0] == "local-bucket"
    assert gzip.decompress(path.read_bytes()) == b"a\nb\n"
    server.stop()


def test_control_plane_shapes(firehose, bucket):
    name = create(firehose, bucket, Prefix="p/", CompressionFormat="GZIP")
    d = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    assert d["DeliveryStreamStatus"] == "ACTIVE" and d["VersionId"] == "1"
    ext = d["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert ext["BufferingHints"] == {"SizeInMBs": 5, "IntervalInSeconds": 300}
    assert d["Destinations"][0]["S3DestinationDescription"]["CompressionFormat"] == "GZIP"
    with aws_error("ConcurrentModificationException"):
        firehose.update_destination(DeliveryStreamName=name, CurrentDeliveryStreamVersionId="9",
                                    DestinationId="destinationId-000000000001",
                                    ExtendedS3DestinationUpdate={"Prefix": "q/"})
    firehose.update_destination(DeliveryStreamName=name, CurrentDeliveryStreamVersionId="1",
                                DestinationId="destinationId-000000000001",
                                ExtendedS3DestinationUpdate={"Prefix": "q/"})
    d = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    assert d["VersionId"] == "2" and "LastUpdateTimestamp" in d
    firehose.tag_delivery_stream(DeliveryStreamName=name, Tags=[{"Key": "team", "Value": "data"}])
    assert firehose.list_tags_for_delivery_stream(DeliveryStreamName=name)["Tags"] == [{"Key": "team", "Value": "data"}]
    with aws_error("ResourceNotFoundException", "under account 000000000000 not found."):
        firehose.put_record(DeliveryStreamName=unique("missing"), Record={"Data": b"x"})
    firehose.delete_delivery_stream(DeliveryStreamName=name)
    with aws_error("ResourceNotFoundException"):
        for _ in range(100):
            firehose.describe_delivery_stream(DeliveryStreamName=name)
            time.sleep(0.05)


def flush_until(endpoint: str, name: str, s3, bucket: str, want: set[bytes], timeout: float = 30.0) -> set[bytes]:
    """Flushes until every line of `want` is delivered (the copy from Kinesis runs on its own)."""
    deadline = time.monotonic() + timeout
    while True:
        flush(endpoint, name)
        got = set(b"".join(body for _, body in objects(s3, bucket)).splitlines(keepends=True))
        if want <= got or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def test_kinesis_stream_as_source_across_a_reshard_and_kill_9(spawn_module_server, seaweedfs, bucket):
    server = spawn_module_server(extra_args=["--s3-endpoint", seaweedfs.endpoint])
    kinesis, firehose = server.client(), server.client("firehose")
    stream = unique("src")
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    name = unique("fromk")
    firehose.create_delivery_stream(
        DeliveryStreamName=name, DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": f"arn:aws:kinesis:us-east-1:000000000000:stream/{stream}",
                                          "RoleARN": ROLE},
        ExtendedS3DestinationConfiguration={"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}"})
    with aws_error("InvalidArgumentException", "not permitted on KinesisStreamAsSource"):
        firehose.put_record(DeliveryStreamName=name, Record={"Data": b"x"})
    sent = []

    def put_batch(tag: str) -> None:
        records = [f"{tag} {i}\n".encode() for i in range(200)]
        sent.extend(records)
        kinesis.put_records(StreamName=stream, Records=[{"Data": r, "PartitionKey": f"k{i}"} for i, r in enumerate(records)])

    put_batch("before")
    kinesis.update_shard_count(StreamName=stream, TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    put_batch("after")
    server.kill()
    server.start()  # a new port: new clients
    kinesis, firehose = server.client(), server.client("firehose")
    put_batch("restarted")
    s3 = seaweedfs.client()
    got = flush_until(server.endpoint, name, s3, bucket, set(sent))
    assert set(sent) <= got, sorted(set(sent) - got)[:5]
    d = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    assert d["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"].endswith(f"stream/{stream}")
    server.stop()


def test_large_gzip_objects_decode_with_gzip_and_python(server, firehose, seaweedfs, bucket):
    """Objects over 1 MiB are written as one gzip member per core: the gzip tool and Python's
    gzip module must read them as one stream."""
    import subprocess

    name = create(firehose, bucket, CompressionFormat="GZIP", BufferingHints={"SizeInMBs": 8, "IntervalInSeconds": 900})
    payload = [f"{i:08d} ".encode() + uuid.uuid4().hex.encode() * 30 + b"\n" for i in range(3000)]
    for start in range(0, len(payload), 500):
        firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": r} for r in payload[start:start + 500]])
    flush(server.endpoint, name)
    [(_, body)] = objects(seaweedfs.client(), bucket)
    assert gzip.decompress(body) == b"".join(payload)
    unzipped = subprocess.run(["gzip", "-dc"], input=body, capture_output=True, check=True).stdout
    assert unzipped == b"".join(payload)


def test_encryption_at_rest_seals_records_in_the_data_directory(server, firehose, seaweedfs, bucket):
    name = create(firehose, bucket)
    firehose.start_delivery_stream_encryption(DeliveryStreamName=name,
                                              DeliveryStreamEncryptionConfigurationInput={"KeyType": "AWS_OWNED_CMK"})
    deadline = time.monotonic() + 10
    while firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"][
            "DeliveryStreamEncryptionConfiguration"]["Status"] != "ENABLED":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    marker = b"top-secret-" + uuid.uuid4().hex.encode()
    out = firehose.put_record(DeliveryStreamName=name, Record={"Data": marker})
    assert out["Encrypted"] is True
    segments = [p for p in (server.data_dir / "firehose").rglob("*") if p.is_file()]
    assert segments and not any(marker in p.read_bytes() for p in segments)
    flush(server.endpoint, name)
    [(_, body)] = objects(seaweedfs.client(), bucket)
    assert body == marker


def test_dynamic_partitioning_with_jq_writes_one_prefix_per_key(firehose, server, seaweedfs, bucket):
    """100 customers, one jq MetadataExtraction query: 100 prefixes, each with its own records."""
    name = unique("dp")
    firehose.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration={
        "RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}",
        "Prefix": "customer_id=!{partitionKeyFromQuery:customer_id}/",
        "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
        "DynamicPartitioningConfiguration": {"Enabled": True},
        "ProcessingConfiguration": {"Enabled": True, "Processors": [
            {"Type": "MetadataExtraction", "Parameters": [
                {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{customer_id: .customer.id}"},
                {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]},
            {"Type": "AppendDelimiterToRecord"}]},
    })

    records = [{"Data": json.dumps({"customer": {"id": f"c{i % 100:03d}"}, "n": i}).encode()} for i in range(300)]
    for start in range(0, 300, 100):
        out = firehose.put_record_batch(DeliveryStreamName=name, Records=records[start:start + 100])
        assert out["FailedPutCount"] == 0
    flush(server.endpoint, name)
    delivered = objects(seaweedfs.client(), bucket)
    prefixes = {key.split("/")[0] for key, _ in delivered}
    assert len(prefixes) == 100, sorted(prefixes)[:5]
    for key, body in delivered:
        customer = key.split("/")[0].removeprefix("customer_id=")
        lines = [json.loads(line) for line in body.decode().splitlines()]
        assert len(lines) == 3 and all(line["customer"]["id"] == customer for line in lines), key


def test_kpl_aggregates_and_json_sub_records_are_deaggregated(firehose, server, seaweedfs, bucket):
    """Aggregates made by aws-kinesis-agg (an independent KPL format implementation)."""
    from aws_kinesis_agg.aggregator import RecordAggregator

    name = unique("deagg")
    firehose.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration={
        "RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}", "Prefix": "out/",
        "ProcessingConfiguration": {"Enabled": True, "Processors": [
            {"Type": "RecordDeAggregation", "Parameters": [{"ParameterName": "SubRecordType", "ParameterValue": "JSON"}]},
            {"Type": "AppendDelimiterToRecord"}]},
    })
    aggregator = RecordAggregator()
    for i in range(5):
        aggregator.add_user_record(f"pk-{i}", json.dumps({"n": i}).encode())
    _, _, aggregated = aggregator.clear_and_get().get_contents()
    firehose.put_record_batch(DeliveryStreamName=name, Records=[
        {"Data": aggregated},
        {"Data": b'{"n":5}{"n":6}\n{"n":7}'},
    ])
    flush(server.endpoint, name)
    lines = b"".join(body for _, body in objects(seaweedfs.client(), bucket)).splitlines()
    assert [json.loads(line)["n"] for line in lines] == list(range(8))
