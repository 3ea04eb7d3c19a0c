//! AWS Signature Version 4 for `POST /` JSON requests (the only shape the Kinesis API uses).

use crate::Credentials;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt::Write;
use std::time::SystemTime;

pub struct Request<'a> {
    pub method: &'a str,
    /// The request path, already in canonical (URI-encoded) form; no query string.
    pub path: &'a str,
    pub content_type: &'a str,
    pub host: &'a str,
    /// `X-Amz-Target` of the AWS JSON protocols; `None` for REST services.
    pub target: Option<&'a str>,
    pub body: &'a [u8],
    pub region: &'a str,
    pub service: &'a str,
    pub credentials: &'a Credentials,
    pub now: SystemTime,
}

pub struct Signed {
    pub amz_date: String,
    pub payload_hash: String,
    pub authorization: String,
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `YYYYMMDD'T'HHMMSS'Z'` from a system time (UTC).
pub fn amz_date(now: SystemTime) -> String {
    let t = jiff::Timestamp::try_from(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

pub fn sign(r: &Request<'_>) -> Signed {
    let amz_date = amz_date(r.now);
    let date = &amz_date[..8];
    let payload_hash = hex(&Sha256::digest(r.body));
    let mut headers = vec![
        ("content-type", r.content_type.to_string()),
        ("host", r.host.to_string()),
        ("x-amz-content-sha256", payload_hash.clone()),
        ("x-amz-date", amz_date.clone()),
    ];
    if let Some(target) = r.target {
        headers.push(("x-amz-target", target.to_string()));
    }
    if let Some(token) = &r.credentials.session_token {
        headers.push(("x-amz-security-token", token.clone()));
    }
    headers.sort_by(|a, b| a.0.cmp(b.0));
    let signed_headers = headers.iter().map(|h| h.0).collect::<Vec<_>>().join(";");
    let canonical_headers: String = headers
        .iter()
        .map(|(k, v)| format!("{k}:{}\n", v.trim()))
        .collect();
    let canonical = format!(
        "{}\n{}\n\n{canonical_headers}\n{signed_headers}\n{payload_hash}",
        r.method, r.path
    );
    let scope = format!("{date}/{}/{}/aws4_request", r.region, r.service);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let k_date = hmac(
        format!("AWS4{}", r.credentials.secret_key).as_bytes(),
        date.as_bytes(),
    );
    let k_region = hmac(&k_date, r.region.as_bytes());
    let k_service = hmac(&k_region, r.service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    let signature = hex(&hmac(&k_signing, to_sign.as_bytes()));
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        r.credentials.access_key
    );
    Signed {
        amz_date,
        payload_hash,
        authorization,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_are_utc_calendar_dates() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 2015-08-30T12:36:00Z
        assert_eq!(amz_date(t), "20150830T123600Z");
        assert_eq!(
            amz_date(SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "20000229T000000Z"
        );
    }

    #[test]
    fn signature_has_the_sigv4_shape_and_depends_on_the_body() {
        let creds = Credentials {
            access_key: "AKID".into(),
            secret_key: "secret".into(),
            session_token: None,
        };
        let req = |body: &'static [u8]| Request {
            method: "POST",
            path: "/",
            content_type: "application/x-amz-json-1.1",
            host: "127.0.0.1:4567",
            target: Some("Kinesis_20131202.ListStreams"),
            body,
            region: "us-east-1",
            service: "kinesis",
            credentials: &creds,
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160),
        };
        let a = sign(&req(b"{}"));
        let b = sign(&req(b"{ }"));
        assert!(a.authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/kinesis/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target, Signature="));
        assert_ne!(a.authorization, b.authorization);
        assert_eq!(
            a.payload_hash,
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }
}
