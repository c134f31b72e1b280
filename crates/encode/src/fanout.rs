//! One PCM stream into several sinks (for example MP3 and FLAC from one render).

use crate::{EncodeError, PcmSink, Tags};

/// Feeds every chunk to each sink in turn. The first error stops the stream: the caller
/// drops the fan-out, and file sinks remove their temporary files.
#[derive(Default)]
pub struct Fanout {
    sinks: Vec<Box<dyn PcmSink>>,
}

impl Fanout {
    pub fn new() -> Fanout {
        Fanout::default()
    }

    pub fn push(&mut self, sink: Box<dyn PcmSink>) {
        self.sinks.push(sink);
    }

    pub fn len(&self) -> usize {
        self.sinks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }
}

impl PcmSink for Fanout {
    fn write_pcm(&mut self, pcm: &[i16]) -> Result<(), EncodeError> {
        for s in &mut self.sinks {
            s.write_pcm(pcm)?;
        }
        Ok(())
    }

    /// Finishes every sink, even after one failed, and reports the first error.
    fn finish(&mut self) -> Result<(), EncodeError> {
        let mut first = None;
        for s in &mut self.sinks {
            if let Err(e) = s.finish() {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    fn set_final_tags(&mut self, tags: &Tags) {
        for s in &mut self.sinks {
            s.set_final_tags(tags);
        }
    }
}

impl<F> PcmSink for F
where
    F: FnMut(&[i16]) -> Result<(), EncodeError> + Send,
{
    fn write_pcm(&mut self, pcm: &[i16]) -> Result<(), EncodeError> {
        self(pcm)
    }
    fn finish(&mut self) -> Result<(), EncodeError> {
        Ok(())
    }
}
