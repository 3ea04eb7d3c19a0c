//! Amazon OpenSearch Service delivery through the `_bulk` API: one `index` action per document
//! with an explicit `_index` (the index name rotated by arrival time, as Firehose names it) and,
//! with FIREHOSE_DEFAULT document ids, an `_id` that stays the same across attempts; the
//! answer judged item by item (`errors: true` means some items failed, each with its status).

use super::http::{exchange, ExchangeError, HttpClient};
use crate::model::Rotation;
use bytes::Bytes;
use http_body_util::Full;
use std::time::Duration;

/// How long one bulk request may take.
const BULK_TIMEOUT: Duration = Duration::from_secs(60);
/// The most of a bulk answer that is read, in bytes.
const BULK_RESPONSE_MAX_BYTES: usize = 64 << 20;

/// One document of a bulk request.
pub struct Document<'a> {
    pub id: Option<&'a str>,
    pub index: &'a str,
    pub data: &'a [u8],
}

/// `base` with the rotation's part of the arrival time, in UTC: `-YYYY-MM-DD-HH` (OneHour),
/// `-YYYY-MM-DD` (OneDay), `-YYYY-wWW` (OneWeek, ISO week), `-YYYY-MM` (OneMonth).
pub fn index_name(base: &str, rotation: Rotation, arrival_ms: i64) -> String {
    let Ok(at) = jiff::Timestamp::from_millisecond(arrival_ms) else {
        return base.to_string();
    };
    let time = at.to_zoned(jiff::tz::TimeZone::UTC);
    match rotation {
        Rotation::NoRotation => base.to_string(),
        Rotation::OneHour => format!("{base}-{}", time.strftime("%Y-%m-%d-%H")),
        Rotation::OneDay => format!("{base}-{}", time.strftime("%Y-%m-%d")),
        Rotation::OneMonth => format!("{base}-{}", time.strftime("%Y-%m")),
        Rotation::OneWeek => {
            let week = time.date().iso_week_date();
            format!("{base}-{}-w{:02}", week.year(), week.week())
        }
    }
}

/// The NDJSON body: an action line and a source line per document. A document spread over
/// several lines is written compactly (NDJSON needs it on one line); one that is not JSON is
/// sent as it is, for the cluster to refuse.
pub fn bulk_body(docs: &[Document<'_>], type_name: Option<&str>) -> Vec<u8> {
    let mut body = Vec::new();
    for doc in docs {
        let mut meta = serde_json::Map::new();
        meta.insert("_index".into(), doc.index.into());
        if let Some(id) = doc.id {
            meta.insert("_id".into(), id.into());
        }
        if let Some(t) = type_name {
            meta.insert("_type".into(), t.into());
        }
        let action = serde_json::json!({ "index": meta });
        body.extend_from_slice(action.to_string().as_bytes());
        body.push(b'\n');
        let data = doc.data.strip_suffix(b"\n").unwrap_or(doc.data);
        if data.contains(&b'\n') {
            match serde_json::from_slice::<serde_json::Value>(data) {
                Ok(v) => body.extend_from_slice(v.to_string().as_bytes()),
                Err(_) => body.extend(data.iter().map(|b| if *b == b'\n' { b' ' } else { *b })),
            }
        } else {
            body.extend_from_slice(data);
        }
        body.push(b'\n');
    }
    body
}

/// What the cluster said of one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Indexed,
    /// The item's status and its `error` (as JSON text).
    Failed {
        status: u16,
        error: String,
    },
}

/// The per-item outcomes of a 200 answer, in request order.
pub fn outcomes(body: &[u8], count: usize) -> Result<Vec<Outcome>, String> {
    let answer: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the bulk answer is not JSON: {e}"))?;
    let items = answer["items"]
        .as_array()
        .ok_or("the bulk answer has no items")?;
    if items.len() != count {
        return Err(format!(
            "the bulk answer has {} items for {count} documents",
            items.len()
        ));
    }
    Ok(items
        .iter()
        .map(|item| {
            let action = item
                .as_object()
                .and_then(|o| o.values().next())
                .cloned()
                .unwrap_or_default();
            let status = action["status"].as_u64().unwrap_or(0) as u16;
            if (200..300).contains(&status) {
                Outcome::Indexed
            } else {
                Outcome::Failed {
                    status,
                    error: action["error"].to_string(),
                }
            }
        })
        .collect())
}

/// POSTs bulk requests (http or https, trusting `--ca-bundle`).
pub struct BulkClient {
    client: HttpClient,
}

impl BulkClient {
    pub fn new(trust: &spate_outbound::Trust) -> Result<BulkClient, String> {
        Ok(BulkClient {
            client: super::http::client(trust)?,
        })
    }

    /// The status and body of `POST {endpoint}/_bulk`.
    pub async fn post(&self, endpoint: &str, body: Vec<u8>) -> Result<(u16, Bytes), String> {
        let request = hyper::Request::post(format!("{endpoint}/_bulk"))
            .header("content-type", "application/x-ndjson")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("{endpoint}: {e}"))?;
        let answer = exchange(&self.client, request, BULK_TIMEOUT, BULK_RESPONSE_MAX_BYTES).await;
        answer.map_err(|e| match e {
            ExchangeError::Request(e) => format!(
                "the cluster could not be reached: {}",
                spate_outbound::describe(&e)
            ),
            ExchangeError::Body { why, .. } => format!("reading the bulk answer: {why}"),
            ExchangeError::Timeout(t) => format!("no answer within {t:?}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_rotate_as_firehose_names_them() {
        // 2016-02-25T13:04:05Z, AWS's example date.
        let ms = 1_456_405_445_000;
        assert_eq!(index_name("myindex", Rotation::NoRotation, ms), "myindex");
        assert_eq!(
            index_name("myindex", Rotation::OneHour, ms),
            "myindex-2016-02-25-13"
        );
        assert_eq!(
            index_name("myindex", Rotation::OneDay, ms),
            "myindex-2016-02-25"
        );
        assert_eq!(
            index_name("myindex", Rotation::OneWeek, ms),
            "myindex-2016-w08"
        );
        assert_eq!(
            index_name("myindex", Rotation::OneMonth, ms),
            "myindex-2016-02"
        );
    }

    #[test]
    fn bulk_bodies_and_answers() {
        let docs = [
            Document {
                id: Some("a"),
                index: "i",
                data: b"{\"x\":1}\n",
            },
            Document {
                id: None,
                index: "i",
                data: b"{\n\"y\": 2\n}",
            },
        ];
        let body = String::from_utf8(bulk_body(&docs, Some("_doc"))).unwrap();
        assert_eq!(
            body,
            "{\"index\":{\"_id\":\"a\",\"_index\":\"i\",\"_type\":\"_doc\"}}\n{\"x\":1}\n{\"index\":{\"_index\":\"i\",\"_type\":\"_doc\"}}\n{\"y\":2}\n"
        );
        let answer = br#"{"took":3,"errors":true,"items":[{"index":{"_id":"a","status":201}},{"index":{"status":400,"error":{"type":"mapper_parsing_exception"}}}]}"#;
        let got = outcomes(answer, 2).unwrap();
        assert_eq!(got[0], Outcome::Indexed);
        assert_eq!(
            got[1],
            Outcome::Failed {
                status: 400,
                error: r#"{"type":"mapper_parsing_exception"}"#.into()
            }
        );
        assert!(outcomes(answer, 3).is_err());
    }
}
