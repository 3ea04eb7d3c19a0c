"""Firehose's search destinations (Amazon OpenSearch Service, Elasticsearch, OpenSearch
Serverless) end to end with boto3, against the in-tree bulk receiver (opensearch_receiver.py: no
OpenSearch server installs here): documents indexed with explicit rotated index names and stable
ids, only failed documents retried, documents still failing past RetryOptions backed up under
AmazonOpenSearchService-failed/."""

from __future__ import annotations

import base64
import datetime
import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from opensearch_receiver import Cluster
from spate_support import ServerFactory

ROLE = "arn:aws:iam::000000000000:role/firehose"


@pytest.fixture(scope="module")
def buckets(tmp_path_factory):
    path = tmp_path_factory.mktemp("buckets")
    (path / "os-backup").mkdir()
    return path


@pytest.fixture(scope="module")
def firehose(tmp_path_factory, buckets):
    with ServerFactory(tmp_path_factory) as factory:
        server = factory("memory", extra_args=["--firehose-allow-http", "--buckets-dir", str(buckets)])
        yield server.client("firehose")


@pytest.fixture
def cluster():
    c = Cluster().start()
    yield c
    c.stop()


def create(firehose, cluster, member="AmazonopensearchserviceDestinationConfiguration", **extra) -> str:
    name = f"os-{uuid.uuid4().hex[:12]}"
    endpoint = "CollectionEndpoint" if "Serverless" in member else "ClusterEndpoint"
    config = {
        "RoleARN": ROLE, endpoint: cluster.url, "IndexName": "logs",
        "S3Configuration": {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::os-backup", "Prefix": f"{name}/"},
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
        **extra,
    }
    firehose.create_delivery_stream(DeliveryStreamName=name, **{member: config})
    return name


def describe(firehose, name: str) -> dict:
    return firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]


def wait(what, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (result := what()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return result


def put(firehose, name: str, records: list[bytes]) -> None:
    firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": r} for r in records])


def backups(buckets, name: str, folder: str) -> list[dict]:
    """The error records of `name`'s objects in the backup bucket whose key has `folder`."""
    lines = []
    for f in sorted((buckets / "os-backup").rglob("*")):
        relative = str(f.relative_to(buckets / "os-backup"))
        if f.is_file() and folder in relative and name in relative:
            lines += [json.loads(line) for line in f.read_text().splitlines()]
    return lines


def test_the_destination_is_described_with_aws_defaults(firehose, cluster):
    name = create(firehose, cluster)
    d = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]["Destinations"][0]
    os_ = d["AmazonopensearchserviceDestinationDescription"]
    assert os_["ClusterEndpoint"] == cluster.url and os_["IndexName"] == "logs"
    assert os_["IndexRotationPeriod"] == "OneDay"
    assert os_["RetryOptions"] == {"DurationInSeconds": 300}
    assert os_["S3BackupMode"] == "FailedDocumentsOnly"
    assert os_["DocumentIdOptions"] == {"DefaultDocumentIdFormat": "FIREHOSE_DEFAULT"}
    assert os_["S3DestinationDescription"]["BucketARN"] == "arn:aws:s3:::os-backup"


def test_documents_are_indexed_with_rotated_names_and_stable_ids(firehose, cluster):
    name = create(firehose, cluster, IndexRotationPeriod="OneDay")
    cluster.script = [{"fail_first": 1, "status": 429}]
    put(firehose, name, [b'{"n": 1}', b'{"n": 2}\n', b'{\n "n": 3\n}'])
    index = "logs-" + datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    docs = wait(lambda: len(cluster.documents(index)) == 3 and cluster.documents(index))
    assert sorted(d["n"] for d in docs.values()) == [1, 2, 3]
    assert cluster.violations == []
    first, second = cluster.requests[0], cluster.requests[1]
    assert len(first.items) == 3 and len(second.items) == 1, "only the rejected document is sent again"
    assert second.items[0][1]["_id"] == first.items[0][1]["_id"], "with the id it had"
    assert all(meta["_index"] == index for _, meta, _ in first.items)


def test_documents_failing_past_the_retry_window_are_backed_up(firehose, cluster, buckets):
    name = create(firehose, cluster, RetryOptions={"DurationInSeconds": 0}, IndexRotationPeriod="NoRotation",
                  DocumentIdOptions={"DefaultDocumentIdFormat": "NO_DOCUMENT_ID"})
    put(firehose, name, [b'{"ok": true}', b"not json"])
    failed = wait(lambda: backups(buckets, name, "AmazonOpenSearchService-failed"))
    assert len(failed) == 1
    line = failed[0]
    assert base64.b64decode(line["rawData"]) == b"not json"
    assert line["errorCode"] == "400" and "mapper_parsing_exception" in line["errorMessage"]
    assert line["esIndexName"] == "logs" and line["esDocumentId"] is None
    assert line["attemptsMade"] >= 1 and line["arrivalTimestamp"] > 10**12
    assert list(cluster.documents("logs").values()) == [{"ok": True}]
    assert all("_id" not in meta for bulk in cluster.requests for _, meta, _ in bulk.items)


def test_all_documents_mode_also_writes_every_record_to_s3(firehose, cluster, buckets):
    name = create(firehose, cluster, S3BackupMode="AllDocuments")
    put(firehose, name, [b'{"a": 1}', b'{"a": 2}'])
    wait(lambda: len(cluster.documents()) >= 2)

    def objects():
        found = [f for f in (buckets / "os-backup" / name).rglob("*") if f.is_file()] if (buckets / "os-backup" / name).exists() else []
        return [f for f in found if "failed" not in str(f)]

    [copy] = wait(objects)
    assert copy.read_bytes() == b'{"a": 1}{"a": 2}'


def test_clusters_are_reached_by_endpoint_only(firehose, cluster):
    with pytest.raises(ClientError) as e:
        firehose.create_delivery_stream(DeliveryStreamName=f"os-{uuid.uuid4().hex[:8]}", AmazonopensearchserviceDestinationConfiguration={
            "RoleARN": ROLE, "DomainARN": "arn:aws:es:us-east-1:000000000000:domain/logs", "IndexName": "logs",
            "S3Configuration": {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::os-backup"}})
    assert e.value.response["Error"]["Code"] == "InvalidArgumentException"
    assert "ClusterEndpoint" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        firehose.create_delivery_stream(DeliveryStreamName=f"os-{uuid.uuid4().hex[:8]}", AmazonopensearchserviceDestinationConfiguration={
            "RoleARN": ROLE, "ClusterEndpoint": cluster.url, "IndexName": "logs", "IndexRotationPeriod": "OneYear",
            "S3Configuration": {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::os-backup"}})
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "indexRotationPeriod" in e.value.response["Error"]["Message"]


def test_update_destination_merges_into_the_same_service(firehose, cluster):
    name = create(firehose, cluster)
    d = describe(firehose, name)
    firehose.update_destination(
        DeliveryStreamName=name, CurrentDeliveryStreamVersionId=d["VersionId"],
        DestinationId=d["Destinations"][0]["DestinationId"],
        AmazonopensearchserviceDestinationUpdate={"IndexName": "events", "IndexRotationPeriod": "NoRotation",
                                                  "RetryOptions": {"DurationInSeconds": 60}})
    os_ = describe(firehose, name)["Destinations"][0]["AmazonopensearchserviceDestinationDescription"]
    assert (os_["IndexName"], os_["IndexRotationPeriod"], os_["RetryOptions"]) == ("events", "NoRotation", {"DurationInSeconds": 60})
    assert os_["ClusterEndpoint"] == cluster.url, "members the update leaves out are kept"
    put(firehose, name, [b'{"after": "update"}'])
    assert list(wait(lambda: cluster.documents("events")).values()) == [{"after": "update"}]
    d = describe(firehose, name)
    with pytest.raises(ClientError) as e:
        firehose.update_destination(
            DeliveryStreamName=name, CurrentDeliveryStreamVersionId=d["VersionId"],
            DestinationId=d["Destinations"][0]["DestinationId"],
            ElasticsearchDestinationUpdate={"IndexName": "other"})
    assert e.value.response["Error"]["Code"] == "InvalidArgumentException"


def test_elasticsearch_destination_indexes_with_type_names(firehose, cluster, buckets):
    name = create(firehose, cluster, member="ElasticsearchDestinationConfiguration", TypeName="event",
                  IndexRotationPeriod="OneMonth", RetryOptions={"DurationInSeconds": 0})
    es = describe(firehose, name)["Destinations"][0]
    assert "AmazonopensearchserviceDestinationDescription" not in es
    es = es["ElasticsearchDestinationDescription"]
    assert (es["ClusterEndpoint"], es["TypeName"], es["IndexRotationPeriod"]) == (cluster.url, "event", "OneMonth")
    assert es["DocumentIdOptions"] == {"DefaultDocumentIdFormat": "FIREHOSE_DEFAULT"}
    put(firehose, name, [b'{"es": 1}', b"broken"])
    index = "logs-" + datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m")
    assert list(wait(lambda: cluster.documents(index)).values()) == [{"es": 1}]
    assert all(meta["_type"] == "event" and "_id" in meta for _, meta, _ in cluster.requests[0].items)
    [failed] = wait(lambda: backups(buckets, name, "AmazonOpenSearchService-failed"))
    assert (failed["esIndexName"], failed["esTypeName"]) == (index, "event")


def test_serverless_collections_get_documents_without_ids_or_rotation(firehose, cluster):
    member = "AmazonOpenSearchServerlessDestinationConfiguration"
    name = create(firehose, cluster, member=member)
    d = describe(firehose, name)["Destinations"][0]["AmazonOpenSearchServerlessDestinationDescription"]
    assert d["CollectionEndpoint"] == cluster.url and "ClusterEndpoint" not in d
    assert not {"IndexRotationPeriod", "DocumentIdOptions", "TypeName", "DomainARN"} & d.keys()
    assert d["S3BackupMode"] == "FailedDocumentsOnly" and d["RetryOptions"] == {"DurationInSeconds": 300}
    put(firehose, name, [b'{"s": 1}', b'{"s": 2}'])
    docs = wait(lambda: len(cluster.documents("logs")) == 2 and cluster.documents("logs"))
    assert sorted(v["s"] for v in docs.values()) == [1, 2]
    assert all("_id" not in meta for _, meta, _ in cluster.requests[0].items)
    with pytest.raises(ClientError) as e:
        firehose.create_delivery_stream(DeliveryStreamName=f"os-{uuid.uuid4().hex[:8]}", **{member: {
            "RoleARN": ROLE, "IndexName": "logs", "S3Configuration": {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::os-backup"}}})
    assert e.value.response["Error"]["Code"] == "InvalidArgumentException"
    assert "CollectionEndpoint" in e.value.response["Error"]["Message"]


def test_a_bulk_request_in_flight_survives_kill_9(tmp_path_factory, buckets, cluster):
    """kill -9 while the cluster holds a `_bulk` request: after the restart the batch is sent
    again with the same document ids, so nothing is lost and nothing is indexed twice."""
    with ServerFactory(tmp_path_factory) as factory:
        server = factory("durable", extra_args=["--firehose-allow-http", "--buckets-dir", str(buckets)])
        firehose = server.client("firehose")
        cluster.hold = True
        name = create(firehose, cluster, IndexRotationPeriod="NoRotation")
        sent = [json.dumps({"n": n}).encode() for n in range(20)]
        firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": r} for r in sent])
        wait(lambda: len(cluster.requests) >= 1)
        server.restart()  # kill -9 with the request unanswered, then start on the same data
        cluster.hold = False
        cluster.release.set()
        wait(lambda: len(cluster.requests) >= 2, timeout=60)
        first, again = cluster.requests[0], cluster.requests[-1]
        ids = lambda bulk: [meta["_id"] for _, meta, _ in bulk.items]
        assert ids(again) == ids(first) and len(ids(first)) == 20
        documents = wait(lambda: len(cluster.documents("logs")) == 20 and cluster.documents("logs"))
        assert sorted(d["n"] for d in documents.values()) == list(range(20))
        assert cluster.violations == []
