//! Rendering with optional C64 ROMs (`RenderOptions::roms`), with synthetic ROM images.

mod common;

use common::{pokes, saw};
use render::{RenderError, RenderOptions, Renderer, RomNeed, Roms};
use std::sync::Arc;
use std::time::Duration;

/// An RSID with the BASIC flag whose "program" at $0801 starts a sawtooth, then loops.
fn basic_tune() -> Vec<u8> {
    let mut h = vec![0u8; 0x7C];
    h[0..4].copy_from_slice(b"RSID");
    h[4..6].copy_from_slice(&2u16.to_be_bytes());
    h[6..8].copy_from_slice(&0x7Cu16.to_be_bytes());
    h[14..16].copy_from_slice(&1u16.to_be_bytes()); // songs
    h[16..18].copy_from_slice(&1u16.to_be_bytes());
    h[0x16..0x16 + 10].copy_from_slice(b"basic tune");
    h[0x76..0x78].copy_from_slice(&0x16u16.to_be_bytes()); // BASIC, PAL, 6581
    h.extend_from_slice(&[0x01, 0x08]);
    let mut code = pokes(0xD400, &saw(0xD400, 0x1CD6));
    code.pop(); // no RTS: loop forever instead
    let here = 0x0801 + code.len() as u16;
    code.extend_from_slice(&[0x4C, here as u8, (here >> 8) as u8]);
    h.extend_from_slice(&code);
    h
}

/// A KERNAL whose reset enters BASIC's cold start, and a BASIC that sets its main-loop
/// vector, waits for a key and then jumps to the program start.
fn roms() -> Roms {
    let mut k = vec![0x40u8; 8192]; // RTI everywhere
    k[..3].copy_from_slice(&[0x6C, 0x00, 0xA0]); // $E000: JMP ($A000)
    k[0x1FFC..0x1FFE].copy_from_slice(&[0x00, 0xE0]);
    let mut b = vec![0u8; 8192];
    b[..2].copy_from_slice(&[0x10, 0xA0]);
    b[0x10..0x1D].copy_from_slice(&[
        0xA9, 0x00, 0x8D, 0x02, 0x03, // LDA #$00 STA $0302
        0xA9, 0xA1, 0x8D, 0x03, 0x03, // LDA #$A1 STA $0303
        0x4C, 0x00, 0xA1, // JMP $A100
    ]);
    b[0x100..0x107].copy_from_slice(&[
        0xA5, 0xC6, // LDA $C6
        0xF0, 0xFC, // BEQ $A100
        0x6C, 0x2B, 0x00, // JMP ($002B)
    ]);
    Roms::from_bytes(Some(&k), Some(&b), None).unwrap()
}

#[test]
fn basic_tune_plays_with_roms_and_is_refused_without() {
    let bytes = basic_tune();
    let tune = sidfile::SidTune::parse(&bytes).unwrap();
    assert_eq!(render::rom_need(&tune), RomNeed::Basic);
    let o = RenderOptions {
        length: Some(Duration::from_secs(1)),
        ..RenderOptions::default()
    };
    assert!(matches!(
        Renderer::from_bytes(&bytes, &o),
        Err(RenderError::Machine(c64::C64Error::BasicNotSupported))
    ));
    let o = RenderOptions {
        roms: Some(Arc::new(roms())),
        ..o
    };
    let mut r = Renderer::from_bytes(&bytes, &o).unwrap();
    let pcm = r.render_to_end().unwrap();
    assert!(r.rom_calls().is_empty());
    let tail = &pcm[pcm.len() / 2..];
    let mean = tail.iter().map(|&v| f64::from(v)).sum::<f64>() / tail.len() as f64;
    let sd = (tail
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / tail.len() as f64)
        .sqrt();
    assert!(sd > 1000.0, "the program's sawtooth plays (sd {sd:.0})");
}
