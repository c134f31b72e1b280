//! Scanning a SID tree, metadata and search.
