//! C64 Ultimate devices: discovery, REST control, UDP audio capture.
