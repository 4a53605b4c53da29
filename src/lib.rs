//! The SIIS node: a broker between Chile's social registry and the agencies that consult and
//! feed it. See README.md for what it does and how to run it.

pub mod admin;
pub mod audit;
pub mod backup;
pub mod bench;
pub mod broker;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod consola;
pub mod convenios;
pub mod db;
pub mod domain;
pub mod drain;
pub mod error;
pub mod eventos;
pub mod fsperm;
pub mod http;
pub mod modelos;
pub mod ops;
pub mod outage;
pub mod pki;
pub mod projection;
pub mod recargas;
pub mod reglas;
pub mod respuestas;
pub mod rest;
pub mod seed;
pub mod soap;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tls;
pub mod xml;
