"""TLS end to end: `spate cert generate` makes an authority and a server certificate; the server
speaks HTTPS with them (boto3 and the AWS CLI verify against the authority, nothing verifies
against the system's roots); aws:SecureTransport sees TLS; SIGHUP reads the certificate and the
credentials file again; Spate's own outgoing connections (a Firehose HTTPS endpoint) trust
--ca-bundle."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import ssl
import subprocess
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, SSLError

from firehose_receiver import Receiver
from spate_support import REGION, ServerFactory, spate_bin, unique_name

KEY = """
[[credentials]]
access_key_id = "{key}"
secret_access_key = "{key}-secret"
principal = "arn:aws:iam::000000000000:user/{key}"
"""

# Allowed only over TLS.
TLS_ONLY = """
[[credentials]]
access_key_id = "AKIDTLSONLY"
secret_access_key = "tls-only-secret"
principal = "arn:aws:iam::000000000000:user/tls-only"
policy = '{"Statement": [{"Effect": "Allow", "Action": "kinesis:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}'
"""


def generate(directory) -> dict[str, str]:
    done = subprocess.run([spate_bin(), "cert", "generate", "--dir", str(directory)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "AWS_CA_BUNDLE" in done.stdout
    return {name: str(directory / f"{name}.pem") for name in ("ca", "ca-key", "cert", "key")}


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    with ServerFactory(tmp_path_factory) as f:
        yield f


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    path = tmp_path_factory.mktemp("keys") / "credentials.toml"
    path.write_text(KEY.format(key="AKIDALICE") + TLS_ONLY)
    return path


@pytest.fixture(scope="module")
def server(factory, certs, keys):
    return factory("memory", extra_args=["--tls-cert", certs["cert"], "--tls-key", certs["key"],
                                         "--credentials-file", str(keys)])


def client(server, ca, key="AKIDALICE", secret="AKIDALICE-secret", service="kinesis"):
    return boto3.session.Session().client(
        service, endpoint_url=server.endpoint, region_name=REGION, verify=ca,
        aws_access_key_id=key, aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}),
    )


def test_boto3_verifies_the_server_against_the_generated_authority(server, certs):
    assert server.endpoint.startswith("https://")
    kinesis = client(server, certs["ca"])
    name = unique_name("tls")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.put_record(StreamName=name, Data=b"over tls", PartitionKey="k")
    shard = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=it)["Records"]] == [b"over tls"]
    # The authority is not one of the system's: a client that trusts only those refuses.
    with pytest.raises(SSLError):
        client(server, True).list_streams()


def test_the_aws_cli_works_with_its_ca_bundle_flag(server, certs):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIDALICE", "AWS_SECRET_ACCESS_KEY": "AKIDALICE-secret",
           "AWS_DEFAULT_REGION": REGION}
    done = subprocess.run(["aws", "--endpoint-url", server.endpoint, "--ca-bundle", certs["ca"],
                           "kinesis", "list-streams", "--output", "json"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "StreamNames" in json.loads(done.stdout)


def test_http2_and_http1_are_offered_by_alpn(server, certs):
    context = ssl.create_default_context(cafile=certs["ca"])
    for offered, chosen in ((["h2", "http/1.1"], "h2"), (["http/1.1"], "http/1.1")):
        context.set_alpn_protocols(offered)
        with context.wrap_socket(__import__("socket").create_connection(("127.0.0.1", server.port)),
                                 server_hostname="localhost") as tls:
            assert tls.selected_alpn_protocol() == chosen
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_plain_http_to_the_tls_port_gets_no_answer(server):
    with pytest.raises(Exception):
        urllib.request.urlopen(f"http://127.0.0.1:{server.port}/health", timeout=10).read()


def test_secure_transport_conditions_see_tls(factory, server, certs, keys):
    tls_only = dict(key="AKIDTLSONLY", secret="tls-only-secret")
    assert "StreamNames" in client(server, certs["ca"], **tls_only).list_streams()
    plain = factory("memory", extra_args=["--credentials-file", str(keys)])
    with pytest.raises(ClientError) as e:
        client(plain, None, **tls_only).list_streams()
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"


def served_certificate(port: int) -> bytes:
    return ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", port)))


def first_certificate(path: str) -> bytes:
    text = open(path).read()
    end = text.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")
    return ssl.PEM_cert_to_DER_cert(text[:end] + "\n")


def eventually(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_sighup_reloads_the_certificate_and_the_credentials(factory, tmp_path):
    served = generate(tmp_path / "served")
    keys = tmp_path / "credentials.toml"
    keys.write_text(KEY.format(key="AKIDOLD"))
    server = factory("memory", extra_args=["--tls-cert", served["cert"], "--tls-key", served["key"],
                                           "--credentials-file", str(keys)])
    assert served_certificate(server.port) == first_certificate(served["cert"])
    old = client(server, served["ca"], key="AKIDOLD", secret="AKIDOLD-secret")
    assert "StreamNames" in old.list_streams()

    # A broken certificate and credentials file change nothing.
    first = first_certificate(served["cert"])
    open(served["cert"], "w").write("not a certificate")
    keys.write_text("[[credentials]]\naccess_key_id = ")
    server.proc.send_signal(signal.SIGHUP)
    eventually(lambda: "not reloaded" in server.stderr_text() or (_ for _ in ()).throw(AssertionError()))
    assert served_certificate(server.port) == first
    assert "StreamNames" in old.list_streams()

    rotated = generate(tmp_path / "rotated")
    shutil.copy(rotated["cert"], served["cert"])
    shutil.copy(rotated["key"], served["key"])
    keys.write_text(KEY.format(key="AKIDNEW"))
    server.proc.send_signal(signal.SIGHUP)
    eventually(lambda: served_certificate(server.port) == first_certificate(rotated["cert"]) or (_ for _ in ()).throw(AssertionError()))
    new = client(server, rotated["ca"], key="AKIDNEW", secret="AKIDNEW-secret")
    assert "StreamNames" in eventually(new.list_streams)
    with pytest.raises(ClientError) as e:
        client(server, rotated["ca"], key="AKIDOLD", secret="AKIDOLD-secret").list_streams()
    assert e.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert server.proc.poll() is None, "SIGHUP must not stop the server"


def https_receiver(certs) -> Receiver:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs["cert"], certs["key"])
    return Receiver().start(tls=context)


def deliver_to(server, receiver: Receiver, bucket: str, retry_seconds: int) -> str:
    firehose = server.client("firehose")
    name = unique_name("tls-http")
    firehose.create_delivery_stream(DeliveryStreamName=name, HttpEndpointDestinationConfiguration={
        "EndpointConfiguration": {"Url": receiver.url, "Name": "receiver"},
        "S3Configuration": {"RoleARN": "arn:aws:iam::000000000000:role/r", "BucketARN": f"arn:aws:s3:::{bucket}"},
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
        "RetryOptions": {"DurationInSeconds": retry_seconds},
    })
    firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"secret"}])
    return name


def test_outgoing_https_trusts_the_ca_bundle_and_nothing_else(factory, certs, tmp_path):
    buckets = tmp_path / "buckets"
    (buckets / "backup").mkdir(parents=True)
    receiver = https_receiver(certs)
    try:
        trusting = factory("memory", extra_args=["--ca-bundle", certs["ca"], "--buckets-dir", str(buckets)])
        deliver_to(trusting, receiver, "backup", 300)
        [delivery] = eventually(lambda: receiver.accepted() or (_ for _ in ()).throw(AssertionError()), 30)
        assert delivery.records == [b"secret"]

        # Without the bundle the receiver's authority is unknown: the batch is backed up instead.
        doubting = factory("memory", extra_args=["--buckets-dir", str(buckets)])
        deliver_to(doubting, receiver, "backup", 0)
        failed = eventually(lambda: [p for p in (buckets / "backup").rglob("*") if p.is_file()]
                            or (_ for _ in ()).throw(AssertionError()), 30)
        line = json.loads(failed[0].read_text().splitlines()[0])
        assert base64.b64decode(line["rawData"]) == b"secret"
        assert "certificate" in line["errorMessage"].lower(), line["errorMessage"]
        assert len(receiver.accepted()) == 1
    finally:
        receiver.stop()


def test_a_missing_certificate_file_stops_the_start(tmp_path):
    done = subprocess.run([spate_bin(), "serve", "--in-memory", "--port", "0",
                           "--tls-cert", str(tmp_path / "nope.pem"), "--tls-key", str(tmp_path / "nope-key.pem")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "--tls-cert" in done.stderr and "nope.pem" in done.stderr


@pytest.fixture(scope="module")
def seaweed_tls(tmp_path_factory, certs):
    from seaweed import SeaweedFS

    server = SeaweedFS(tmp_path_factory.mktemp("seaweed-tls"), tls=(certs["cert"], certs["key"])).start()
    yield server
    server.stop()


def test_firehose_writes_to_s3_over_https_trusting_the_ca_bundle(factory, certs, seaweed_tls):
    s3 = seaweed_tls.client()
    s3.create_bucket(Bucket="tls-delivery")
    server = factory("memory", extra_args=["--s3-endpoint", seaweed_tls.https_endpoint, "--ca-bundle", certs["ca"]])
    firehose = server.client("firehose")
    name = unique_name("tls-s3")
    firehose.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration={
        "RoleARN": "arn:aws:iam::000000000000:role/r", "BucketARN": "arn:aws:s3:::tls-delivery",
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
    })
    firehose.put_record(DeliveryStreamName=name, Record={"Data": b"via https\n"})
    [listed] = eventually(lambda: s3.list_objects_v2(Bucket="tls-delivery")["Contents"], 30)
    assert s3.get_object(Bucket="tls-delivery", Key=listed["Key"])["Body"].read() == b"via https\n"


def test_function_urls_may_be_https(factory, certs):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    import threading

    seen = []

    class Function(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server API
            seen.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            body = b'{"answer": 42}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Function)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs["cert"], certs["key"])
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        server = factory("memory", extra_args=["--ca-bundle", certs["ca"]])
        lam = server.client("lambda")
        lam.create_function(FunctionName="secure", Runtime="provided.al2023", Role="arn:aws:iam::000000000000:role/r",
                            Handler="x", Code={}, Environment={"Variables": {
                                "SPATE_FUNCTION_URL": f"https://localhost:{httpd.server_address[1]}/"}})
        out = lam.invoke(FunctionName="secure", Payload=b'{"question": "?"}')
        assert "FunctionError" not in out, out["Payload"].read()
        assert json.loads(out["Payload"].read()) == {"answer": 42}
        assert seen == [{"question": "?"}]
    finally:
        httpd.shutdown()
        httpd.server_close()
