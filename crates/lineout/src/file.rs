//! A cached file (WAV, FLAC, MP3) decoded with symphonia.

use std::fs::File;
use std::path::Path;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{Decoder, DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use crate::source::Source;
use crate::Error;

/// Decodes an audio file to interleaved i16, packet by packet.
pub struct FileSource {
    reader: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track: u32,
    rate: u32,
    channels: u16,
    pending: Vec<i16>,
    pos: usize,
    ended: bool,
    label: String,
}

fn sym(path: &Path, e: SymError) -> Error {
    Error::Decode(format!("{}: {e}", path.display()))
}

impl FileSource {
    pub fn open(path: &Path) -> Result<Self, Error> {
        let file = File::open(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let probed = symphonia::default::get_probe()
            .format(
                &hint,
                mss,
                &FormatOptions::default(),
                &MetadataOptions::default(),
            )
            .map_err(|e| sym(path, e))?;
        let reader = probed.format;
        let track = reader
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| Error::Decode(format!("{}: no audio track", path.display())))?;
        let decoder = symphonia::default::get_codecs()
            .make(&track.codec_params, &DecoderOptions::default())
            .map_err(|e| sym(path, e))?;
        let track_id = track.id;
        let rate = track.codec_params.sample_rate.unwrap_or(0);
        let channels = track
            .codec_params
            .channels
            .map(|c| c.count() as u16)
            .unwrap_or(0);
        let mut me = Self {
            reader,
            decoder,
            track: track_id,
            rate,
            channels,
            pending: Vec::new(),
            pos: 0,
            ended: false,
            label: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        // Decode the first packet now: it settles rate and channels (MP3 headers may not say).
        me.decode_next()?;
        if me.rate == 0 || me.channels == 0 {
            return Err(Error::Decode(format!(
                "{}: unknown sample rate or channel count",
                path.display()
            )));
        }
        Ok(me)
    }

    /// Decodes packets until some samples are pending or the stream ends.
    fn decode_next(&mut self) -> Result<(), Error> {
        while !self.ended {
            let packet = match self.reader.next_packet() {
                Ok(p) => p,
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    self.ended = true;
                    break;
                }
                Err(SymError::ResetRequired) => {
                    self.ended = true;
                    break;
                }
                Err(e) => return Err(Error::Decode(e.to_string())),
            };
            if packet.track_id() != self.track {
                continue;
            }
            let decoded = match self.decoder.decode(&packet) {
                Ok(d) => d,
                Err(SymError::DecodeError(e)) => {
                    tracing::warn!("skipping a corrupt packet in {}: {e}", self.label);
                    continue;
                }
                Err(e) => return Err(Error::Decode(e.to_string())),
            };
            let spec = *decoded.spec();
            let ch = spec.channels.count() as u16;
            if self.channels == 0 {
                self.channels = ch;
            }
            if self.rate == 0 {
                self.rate = spec.rate;
            }
            if ch != self.channels || spec.rate != self.rate {
                return Err(Error::Decode(format!(
                    "{}: format changes mid-stream",
                    self.label
                )));
            }
            if decoded.frames() == 0 {
                continue;
            }
            let mut sb = SampleBuffer::<i16>::new(decoded.capacity() as u64, spec);
            sb.copy_interleaved_ref(decoded);
            self.pending.drain(..self.pos);
            self.pos = 0;
            self.pending.extend_from_slice(sb.samples());
            return Ok(());
        }
        Ok(())
    }
}

impl Source for FileSource {
    fn pcm_format(&self) -> pcm::PcmFormat {
        pcm::PcmFormat {
            sample_rate: self.rate,
            channels: self.channels,
        }
    }
    fn label(&self) -> String {
        self.label.clone()
    }
    fn read(&mut self, buf: &mut [i16]) -> Result<usize, pcm::SourceError> {
        let ch = usize::from(self.channels);
        let want = buf.len() / ch * ch;
        let mut n = 0;
        while n < want {
            if self.pos >= self.pending.len() {
                if self.ended {
                    break;
                }
                self.pending.clear();
                self.pos = 0;
                self.decode_next()?;
                continue;
            }
            let k = (want - n).min(self.pending.len() - self.pos);
            buf[n..n + k].copy_from_slice(&self.pending[self.pos..self.pos + k]);
            self.pos += k;
            n += k;
        }
        Ok(n)
    }
}
