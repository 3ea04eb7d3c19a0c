//! The simulator's own rules, checked.

use super::*;
use crate::storage::create_dir_all_durable;

fn p(s: &str) -> PathBuf {
    PathBuf::from(s)
}

#[test]
fn names_need_a_directory_sync_and_bytes_a_file_sync() {
    let s = MemStorage::with_power_loss_tracking();
    s.create_dir(&p("/a")).unwrap();
    let f = s.create(&p("/a/f")).unwrap();
    f.write_all_at(b"hello", 0).unwrap();
    f.sync_data().unwrap();
    // Neither /a nor /a/f is durable yet.
    assert!(s.after_power_loss().files().is_empty());
    s.sync_dir(&p("/")).unwrap();
    assert!(s.after_power_loss().files().is_empty());
    s.sync_dir(&p("/a")).unwrap();
    assert_eq!(
        s.after_power_loss().files(),
        vec![(p("/a/f"), b"hello".to_vec())]
    );
    f.write_all_at(b" world", 5).unwrap();
    assert_eq!(s.after_power_loss().files()[0].1, b"hello");
}

#[test]
fn durable_dir_creation_survives() {
    let s = MemStorage::with_power_loss_tracking();
    create_dir_all_durable(&s, &p("/data/log/shards")).unwrap();
    let after = s.after_power_loss();
    assert!(after.dir_exists(&p("/data/log/shards")).unwrap());
}

#[test]
fn removal_without_a_directory_sync_comes_back() {
    let s = MemStorage::with_power_loss_tracking();
    let f = s.create(&p("/f")).unwrap();
    f.write_all_at(b"x", 0).unwrap();
    f.sync_data().unwrap();
    s.sync_dir(&p("/")).unwrap();
    s.remove_file(&p("/f")).unwrap();
    assert_eq!(s.after_power_loss().files().len(), 1);
    s.sync_dir(&p("/")).unwrap();
    assert!(s.after_power_loss().files().is_empty());
}

#[test]
fn a_failed_sync_loses_its_pages_for_good() {
    let s = MemStorage::with_power_loss_tracking();
    let f = s.create(&p("/f")).unwrap();
    s.sync_dir(&p("/")).unwrap();
    f.write_all_at(b"aaaa", 0).unwrap();
    f.sync_data().unwrap();
    f.write_all_at(b"bbbb", 4).unwrap();
    s.inject(Fault {
        op: FaultOp::SyncData,
        errno: EIO,
        skip: 0,
        count: 1,
    });
    assert!(f.sync_data().is_err());
    // Still readable, as in the page cache.
    let mut buf = [0u8; 8];
    f.read_at(&mut buf, 0).unwrap();
    assert_eq!(&buf, b"aaaabbbb");
    // A later successful sync does not write them.
    f.write_all_at(b"cc", 8).unwrap();
    f.sync_data().unwrap();
    assert_eq!(s.after_power_loss().files()[0].1, b"aaaa\0\0\0\0cc");
    // Truncating drops them from the cache too.
    f.set_len(4).unwrap();
    f.sync_data().unwrap();
    assert_eq!(s.after_power_loss().files()[0].1, b"aaaa");
}

#[test]
fn faults_skip_then_fail_then_stop() {
    let s = MemStorage::new();
    s.inject(Fault {
        op: FaultOp::Create,
        errno: EMFILE,
        skip: 1,
        count: 1,
    });
    assert!(s.create(&p("/a")).is_ok());
    let e = s.create(&p("/b")).err().unwrap();
    assert_eq!(e.raw_os_error(), Some(EMFILE));
    assert!(s.create(&p("/c")).is_ok());
}
