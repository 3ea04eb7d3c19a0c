use super::*;
use proptest::prelude::*;

const KEYS: &str = r#"
[[credentials]]
access_key_id = "AKIDEXAMPLE"
secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
principal = "arn:aws:iam::000000000000:user/example"
"#;

/// 2015-08-30T12:36:00Z, the AWS test suite's request time.
const SUITE_MS: i64 = 1_440_938_160_000;

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// AWS's SigV4 test suite, `get-vanilla`: `GET / HTTP/1.1`, Host example.amazonaws.com.
#[test]
fn the_aws_test_suites_get_vanilla_verifies() {
    let credentials = Credentials::from_toml(KEYS).unwrap();
    let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
    let h = headers(&[
        ("host", "example.amazonaws.com"),
        ("x-amz-date", "20150830T123600Z"),
        ("authorization", auth),
    ]);
    let r = SignedRequest {
        method: "GET",
        path: "/",
        query: None,
        headers: &h,
        body: b"",
    };
    let c = verify(&r, &credentials, SUITE_MS).expect("verifies");
    assert_eq!(c.principal, "arn:aws:iam::000000000000:user/example");
    // Six minutes later it has expired, with AWS's wording.
    let e = verify(&r, &credentials, SUITE_MS + 6 * 60_000).unwrap_err();
    assert_eq!(e.message(), "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z (20150830T124200Z - 5 min.)");
    let e = verify(&r, &credentials, SUITE_MS - 6 * 60_000).unwrap_err();
    assert!(
        e.message().starts_with("Signature not yet current"),
        "{}",
        e.message()
    );
}

/// Signs a POST the way the SDKs sign Kinesis calls.
fn signed(
    method: &str,
    path: &str,
    query: Option<&str>,
    body: &[u8],
    secret: &str,
) -> Vec<(String, String)> {
    let h = headers(&[
        ("host", "127.0.0.1:4567"),
        ("x-amz-date", "20150830T123600Z"),
        ("x-amz-target", "Kinesis_20131202.ListStreams"),
    ]);
    let p = Parts {
        access_key: "AKIDEXAMPLE".into(),
        scope: "20150830/us-east-1/kinesis/aws4_request".into(),
        date: "20150830T123600Z".into(),
        signed_headers: "host;x-amz-date;x-amz-target".into(),
        signature: String::new(),
        presigned: false,
        expires_secs: None,
    };
    let r = SignedRequest {
        method,
        path,
        query,
        headers: &h,
        body,
    };
    let signature = expected_signature(&r, &p, secret);
    let mut h = h;
    h.push((
        "authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{}, SignedHeaders={}, Signature={signature}",
            p.scope, p.signed_headers
        ),
    ));
    h
}

#[test]
fn unknown_keys_wrong_secrets_and_tokens_are_refused_as_aws_refuses_them() {
    let credentials = Credentials::from_toml(KEYS).unwrap();
    let h = signed(
        "POST",
        "/",
        None,
        b"{}",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    );
    let r = SignedRequest {
        method: "POST",
        path: "/",
        query: None,
        headers: &h,
        body: b"{}",
    };
    assert!(verify(&r, &credentials, SUITE_MS).is_ok());
    let wrong = signed("POST", "/", None, b"{}", "not the secret");
    let r = SignedRequest {
        method: "POST",
        path: "/",
        query: None,
        headers: &wrong,
        body: b"{}",
    };
    assert_eq!(
        verify(&r, &credentials, SUITE_MS).map(|c| c.principal.clone()),
        Err(AuthError::InvalidSignature(MISMATCH.into()))
    );
    let mut unknown = h.clone();
    let auth = unknown
        .iter_mut()
        .find(|(n, _)| n == "authorization")
        .unwrap();
    auth.1 = auth
        .1
        .replace("Credential=AKIDEXAMPLE", "Credential=AKIDOTHER");
    let r = SignedRequest {
        method: "POST",
        path: "/",
        query: None,
        headers: &unknown,
        body: b"{}",
    };
    assert_eq!(
        verify(&r, &credentials, SUITE_MS).map(|c| c.principal.clone()),
        Err(AuthError::UnrecognizedClient)
    );
    let mut with_token = h.clone();
    with_token.push(("x-amz-security-token".into(), "token".into()));
    let r = SignedRequest {
        method: "POST",
        path: "/",
        query: None,
        headers: &with_token,
        body: b"{}",
    };
    assert_eq!(
        verify(&r, &credentials, SUITE_MS).map(|c| c.principal.clone()),
        Err(AuthError::UnrecognizedClient)
    );
}

proptest! {
    /// Any changed byte of the method, path, query, a signed header or the body is refused.
    #[test]
    fn any_changed_byte_is_refused(which in 0usize..5, at in 0usize..64, flip in 1u8..=255) {
        let credentials = Credentials::from_toml(KEYS).unwrap();
        let (method, path, query, body) = ("POST", "/a/b", "x=1&y=2", br#"{"StreamName":"s"}"#);
        let h = signed(method, path, Some(query), body, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        let change = |text: &str| {
            let mut b = text.as_bytes().to_vec();
            let i = at % b.len();
            b[i] = b[i].wrapping_add(flip);
            String::from_utf8_lossy(&b).into_owned()
        };
        let (mut m, mut p, mut q, mut bd, mut hs) = (method.to_string(), path.to_string(), query.to_string(), body.to_vec(), h.clone());
        match which {
            0 => m = change(method),
            1 => p = change(path),
            2 => q = change(query),
            3 => bd = change(std::str::from_utf8(body).unwrap()).into_bytes(),
            _ => {
                let target = hs.iter_mut().find(|(n, _)| n == "x-amz-target").unwrap();
                target.1 = change(&target.1.clone());
            }
        }
        let r = SignedRequest { method: &m, path: &p, query: Some(&q), headers: &hs, body: &bd };
        // A change that decodes to the same canonical form (e.g. `+` and `%20`) is the same request.
        let same = m == method && canonical_uri(&p) == canonical_uri(path)
            && canonical_query(Some(&q), None) == canonical_query(Some(query), None)
            && bd == body && hs == h;
        prop_assert_eq!(verify(&r, &credentials, SUITE_MS).is_ok(), same);
    }
}

proptest! {
    /// Whatever an Authorization header, date or presigned query holds, verification answers
    /// with an error (or, for a valid signature, the credential) and never panics.
    #[test]
    fn arbitrary_authorization_headers_and_queries_never_panic(
        header in "\\PC{0,200}",
        date in "\\PC{0,24}",
        query in "\\PC{0,300}",
        presigned in any::<bool>(),
    ) {
        let credentials = Credentials::from_toml(KEYS).unwrap();
        let mut h = vec![("host".to_string(), "h".to_string()), ("x-amz-date".to_string(), date)];
        if !presigned {
            h.push(("authorization".to_string(), format!("AWS4-HMAC-SHA256 {header}")));
        }
        let query = if presigned { format!("X-Amz-Algorithm=AWS4-HMAC-SHA256&{query}") } else { query };
        let r = SignedRequest { method: "POST", path: "/", query: Some(&query), headers: &h, body: b"" };
        prop_assert!(verify(&r, &credentials, SUITE_MS).is_err());
    }

    /// Credentials shaped like real ones, with any scope and date, never panic either.
    #[test]
    fn arbitrary_credential_scopes_never_panic(day in "[0-9a-z€é]{0,10}", region in "[a-z0-9-]{0,12}", date in "[0-9TZ€é]{0,20}") {
        let credentials = Credentials::from_toml(KEYS).unwrap();
        let auth = format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{day}/{region}/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00");
        let h = vec![("host".to_string(), "h".to_string()), ("x-amz-date".to_string(), date), ("authorization".to_string(), auth)];
        let r = SignedRequest { method: "GET", path: "/", query: None, headers: &h, body: b"" };
        prop_assert!(verify(&r, &credentials, SUITE_MS).is_err());
    }
}
