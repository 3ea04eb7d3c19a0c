//! IAM-style policy evaluation, as AWS evaluates a request against an identity policy and a
//! resource policy: an explicit Deny in either wins; otherwise an Allow from either side allows a
//! principal of the resource's account, while a principal of another account needs both.
//!
//! Statements support Effect, Action/NotAction and Resource/NotResource with `*` and `?`
//! wildcards, Principal (resource policies: `"*"`, `{"AWS": ARN | account | [...]}`), and the
//! common Condition operators (String*, Arn*, Bool, IpAddress/NotIpAddress,
//! Date{LessThan,GreaterThan}[Equals]) over `aws:SourceIp`, `aws:PrincipalArn`,
//! `aws:CurrentTime` and `aws:SecureTransport`. A condition Spate does not know never matches.

use serde_json::Value;

/// What is being decided.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub principal: &'a str,
    pub principal_account: &'a str,
    pub action: &'a str,
    pub resource: &'a str,
    pub resource_account: &'a str,
    pub source_ip: Option<std::net::IpAddr>,
    pub secure_transport: bool,
    pub now_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Neither side allows (for a cross-account principal: not both).
    ImplicitDeny,
    DeniedByIdentity,
    DeniedByResource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allow,
    Deny,
    None,
}

/// Decides `r` under the principal's identity policy (`None`: the principal may do anything,
/// Spate's choice for credentials given no policy) and the resource's policy.
pub fn decide(r: &Request<'_>, identity: Option<&Value>, resource: Option<&Value>) -> Decision {
    let identity_outcome = identity.map_or(Outcome::Allow, |p| evaluate(p, r, false));
    let resource_outcome = resource.map_or(Outcome::None, |p| evaluate(p, r, true));
    if identity_outcome == Outcome::Deny {
        return Decision::DeniedByIdentity;
    }
    if resource_outcome == Outcome::Deny {
        return Decision::DeniedByResource;
    }
    let same_account = r.principal_account == r.resource_account;
    let allowed = if same_account {
        identity_outcome == Outcome::Allow || resource_outcome == Outcome::Allow
    } else {
        identity_outcome == Outcome::Allow && resource_outcome == Outcome::Allow
    };
    if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

fn statements(policy: &Value) -> Vec<&Value> {
    match &policy["Statement"] {
        Value::Array(list) => list.iter().collect(),
        Value::Object(_) => vec![&policy["Statement"]],
        _ => Vec::new(),
    }
}

fn evaluate(policy: &Value, r: &Request<'_>, resource_policy: bool) -> Outcome {
    let mut outcome = Outcome::None;
    for s in statements(policy) {
        if !applies(s, r, resource_policy) {
            continue;
        }
        match s["Effect"].as_str() {
            Some("Deny") => return Outcome::Deny,
            Some("Allow") => outcome = Outcome::Allow,
            _ => {}
        }
    }
    outcome
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn applies(s: &Value, r: &Request<'_>, resource_policy: bool) -> bool {
    let action = match (s.get("Action"), s.get("NotAction")) {
        (Some(a), _) => strings(a).iter().any(|p| wildcard(p, r.action, true)),
        (None, Some(n)) => !strings(n).iter().any(|p| wildcard(p, r.action, true)),
        _ => false,
    };
    let resource = match (s.get("Resource"), s.get("NotResource")) {
        (Some(a), _) => strings(a).iter().any(|p| wildcard(p, r.resource, false)),
        (None, Some(n)) => !strings(n).iter().any(|p| wildcard(p, r.resource, false)),
        // Resource policies may leave Resource out: the resource they are attached to.
        _ => resource_policy,
    };
    let principal = !resource_policy || principal_matches(&s["Principal"], r);
    action && resource && principal && conditions_hold(&s["Condition"], r)
}

fn principal_matches(p: &Value, r: &Request<'_>) -> bool {
    let names = match p {
        Value::String(s) => vec![s.as_str()],
        Value::Object(map) => map.get("AWS").map(strings).unwrap_or_default(),
        _ => Vec::new(),
    };
    names.iter().any(|n| {
        *n == "*"
            || *n == r.principal
            || *n == r.principal_account
            || *n == format!("arn:aws:iam::{}:root", r.principal_account)
    })
}

/// `*` and `?` wildcards; actions compare without case, as IAM does.
pub fn wildcard(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if ignore_case {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn context_value(key: &str, r: &Request<'_>) -> Option<String> {
    match key.to_ascii_lowercase().as_str() {
        "aws:sourceip" => r.source_ip.map(|ip| ip.to_string()),
        "aws:principalarn" => Some(r.principal.to_string()),
        "aws:securetransport" => Some(r.secure_transport.to_string()),
        "aws:currenttime" => jiff::Timestamp::from_millisecond(r.now_ms)
            .ok()
            .map(|t| t.to_string()),
        _ => None,
    }
}

fn conditions_hold(c: &Value, r: &Request<'_>) -> bool {
    let Some(operators) = c.as_object() else {
        return true;
    };
    operators.iter().all(|(operator, keys)| {
        keys.as_object().is_some_and(|keys| {
            keys.iter().all(|(key, wanted)| {
                let actual = context_value(key, r);
                let wanted = strings(wanted);
                operator_holds(operator, actual.as_deref(), &wanted)
            })
        })
    })
}

fn operator_holds(operator: &str, actual: Option<&str>, wanted: &[&str]) -> bool {
    let Some(actual) = actual else {
        return false;
    };
    let any = |f: &dyn Fn(&str) -> bool| wanted.iter().any(|w| f(w));
    match operator {
        "StringEquals" | "ArnEquals" => any(&|w| w == actual),
        "StringNotEquals" | "ArnNotEquals" => !any(&|w| w == actual),
        "StringEqualsIgnoreCase" => any(&|w| w.eq_ignore_ascii_case(actual)),
        "StringLike" | "ArnLike" => any(&|w| wildcard(w, actual, false)),
        "StringNotLike" | "ArnNotLike" => !any(&|w| wildcard(w, actual, false)),
        "Bool" => any(&|w| w.eq_ignore_ascii_case(actual)),
        "IpAddress" => any(&|w| in_cidr(actual, w)),
        "NotIpAddress" => !any(&|w| in_cidr(actual, w)),
        "DateLessThan" => any(&|w| compare_dates(actual, w).is_some_and(|o| o.is_lt())),
        "DateLessThanEquals" => any(&|w| compare_dates(actual, w).is_some_and(|o| o.is_le())),
        "DateGreaterThan" => any(&|w| compare_dates(actual, w).is_some_and(|o| o.is_gt())),
        "DateGreaterThanEquals" => any(&|w| compare_dates(actual, w).is_some_and(|o| o.is_ge())),
        _ => false,
    }
}

fn compare_dates(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    let a: jiff::Timestamp = a.parse().ok()?;
    let b: jiff::Timestamp = b.parse().ok()?;
    Some(a.cmp(&b))
}

fn in_cidr(ip: &str, cidr: &str) -> bool {
    let Ok(ip) = ip.parse::<std::net::IpAddr>() else {
        return false;
    };
    let (net, bits) = cidr.split_once('/').unwrap_or((cidr, ""));
    let Ok(net) = net.parse::<std::net::IpAddr>() else {
        return false;
    };
    let (a, b, max) = match (ip, net) {
        (std::net::IpAddr::V4(a), std::net::IpAddr::V4(b)) => {
            (u128::from(u32::from(a)), u128::from(u32::from(b)), 32)
        }
        (std::net::IpAddr::V6(a), std::net::IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let bits: u32 = bits.parse().unwrap_or(max);
    if bits == 0 {
        return true;
    }
    let bits = bits.min(max);
    let shift = max - bits;
    (a >> shift) == (b >> shift)
}

#[cfg(test)]
mod tests;
