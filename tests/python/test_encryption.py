"""Server-side encryption: StartStreamEncryption/StopStreamEncryption with real AES-256-GCM at
rest, KMS key ids in every AWS form, and records that survive a restart."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from spate_support import (
    ACCOUNT,
    aws_error,
    create_stream,
    read_shard,
    spate_bin,
    stream_arn,
)

SHARD = "shardId-000000000000"
GUID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{GUID}"


def files_containing(root: Path, needle: bytes) -> list[str]:
    """Every file under `root` whose bytes contain `needle`."""
    hits = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            if needle in path.read_bytes():
                hits.append(str(path.relative_to(root)))
    return hits


def summary(client, name):
    return client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]


@pytest.fixture
def durable(spawn_server):
    return spawn_server("durable", extra_args=["--kms-key-id", KEY_ARN, "--kms-key-id", "alias/orders"])


def test_encrypted_records_are_not_readable_on_disk_and_survive_restart(durable):
    """A recognisable payload and partition key written to an encrypted stream appear nowhere
    under the data directory in plain text, while the same bytes written before encryption do
    (so the search can find them); after kill -9 and restart both read back intact."""
    kinesis = durable.client()
    name = create_stream(kinesis, shards=1)
    marker = uuid.uuid4().hex
    plain = f"PLAIN-PAYLOAD-{marker}".encode()
    secret = f"SECRET-PAYLOAD-{marker}".encode()
    secret_key = f"SECRET-KEY-{marker}"
    before = kinesis.put_record(StreamName=name, Data=plain, PartitionKey="plain")
    assert before["EncryptionType"] == "NONE"

    kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    described = summary(kinesis, name)
    assert described["EncryptionType"] == "KMS" and described["KeyId"] == "alias/aws/kinesis"
    one = kinesis.put_record(StreamName=name, Data=secret, PartitionKey=secret_key)
    assert one["EncryptionType"] == "KMS"
    many = kinesis.put_records(
        StreamName=name, Records=[{"Data": secret + b"-%d" % i, "PartitionKey": secret_key} for i in range(50)]
    )
    assert many["EncryptionType"] == "KMS" and many["FailedRecordCount"] == 0

    assert files_containing(durable.data_dir, plain), "the unencrypted record must be findable"
    assert files_containing(durable.data_dir, secret) == []
    assert files_containing(durable.data_dir, secret_key.encode()) == []

    def check(client):
        records = read_shard(client, name, SHARD)
        assert [r["Data"] for r in records] == [plain, secret] + [secret + b"-%d" % i for i in range(50)]
        assert records[0]["PartitionKey"] == "plain" and "EncryptionType" not in records[0]
        assert all(r["PartitionKey"] == secret_key and r["EncryptionType"] == "KMS" for r in records[1:])
        assert records[1]["SequenceNumber"] == one["SequenceNumber"]

    check(kinesis)
    durable.restart()
    kinesis = durable.client()
    check(kinesis)
    # Encryption stays on across the restart, with a fresh data key.
    after = kinesis.put_record(StreamName=name, Data=secret + b"-after", PartitionKey=secret_key)
    assert after["EncryptionType"] == "KMS"
    assert files_containing(durable.data_dir, secret) == []
    assert read_shard(kinesis, name, SHARD)[-1]["Data"] == secret + b"-after"


def test_stop_stream_encryption_writes_plain_records_again(durable):
    kinesis = durable.client()
    name = create_stream(kinesis, shards=1)
    kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId=KEY_ARN)
    kinesis.put_record(StreamName=name, Data=b"sealed", PartitionKey="k")
    kinesis.stop_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId=KEY_ARN)
    assert summary(kinesis, name)["EncryptionType"] == "NONE"
    assert kinesis.put_record(StreamName=name, Data=b"open", PartitionKey="k")["EncryptionType"] == "NONE"
    records = read_shard(kinesis, name, SHARD)
    assert [(r["Data"], r.get("EncryptionType")) for r in records] == [(b"sealed", "KMS"), (b"open", None)]


@pytest.mark.parametrize(
    "key_id",
    [
        "alias/aws/kinesis",
        GUID,
        KEY_ARN,
        "alias/orders",
        f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/orders",
    ],
)
def test_every_form_of_a_known_key_id_is_accepted(durable, key_id):
    kinesis = durable.client()
    name = create_stream(kinesis, shards=1)
    kinesis.start_stream_encryption(StreamARN=stream_arn(name), EncryptionType="KMS", KeyId=key_id)
    assert summary(kinesis, name)["KeyId"] == key_id
    assert kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k")["EncryptionType"] == "KMS"


def test_key_errors(kinesis, kinesis_unvalidated):
    name = create_stream(kinesis, shards=1)
    with aws_error("KMSNotFoundException", "does not exist"):
        kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/nobody-made-this")
    with aws_error("InvalidArgumentException", "is not a properly formatted"):
        kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="not a key")
    with aws_error("InvalidArgumentException", "Encryption type cannot be NONE."):
        kinesis.start_stream_encryption(StreamName=name, EncryptionType="NONE", KeyId="alias/aws/kinesis")
    with aws_error("InvalidArgumentException", "Encryption type cannot be NONE."):
        kinesis.stop_stream_encryption(StreamName=name, EncryptionType="NONE", KeyId="alias/aws/kinesis")
    with aws_error("ValidationException"):
        kinesis_unvalidated.start_stream_encryption(StreamName=name, EncryptionType="AES", KeyId="alias/aws/kinesis")
    with aws_error("ResourceNotFoundException"):
        kinesis.start_stream_encryption(StreamName="no-such-stream", EncryptionType="KMS", KeyId="alias/aws/kinesis")
    assert summary(kinesis, name)["EncryptionType"] == "NONE"


def test_a_different_master_key_refuses_to_start(spawn_server, tmp_path):
    """Data keys are wrapped by the master key: with another one the server stops at start-up
    with a clear error instead of serving unreadable records."""
    key_file = tmp_path / "master.key"
    server = spawn_server("durable", extra_args=["--master-key-file", str(key_file)])
    kinesis = server.client()
    name = create_stream(kinesis, shards=1)
    kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k")
    assert key_file.exists()
    server.stop()
    other = tmp_path / "other.key"
    result = subprocess.run(
        [spate_bin(), "serve", "--port", "0", "--data-dir", str(server.data_dir), "--master-key-file", str(other)],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode != 0
    assert "master key" in result.stderr


def test_master_key_is_created_when_first_needed(spawn_server):
    """A server that never encrypts writes no key file (and warns about none); the first
    StartStreamEncryption creates it, readable by its owner only."""
    server = spawn_server("durable")
    kinesis = server.client()
    name = create_stream(kinesis, shards=1)
    key_file = Path(server.data_dir) / "master.key"
    assert not key_file.exists()
    assert "master key" not in server.stderr_text()
    kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    assert key_file.exists()
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert "created a new master key" in server.stderr_text()
