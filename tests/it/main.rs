//! Integration tests: the real node on port 0 with real TLS and a fresh database per test,
//! on SQLite always and on PostgreSQL when SIIS_TEST_POSTGRES_URL is set.

mod cli;
mod node;
mod pki;
mod seed;
mod storage;
mod support;
