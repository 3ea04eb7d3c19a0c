//! The real `aws-sdk-kinesis` over TLS: certificates from `spate cert generate`, the client
//! trusting their authority only (rustls, the SDK's own TLS stack).

use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::ShardIteratorType;
use aws_sdk_kinesis::Client;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider, TlsContext, TrustStore};
use spate_e2e_rust_sdk::{spate_bin, start_server};

fn tls_client(endpoint: &str, trusted_pem: Option<Vec<u8>>) -> Client {
    let mut store = TrustStore::empty();
    if let Some(pem) = trusted_pem {
        store = store.with_pem_certificate(pem);
    }
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(
            TlsContext::builder()
                .with_trust_store(store)
                .build()
                .expect("tls context"),
        )
        .build_https();
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(endpoint)
        .http_client(http)
        .build();
    Client::from_conf(config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_sdk_over_tls() {
    let dir = std::env::temp_dir().join(format!("spate-rust-tls-{}", std::process::id()));
    let generated = std::process::Command::new(spate_bin())
        .args(["cert", "generate", "--dir"])
        .arg(&dir)
        .output()
        .expect("spate cert generate");
    assert!(generated.status.success(), "{generated:?}");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let mut server = start_server(&[
        "--tls-cert",
        cert.to_str().expect("path"),
        "--tls-key",
        key.to_str().expect("path"),
    ])
    .await;
    assert!(
        server.endpoint.starts_with("https://"),
        "{}",
        server.endpoint
    );
    let ca = std::fs::read(dir.join("ca.pem")).expect("ca.pem");
    let k = tls_client(&server.endpoint, Some(ca));

    k.create_stream()
        .stream_name("tls")
        .shard_count(1)
        .send()
        .await
        .expect("create");
    k.put_record()
        .stream_name("tls")
        .partition_key("k")
        .data(Blob::new(&b"over tls"[..]))
        .send()
        .await
        .expect("put");
    let iterator = k
        .get_shard_iterator()
        .stream_name("tls")
        .shard_id("shardId-000000000000")
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("iterator");
    let records = k
        .get_records()
        .shard_iterator(iterator.shard_iterator().expect("iterator"))
        .send()
        .await
        .expect("get");
    let data: Vec<&[u8]> = records
        .records()
        .iter()
        .map(|r| r.data().as_ref())
        .collect();
    assert_eq!(data, vec![&b"over tls"[..]]);

    // A client that does not trust the authority gets no answer.
    let doubting = tls_client(&server.endpoint, None);
    assert!(doubting.list_streams().send().await.is_err());

    server.child.kill().await.expect("stop");
    let _ = std::fs::remove_dir_all(&dir);
}
