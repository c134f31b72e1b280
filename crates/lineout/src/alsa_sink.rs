//! The ALSA sink: opens a PCM by name, negotiates format/rate/channels/period/buffer, writes
//! with underrun detection, and finds a hardware mixer control for the volume when asked to.

use alsa::mixer::{Mixer, Selem, SelemId};
use alsa::pcm::{Access, Format, HwParams, PCM};
use alsa::{Direction, ValueOr};

use crate::format::{negotiate_format, SampleFormat};
use crate::sink::{Sink, SinkInfo, WriteError};
use crate::Error;

const EPIPE: i32 = 32;
const ESTRPIPE: i32 = 86;

/// How volume is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MixerMode {
    /// A hardware control if the card has one, else software.
    #[default]
    Auto,
    Hardware,
    Software,
}

impl std::str::FromStr for MixerMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(MixerMode::Auto),
            "hardware" | "hw" => Ok(MixerMode::Hardware),
            "software" | "sw" => Ok(MixerMode::Software),
            _ => Err(format!(
                "unknown mixer mode {s:?} (use auto, hardware or software)"
            )),
        }
    }
}

/// Device settings (the `[lineout]` section of the configuration maps onto this).
#[derive(Debug, Clone)]
pub struct AlsaConfig {
    /// PCM name: `default`, `hw:CARD=Headphones,DEV=0`, `plughw:1,0`, `file:FILE=/tmp/x.raw,FORMAT=raw`...
    pub device: String,
    /// Rate asked for (the nearest the card offers is used; sources are resampled to it).
    pub rate: u32,
    pub channels: u16,
    /// Forces a sample format; `None` negotiates (S16_LE first).
    pub format: Option<SampleFormat>,
    /// Period length asked for, in milliseconds.
    pub period_ms: u32,
    /// Periods per buffer (buffer = period x periods = output latency).
    pub periods: u32,
    pub mixer: MixerMode,
    /// Mixer control name; empty picks the first of Master, PCM, Speaker, Headphone, Digital.
    pub mixer_control: String,
}

impl Default for AlsaConfig {
    fn default() -> Self {
        Self {
            device: "default".into(),
            rate: 48000,
            channels: 2,
            format: None,
            period_ms: 20,
            periods: 4,
            mixer: MixerMode::Auto,
            mixer_control: String::new(),
        }
    }
}

/// One PCM device as ALSA's name hints describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub name: String,
    pub description: String,
}

fn alsa_err(what: &str, e: alsa::Error) -> Error {
    Error::Alsa(format!("{what}: {e}"))
}

/// Lists playback PCMs from ALSA's name hints (what `aplay -L` shows).
pub fn list_devices() -> Result<Vec<DeviceInfo>, Error> {
    let hints = alsa::device_name::HintIter::new_str(None, "pcm")
        .map_err(|e| alsa_err("reading device hints", e))?;
    Ok(hints
        .filter(|h| h.direction != Some(Direction::Capture))
        .filter_map(|h| {
            let name = h.name?;
            let description = h.desc.unwrap_or_default().replace('\n', " - ");
            Some(DeviceInfo { name, description })
        })
        .collect())
}

/// The control-device name for the card a PCM name refers to (`hw:1`, `hw:CARD=x`), if any.
pub fn card_of_device(device: &str) -> Option<String> {
    let (_, rest) = device.split_once(':')?;
    let mut card = None;
    for part in rest.split(',') {
        if let Some(v) = part.strip_prefix("CARD=") {
            card = Some(v.to_string());
        }
    }
    if card.is_none() {
        let first = rest.split(',').next()?;
        if !first.is_empty() && !first.contains('=') {
            card = Some(first.to_string());
        }
    }
    card.map(|c| format!("hw:{c}"))
}

struct HwMixer {
    mixer: Mixer,
    id: SelemId,
    min: i64,
    max: i64,
}

fn find_mixer(card: &str, wanted: &str) -> Option<HwMixer> {
    let mixer = Mixer::new(card, false).ok()?;
    let mut candidates: Vec<String> = Vec::new();
    if !wanted.is_empty() {
        candidates.push(wanted.to_string());
    } else {
        candidates.extend(["Master", "PCM", "Speaker", "Headphone", "Digital"].map(String::from));
        for elem in mixer.iter() {
            if let Some(s) = Selem::new(elem) {
                if s.has_playback_volume() {
                    if let Ok(n) = s.get_id().get_name() {
                        candidates.push(n.to_string());
                    }
                }
            }
        }
    }
    for name in candidates {
        let id = SelemId::new(&name, 0);
        let Some(selem) = mixer.find_selem(&id) else {
            continue;
        };
        if !selem.has_playback_volume() {
            continue;
        }
        let (min, max) = selem.get_playback_volume_range();
        if max > min {
            return Some(HwMixer {
                mixer,
                id,
                min,
                max,
            });
        }
    }
    None
}

/// An open ALSA playback PCM.
pub struct AlsaSink {
    pcm: PCM,
    info: SinkInfo,
    can_pause: bool,
    bytes: Vec<u8>,
    mixer: Option<HwMixer>,
}

impl AlsaSink {
    pub fn open(cfg: &AlsaConfig) -> Result<Self, Error> {
        let dev = &cfg.device;
        let pcm = PCM::new(dev, Direction::Playback, false)
            .map_err(|e| alsa_err(&format!("opening {dev:?}"), e))?;
        let (info, can_pause) = {
            let hwp = HwParams::any(&pcm).map_err(|e| alsa_err("hw params", e))?;
            hwp.set_access(Access::RWInterleaved)
                .map_err(|e| alsa_err("interleaved access", e))?;
            let format = negotiate_format(cfg.format, |f| hwp.test_format(alsa_format(f)).is_ok())
                .ok_or_else(|| {
                    Error::Alsa(match cfg.format {
                        Some(f) => format!("{dev:?} does not accept {f}"),
                        None => format!(
                            "{dev:?} accepts none of S16_LE, S32_LE, S24_LE, S24_3LE, FLOAT_LE"
                        ),
                    })
                })?;
            hwp.set_format(alsa_format(format))
                .map_err(|e| alsa_err("format", e))?;
            hwp.set_channels_near(u32::from(cfg.channels.max(1)))
                .map_err(|e| alsa_err("channels", e))?;
            hwp.set_rate_near(cfg.rate.max(1), ValueOr::Nearest)
                .map_err(|e| alsa_err("rate", e))?;
            let period = (u64::from(cfg.rate) * u64::from(cfg.period_ms.max(1)) / 1000).max(32)
                as alsa::pcm::Frames;
            let period = hwp
                .set_period_size_near(period, ValueOr::Nearest)
                .map_err(|e| alsa_err("period size", e))?;
            hwp.set_buffer_size_near(period * alsa::pcm::Frames::from(cfg.periods.max(2)))
                .map_err(|e| alsa_err("buffer size", e))?;
            pcm.hw_params(&hwp)
                .map_err(|e| alsa_err("applying hw params", e))?;
            let cur = pcm
                .hw_params_current()
                .map_err(|e| alsa_err("reading hw params", e))?;
            let rate = cur.get_rate().map_err(|e| alsa_err("rate", e))?;
            let channels = cur.get_channels().map_err(|e| alsa_err("channels", e))?;
            let period_frames = cur.get_period_size().map_err(|e| alsa_err("period", e))? as usize;
            let buffer_frames = cur.get_buffer_size().map_err(|e| alsa_err("buffer", e))? as usize;
            let info = SinkInfo {
                device: dev.clone(),
                rate,
                channels: u16::try_from(channels)
                    .map_err(|_| Error::Alsa(format!("{channels} channels")))?,
                format,
                period_frames: period_frames.max(1),
                buffer_frames,
                hw_volume: false,
            };
            (info, cur.can_pause())
        };
        {
            let swp = pcm
                .sw_params_current()
                .map_err(|e| alsa_err("sw params", e))?;
            let start = info
                .buffer_frames
                .saturating_sub(info.period_frames)
                .max(info.period_frames);
            swp.set_start_threshold(start as alsa::pcm::Frames)
                .map_err(|e| alsa_err("start threshold", e))?;
            swp.set_avail_min(info.period_frames as alsa::pcm::Frames)
                .map_err(|e| alsa_err("avail min", e))?;
            pcm.sw_params(&swp)
                .map_err(|e| alsa_err("applying sw params", e))?;
        }
        let mixer = match cfg.mixer {
            MixerMode::Software => None,
            mode => {
                let m = card_of_device(dev).and_then(|card| find_mixer(&card, &cfg.mixer_control));
                if m.is_none() && mode == MixerMode::Hardware {
                    tracing::warn!(device = %dev, "no hardware mixer control found; using software volume");
                }
                m
            }
        };
        let mut info = info;
        info.hw_volume = mixer.is_some();
        tracing::info!(
            device = %dev, rate = info.rate, channels = info.channels, format = %info.format,
            period = info.period_frames, buffer = info.buffer_frames, hw_volume = info.hw_volume,
            "line-out opened"
        );
        Ok(Self {
            pcm,
            info,
            can_pause,
            bytes: Vec::new(),
            mixer,
        })
    }
}

fn alsa_format(f: SampleFormat) -> Format {
    match f {
        SampleFormat::S16Le => Format::S16LE,
        SampleFormat::S32Le => Format::S32LE,
        SampleFormat::S24Le => Format::S24LE,
        SampleFormat::S24_3Le => Format::S243LE,
        SampleFormat::F32Le => Format::FloatLE,
    }
}

impl Sink for AlsaSink {
    fn info(&self) -> &SinkInfo {
        &self.info
    }

    fn write(&mut self, samples: &[i16]) -> Result<usize, WriteError> {
        self.bytes.clear();
        self.info.format.encode(samples, &mut self.bytes);
        let io = self.pcm.io_bytes();
        match io.writei(&self.bytes) {
            Ok(frames) => Ok(frames),
            Err(e) if e.errno() == EPIPE || e.errno() == ESTRPIPE => Err(WriteError::Underrun),
            Err(e) => Err(WriteError::Fatal(alsa_err("writing", e))),
        }
    }

    fn recover(&mut self) -> Result<(), Error> {
        self.pcm
            .recover(EPIPE, true)
            .or_else(|_| self.pcm.prepare())
            .map_err(|e| alsa_err("recovering", e))
    }

    fn pause(&mut self, paused: bool) -> Result<(), Error> {
        if self.can_pause && self.pcm.pause(paused).is_ok() {
            return Ok(());
        }
        if paused {
            self.pcm.drop().map_err(|e| alsa_err("pausing", e))
        } else {
            self.pcm.prepare().map_err(|e| alsa_err("resuming", e))
        }
    }

    fn discard(&mut self) -> Result<(), Error> {
        let _ = self.pcm.drop();
        self.pcm.prepare().map_err(|e| alsa_err("preparing", e))
    }

    fn drain(&mut self) -> Result<(), Error> {
        let _ = self.pcm.drain();
        self.pcm.prepare().map_err(|e| alsa_err("preparing", e))
    }

    fn set_hw_volume(&mut self, percent: u8) -> bool {
        let Some(m) = &self.mixer else { return false };
        let Some(selem) = m.mixer.find_selem(&m.id) else {
            return false;
        };
        let v = m.min + (m.max - m.min) * i64::from(percent.min(100)) / 100;
        selem.set_playback_volume_all(v).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_names_from_device_names() {
        assert_eq!(card_of_device("hw:1,0").as_deref(), Some("hw:1"));
        assert_eq!(
            card_of_device("plughw:CARD=Headphones,DEV=0").as_deref(),
            Some("hw:Headphones")
        );
        assert_eq!(card_of_device("hw:CARD=x").as_deref(), Some("hw:x"));
        assert_eq!(card_of_device("default"), None);
        assert_eq!(card_of_device("file:FILE=/tmp/x.raw,FORMAT=raw"), None);
    }

    #[test]
    fn mixer_modes_parse() {
        assert_eq!("Auto".parse::<MixerMode>().unwrap(), MixerMode::Auto);
        assert_eq!(
            "software".parse::<MixerMode>().unwrap(),
            MixerMode::Software
        );
        assert!("loud".parse::<MixerMode>().is_err());
    }
}
