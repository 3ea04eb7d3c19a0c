"""Firehose's Redshift destination end to end with boto3, emulated on a real PostgreSQL 15
server (postgres.py): the intermediate objects and their manifests in the bucket, COPY of
JSON ('auto', with epoch times), CSV with a column list and delimited text into the table,
failures retried and then skipped with the manifest under errors/manifests/, CopyOptions that
cannot be honoured refused at creation, and a kill -9 while the COPY waits on a lock losing
nothing."""

from __future__ import annotations

import gzip
import json
import subprocess
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from postgres import PASSWORD, SUPERUSER, PostgreSQL
from spate_support import ServerFactory, spate_bin

ROLE = "arn:aws:iam::000000000000:role/firehose"


@pytest.fixture(scope="module")
def pg():
    server = PostgreSQL().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def buckets(tmp_path_factory):
    path = tmp_path_factory.mktemp("buckets")
    (path / "staging").mkdir()
    return path


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    with ServerFactory(tmp_path_factory) as f:
        yield f


@pytest.fixture(scope="module")
def server(factory, buckets):
    return factory("durable", extra_args=["--buckets-dir", str(buckets)])


def table(pg, columns: str = "id integer, name varchar(32), at timestamptz") -> str:
    name = f"t_{uuid.uuid4().hex[:10]}"
    pg.sql(f"CREATE TABLE {name} ({columns})")
    return name


def create(firehose, pg, table_name: str, copy_options: str = "JSON 'auto'", *, columns=None, name=None, **extra) -> str:
    name = name or f"rs-{uuid.uuid4().hex[:10]}"
    copy = {"DataTableName": table_name, "CopyOptions": copy_options, **({"DataTableColumns": columns} if columns else {})}
    firehose.create_delivery_stream(DeliveryStreamName=name, RedshiftDestinationConfiguration={
        "RoleARN": ROLE, "ClusterJDBCURL": pg.jdbc_url, "CopyCommand": copy,
        "Username": SUPERUSER, "Password": PASSWORD,
        "S3Configuration": {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::staging", "Prefix": f"{name}/",
                            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}, **extra.pop("s3", {})},
        **extra})
    return name


def wait(what, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (result := what()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return result


def files(buckets, under: str) -> dict[str, bytes]:
    root = buckets / "staging"
    return {str(f.relative_to(root)): f.read_bytes() for f in root.rglob("*") if f.is_file() and str(f.relative_to(root)).startswith(under)}


def put(firehose, name: str, records: list[bytes]) -> None:
    firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": r} for r in records])


def test_json_records_are_copied_with_a_manifest_and_described_without_the_password(server, pg, buckets):
    firehose = server.client("firehose")
    t = table(pg)
    name = create(firehose, pg, t, "JSON 'auto' GZIP TIMEFORMAT 'epochmillisecs'", s3={"CompressionFormat": "GZIP"})
    d = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]["Destinations"][0]
    rs = d["RedshiftDestinationDescription"]
    assert "Password" not in rs and rs["Username"] == SUPERUSER
    assert rs["RetryOptions"] == {"DurationInSeconds": 3600} and rs["S3BackupMode"] == "Disabled"
    assert rs["CopyCommand"] == {"DataTableName": t, "CopyOptions": "JSON 'auto' GZIP TIMEFORMAT 'epochmillisecs'"}
    put(firehose, name, [b'{"id": 1, "name": "ada", "at": 1700000000000}', b'{"id": 2, "name": "bob", "ignored": 1}'])
    rows = wait(lambda: pg.sql(f"SELECT id, name, at AT TIME ZONE 'UTC' FROM {t} ORDER BY id"))
    assert rows == [["1", "ada", "2023-11-14 22:13:20"], ["2", "bob", ""]]
    [(key, manifest)] = files(buckets, f"{name}/manifests/").items()
    entries = json.loads(manifest)["entries"]
    assert len(entries) == 1 and entries[0]["mandatory"] is True
    data_key = entries[0]["url"].removeprefix("s3://staging/")
    assert data_key.startswith(f"{name}/") and data_key.endswith(".gz")
    assert gzip.decompress((buckets / "staging" / data_key).read_bytes()).startswith(b'{"id": 1')


def test_csv_with_a_column_list_and_delimited_text(server, pg):
    firehose = server.client("firehose")
    t = table(pg)
    name = create(firehose, pg, t, "CSV", columns="name,id")
    put(firehose, name, [b'"x, y",1\n', b'"q ""z""",2\n'])
    assert wait(lambda: pg.sql(f"SELECT id, name FROM {t} ORDER BY id")) == [["1", "x, y"], ["2", 'q "z"']]
    t2 = table(pg)
    name = create(firehose, pg, t2, "DELIMITER '|' NULL AS 'nil'")
    put(firehose, name, [b"7|a\\b|nil\n"])
    assert wait(lambda: pg.sql(f"SELECT id, name, at IS NULL FROM {t2}")) == [["7", "a\\b", "t"]]


def test_a_batch_that_keeps_failing_is_skipped_with_its_manifest_under_errors(server, pg, buckets):
    firehose = server.client("firehose")
    name = create(firehose, pg, "no_such_table", RetryOptions={"DurationInSeconds": 0})
    put(firehose, name, [b'{"id": 1}'])
    [(key, manifest)] = wait(lambda: list(files(buckets, f"{name}/errors/manifests/").items()))
    [entry] = json.loads(manifest)["entries"]
    assert (buckets / "staging" / entry["url"].removeprefix("s3://staging/")).read_bytes() == b'{"id": 1}'
    t = table(pg)
    bad_password = create(firehose, pg, t, RetryOptions={"DurationInSeconds": 1}, Password="not-the-password")
    put(firehose, bad_password, [b'{"id": 2}'])
    wait(lambda: files(buckets, f"{bad_password}/errors/manifests/"))
    assert pg.sql(f"SELECT count(*) FROM {t}") == [["0"]]


def test_copy_options_spate_cannot_honour_are_refused(server, pg):
    firehose = server.client("firehose")
    for options, named in [("FIXEDWIDTH 'id:3'", "FIXEDWIDTH"), ("JSON 'auto' DELIMITER ','", "JSON cannot"),
                           ("TIMEFORMAT 'MM/DD/YYYY'", "TIMEFORMAT")]:
        with pytest.raises(ClientError) as e:
            create(firehose, pg, "t", options)
        assert e.value.response["Error"]["Code"] == "InvalidArgumentException"
        assert named in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        create(firehose, pg, "t", s3={"CompressionFormat": "ZIP"})
    assert "SNAPPY or ZIP" in e.value.response["Error"]["Message"]


def test_a_copy_waiting_on_a_lock_survives_kill_9(factory, pg, buckets):
    server = factory("durable", extra_args=["--buckets-dir", str(buckets)])
    firehose = server.client("firehose")
    t = table(pg, "id integer")
    name = create(firehose, pg, t)
    lock = pg.hold(f"BEGIN; LOCK TABLE {t} IN ACCESS EXCLUSIVE MODE;")
    try:
        wait(lambda: pg.sql(f"SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = '{t}' AND l.granted"))
        put(firehose, name, [b'{"id": 1}', b'{"id": 2}'])
        wait(lambda: pg.sql("SELECT 1 FROM pg_stat_activity WHERE query LIKE 'COPY%' AND wait_event_type = 'Lock'"))
        server.restart()  # kill -9 while the COPY waits, then start on the same data directory
    finally:
        lock.kill()
        lock.wait()
    assert wait(lambda: pg.sql(f"SELECT id FROM {t} ORDER BY id")) == [["1"], ["2"]]


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    out = tmp_path_factory.mktemp("pg-certs")
    subprocess.run([spate_bin(), "cert", "generate", "--dir", str(out)], check=True, capture_output=True)
    return out


def test_tls_to_the_database_trusts_the_ca_bundle_and_refuses_an_unknown_issuer(factory, buckets, certificates):
    pg = PostgreSQL(tls=certificates).start()
    try:
        trusted = factory("memory", extra_args=["--buckets-dir", str(buckets), "--ca-bundle", str(certificates / "ca.pem")])
        untrusted = factory("memory", extra_args=["--buckets-dir", str(buckets)])
        t = table(pg, "id integer")
        url = f"{pg.jdbc_url}?ssl=true"
        ok = create(trusted.client("firehose"), pg, t, ClusterJDBCURL=url)
        put(trusted.client("firehose"), ok, [b'{"id": 1}'])
        assert wait(lambda: pg.sql(f"SELECT id FROM {t}")) == [["1"]]
        refused = create(untrusted.client("firehose"), pg, t, ClusterJDBCURL=url, RetryOptions={"DurationInSeconds": 0})
        put(untrusted.client("firehose"), refused, [b'{"id": 2}'])
        wait(lambda: files(buckets, f"{refused}/errors/manifests/"))
        assert "certificate" in untrusted.stderr_text().lower()
        assert pg.sql(f"SELECT id FROM {t}") == [["1"]]
    finally:
        pg.stop()
