//! ALSA line-out playback with a rate servo.
