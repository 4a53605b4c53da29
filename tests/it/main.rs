//! Integration tests: the real node on port 0 with real TLS and a fresh database per test,
//! on SQLite always and on PostgreSQL when SIIS_TEST_POSTGRES_URL is set.

mod ambito;
mod archivo;
mod audit;
mod audit_nodos;
mod bench;
mod broker;
mod caida;
mod certificados;
mod cli;
mod cluster;
mod compartido;
mod consola;
mod drenaje;
mod encuestaje;
mod escrituras;
mod estadisticas;
mod limites;
mod lotes;
mod metricas;
mod modulos;
mod navegador;
mod node;
mod openapi;
mod operations;
mod packaging;
mod pki;
mod recargas;
mod registry;
mod respaldo;
mod seed;
mod soap;
mod storage;
mod support;
mod systemd;
mod trust;
