//! A full disk, on a 2 MiB tmpfs the test mounts (CI runs as root; elsewhere the test is
//! skipped with a message): a download or an unpack that does not fit ends with a clear
//! error, and the installed collection is untouched.

mod common;

use common::{assert_tree, fake, seven_z_with, write_tree, Mirror, TempDir};
use hvsc::{Config, Hvsc, SyncError, SyncOptions};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

const UPD11: &str = "HVSC_Update_11.7z";

fn noise(n: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Update 11 with one more document of `bytes` (stored uncompressed, or LZMA2).
fn update_with(extra: Vec<u8>, stored: bool) -> Vec<u8> {
    let mut e = fake().updates[&11].clone();
    e.push(("DOCUMENTS/big.bin".into(), extra));
    seven_z_with(&e, stored)
}

#[test]
fn a_full_disk_is_a_clear_error_and_changes_nothing() {
    let d = TempDir::new("diskfull");
    let mnt = d.path().join("mnt");
    let Some(_fs) = testdata::tmpfs(&mnt, "2m", "the disk-full tests") else {
        return;
    };
    let f = fake();
    let root = mnt.join("hvsc/C64Music");
    write_tree(&root, &f.trees[&10]);
    let m = Mirror::start();
    let config = |check: bool| {
        let mut c = Config::new(&root);
        c.mirror = m.url.clone();
        c.timeout = Duration::from_secs(10);
        c.check_free_space = check;
        c
    };
    let run = |check: bool| {
        Hvsc::new(config(check)).sync(
            &SyncOptions::default(),
            &mut |_| {},
            &AtomicBool::new(false),
        )
    };
    let h = Hvsc::new(config(true));
    assert_eq!(h.status().installed, Some(10));
    let clean = |h: &Hvsc| {
        assert!(h.status().interrupted.is_none());
        let staging: Vec<_> = std::fs::read_dir(h.config().work_dir())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("staging-"))
            .collect();
        assert!(staging.is_empty(), "staging left behind");
    };

    // 1. The download does not fit: refused before it starts, with the numbers.
    m.put(UPD11, update_with(noise(3 << 20), true));
    let e = run(true).unwrap_err();
    match &e {
        SyncError::DiskFull {
            needed: Some(n),
            available: Some(a),
            ..
        } => assert!(n > a, "{e}"),
        other => panic!("expected a full disk, got {other}"),
    }
    assert!(e.to_string().contains("not enough disk space"), "{e}");
    assert!(e.to_string().contains("collection was not changed"), "{e}");
    assert_tree(&root, &f.trees[&10]);
    clean(&h);

    // 2. It downloads (it compresses well) but does not fit unpacked: refused before
    // unpacking.
    m.put(UPD11, update_with(vec![0u8; 3 << 20], false));
    let e = run(true).unwrap_err();
    assert!(
        matches!(
            e,
            SyncError::DiskFull {
                needed: Some(_),
                ..
            }
        ),
        "{e}"
    );
    assert_tree(&root, &f.trees[&10]);
    clean(&h);

    // 3. The same without the check: the disk really fills up while unpacking. The
    // error is the same kind, the staging copy is gone, the collection untouched.
    let e = run(false).unwrap_err();
    assert!(matches!(e, SyncError::DiskFull { .. }), "{e}");
    assert!(e.to_string().contains("collection was not changed"), "{e}");
    assert_tree(&root, &f.trees[&10]);
    clean(&h);

    // 4. A real update fits in the space the failed ones gave back.
    m.put(UPD11, f.update(11));
    let out = run(true).unwrap();
    assert_eq!(out.to, Some(11));
    assert_tree(&root, &f.trees[&11]);
}
