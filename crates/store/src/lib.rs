//! Embedded database (redb) and append-only JSONL logs.
