//! Which scan a chain uses: whole-contract `getLogs` ("logs") or `tokentx`
//! per watched address ("per-address"), and why (`monitor.scan_mode`).
//!
//! **The estimate** (per chain, per UTC day, `P` = polls a day =
//! 86 400 s / `monitor.poll_interval`, `T` = tokens, `A` = watched addresses
//! on the chain, `L` = Transfer logs a day of the chain's tokens, `M` = the
//! watched addresses' own transfers a day, `k` = 2 passes when the deep
//! pass is on (`rescan_depth` > 0), else 1):
//! - logs: calls = `P × (1 + T × k × pages)` with `pages` = ⌈logs a poll
//!   per token / 1000⌉ (at least 1); bytes = `k × L × LOG_BYTES` + calls ×
//!   [`EMPTY_BYTES`];
//! - per-address: calls = `P × (1 + A × T)` + `M` (one `getLogs` per own
//!   transfer to learn its log index, see [`tokentx`](super::tokentx));
//!   bytes = calls × [`EMPTY_BYTES`] + `M × (ROW_BYTES × re-reads + LOG_BYTES)`
//!   (a row is read again while it is inside the deep-pass window).
//!
//! `L` is the volume seen by recent logs polls (logs per block, per token)
//! or, until one was seen, a per-chain prior ([`prior`]); `M` likewise from
//! the matches of recent polls of either mode (prior: [`PRIOR_OWN_PER_DAY`]
//! per address). The sizes are the simulator's, which renders the provider's
//! fields (measured: `examples/mode_bench.rs`, BENCHMARKS.md).
//!
//! **The choice.** Both estimates are weighed as bytes, a call counting
//! [`CALL_OVERHEAD_BYTES`] (request and response headers); per-address is
//! only a candidate while its calls fit [`DAILY_CALL_BUDGET`] (the free
//! plan's quota). `auto` first takes the lighter one; after that it decides
//! at most every [`DECIDE_EVERY`] polls, with hysteresis: to per-address
//! when it weighs under half the logs scan, back to logs when it weighs more
//! than the logs scan. A switch loses and repeats nothing: both modes move
//! the same cursor per (chain, token) and store the same key per transfer.

use crate::config::ScanMode;

/// Bytes of one `getLogs` item (about 700 in the provider's shape).
pub const LOG_BYTES: u64 = 700;
/// Bytes of one `tokentx` row.
pub const ROW_BYTES: u64 = 850;
/// Bytes of an empty answer (`"No transactions found"`, `eth_blockNumber`).
pub const EMPTY_BYTES: u64 = 70;
/// What one call weighs besides its body: HTTP request and response
/// headers, about 1 kB.
pub const CALL_OVERHEAD_BYTES: u64 = 1_000;
/// Etherscan's free plan: 100 000 calls a day (`shared/reference/etherscan.md`).
pub const DAILY_CALL_BUDGET: u64 = 100_000;
/// `auto` re-decides at most this often (polls of the chain).
pub const DECIDE_EVERY: u32 = 20;
/// Own transfers a day of one watched address, until some were seen.
pub const PRIOR_OWN_PER_DAY: u64 = 10;

/// The scan a chain uses now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Logs,
    PerAddress,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Logs => "logs",
            Method::PerAddress => "per-address",
        }
    }
}

/// Block time (milliseconds) and Transfer logs per block of ONE stablecoin
/// (USDT or USDC) of a chain, before any was observed. Ethereum: ≈ 420 000
/// USDT transfers a day (Sep 2025, `shared/reference/etherscan.md`) over
/// 7 200 blocks ≈ 58 a block. BSC: 12–14 million USDT transfers a day (BNB
/// Chain's share of USDT transfer events, CryptoOnchain, Binance Square,
/// 2025) over 115 200 blocks of 0.75 s ≈ 110 a block. Other chains: modest
/// guesses, replaced by what the first logs polls see.
pub fn prior(chain_id: u64) -> (u64, u64) {
    match chain_id {
        1 => (12_000, 58),
        56 => (750, 110),
        137 => (2_000, 10),
        42161 => (250, 2),
        10 | 8453 => (2_000, 5),
        _ => (2_000, 10),
    }
}

/// Calls and bytes a day of one mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    pub calls_per_day: u64,
    pub bytes_per_day: u64,
}

impl Cost {
    /// Both as bytes: a call weighs [`CALL_OVERHEAD_BYTES`].
    pub fn weight(&self) -> u64 {
        self.calls_per_day
            .saturating_mul(CALL_OVERHEAD_BYTES)
            .saturating_add(self.bytes_per_day)
    }
}

/// What the estimate needs about a chain.
#[derive(Debug, Clone, Copy)]
pub struct Inputs {
    pub addresses: u64,
    pub tokens: u64,
    pub poll_interval_secs: u64,
    pub rescan_depth: u64,
    pub block_ms: u64,
    /// Transfer logs a day, all the chain's tokens.
    pub logs_per_day: u64,
    /// The watched addresses' own transfers a day.
    pub own_per_day: u64,
}

/// (logs, per-address) estimates.
pub fn estimate(i: &Inputs) -> (Cost, Cost) {
    let poll = i.poll_interval_secs.max(1);
    let polls = (86_400 / poll).max(1);
    let passes = if i.rescan_depth > 0 { 2 } else { 1 };
    let tokens = i.tokens.max(1);
    let logs_per_poll_per_token = i.logs_per_day / polls / tokens;
    let pages = logs_per_poll_per_token.div_ceil(1000).max(1);
    let logs_calls = polls.saturating_mul(1 + i.tokens * passes * pages);
    let logs = Cost {
        calls_per_day: logs_calls,
        bytes_per_day: (passes * i.logs_per_day)
            .saturating_mul(LOG_BYTES)
            .saturating_add(logs_calls.saturating_mul(EMPTY_BYTES)),
    };
    let blocks_per_poll = (poll * 1000 / i.block_ms.max(1)).max(1);
    let rereads = 1 + i.rescan_depth / blocks_per_poll;
    let pa_calls = polls
        .saturating_mul(1 + i.addresses.saturating_mul(i.tokens))
        .saturating_add(i.own_per_day);
    let per_address = Cost {
        calls_per_day: pa_calls,
        bytes_per_day: pa_calls.saturating_mul(EMPTY_BYTES).saturating_add(
            i.own_per_day
                .saturating_mul(ROW_BYTES * rereads + LOG_BYTES),
        ),
    };
    (logs, per_address)
}

/// A chain's mode, what it has seen, and its last estimate.
#[derive(Debug, Clone)]
pub struct ChainMode {
    pub method: Method,
    /// Set by [`SetScanMode`](super::SetScanMode): wins over the setting.
    pub pinned: Option<Method>,
    polls: u32,
    decided: bool,
    /// Logs seen by first passes, over this many (token × block)s.
    logs_seen: u64,
    log_blocks: u64,
    /// Own transfers seen (either mode), over this many (token × block)s.
    matched_seen: u64,
    matched_blocks: u64,
    /// (logs, per-address) at the last decision.
    pub last: Option<(Cost, Cost)>,
    /// Why the mode is what it is (the `/status` wording).
    pub why: &'static str,
}

impl Default for ChainMode {
    fn default() -> Self {
        ChainMode {
            method: Method::Logs,
            pinned: None,
            polls: 0,
            decided: false,
            logs_seen: 0,
            log_blocks: 0,
            matched_seen: 0,
            matched_blocks: 0,
            last: None,
            why: "not decided yet",
        }
    }
}

/// Counters are halved beyond this many (token × block)s, so the estimate
/// follows the recent volume.
const OBSERVED_BLOCKS_MAX: u64 = 1_000_000;

impl ChainMode {
    /// A logs poll's first pass: `logs` items over `token_blocks`
    /// (blocks × tokens), `matched` of them watched.
    pub fn observe_logs(&mut self, logs: u64, token_blocks: u64, matched: u64) {
        self.logs_seen += logs;
        self.log_blocks += token_blocks;
        if self.log_blocks > OBSERVED_BLOCKS_MAX {
            self.logs_seen /= 2;
            self.log_blocks /= 2;
        }
        self.observe_matches(matched, token_blocks);
    }

    /// Own transfers found over `token_blocks`, either mode.
    pub fn observe_matches(&mut self, matched: u64, token_blocks: u64) {
        self.matched_seen += matched;
        self.matched_blocks += token_blocks;
        if self.matched_blocks > OBSERVED_BLOCKS_MAX {
            self.matched_seen /= 2;
            self.matched_blocks /= 2;
        }
    }

    /// Logs a day per token of the chain: observed, else the prior.
    fn logs_per_token_day(&self, chain_id: u64) -> u64 {
        let (block_ms, per_block) = prior(chain_id);
        let blocks_per_day = 86_400_000 / block_ms;
        if self.log_blocks == 0 {
            return per_block * blocks_per_day;
        }
        (u128::from(self.logs_seen) * u128::from(blocks_per_day) / u128::from(self.log_blocks))
            as u64
    }

    /// Own transfers a day per token, all watched addresses.
    fn own_per_token_day(&self, chain_id: u64, addresses: u64) -> u64 {
        if self.matched_blocks == 0 {
            return addresses * PRIOR_OWN_PER_DAY;
        }
        let blocks_per_day = 86_400_000 / prior(chain_id).0;
        (u128::from(self.matched_seen) * u128::from(blocks_per_day)
            / u128::from(self.matched_blocks)) as u64
    }

    /// Decides the mode of this poll. Returns `Some((from, to))` on a switch.
    pub fn choose(
        &mut self,
        setting: ScanMode,
        chain_id: u64,
        addresses: u64,
        tokens: u64,
        poll_interval_secs: u64,
        rescan_depth: u64,
    ) -> Option<(Method, Method)> {
        let inputs = Inputs {
            addresses,
            tokens,
            poll_interval_secs,
            rescan_depth,
            block_ms: prior(chain_id).0,
            logs_per_day: self.logs_per_token_day(chain_id) * tokens,
            own_per_day: self.own_per_token_day(chain_id, addresses) * tokens,
        };
        let (logs, pa) = estimate(&inputs);
        let due = !self.decided || self.polls.is_multiple_of(DECIDE_EVERY);
        self.polls = self.polls.wrapping_add(1);
        let feasible = pa.calls_per_day <= DAILY_CALL_BUDGET;
        let (target, why) = match (self.pinned, setting) {
            (Some(m), _) => (m, "pinned"),
            (None, ScanMode::Logs) => (Method::Logs, "configured"),
            (None, ScanMode::PerAddress) => (Method::PerAddress, "configured"),
            (None, ScanMode::Auto) if !due => (self.method, self.why),
            (None, ScanMode::Auto) if !self.decided => {
                if feasible && pa.weight() < logs.weight() {
                    (Method::PerAddress, "auto: per-address is lighter")
                } else {
                    (Method::Logs, "auto: logs is lighter")
                }
            }
            (None, ScanMode::Auto) => match self.method {
                Method::Logs if feasible && pa.weight().saturating_mul(2) < logs.weight() => {
                    (Method::PerAddress, "auto: per-address under half of logs")
                }
                Method::PerAddress if !feasible || pa.weight() > logs.weight() => {
                    (Method::Logs, "auto: per-address heavier than logs")
                }
                m => (m, "auto: within the hysteresis band"),
            },
        };
        if due || self.last.is_none() {
            self.last = Some((logs, pa));
        }
        self.decided = true;
        self.why = why;
        let from = std::mem::replace(&mut self.method, target);
        (from != target).then_some((from, target))
    }

    /// The `/status` wording: mode, why, and both estimates.
    pub fn describe(&self) -> String {
        let mut s = format!("{} ({})", self.method.as_str(), self.why);
        if let Some((logs, pa)) = self.last {
            s += &format!(
                "; per day: logs ≈ {} calls, {}; per-address ≈ {} calls, {}",
                logs.calls_per_day,
                human_bytes(logs.bytes_per_day),
                pa.calls_per_day,
                human_bytes(pa.bytes_per_day)
            );
        }
        s
    }
}

/// `1.2 GB`-style decimal units, one decimal, integer arithmetic.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TB", 1_000_000_000_000),
        ("GB", 1_000_000_000),
        ("MB", 1_000_000),
        ("kB", 1_000),
    ];
    for (unit, f) in UNITS {
        if b >= f {
            let tenths = u128::from(b) * 10 / u128::from(f);
            return format!("{}.{} {unit}", tenths / 10, tenths % 10);
        }
    }
    format!("{b} B")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choose(mode: &mut ChainMode, addresses: u64) -> Option<(Method, Method)> {
        mode.choose(ScanMode::Auto, 1, addresses, 2, 15, 16)
    }

    #[test]
    fn few_addresses_scan_per_address_many_scan_logs() {
        let mut m = ChainMode::default();
        choose(&mut m, 2);
        assert_eq!(m.method, Method::PerAddress, "{}", m.describe());
        let mut m = ChainMode::default();
        choose(&mut m, 2_000);
        assert_eq!(m.method, Method::Logs, "{}", m.describe());
    }

    #[test]
    fn auto_switches_with_hysteresis_at_most_every_n_polls() {
        let mut m = ChainMode::default();
        assert_eq!(choose(&mut m, 2), Some((Method::Logs, Method::PerAddress)));
        // The watched set grows: no switch before the next decision.
        for _ in 1..DECIDE_EVERY {
            assert_eq!(choose(&mut m, 2_000), None);
        }
        assert_eq!(
            choose(&mut m, 2_000),
            Some((Method::PerAddress, Method::Logs))
        );
        // Back to a handful: per-address again at the next decision only.
        for _ in 1..DECIDE_EVERY {
            assert_eq!(choose(&mut m, 3), None);
        }
        assert_eq!(choose(&mut m, 3), Some((Method::Logs, Method::PerAddress)));
    }

    #[test]
    fn an_observed_quiet_token_stays_on_logs() {
        let mut m = ChainMode::default();
        // Logs polls saw no log at all over a day of blocks: five addresses
        // cost more calls than one logs scan, and save no bytes.
        m.observe_logs(0, 2 * 7_200, 0);
        choose(&mut m, 5);
        assert_eq!(m.method, Method::Logs, "{}", m.describe());
    }

    #[test]
    fn a_pin_wins_over_the_setting() {
        let mut m = ChainMode {
            pinned: Some(Method::Logs),
            ..ChainMode::default()
        };
        choose(&mut m, 1);
        assert_eq!(m.method, Method::Logs);
        m.pinned = Some(Method::PerAddress);
        assert_eq!(
            m.choose(ScanMode::Logs, 1, 5_000, 2, 15, 16),
            Some((Method::Logs, Method::PerAddress))
        );
    }

    #[test]
    fn human_bytes_units() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_234_567), "1.2 MB");
        assert_eq!(human_bytes(2_000_000_000), "2.0 GB");
    }
}
