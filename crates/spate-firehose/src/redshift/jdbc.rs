//! ClusterJDBCURL: `jdbc:redshift://host:port/database` (or `jdbc:postgresql://`), the
//! PostgreSQL server Spate loads into.

/// Whether the connection uses TLS: the URL's `ssl=true|false` or `sslmode=…` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// `ssl=false`, `sslmode=disable`: plain TCP.
    Disable,
    /// No parameter (or `sslmode=allow|prefer`): TLS when the server offers it, verified.
    Prefer,
    /// `ssl=true`, `sslmode=require|verify-ca|verify-full`: TLS or no connection, verified.
    Require,
}

/// Where a load connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub tls: TlsMode,
}

fn tls_mode(query: Option<&str>) -> Result<TlsMode, String> {
    let mut mode = TlsMode::Prefer;
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        mode = match (
            key.to_ascii_lowercase().as_str(),
            value.to_ascii_lowercase().as_str(),
        ) {
            ("ssl", "true") => TlsMode::Require,
            ("ssl", "false") | ("sslmode", "disable") => TlsMode::Disable,
            ("sslmode", "allow" | "prefer") => TlsMode::Prefer,
            ("sslmode", "require" | "verify-ca" | "verify-full") => TlsMode::Require,
            ("ssl" | "sslmode", other) => {
                return Err(format!("{key}={other} is not a TLS setting Spate knows"))
            }
            _ => mode,
        };
    }
    Ok(mode)
}

/// Parses a JDBC URL; query parameters after `?` are ignored.
pub fn parse(url: &str) -> Result<Target, String> {
    let rest = url
        .strip_prefix("jdbc:redshift://")
        .or_else(|| url.strip_prefix("jdbc:postgresql://"))
        .ok_or_else(|| {
            format!("ClusterJDBCURL {url} must start with jdbc:redshift:// or jdbc:postgresql://")
        })?;
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let (address, database) = rest
        .split_once('/')
        .ok_or_else(|| format!("ClusterJDBCURL {url} must name a database after the port"))?;
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| format!("ClusterJDBCURL {url} must give host:port"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("ClusterJDBCURL {url} has an invalid port"))?;
    let database_ok = !database.is_empty()
        && database
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_$-".contains(&b));
    if host.is_empty() || !database_ok {
        return Err(format!(
            "ClusterJDBCURL {url} must give a host and a database name ([a-zA-Z0-9_$-]+)"
        ));
    }
    Ok(Target {
        host: host.trim_matches(['[', ']']).to_string(),
        port,
        database: database.to_string(),
        tls: tls_mode(query).map_err(|e| format!("ClusterJDBCURL {url}: {e}"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redshift_and_postgresql_urls_name_host_port_and_database() {
        let t = parse("jdbc:redshift://c1.abc.us-east-1.redshift.amazonaws.com:5439/dev").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.database.as_str()),
            ("c1.abc.us-east-1.redshift.amazonaws.com", 5439, "dev")
        );
        let t = parse("jdbc:postgresql://127.0.0.1:5432/firehose?ssl=false").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.database.as_str()),
            ("127.0.0.1", 5432, "firehose")
        );
        assert_eq!(t.tls, TlsMode::Disable);
        assert_eq!(
            parse("jdbc:redshift://h:1/d?ssl=true").unwrap().tls,
            TlsMode::Require
        );
        assert_eq!(parse("jdbc:redshift://h:1/d").unwrap().tls, TlsMode::Prefer);
        assert!(parse("jdbc:redshift://h:1/d?sslmode=maybe").is_err());
        assert!(parse("jdbc:mysql://h:1/d").is_err());
        assert!(parse("jdbc:redshift://h/d").is_err());
        assert!(parse("jdbc:redshift://h:1/").is_err());
    }
}
