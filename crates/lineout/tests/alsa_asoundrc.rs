//! A device defined by an asoundrc the test writes (through ALSA_CONFIG_PATH), picked by
//! name, whose `plug` layer forces S32_LE: the file must hold ALSA's conversion of our frames.
//! (Its own test binary: it sets an environment variable before ALSA reads its config.)

use std::time::Duration;

use lineout::{AlsaConfig, MemorySource, Player, SampleFormat};

#[test]
fn named_device_from_an_asoundrc() {
    let dir = std::env::temp_dir().join(format!("lineout-asoundrc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out.raw");
    let conf = dir.join("test.conf");
    std::fs::write(
        &conf,
        format!(
            "pcm.sidflowtest {{\n type plug\n slave {{ pcm \"sidflowcap\" format S32_LE }}\n}}\n\
             pcm.sidflowcap {{\n type file\n slave.pcm \"null\"\n file \"{}\"\n format \"raw\"\n}}\n",
            out.display()
        ),
    )
    .unwrap();
    std::env::set_var(
        "ALSA_CONFIG_PATH",
        format!("/usr/share/alsa/alsa.conf:{}", conf.display()),
    );

    let sig: Vec<i16> = (0..9600)
        .map(|i| ((i * 37) % 65536 - 32768) as i16)
        .collect();
    let cfg = AlsaConfig {
        device: "sidflowtest".into(),
        rate: 48000,
        channels: 2,
        ..Default::default()
    };
    let player = Player::open_alsa(cfg, 100, None).unwrap();
    // The plug layer accepts S16_LE from us, so negotiation keeps our preferred format.
    assert_eq!(player.status().device.unwrap().format, SampleFormat::S16Le);
    player
        .play(Box::new(MemorySource::new(48000, 2, sig.clone())))
        .unwrap();
    assert!(player.wait_idle(Duration::from_secs(20)));
    drop(player);
    let got = std::fs::read(&out).unwrap();
    let mut want = Vec::new();
    SampleFormat::S32Le.encode(&sig, &mut want);
    assert_eq!(got.len(), want.len());
    assert!(got == want, "ALSA's S16->S32 conversion must equal ours");
    let _ = std::fs::remove_dir_all(&dir);
}
