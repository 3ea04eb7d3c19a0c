//! Delivery to a Redshift destination (a PostgreSQL server here): the buffer's objects are
//! written to the intermediate bucket once per batch, with a manifest naming them under
//! `manifests/`; then each attempt loads them with one COPY. A batch still failing when
//! RetryOptions runs out is skipped: its manifest is written under `errors/manifests/`.

use super::Worker;
use crate::model::{DeliveryStreamRecord, S3Destination};
use crate::redshift::options::{self, DataFormat};
use crate::redshift::rows::{json_paths, Step};
use crate::redshift::{load, LoadError, RedshiftDestination};
use bytes::Bytes;
use spate_objects::PutObject;
use std::time::Duration;
use tokio::time::Instant;

/// A batch's intermediate objects and its manifest, kept across attempts.
#[derive(Clone)]
pub(super) struct Staged {
    bodies: Vec<Bytes>,
    manifest: Bytes,
    /// `YYYY/MM/DD/HH/<stream>-<version>-<time>-<uuid>` (after `manifests/`).
    name: String,
}

/// `{"entries": [{"url": "s3://bucket/key", "mandatory": true}]}`.
fn manifest(objects: &[PutObject]) -> Bytes {
    let entries: Vec<serde_json::Value> = objects
        .iter()
        .map(|o| serde_json::json!({"url": format!("s3://{}/{}", o.bucket, o.key), "mandatory": true}))
        .collect();
    Bytes::from(serde_json::json!({ "entries": entries }).to_string())
}

/// The manifest's name: the first object's time folders and name.
fn manifest_name(s3: &S3Destination, first: Option<&PutObject>) -> String {
    let prefix = s3.prefix.as_deref().unwrap_or_default();
    let key = first.map_or("", |o| o.key.as_str());
    let relative = key.strip_prefix(prefix).unwrap_or(key);
    let relative = relative.strip_suffix(s3.extension()).unwrap_or(relative);
    match relative.is_empty() {
        true => format!("empty-{}", crate::ids::uuid_v4()),
        false => relative.to_string(),
    }
}

impl Worker {
    /// Writes the batch's objects and manifest, once per batch.
    async fn stage(
        &mut self,
        stream: &DeliveryStreamRecord,
        d: &RedshiftDestination,
    ) -> Result<Staged, String> {
        if let Some(staged) = &self.batch.staged {
            return Ok(staged.clone());
        }
        let intermediate = d.intermediate();
        let objects = self.write_objects(stream, &intermediate).await?;
        let staged = Staged {
            bodies: objects.iter().map(|o| o.body.clone()).collect(),
            manifest: manifest(&objects),
            name: manifest_name(&d.s3, objects.first()),
        };
        self.put_manifest(d, "manifests/", &staged).await?;
        self.batch.staged = Some(staged.clone());
        Ok(staged)
    }

    async fn put_manifest(
        &self,
        d: &RedshiftDestination,
        folder: &str,
        s: &Staged,
    ) -> Result<(), String> {
        let prefix = d.s3.prefix.as_deref().unwrap_or_default();
        let object = PutObject {
            bucket: d.s3.bucket().to_string(),
            key: format!("{prefix}{folder}{}", s.name),
            body: s.manifest.clone(),
            content_encoding: None,
        };
        self.objects
            .put(object)
            .await
            .map_err(|e| format!("writing the manifest: {e}"))
    }

    /// The JSONPaths file CopyOptions names, read from the object store.
    async fn paths(&self, format: &DataFormat) -> Result<Option<Vec<Vec<Step>>>, LoadError> {
        let DataFormat::JsonPaths { url } = format else {
            return Ok(None);
        };
        let missing = || {
            LoadError::new(
                "Redshift.IncorrectJsonPathsFile",
                format!("The jsonpaths file {url} was not found."),
            )
        };
        let (bucket, key) = url
            .strip_prefix("s3://")
            .and_then(|r| r.split_once('/'))
            .ok_or_else(missing)?;
        let file = self
            .objects
            .get(bucket, key)
            .await
            .map_err(|e| LoadError::new("Redshift.S3BucketAccessDenied", e.to_string()))?;
        json_paths(&file.ok_or_else(missing)?).map(Some)
    }

    pub(super) async fn copy(
        &mut self,
        stream: &DeliveryStreamRecord,
        d: &RedshiftDestination,
    ) -> Result<(), String> {
        let staged = self.stage(stream, d).await?;
        if self.batch.given_up.is_some() || staged.bodies.is_empty() {
            return self.skip(d, &staged).await;
        }
        let copy_options = d.copy_options.as_deref().unwrap_or_default();
        let options = options::parse(copy_options).map_err(|e| format!("CopyOptions: {e}"))?;
        let loaded = match self.paths(&options.format).await {
            Ok(paths) => {
                let trust = &self.registry.config.trust;
                load::load(d, trust, &options, &staged.bodies, paths.as_deref()).await
            }
            Err(e) => Err(e),
        };
        let Err(e) = loaded else {
            return Ok(());
        };
        let since = *self.batch.failing_since.get_or_insert_with(Instant::now);
        if since.elapsed() < Duration::from_secs(d.retry_duration_secs.max(0) as u64) {
            return Err(e.to_string());
        }
        tracing::warn!(
            "Firehose {}: skipping a batch the COPY did not load ({e}); its manifest is under errors/manifests/",
            stream.name
        );
        self.batch.given_up = Some(e.to_string());
        self.skip(d, &staged).await
    }

    /// A skipped batch: its manifest under `errors/manifests/` (nothing for an empty batch).
    async fn skip(&mut self, d: &RedshiftDestination, staged: &Staged) -> Result<(), String> {
        match staged.bodies.is_empty() {
            true => Ok(()),
            false => self.put_manifest(d, "errors/manifests/", staged).await,
        }
    }
}
