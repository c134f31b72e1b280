//! Streaming WAV, MP3 and FLAC encoders.
