//! The synthetic chain behind the simulator.
//!
//! A block holds, in log-index order: `noise_per_block` Transfer logs for
//! each registry token of the chain (USDT first, then USDC), then the logs a
//! test injected into that block. Noise is never stored: any noise log is a
//! pure function of (seed, chain, block, token, i), so a 100 000-block range
//! costs nothing until a page of it is asked for, and a query that only
//! filters by contract and topic0 can skip whole blocks by counting.
//!
//! Noise senders and receivers come from a fixed pool of random-looking
//! addresses per chain. That keeps filters by a test's own address cheap:
//! an address outside the pool can never appear in noise, so the query does
//! not need to generate noise to prove it.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::domain::{Address, Chain, Token};

use super::codec::{SplitMix, address_bytes_topic, hash_words, mix, u128_word, word_hex};
use super::filter::{LogFilter, Tri};

/// How many distinct noise addresses each chain has.
const POOL_SIZE: u64 = 4096;
/// The most noise logs one query may generate to test them one by one
/// (a filter on a noise-pool address). Beyond it the query "times out",
/// as a real one would, instead of holding the simulator for seconds.
const MAX_GENERATED: u128 = 5_000_000;
/// Block `b` is stamped `genesis + b * BLOCK_SECONDS`, where `genesis` puts
/// the starting head at the wall-clock time the simulator started (see
/// [`genesis_for`]), so the times a demo shows are today's.
pub(crate) const BLOCK_SECONDS: u64 = 12;

/// The genesis time that stamps block `head` at `now` (Unix seconds).
pub(crate) fn genesis_for(now: u64, head: u64) -> u64 {
    now.saturating_sub(head.saturating_mul(BLOCK_SECONDS))
}

// Domain tags, so the different derived values never share a PRNG stream.
const TAG_POOL: u64 = 0x706f_6f6c;
const TAG_NOISE: u64 = 0x6e6f_6973;
const TAG_TX: u64 = 0x7478;
const TAG_BLOCK: u64 = 0x626c_6f63;
const TAG_GAS: u64 = 0x0067_6173;

/// A log a test put on the chain; its log index is implied by its position.
#[derive(Debug, Clone)]
pub(crate) struct StoredLog {
    pub(crate) contract: Address,
    /// Lowercase.
    pub(crate) topics: Vec<String>,
    pub(crate) data: String,
}

/// A query that would generate more than [`MAX_GENERATED`] noise logs.
#[derive(Debug)]
pub(crate) struct TooExpensive;

/// One log selected by a query, ready to be rendered.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) block: u64,
    pub(crate) log_index: u64,
    pub(crate) contract: Address,
    pub(crate) topics: Vec<String>,
    pub(crate) data: String,
}

pub(crate) struct SimChain {
    pub(crate) id: u64,
    pub(crate) head: u64,
    /// Unix seconds of block 0 (see [`SimChain::timestamp`]).
    genesis: u64,
    seed: u64,
    noise_per_block: u64,
    /// The registry tokens of this chain (empty for a chain id the registry lacks).
    pub(crate) tokens: Vec<Token>,
    pool: Vec<[u8; 20]>,
    pool_set: HashSet<[u8; 20]>,
    injected: BTreeMap<u64, Vec<StoredLog>>,
    /// Hand-made getLogs items, served verbatim (see [`SimChain::raw_items`]).
    raw: BTreeMap<u64, Vec<serde_json::Value>>,
    /// Hand-made tokentx rows, served verbatim (see [`SimChain::raw_rows`]).
    raw_rows: BTreeMap<u64, Vec<serde_json::Value>>,
    /// The getLogs index trails the head by this many blocks: the logs of
    /// block `b` are served once `head >= b + index_lag`.
    pub(crate) index_lag: u64,
    /// (block, log index) → the log index whose transaction this log is
    /// part of (a transaction emitting several Transfers); absent: its own.
    same_tx: HashMap<(u64, u64), u64>,
}

impl SimChain {
    /// A chain whose head is `head`, block 0 dated at `genesis` (Unix seconds).
    pub(crate) fn new(id: u64, head: u64, genesis: u64, noise_per_block: u32, seed: u64) -> Self {
        let tokens = Chain::by_id(id).map(|c| c.tokens).unwrap_or_default();
        let pool: Vec<[u8; 20]> = (0..POOL_SIZE)
            .map(|i| {
                let mut r = SplitMix::new(hash_words(&[seed, id, i, TAG_POOL]));
                let mut a = [0u8; 20];
                let words = [r.next_u64(), r.next_u64(), r.next_u64()];
                for (j, b) in a.iter_mut().enumerate() {
                    *b = words[j / 8].to_be_bytes()[j % 8];
                }
                a
            })
            .collect();
        let pool_set = pool.iter().copied().collect();
        SimChain {
            id,
            head,
            genesis,
            seed,
            noise_per_block: u64::from(noise_per_block),
            tokens,
            pool,
            pool_set,
            injected: BTreeMap::new(),
            raw: BTreeMap::new(),
            raw_rows: BTreeMap::new(),
            index_lag: 0,
            same_tx: HashMap::new(),
        }
    }

    /// Appends a log to `block`; returns its (tx hash, log index).
    pub(crate) fn inject(&mut self, block: u64, log: StoredLog) -> (String, u64) {
        let first_injected = self.tokens.len() as u64 * self.noise_per_block;
        let logs = self.injected.entry(block).or_default();
        logs.push(log);
        let log_index = first_injected + logs.len() as u64 - 1;
        (self.tx_hash(block, log_index), log_index)
    }

    /// Makes log `log_index` of `block` part of the transaction of log
    /// `first` of the same block: they share a transaction hash.
    pub(crate) fn join_tx(&mut self, block: u64, log_index: u64, first: u64) {
        if log_index != first {
            self.same_tx.insert((block, log_index), first);
        }
    }

    /// Adds a hand-made item to `block`'s getLogs answers.
    pub(crate) fn inject_raw(&mut self, block: u64, item: serde_json::Value) {
        self.raw.entry(block).or_default().push(item);
    }

    /// Adds a hand-made row to `block`'s tokentx answers.
    pub(crate) fn inject_raw_row(&mut self, block: u64, item: serde_json::Value) {
        self.raw_rows.entry(block).or_default().push(item);
    }

    /// Hand-made tokentx rows of blocks `from..=to` (indexed ones only)
    /// whose `from` or `to` field is `party` and whose `contractAddress` is
    /// `contract` (case-insensitively; a field that is not an address
    /// matches anything), in block order.
    pub(crate) fn raw_rows(
        &self,
        from: u64,
        to: u64,
        party: &Address,
        contract: Option<&Address>,
    ) -> Vec<&serde_json::Value> {
        let hi = to.min(self.indexed_head());
        if from > hi {
            return Vec::new();
        }
        let side = |item: &serde_json::Value, key: &str| {
            item.get(key)
                .and_then(serde_json::Value::as_str)
                .and_then(|a| Address::parse(&a.to_ascii_lowercase()).ok())
        };
        self.raw_rows
            .range(from..=hi)
            .flat_map(|(_, items)| items)
            .filter(|item| match (side(item, "from"), side(item, "to")) {
                (Some(f), Some(t)) => &f == party || &t == party,
                _ => true,
            })
            .filter(|item| match (side(item, "contractAddress"), contract) {
                (Some(a), Some(c)) => &a == c,
                _ => true,
            })
            .collect()
    }

    /// The highest block whose logs the index serves.
    pub(crate) fn indexed_head(&self) -> u64 {
        self.head.saturating_sub(self.index_lag)
    }

    /// Hand-made items of blocks `from..=to` (indexed ones only) whose
    /// `address` field matches `contract` (case-insensitively; an item
    /// without a readable address matches every contract), in block order.
    pub(crate) fn raw_items(
        &self,
        from: u64,
        to: u64,
        contract: Option<&Address>,
    ) -> Vec<&serde_json::Value> {
        let hi = to.min(self.indexed_head());
        if from > hi {
            return Vec::new();
        }
        self.raw
            .range(from..=hi)
            .flat_map(|(_, items)| items)
            .filter(|item| {
                let address = item
                    .get("address")
                    .and_then(serde_json::Value::as_str)
                    .and_then(|a| Address::parse(&a.to_ascii_lowercase()).ok());
                match (contract, address) {
                    (Some(c), Some(a)) => &a == c,
                    _ => true,
                }
            })
            .collect()
    }

    /// A unique, random-looking hash per (block, log index): the first two
    /// words are pseudo-random, the last two are bijections of the block and
    /// the log index, so two logs of this chain never share a hash unless a
    /// test put them in one transaction ([`SimChain::join_tx`]).
    pub(crate) fn tx_hash(&self, block: u64, log_index: u64) -> String {
        let log_index = self
            .same_tx
            .get(&(block, log_index))
            .copied()
            .unwrap_or(log_index);
        let salt = hash_words(&[self.seed, self.id, TAG_TX]);
        word_hex([
            hash_words(&[salt, block, log_index, 1]),
            hash_words(&[salt, block, log_index, 2]),
            mix(block ^ salt),
            mix(log_index ^ salt.rotate_left(17)),
        ])
    }

    pub(crate) fn block_hash(&self, block: u64) -> String {
        let h = |k| hash_words(&[self.seed, self.id, block, TAG_BLOCK, k]);
        word_hex([h(0), h(1), h(2), mix(block ^ h(3))])
    }

    /// The Unix time block `block` is stamped with.
    pub(crate) fn timestamp(&self, block: u64) -> u64 {
        self.genesis
            .saturating_add(block.saturating_mul(BLOCK_SECONDS))
    }

    /// (gas price in wei, gas used) of the transaction of a log.
    pub(crate) fn gas(&self, block: u64, log_index: u64) -> (u64, u64) {
        let h = hash_words(&[self.seed, self.id, block, log_index, TAG_GAS]);
        (
            5_000_000_000 + h % 45_000_000_000,
            40_000 + (h >> 32) % 30_000,
        )
    }

    /// Noise log `i` of token `t` in `block`: (from, to, raw amount).
    fn noise(&self, block: u64, t: usize, i: u64) -> ([u8; 20], [u8; 20], u128) {
        let mut r = SplitMix::new(hash_words(&[
            self.seed, self.id, block, t as u64, i, TAG_NOISE,
        ]));
        let from = r.next_u64() % POOL_SIZE;
        let mut to = r.next_u64() % POOL_SIZE;
        if to == from {
            to = (to + 1) % POOL_SIZE;
        }
        // 0.000001 to 10 000 units, scaled to the token's decimals.
        let units = u128::from(r.next_u64() % 10_000_000_000 + 1);
        let decimals = self.tokens.get(t).map_or(6, |tk| tk.decimals);
        let amount = units * 10u128.pow(u32::from(decimals.saturating_sub(6)).min(20));
        (self.pool[from as usize], self.pool[to as usize], amount)
    }

    fn noise_record(&self, block: u64, t: usize, i: u64, log_index: u64) -> Record {
        let (from, to, amount) = self.noise(block, t, i);
        Record {
            block,
            log_index,
            contract: self.tokens[t].contract.clone(),
            topics: vec![
                crate::domain::chain::TRANSFER_TOPIC.to_string(),
                address_bytes_topic(&from),
                address_bytes_topic(&to),
            ],
            data: u128_word(amount),
        }
    }

    /// The logs of blocks `from..=min(to, indexed head)` that match `filter`, in
    /// (block, log index) order, after skipping `skip` of them, at most `take`.
    pub(crate) fn query(
        &self,
        from: u64,
        to: u64,
        filter: &LogFilter,
        mut skip: u64,
        take: usize,
    ) -> Result<Vec<Record>, TooExpensive> {
        let mut out = Vec::new();
        let hi = to.min(self.indexed_head());
        if from > hi || take == 0 {
            return Ok(out);
        }
        let n = self.noise_per_block;
        let tris: Vec<Tri> = self
            .tokens
            .iter()
            .map(|tk| {
                if n == 0 || !filter.contract_matches(&tk.contract) {
                    Tri::No
                } else {
                    filter.noise_tri(|a| self.pool_set.contains(a))
                }
            })
            .collect();
        let emit = |b, skip: &mut u64, out: &mut Vec<Record>| {
            self.emit_block(b, filter, &tris, skip, out, take)
        };

        let maybe = tris.iter().filter(|t| **t == Tri::Maybe).count() as u128;
        if maybe > 0 {
            // Noise may or may not match: generate every block (rare: only a
            // filter on a noise-pool address gets here).
            if u128::from(hi - from + 1) * maybe * u128::from(n) > MAX_GENERATED {
                return Err(TooExpensive);
            }
            for b in from..=hi {
                if out.len() >= take {
                    break;
                }
                emit(b, &mut skip, &mut out);
            }
            return Ok(out);
        }

        // Every block without injected logs has exactly `per_block` matches.
        let per_block = tris.iter().filter(|t| **t == Tri::Yes).count() as u64 * n;
        let mut b = from;
        while b <= hi && out.len() < take {
            let next_injected = self.injected.range(b..=hi).next().map(|(k, _)| *k);
            let end = match next_injected {
                Some(k) if k == b => {
                    emit(b, &mut skip, &mut out);
                    match b.checked_add(1) {
                        Some(next) => b = next,
                        None => break,
                    }
                    continue;
                }
                Some(k) => k - 1,
                None => hi,
            };
            // Plain blocks b..=end.
            if per_block > 0 {
                let total = u128::from(end - b + 1) * u128::from(per_block);
                if u128::from(skip) >= total {
                    skip -= total as u64;
                } else {
                    let whole = skip / per_block;
                    skip -= whole * per_block;
                    for blk in b + whole..=end {
                        if out.len() >= take {
                            break;
                        }
                        emit(blk, &mut skip, &mut out);
                    }
                }
            }
            match end.checked_add(1) {
                Some(next) => b = next,
                None => break,
            }
        }
        Ok(out)
    }

    fn emit_block(
        &self,
        block: u64,
        filter: &LogFilter,
        tris: &[Tri],
        skip: &mut u64,
        out: &mut Vec<Record>,
        take: usize,
    ) {
        let n = self.noise_per_block;
        for (t, tri) in tris.iter().enumerate() {
            let first = match tri {
                Tri::No => continue,
                // All of them match: skip without generating.
                Tri::Yes => {
                    let s = (*skip).min(n);
                    *skip -= s;
                    s
                }
                Tri::Maybe => 0,
            };
            for i in first..n {
                if out.len() >= take {
                    return;
                }
                if *tri == Tri::Maybe {
                    let (f, to, _) = self.noise(block, t, i);
                    if !filter.matches_noise(&f, &to) {
                        continue;
                    }
                    if *skip > 0 {
                        *skip -= 1;
                        continue;
                    }
                }
                out.push(self.noise_record(block, t, i, t as u64 * n + i));
            }
        }
        let Some(logs) = self.injected.get(&block) else {
            return;
        };
        let first_injected = self.tokens.len() as u64 * n;
        for (k, log) in logs.iter().enumerate() {
            if out.len() >= take {
                return;
            }
            if !filter.contract_matches(&log.contract) || !filter.matches_stored(&log.topics) {
                continue;
            }
            if *skip > 0 {
                *skip -= 1;
                continue;
            }
            out.push(Record {
                block,
                log_index: first_injected + k as u64,
                contract: log.contract.clone(),
                topics: log.topics.clone(),
                data: log.data.clone(),
            });
        }
    }
}
