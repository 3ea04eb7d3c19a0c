//! One COPY of a batch into PostgreSQL: connect, find the table's columns, turn the objects'
//! bytes into rows ([`super::rows`]), and stream them with `COPY ... FROM STDIN (FORMAT csv)` in
//! one transaction, so a batch lands whole or not at all. PostgreSQL's errors become Firehose's
//! Redshift error codes.

use super::jdbc::{Target, TlsMode};
use super::options::CopyOptions;
use super::rows::{self, Column, Row, Step};
use super::{LoadError, RedshiftDestination};
use bytes::Bytes;
use futures_util::SinkExt;
use std::io::Read;
use std::time::Duration;
use tokio_postgres::error::SqlState;

/// How long a connection to the database may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn message_of(code: &str) -> &'static str {
    match code {
        "Redshift.TableNotFound" => "The table to which to load data was not found. Ensure that the specified table exists.",
        "Redshift.SyntaxError" => "The COPY command contains a syntax error. Retry the command.",
        "Redshift.AuthenticationFailed" => "The provided user name and password failed authentication. Provide a valid user name and password.",
        "Redshift.ColumnNotFound" => "A column in the COPY command does not exist in the table. Specify a valid column name.",
        "Redshift.DatabaseNotFound" => "The database specified in the Amazon Redshift destination configuration or JDBC URL was not found. Specify a valid database name.",
        "Redshift.MissingColumn" => "There is a column defined in the table schema as NOT NULL without a DEFAULT value and not included in the column list. Exclude this column, ensure that the loaded data always provides a value for this column, or add a default value to the Amazon Redshift schema for this table.",
        "Redshift.ConnectionFailed" => "The connection to the specified Amazon Redshift cluster failed. Ensure that security settings allow Firehose connections, that the cluster or database specified in the Amazon Redshift destination configuration or JDBC URL is correct, and that the cluster is available.",
        "Redshift.InsufficientPrivilege" => "The user does not have permissions to load data into the table. Check the Amazon Redshift user permissions for the INSERT privilege.",
        "Redshift.ReadOnlyCluster" => "The query cannot be executed because the system is in resize mode. Try the query again later.",
        "Redshift.DiskFull" => "Data could not be loaded because the disk is full. Increase the capacity of the Amazon Redshift cluster or delete unused data to free disk space.",
        _ => "Loading data into the table failed.",
    }
}

/// PostgreSQL's error as Firehose's code, with the server's own words.
fn pg_error(e: tokio_postgres::Error) -> LoadError {
    let code = match e.code() {
        None => "Redshift.ConnectionFailed",
        Some(c) if *c == SqlState::UNDEFINED_TABLE => "Redshift.TableNotFound",
        Some(c) if *c == SqlState::UNDEFINED_COLUMN => "Redshift.ColumnNotFound",
        Some(c)
            if *c == SqlState::INVALID_PASSWORD
                || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
        {
            "Redshift.AuthenticationFailed"
        }
        Some(c) if *c == SqlState::INVALID_CATALOG_NAME => "Redshift.DatabaseNotFound",
        Some(c) if *c == SqlState::SYNTAX_ERROR => "Redshift.SyntaxError",
        Some(c) if *c == SqlState::INSUFFICIENT_PRIVILEGE => "Redshift.InsufficientPrivilege",
        Some(c) if *c == SqlState::NOT_NULL_VIOLATION => "Redshift.MissingColumn",
        Some(c) if *c == SqlState::DISK_FULL => "Redshift.DiskFull",
        Some(c) if *c == SqlState::READ_ONLY_SQL_TRANSACTION => "Redshift.ReadOnlyCluster",
        Some(_) => "Redshift.DataLoadFailed",
    };
    let cause = match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => spate_outbound::describe(&e),
    };
    LoadError::new(code, format!("{} ({cause})", message_of(code)))
}

/// `"a"."b"`: each part of a (possibly schema-qualified) name quoted, lowercased as Redshift
/// folds unquoted names.
fn quoted(name: &str) -> String {
    name.split('.')
        .map(|p| {
            format!(
                "\"{}\"",
                p.trim()
                    .trim_matches('"')
                    .to_lowercase()
                    .replace('"', "\"\"")
            )
        })
        .collect::<Vec<_>>()
        .join(".")
}

async fn connect(
    d: &RedshiftDestination,
    target: &Target,
    tls: super::tls::Rustls,
) -> Result<tokio_postgres::Client, LoadError> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(&target.host)
        .port(target.port)
        .dbname(&target.database)
        .user(d.username.as_deref().unwrap_or_default())
        .connect_timeout(CONNECT_TIMEOUT)
        .ssl_mode(match target.tls {
            TlsMode::Disable => tokio_postgres::config::SslMode::Disable,
            TlsMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            TlsMode::Require => tokio_postgres::config::SslMode::Require,
        });
    if let Some(password) = &d.password {
        config.password(password);
    }
    let (client, connection) = config.connect(tls).await.map_err(pg_error)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("Redshift (PostgreSQL) connection ended: {e}");
        }
    });
    Ok(client)
}

/// The columns a COPY loads: DataTableColumns if given (each must exist), else the table's.
async fn columns_of(
    client: &tokio_postgres::Client,
    d: &RedshiftDestination,
) -> Result<Vec<Column>, LoadError> {
    let table = d.table.to_lowercase();
    let (schema, name) = match table.rsplit_once('.') {
        Some((s, n)) => (
            Some(s.trim_matches('"').to_string()),
            n.trim_matches('"').to_string(),
        ),
        None => (None, table.trim_matches('"').to_string()),
    };
    let query = "SELECT column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_schema::text = COALESCE($1::text, current_schema()::text) AND table_name::text = $2::text \
                 ORDER BY ordinal_position";
    let found = client
        .query(query, &[&schema, &name])
        .await
        .map_err(pg_error)?;
    let all: Vec<Column> = found
        .iter()
        .map(|r| Column {
            name: r.get(0),
            data_type: r.get(1),
        })
        .collect();
    if all.is_empty() {
        let code = "Redshift.TableNotFound";
        return Err(LoadError::new(
            code,
            format!("{} ({} does not exist)", message_of(code), d.table),
        ));
    }
    let Some(listed) = d.columns.as_deref().filter(|c| !c.trim().is_empty()) else {
        return Ok(all);
    };
    listed
        .split(',')
        .map(|c| c.trim().trim_matches('"').to_lowercase())
        .map(|c| {
            all.iter().find(|a| a.name == c).cloned().ok_or_else(|| {
                let code = "Redshift.ColumnNotFound";
                LoadError::new(
                    code,
                    format!("{} (column {c} of {})", message_of(code), d.table),
                )
            })
        })
        .collect()
}

/// The rows of every object, within MAXERROR.
fn all_rows(
    objects: &[Bytes],
    o: &CopyOptions,
    columns: &[Column],
    paths: Option<&[Vec<Step>]>,
) -> Result<Vec<Row>, LoadError> {
    let (mut all, mut errors, mut first) = (Vec::new(), 0, None);
    for object in objects {
        let data = match o.gzip {
            false => object.to_vec(),
            true => {
                let mut out = Vec::new();
                flate2::read::MultiGzDecoder::new(&object[..])
                    .read_to_end(&mut out)
                    .map_err(|e| {
                        LoadError::new(
                            "Redshift.DataLoadFailed",
                            format!("GZIP was given but an object is not gzip: {e}"),
                        )
                    })?;
                out
            }
        };
        let parsed = rows::parse(&data, o, columns, paths)?;
        errors += parsed.errors;
        first = first.or(parsed.first_error);
        all.extend(parsed.rows);
    }
    if errors > o.max_errors {
        let why = first.unwrap_or_default();
        return Err(LoadError::new("Redshift.DataLoadFailed", format!("Loading data into the table failed: {errors} rows could not be read (MAXERROR {}); the first: {why}", o.max_errors)));
    }
    Ok(all)
}

/// Rows as PostgreSQL CSV: NULL unquoted and empty, every value quoted.
fn csv(rows: &[Row]) -> Bytes {
    let mut out = String::new();
    for row in rows {
        for (i, value) in row.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            if let Some(v) = value {
                out.push('"');
                out.push_str(&v.replace('"', "\"\""));
                out.push('"');
            }
        }
        out.push('\n');
    }
    Bytes::from(out)
}

/// Loads `objects` (the batch's intermediate objects) into the destination's table; the rows
/// loaded.
pub async fn load(
    d: &RedshiftDestination,
    trust: &spate_outbound::Trust,
    options: &CopyOptions,
    objects: &[Bytes],
    paths: Option<&[Vec<Step>]>,
) -> Result<usize, LoadError> {
    let target = super::jdbc::parse(&d.jdbc_url)
        .map_err(|e| LoadError::new("Redshift.ConnectionFailed", e))?;
    let tls = super::tls::Rustls::new(trust)
        .map_err(|e| LoadError::new("Redshift.ConnectionFailed", e))?;
    let mut client = connect(d, &target, tls).await?;
    let columns = columns_of(&client, d).await?;
    // Decompressing and parsing a buffer (up to 128 MiB) is CPU work: off the async threads.
    let (objects, options, paths) = (objects.to_vec(), options.clone(), paths.map(<[_]>::to_vec));
    let names = columns.clone();
    let (body, loaded) = tokio::task::spawn_blocking(move || {
        let rows = all_rows(&objects, &options, &names, paths.as_deref())?;
        Ok::<_, LoadError>((csv(&rows), rows.len()))
    })
    .await
    .map_err(|e| LoadError::new("InternalError", format!("preparing the rows: {e}")))??;
    let list: Vec<String> = columns.iter().map(|c| quoted(&c.name)).collect();
    let statement = format!(
        "COPY {} ({}) FROM STDIN WITH (FORMAT csv)",
        quoted(&d.table),
        list.join(", ")
    );
    let tx = client.transaction().await.map_err(pg_error)?;
    let sink = tx.copy_in(&statement).await.map_err(pg_error)?;
    futures_util::pin_mut!(sink);
    sink.send(body).await.map_err(pg_error)?;
    sink.as_mut().finish().await.map_err(pg_error)?;
    tx.commit().await.map_err(pg_error)?;
    Ok(loaded)
}
