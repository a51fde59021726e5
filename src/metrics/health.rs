//! Each chain's health as the scanners last saw it: what `/status`,
//! `/healthz` and `/metrics` show about the chains.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::SystemTime;

/// The scanner's view of one chain.
#[derive(Debug, Clone, Default)]
pub struct ChainHealth {
    pub name: String,
    pub head: Option<u64>,
    /// The lowest cursor of the chain's tokens: everything up to it is recorded.
    pub cursor: Option<u64>,
    pub last_ok_poll: Option<SystemTime>,
    pub last_error: Option<String>,
    /// How the chain is scanned and why (EVM chains: logs or per-address,
    /// with the two daily estimates), for `/status`.
    pub scan_mode: Option<String>,
    /// Which source scans the chain, and why the sources before it do not
    /// (chains with a provider pool: EVM chains with a Blockscout fallback).
    pub provider: Option<String>,
    /// Each source of the chain's provider pool, in order (empty without a
    /// pool): serving or not, why, calls and errors.
    pub sources: Vec<crate::scanner::pool::SourceStatus>,
    /// Per JSON-RPC endpoint (by host, the source's name): the widest
    /// `eth_getLogs` range it is asked for, configured or learned from its
    /// refusals (absent: no limit met yet).
    pub block_ranges: BTreeMap<String, u64>,
}

impl ChainHealth {
    /// Blocks between the head and the cursor.
    pub fn lag(&self) -> Option<u64> {
        Some(self.head?.saturating_sub(self.cursor?))
    }
}

/// Every chain's [`ChainHealth`] (by chain id), and today's provider calls.
/// Written by the scanners, read by `telegram` (`/status`) and `http`.
#[derive(Debug, Default)]
pub struct Health {
    chains: Mutex<BTreeMap<u64, ChainHealth>>,
    /// Calls per provider today against the daily budget, for `/status`.
    calls_today: Mutex<Option<String>>,
}

impl Health {
    /// Updates one chain's health in place.
    pub fn chain(&self, chain_id: u64, update: impl FnOnce(&mut ChainHealth)) {
        let mut chains = self.chains.lock().unwrap_or_else(|e| e.into_inner());
        update(chains.entry(chain_id).or_default());
    }

    /// Every chain seen so far, by chain id.
    pub fn chains(&self) -> Vec<(u64, ChainHealth)> {
        let chains = self.chains.lock().unwrap_or_else(|e| e.into_inner());
        chains.iter().map(|(k, v)| (*k, v.clone())).collect()
    }

    /// Sets the `/status` line of today's calls ("Etherscan 123 of 100000, Blockscout 4").
    pub fn set_calls_today(&self, line: String) {
        *self.calls_today.lock().unwrap_or_else(|e| e.into_inner()) = Some(line);
    }

    /// Today's calls per provider, once a poll counted them.
    pub fn calls_today(&self) -> Option<String> {
        self.calls_today
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
