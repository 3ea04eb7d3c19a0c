//! Objects in memory, for tests.

use crate::{ObjectError, ObjectFuture, ObjectStore, PutObject};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Keeps every object in memory; buckets spring into existence unless named in `missing`.
/// (bucket, key) → (body, content encoding).
type Objects = BTreeMap<(String, String), (Bytes, Option<&'static str>)>;

#[derive(Debug, Default)]
pub struct MemStore {
    objects: Mutex<Objects>,
    /// Buckets that answer NoSuchBucket (to test retries), until removed.
    missing: Mutex<Vec<String>>,
}

impl MemStore {
    pub fn new() -> MemStore {
        MemStore::default()
    }

    /// Makes `bucket` answer NoSuchBucket until [`restore_bucket`](Self::restore_bucket).
    pub fn remove_bucket(&self, bucket: &str) {
        self.missing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(bucket.to_string());
    }

    pub fn restore_bucket(&self, bucket: &str) {
        self.missing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|b| b != bucket);
    }

    /// Every object as (bucket, key, body, content encoding), in key order.
    pub fn objects(&self) -> Vec<(String, String, Bytes, Option<&'static str>)> {
        let objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        objects
            .iter()
            .map(|((b, k), (body, enc))| (b.clone(), k.clone(), body.clone(), *enc))
            .collect()
    }

    fn check_bucket(&self, bucket: &str) -> Result<(), ObjectError> {
        let missing = self.missing.lock().unwrap_or_else(|e| e.into_inner());
        if missing.iter().any(|b| b == bucket) {
            return Err(ObjectError::NoSuchBucket(bucket.to_string()));
        }
        Ok(())
    }
}

impl ObjectStore for MemStore {
    fn put(&self, object: PutObject) -> ObjectFuture<'_, ()> {
        Box::pin(async move {
            self.check_bucket(&object.bucket)?;
            let mut objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
            objects.insert(
                (object.bucket, object.key),
                (object.body, object.content_encoding),
            );
            Ok(())
        })
    }

    fn get<'a>(&'a self, bucket: &'a str, key: &'a str) -> ObjectFuture<'a, Option<Bytes>> {
        Box::pin(async move {
            self.check_bucket(bucket)?;
            let objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
            Ok(objects
                .get(&(bucket.to_string(), key.to_string()))
                .map(|(body, _)| body.clone()))
        })
    }

    fn list<'a>(&'a self, bucket: &'a str, prefix: &'a str) -> ObjectFuture<'a, Vec<String>> {
        Box::pin(async move {
            self.check_bucket(bucket)?;
            let objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
            Ok(objects
                .keys()
                .filter(|(b, k)| b == bucket && k.starts_with(prefix))
                .map(|(_, k)| k.clone())
                .collect())
        })
    }

    fn describe(&self) -> String {
        "memory".to_string()
    }
}
