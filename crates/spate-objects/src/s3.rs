//! Any S3-compatible endpoint, through the official `aws-sdk-s3` (path-style addressing, so
//! bucket names need no DNS; HTTPS by rustls).

use crate::{ObjectError, ObjectFuture, ObjectStore, PutObject};
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider, TlsContext, TrustStore};
use bytes::Bytes;

/// How to reach the endpoint.
#[derive(Debug, Clone)]
pub struct S3Options {
    /// `http://host:port` or `https://host:port`.
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// The authorities an `https://` endpoint is verified against.
    pub trust: spate_outbound::Trust,
}

pub struct S3Store {
    client: aws_sdk_s3::Client,
    endpoint: String,
}

impl S3Store {
    pub fn new(options: &S3Options) -> S3Store {
        let credentials = Credentials::new(
            &options.access_key_id,
            &options.secret_access_key,
            None,
            None,
            "spate",
        );
        let mut builder =
            aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring));
        if let Some(pem) = options.trust.bundle_pem() {
            let store = TrustStore::default().with_pem_certificate(pem.to_vec());
            match TlsContext::builder().with_trust_store(store).build() {
                Ok(context) => builder = builder.tls_context(context),
                // Trust::with_bundle parsed the bundle already: this cannot happen in practice.
                Err(e) => tracing::error!("--ca-bundle not applied to S3: {e}"),
            }
        }
        let http = builder.build_https();
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(options.region.clone()))
            .endpoint_url(&options.endpoint)
            .force_path_style(true)
            .credentials_provider(credentials)
            .http_client(http)
            .build();
        S3Store {
            client: aws_sdk_s3::Client::from_conf(config),
            endpoint: options.endpoint.clone(),
        }
    }
}

/// Maps an SDK error by S3's error code; anything without one (connection refused, timeouts)
/// is worth retrying.
fn s3_error<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    bucket: &str,
    e: SdkError<E, R>,
) -> ObjectError {
    let code = e.code().unwrap_or_default().to_string();
    let message = e.message().map(str::to_string);
    let text = match (&message, code.is_empty()) {
        (Some(m), false) => format!("{code}: {m}"),
        (None, false) => code.clone(),
        _ => format!("{}", aws_sdk_s3::error::DisplayErrorContext(&e)),
    };
    match code.as_str() {
        "NoSuchBucket" => ObjectError::NoSuchBucket(bucket.to_string()),
        "AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch" => {
            ObjectError::AccessDenied(text)
        }
        _ => ObjectError::Unavailable(text),
    }
}

impl ObjectStore for S3Store {
    fn put(&self, object: PutObject) -> ObjectFuture<'_, ()> {
        Box::pin(async move {
            let mut request = self
                .client
                .put_object()
                .bucket(&object.bucket)
                .key(&object.key)
                .content_type("application/octet-stream")
                .body(ByteStream::from(object.body));
            if let Some(encoding) = object.content_encoding {
                request = request.content_encoding(encoding);
            }
            request
                .send()
                .await
                .map_err(|e| s3_error(&object.bucket, e))?;
            Ok(())
        })
    }

    fn get<'a>(&'a self, bucket: &'a str, key: &'a str) -> ObjectFuture<'a, Option<Bytes>> {
        Box::pin(async move {
            let out = match self
                .client
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) if e.code() == Some("NoSuchKey") => return Ok(None),
                Err(e) => return Err(s3_error(bucket, e)),
            };
            let body = out
                .body
                .collect()
                .await
                .map_err(|e| ObjectError::Unavailable(e.to_string()))?;
            Ok(Some(body.into_bytes()))
        })
    }

    fn list<'a>(&'a self, bucket: &'a str, prefix: &'a str) -> ObjectFuture<'a, Vec<String>> {
        Box::pin(async move {
            let mut keys = Vec::new();
            let mut token = None;
            loop {
                let page = self
                    .client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(prefix)
                    .set_continuation_token(token)
                    .send()
                    .await
                    .map_err(|e| s3_error(bucket, e))?;
                keys.extend(
                    page.contents()
                        .iter()
                        .filter_map(|o| o.key().map(String::from)),
                );
                token = page.next_continuation_token().map(String::from);
                if token.is_none() {
                    return Ok(keys);
                }
            }
        })
    }

    fn describe(&self) -> String {
        format!("S3 endpoint {}", self.endpoint)
    }
}
