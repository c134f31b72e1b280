//! Render variants, file naming, disk thresholds, atomic writes.
