//! A full disk under the database (a small tmpfs the test mounts; we run as root in CI):
//! writes fail while it is full, `write_error` says so, nothing stored is lost, and writes
//! work again once space returns, on the same `Store`, without a restart.

use store::{Store, SETTINGS};

#[test]
fn writes_come_back_when_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("state");
    let Some(_fs) = testdata::tmpfs(&mnt, "6m", "the disk-full test") else {
        return;
    };
    let store = Store::open(&mnt.join("sidflow.redb")).unwrap();
    store
        .put(SETTINGS, "kept", &"before the disk filled")
        .unwrap();
    // Fill the file system to the last byte.
    let filler = mnt.join("filler.bin");
    let mut f = std::fs::File::create(&filler).unwrap();
    let block = vec![0xA5u8; 64 << 10];
    use std::io::Write;
    while f.write_all(&block).is_ok() {}
    let _ = f.flush();
    drop(f);
    // Writes of growing records fail with the disk's error, and the store says so.
    let big = "x".repeat(256 << 10);
    let mut failed = false;
    for i in 0..64 {
        if let Err(e) = store.put(SETTINGS, &format!("big{i}"), &big) {
            assert!(e.is_io(), "{e}");
            failed = true;
            break;
        }
    }
    assert!(failed, "the full disk never refused a write");
    assert!(store.write_error().is_some());
    // Space returns: the same store writes again (it reopens the database by itself).
    std::fs::remove_file(&filler).unwrap();
    std::thread::sleep(store::REOPEN_EVERY);
    store.put(SETTINGS, "after", &"space returned").unwrap();
    assert!(store.write_error().is_none());
    assert_eq!(
        store.get::<String>(SETTINGS, "kept").unwrap().as_deref(),
        Some("before the disk filled"),
        "nothing stored before is lost"
    );
    assert_eq!(
        store.get::<String>(SETTINGS, "after").unwrap().as_deref(),
        Some("space returned")
    );
}
