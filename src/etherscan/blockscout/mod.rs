//! Blockscout, the keyless fallback for EVM chains: its Etherscan-compatible
//! `/api` (`module=block&action=eth_block_number` for the head,
//! `module=logs&action=getLogs` by block range), with its own client and
//! limiter. Its answers are normalised here ([`api`]) into the shape the
//! canonical Transfer decoder reads; the chain's provider pool
//! ([`crate::etherscan::sources`]) decides when a chain uses it.

pub mod api;
pub mod client;

pub use client::{BlockscoutClient, PROVIDER};
