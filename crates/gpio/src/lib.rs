//! Buttons and status LED through rppal.
