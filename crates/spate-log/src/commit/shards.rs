//! The writer's shard operations between commits: creating and deleting shards, retention,
//! and what a read-only log answers.

use super::{fail, Command, ShardWriter, Writer};
use crate::storage::create_dir_all_durable;
use crate::view::{parking, ShardView};
use crate::writer::ShardShared;
use crate::{shard_dir, LogError, ShardLogId};
use std::io;
use std::sync::{Arc, RwLock};
use tokio::sync::watch;

impl Writer {
    pub(super) fn create_shard(&mut self, shard: ShardLogId) -> Result<(), LogError> {
        if self.writers.contains_key(&shard) {
            return Ok(());
        }
        let dir = shard_dir(&self.root, shard);
        create_dir_all_durable(self.storage.as_ref(), &dir)?;
        let shared = Arc::new(ShardShared {
            view: RwLock::new(ShardView::default()),
            durable: watch::channel(0).0,
        });
        self.shards
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(shard, shared.clone());
        self.writers.insert(
            shard,
            ShardWriter::resume(dir, ShardView::default(), shared),
        );
        Ok(())
    }

    pub(super) fn delete_shard(&mut self, shard: ShardLogId) -> Result<(), LogError> {
        self.shards
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&shard);
        let dir = shard_dir(&self.root, shard);
        self.writers.remove(&shard);
        self.files.forget_under(&dir);
        if self.storage.dir_exists(&dir)? {
            self.storage.remove_dir_all(&dir)?;
            self.storage.sync_dir(&self.root.join("shards"))?;
        }
        Ok(())
    }

    /// Drops whole segments whose newest record arrived before `before_ms`, oldest first, one
    /// at a time with a directory sync each: a crash can then only leave a shorter prefix
    /// deleted, never a gap in the chain. Readers that hold a dropped segment's file keep
    /// reading it; new readers skip to the first kept counter.
    pub(super) fn trim(
        &mut self,
        shard: ShardLogId,
        before_ms: i64,
        dirty: &[ShardLogId],
    ) -> Result<(), LogError> {
        let Some(w) = self.writers.get_mut(&shard) else {
            return Err(LogError::UnknownShard(shard));
        };
        if dirty.contains(&shard) {
            return Ok(()); // records of this commit are not yet written; trim next time
        }
        // The newest segment always stays: it carries the shard's next counter across restarts
        // (readers skip its expired records by arrival time).
        let expired = w
            .segments
            .iter()
            .take_while(|s| s.last_arrival_ms < before_ms)
            .count()
            .min(w.segments.len().saturating_sub(1));
        for _ in 0..expired {
            let seg = w.segments.remove(0);
            {
                let mut view = parking::write(&w.shared.view);
                if view.segments.first().map(|s| s.base_counter) == Some(seg.base_counter) {
                    view.segments.remove(0);
                }
            }
            self.files.forget(&seg.path);
            match self.storage.remove_file(&seg.path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
            self.storage.sync_dir(&w.dir)?;
        }
        Ok(())
    }

    pub(super) fn answer_read_only(&self, cmd: Command) {
        match cmd {
            Command::CreateShard { shard, done } if self.writers.contains_key(&shard) => {
                let _ = done.send(Ok(()));
            }
            // Retention has nothing to do on a disk it may not change.
            Command::Trim { done, .. } => {
                let _ = done.send(Ok(()));
            }
            other => fail(other, LogError::ReadOnly),
        }
    }
}
