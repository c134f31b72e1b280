//! Tune + song + chip + clock -> PCM through resid-rs.
