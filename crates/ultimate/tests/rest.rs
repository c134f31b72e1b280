//! REST client against the simulator: password, error statuses, firmware quirks, chip
//! configuration with restore, uploads.

mod common;
use common::*;
use std::time::Duration;
use ultimate::chip::{ChipChoice, ChipSession};
use ultimate::http::{self, Request};
use ultimate::{Error, SystemMode};
use ultimate_sim::SimConfig;

fn tune_bytes() -> Vec<u8> {
    // A minimal valid PSID v2 header + 1 byte of code (RTS): 3 songs.
    let mut h = vec![0u8; 0x7C];
    h[0..4].copy_from_slice(b"PSID");
    h[4..6].copy_from_slice(&2u16.to_be_bytes());
    h[6..8].copy_from_slice(&0x7Cu16.to_be_bytes());
    h[8..10].copy_from_slice(&0x1000u16.to_be_bytes());
    h[10..12].copy_from_slice(&0x1000u16.to_be_bytes());
    h[12..14].copy_from_slice(&0x1000u16.to_be_bytes());
    h[14..16].copy_from_slice(&12u16.to_be_bytes());
    h[16..18].copy_from_slice(&1u16.to_be_bytes());
    h[0x16..0x1a].copy_from_slice(b"Test");
    h.push(0x60);
    h
}

#[test]
fn info_says_simulator_and_capabilities() {
    let s = sim(SimConfig {
        ip: lo(10, 1),
        ..SimConfig::default()
    });
    let info = client(&s, None).info().unwrap();
    assert_eq!(info.product, "Ultimate 64 Elite");
    assert_eq!(info.simulator, Some(true));
    assert!(info.can_stream_audio());
    assert_eq!(info.unique_id.as_deref(), Some("51A1A7"));
    assert_eq!(client(&s, None).version().unwrap(), "0.1");
}

#[test]
fn password_handling() {
    let s = sim(SimConfig {
        ip: lo(10, 2),
        password: Some("s3cret".into()),
        ..SimConfig::default()
    });
    // Missing and wrong password: typed 403 with the firmware's message.
    for pw in [None, Some("wrong")] {
        match client(&s, pw).info() {
            Err(Error::Forbidden { message, .. }) => assert_eq!(message, "Forbidden."),
            other => panic!("expected Forbidden, got {other:?}"),
        }
    }
    let c = client(&s, Some("s3cret"));
    assert!(c.info().is_ok());
    // Sent on every request, not just the first.
    c.reset().unwrap();
    c.pause().unwrap();
    c.resume().unwrap();
    assert_eq!(s.counters().forbidden, 2);
    assert_eq!(s.counters().resets, 1);
}

#[test]
fn error_statuses_are_typed_with_messages() {
    let s = sim(SimConfig {
        ip: lo(10, 3),
        ..SimConfig::default()
    });
    let c = client(&s, None);
    // Unknown query parameter: 400 with the firmware's text.
    let r = http::send(
        s.http_addr(),
        "x",
        &Request {
            method: "PUT",
            target: "/v1/machine:reset?duration=5".into(),
            headers: vec![],
            body: None,
        },
        Duration::from_secs(2),
        Duration::from_secs(2),
    )
    .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(String::from_utf8_lossy(&r.body).contains("does not have parameter duration"));
    // Config POST with a charset suffix is rejected; ours (exact type) is accepted.
    let r = http::send(
        s.http_addr(),
        "x",
        &Request {
            method: "POST",
            target: "/v1/configs".into(),
            headers: vec![],
            body: Some((
                "application/json; charset=utf-8".into(),
                br#"{"U64 Specific Settings":{"System Mode":"NTSC"}}"#.to_vec(),
            )),
        },
        Duration::from_secs(2),
        Duration::from_secs(2),
    )
    .unwrap();
    assert_eq!(r.status, 400);
    c.configs_post(&[(
        "U64 Specific Settings".into(),
        "System Mode".into(),
        "NTSC".into(),
    )])
    .unwrap();
    assert_eq!(
        SystemMode::from_config(&c.system_mode().unwrap()),
        Some(SystemMode::Ntsc)
    );
    // Unknown item -> NotFound; invalid value -> BadRequest; both carry the message.
    match c.config_get("U64 Specific Settings", "No Such Item") {
        Err(Error::NotFound { message, .. }) => assert!(message.contains("not found")),
        other => panic!("{other:?}"),
    }
    match c.config_put("U64 Specific Settings", "System Mode", "SECAM") {
        Err(e @ Error::BadRequest { .. }) => assert_eq!(e.status(), Some(400)),
        other => panic!("{other:?}"),
    }
    // Upload failures: not a SID -> 415, song out of range -> 400, > 256 refused locally.
    match c.sidplay(b"not a sid file at all", None, None) {
        Err(Error::Status {
            status: 415,
            message,
            ..
        }) => assert!(message.contains("format")),
        other => panic!("{other:?}"),
    }
    match c.sidplay(&tune_bytes(), Some(13), None) {
        Err(Error::BadRequest { message, .. }) => assert!(message.contains("song")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        c.sidplay(&tune_bytes(), Some(300), None),
        Err(Error::Invalid(_))
    ));
    // Unknown route: 404 without JSON envelope.
    let r = http::send(
        s.http_addr(),
        "x",
        &Request {
            method: "GET",
            target: "/v1/nothing".into(),
            headers: vec![],
            body: None,
        },
        Duration::from_secs(2),
        Duration::from_secs(2),
    )
    .unwrap();
    assert_eq!(r.status, 404);
    // Nothing listening: a typed I/O error, not a panic.
    let dead = ultimate::Client::new("127.0.10.99:9".parse().unwrap(), Default::default());
    assert!(matches!(
        dead.info(),
        Err(Error::Io { .. }) | Err(Error::Timeout(_))
    ));
}

#[test]
fn sidplay_decimal_songnr_and_multipart_lengths() {
    let s = sim(SimConfig {
        ip: lo(10, 4),
        ..SimConfig::default()
    });
    let c = client(&s, None);
    c.sidplay(&tune_bytes(), Some(10), None).unwrap();
    // The simulator parses like the firmware (strtol base 0): "010" would have been 8.
    assert_eq!(s.counters().last_songnr, Some(10));
    assert!(!s.counters().last_upload_had_ssl);
    let ssl = ultimate::rest::ssl_bytes(&[61_000; 12]);
    c.sidplay(&tune_bytes(), Some(8), Some(&ssl)).unwrap();
    assert_eq!(s.counters().last_songnr, Some(8));
    assert!(s.counters().last_upload_had_ssl);
    c.sidplay(&tune_bytes(), None, None).unwrap();
    assert_eq!(s.counters().last_songnr, None);
    assert_eq!(s.counters().uploads, 3);
}

#[test]
fn chip_choice_restores_and_never_saves() {
    let s = sim(SimConfig {
        ip: lo(10, 5),
        detected: ["None".into(), "8580".into()],
        ..SimConfig::default()
    });
    let c = client(&s, None);
    let before = |s: &ultimate_sim::Simulator| {
        (
            s.config("U64 Specific Settings", "Allow Autoconfig uses UltiSid"),
            s.config("SID Sockets Configuration", "SID Socket 1"),
            s.config("UltiSID Configuration", "UltiSID 1 Filter Curve"),
            s.config("UltiSID Configuration", "UltiSID 1 Combined Waveforms"),
        )
    };
    let orig = before(&s);
    {
        let sess = ChipSession::apply(c.clone(), ChipChoice::UltiSid6581).unwrap();
        assert_eq!(sess.tag, "ultisid-6581");
        assert_eq!(
            s.config("UltiSID Configuration", "UltiSID 1 Filter Curve")
                .as_deref(),
            Some("6581")
        );
        assert_eq!(
            s.config("SID Sockets Configuration", "SID Socket 1")
                .as_deref(),
            Some("Disabled")
        );
        sess.restore().unwrap();
    }
    assert_eq!(before(&s), orig);
    {
        // Real chip: socket 2 holds the 8580; restore on drop (error paths).
        let sess = ChipSession::apply(c.clone(), ChipChoice::Real).unwrap();
        assert_eq!(sess.tag, "8580");
        assert_eq!(
            s.config("U64 Specific Settings", "Allow Autoconfig uses UltiSid")
                .as_deref(),
            Some("No")
        );
    }
    assert_eq!(before(&s), orig);
    assert_eq!(s.counters().save_to_flash, 0);
}
