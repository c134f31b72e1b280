//! A virtual Ultimate 64 for tests, demos and development.
