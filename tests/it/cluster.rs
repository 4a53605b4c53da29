//! Several nodes over one PostgreSQL: a primary and streaming replicas of the test's own
//! ([`pg::PgCluster`]), and the nodes in front of them.

pub mod nodos;
pub mod pg;
mod replicas;
mod varios;
