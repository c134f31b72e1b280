//! A software render played live on the line-out (the player thread renders each period as
//! it goes) reaches ALSA's `file` plugin exactly as the engine renders it in one go.

use lineout::LineoutConfig;
use std::time::Duration;

#[test]
fn a_live_render_reaches_the_alsa_file_plugin_bit_exact() {
    // The real-time render path (player thread + ALSA file PCM) must deliver exactly what
    // the engine renders in one go.
    let sid = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../demo/first-light.sid"
    ))
    .unwrap();
    let opts = render::RenderOptions {
        sample_rate: 48000,
        length: Some(std::time::Duration::from_millis(1500)),
        ..Default::default()
    };
    let want = render::Renderer::from_bytes(&sid, &opts)
        .unwrap()
        .render_to_end()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("sidflow-lineout-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out.raw");
    let renderer = render::Renderer::from_bytes(&sid, &opts).unwrap();
    let ch = renderer.channels() as u16;
    let cfg = LineoutConfig {
        device: format!("file:FILE={},FORMAT=raw", out.display()),
        channels: ch,
        volume: 100,
        ..Default::default()
    };
    let player = lineout::Player::open_alsa(cfg.alsa().unwrap(), cfg.volume, None).unwrap();
    player.play(Box::new(renderer)).unwrap();
    assert!(player.wait_idle(Duration::from_secs(60)));
    drop(player);
    let got: Vec<i16> = std::fs::read(&out)
        .unwrap()
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert_eq!(got.len(), want.len());
    assert!(got == want, "line-out PCM differs from the render");
    assert!(want.iter().any(|&s| s != 0), "the tune is not silent");
    let _ = std::fs::remove_dir_all(&dir);
}
