//! The synthetic Tron chain behind the simulator: a head that moves, a
//! solidified head that trails it, block times 3 s apart from the wall
//! clock at start, and the USDT `Transfer` events of every block.
//!
//! A block's events for a contract are, in order: the noise transfers (USDT
//! only, one per transaction), then the transfers a test injected into that
//! block. Noise is never stored: noise event `i` of block `b` is a pure
//! function of (seed, b, i), so history is free until a page asks for it.

use std::collections::{BTreeMap, HashMap};

use crate::sim::etherscan::codec::{SplitMix, hash_words, mix, push_hex};

use super::address::{AccountId, USDT_CONTRACT};
use super::events::EventShape;

/// Tron's `BLOCK_PRODUCED_INTERVAL`, in chain time.
pub const BLOCK_INTERVAL_MS: u64 = 3000;
/// How many distinct noise addresses there are.
const POOL_SIZE: u64 = 4096;

const TAG_POOL: u64 = 0x706f_6f6c;
const TAG_NOISE: u64 = 0x6e6f_6973;
const TAG_TX: u64 = 0x7478;
const TAG_INJECTED: u64 = 0x0069_6e6a;
const TAG_BLOCK: u64 = 0x626c_6f63;

/// One TRC-20 Transfer to put on the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// The token contract ([`USDT_CONTRACT`] for USDT).
    pub contract: AccountId,
    /// Sender and recipient (served as `0x` + 40 hex in `result`).
    pub from: AccountId,
    pub to: AccountId,
    /// Raw token units (USDT: 6 decimals).
    pub value: u128,
}

/// One event as the events endpoint serves it.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub(crate) block: u64,
    pub(crate) contract: AccountId,
    pub(crate) from: AccountId,
    pub(crate) to: AccountId,
    pub(crate) value: u128,
    /// 64 lowercase hex, no `0x`.
    pub(crate) txid: String,
    /// The log's index within its transaction.
    pub(crate) event_index: u32,
}

pub(crate) struct TronChain {
    pub(crate) head: u64,
    pub(crate) solid_lag: u64,
    /// The events index trails the solidified head: events of block `b`
    /// are served only once the solid head is ≥ `b + index_lag`.
    pub(crate) index_lag: u64,
    /// Chain-time timestamp (ms) of block 0, so that the start block is
    /// stamped with the wall clock at start.
    genesis_ms: u64,
    seed: u64,
    noise_per_block: u64,
    pool: Vec<AccountId>,
    injected: BTreeMap<u64, Vec<Event>>,
    injected_txs: u64,
    /// Contracts whose events are not written in the default shape.
    shapes: HashMap<AccountId, EventShape>,
    default_shape: EventShape,
}

impl TronChain {
    pub(crate) fn new(
        start_block: u64,
        start_ms: u64,
        solid_lag: u64,
        noise_per_block: u32,
        seed: u64,
    ) -> Self {
        let pool = (0..POOL_SIZE)
            .map(|i| {
                let mut r = SplitMix::new(hash_words(&[seed, i, TAG_POOL]));
                let words = [r.next_u64(), r.next_u64(), r.next_u64()];
                let mut a = [0u8; 20];
                for (j, b) in a.iter_mut().enumerate() {
                    *b = words[j / 8].to_be_bytes()[j % 8];
                }
                a
            })
            .collect();
        TronChain {
            head: start_block,
            solid_lag,
            index_lag: 0,
            genesis_ms: start_ms.saturating_sub(start_block.saturating_mul(BLOCK_INTERVAL_MS)),
            seed,
            noise_per_block: u64::from(noise_per_block),
            pool,
            injected: BTreeMap::new(),
            injected_txs: 0,
            shapes: HashMap::new(),
            default_shape: EventShape::default(),
        }
    }

    /// How `contract`'s events are written.
    pub(crate) fn shape(&self, contract: &AccountId) -> &EventShape {
        self.shapes.get(contract).unwrap_or(&self.default_shape)
    }

    /// Writes `contract`'s events in `shape` from now on.
    pub(crate) fn set_shape(&mut self, contract: AccountId, shape: EventShape) {
        self.shapes.insert(contract, shape);
    }

    /// The newest solidified (final) block.
    pub(crate) fn solid_head(&self) -> u64 {
        self.head.saturating_sub(self.solid_lag)
    }

    /// With an index lag, the newest block the events index has indexed
    /// (`None`: none yet); unused without one (every block is served).
    pub(crate) fn indexed_head(&self) -> Option<u64> {
        self.solid_head().checked_sub(self.index_lag)
    }

    /// `block_header.raw_data.timestamp` of a block, in ms.
    pub(crate) fn timestamp(&self, block: u64) -> u64 {
        self.genesis_ms
            .saturating_add(block.saturating_mul(BLOCK_INTERVAL_MS))
    }

    /// The lowest block stamped at or after `ms`.
    pub(crate) fn first_block_at(&self, ms: u64) -> u64 {
        ms.saturating_sub(self.genesis_ms)
            .div_ceil(BLOCK_INTERVAL_MS)
    }

    /// The highest block stamped at or before `ms`, `None` if none is.
    pub(crate) fn last_block_at(&self, ms: u64) -> Option<u64> {
        ms.checked_sub(self.genesis_ms)
            .map(|d| d / BLOCK_INTERVAL_MS)
    }

    /// 64 hex: the number in the first 8 bytes, then 24 pseudo-random bytes.
    pub(crate) fn block_id(&self, block: u64) -> String {
        let h = |k| hash_words(&[self.seed, block, TAG_BLOCK, k]);
        hex_words([block, h(0), h(1), h(2)])
    }

    /// Appends one transaction holding `transfers` (event indexes 0, 1, …)
    /// to `block`. Returns its transaction id.
    pub(crate) fn inject(&mut self, block: u64, transfers: &[Transfer]) -> String {
        self.injected_txs += 1;
        let n = self.injected_txs;
        let salt = hash_words(&[self.seed, TAG_INJECTED]);
        let txid = hex_words([
            hash_words(&[salt, n, 1]),
            hash_words(&[salt, n, 2]),
            mix(block ^ salt),
            mix(n ^ salt.rotate_left(29)),
        ]);
        let events = self.injected.entry(block).or_default();
        for (i, t) in transfers.iter().enumerate() {
            events.push(Event {
                block,
                contract: t.contract,
                from: t.from,
                to: t.to,
                value: t.value,
                txid: txid.clone(),
                event_index: u32::try_from(i).unwrap_or(u32::MAX),
            });
        }
        txid
    }

    fn has_noise(&self, contract: &AccountId) -> bool {
        self.noise_per_block > 0 && *contract == USDT_CONTRACT
    }

    fn noise(&self, block: u64, i: u64) -> Event {
        let mut r = SplitMix::new(hash_words(&[self.seed, block, i, TAG_NOISE]));
        let from = r.next_u64() % POOL_SIZE;
        let mut to = r.next_u64() % POOL_SIZE;
        if to == from {
            to = (to + 1) % POOL_SIZE;
        }
        // 0.000001 to 10 000 USDT.
        let value = u128::from(r.next_u64() % 10_000_000_000 + 1);
        let salt = hash_words(&[self.seed, TAG_TX]);
        Event {
            block,
            contract: USDT_CONTRACT,
            from: self.pool[from as usize],
            to: self.pool[to as usize],
            value,
            txid: hex_words([
                hash_words(&[salt, block, i, 1]),
                hash_words(&[salt, block, i, 2]),
                mix(block ^ salt),
                mix(i ^ salt.rotate_left(17)),
            ]),
            event_index: 0,
        }
    }

    /// The events of `contract` in `block`, in the block's order.
    pub(crate) fn events(&self, contract: &AccountId, block: u64) -> Vec<Event> {
        let mut out = Vec::new();
        if self.has_noise(contract) {
            out.extend((0..self.noise_per_block).map(|i| self.noise(block, i)));
        }
        if let Some(injected) = self.injected.get(&block) {
            out.extend(injected.iter().filter(|e| e.contract == *contract).cloned());
        }
        out
    }

    /// The distinct transaction ids of `block`, in order (any contract).
    pub(crate) fn txids(&self, block: u64) -> Vec<String> {
        let mut out: Vec<String> = (0..self.noise_per_block)
            .map(|i| self.noise(block, i).txid)
            .collect();
        for e in self.injected.get(&block).into_iter().flatten() {
            if out.last() != Some(&e.txid) {
                out.push(e.txid.clone());
            }
        }
        out
    }

    /// The blocks of `lo..=hi` that may hold events of `contract`, in
    /// ascending or descending order. With noise that is every block;
    /// without, only blocks with injected events, found without walking
    /// the empty ones.
    pub(crate) fn candidate_blocks<'a>(
        &'a self,
        contract: &AccountId,
        lo: u64,
        hi: u64,
        ascending: bool,
    ) -> Box<dyn Iterator<Item = u64> + 'a> {
        if lo > hi {
            return Box::new(std::iter::empty());
        }
        match (self.has_noise(contract), ascending) {
            (true, true) => Box::new(lo..=hi),
            (true, false) => Box::new((lo..=hi).rev()),
            (false, true) => Box::new(self.injected.range(lo..=hi).map(|(b, _)| *b)),
            (false, false) => Box::new(self.injected.range(lo..=hi).rev().map(|(b, _)| *b)),
        }
    }
}

/// 64 lowercase hex digits from four big-endian words, no `0x`.
pub(crate) fn hex_words(words: [u64; 4]) -> String {
    let mut s = String::with_capacity(64);
    for w in words {
        push_hex(&mut s, &w.to_be_bytes());
    }
    s
}
