use super::*;
use serde_json::json;

const STREAM: &str = "arn:aws:kinesis:us-east-1:111111111111:stream/orders";

fn request<'a>(principal: &'a str, account: &'a str, action: &'a str) -> Request<'a> {
    Request {
        principal,
        principal_account: account,
        action,
        resource: STREAM,
        resource_account: "111111111111",
        source_ip: "10.1.2.3".parse().ok(),
        secure_transport: false,
        now_ms: 1_796_083_200_000,
    }
}

#[test]
fn explicit_deny_wins_then_an_allow_from_either_side() {
    let alice = request(
        "arn:aws:iam::111111111111:user/alice",
        "111111111111",
        "kinesis:PutRecord",
    );
    let put_only = json!({"Statement": [{"Effect": "Allow", "Action": "kinesis:Put*", "Resource": "arn:aws:kinesis:*:*:stream/*"}]});
    assert_eq!(decide(&alice, Some(&put_only), None), Decision::Allow);
    let get = request(
        "arn:aws:iam::111111111111:user/alice",
        "111111111111",
        "kinesis:GetRecords",
    );
    assert_eq!(decide(&get, Some(&put_only), None), Decision::ImplicitDeny);
    let deny = json!({"Statement": {"Effect": "Deny", "Principal": "*", "Action": "kinesis:*"}});
    assert_eq!(
        decide(&alice, Some(&put_only), Some(&deny)),
        Decision::DeniedByResource
    );
    let self_deny = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "NotAction": "kinesis:Describe*", "Resource": "*"}]});
    assert_eq!(
        decide(&alice, Some(&self_deny), None),
        Decision::DeniedByIdentity
    );
    // Same account: the resource policy alone may allow.
    let nothing = json!({"Statement": []});
    let grant = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:user/alice"}, "Action": "kinesis:PutRecord"}]});
    assert_eq!(
        decide(&alice, Some(&nothing), Some(&grant)),
        Decision::Allow
    );
}

#[test]
fn another_account_needs_both_sides() {
    let bob = request(
        "arn:aws:iam::222222222222:user/bob",
        "222222222222",
        "kinesis:PutRecord",
    );
    let allow_all = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    assert_eq!(decide(&bob, Some(&allow_all), None), Decision::ImplicitDeny);
    let grant = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["222222222222"]}, "Action": ["kinesis:PutRecord", "kinesis:PutRecords"]}]});
    assert_eq!(
        decide(&bob, Some(&allow_all), Some(&grant)),
        Decision::Allow
    );
}

#[test]
fn conditions_on_source_ip_time_and_transport() {
    let alice = request(
        "arn:aws:iam::111111111111:user/alice",
        "111111111111",
        "kinesis:PutRecord",
    );
    let policy = |condition: serde_json::Value| json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}]});
    assert_eq!(
        decide(
            &alice,
            Some(&policy(
                json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
            )),
            None
        ),
        Decision::Allow
    );
    assert_eq!(
        decide(
            &alice,
            Some(&policy(
                json!({"IpAddress": {"aws:SourceIp": "192.168.0.0/16"}})
            )),
            None
        ),
        Decision::ImplicitDeny
    );
    assert_eq!(
        decide(
            &alice,
            Some(&policy(
                json!({"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}})
            )),
            None
        ),
        Decision::Allow
    );
    assert_eq!(
        decide(
            &alice,
            Some(&policy(
                json!({"DateGreaterThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}})
            )),
            None
        ),
        Decision::ImplicitDeny
    );
    assert_eq!(
        decide(
            &alice,
            Some(&policy(json!({"Bool": {"aws:SecureTransport": "false"}}))),
            None
        ),
        Decision::Allow
    );
    assert_eq!(
        decide(
            &alice,
            Some(&policy(
                json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111111111111:user/*"}})
            )),
            None
        ),
        Decision::Allow
    );
    assert_eq!(
        decide(
            &alice,
            Some(&policy(json!({"NumericLessThan": {"kinesis:x": "1"}}))),
            None
        ),
        Decision::ImplicitDeny,
        "unknown operators never match"
    );
}

#[test]
fn wildcards_match_as_iam_matches() {
    assert!(wildcard("kinesis:Put*", "kinesis:PutRecords", true));
    assert!(wildcard("KINESIS:put*", "kinesis:PutRecord", true));
    assert!(wildcard("arn:aws:kinesis:*:*:stream/ord?rs", STREAM, false));
    assert!(!wildcard("arn:aws:kinesis:*:*:stream/o", STREAM, false));
    assert!(wildcard("*", "", false));
}
