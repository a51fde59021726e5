//! Which scan a chain uses: whole-contract `getLogs` ("logs") or `tokentx`
//! per watched address ("per-address"), and why (`monitor.scan_mode`).
//!
//! [`ChainMode`] is a pure decision: no clock, no network, no database. The
//! poll calls it in one place each way (`per_address.rs`):
//! [`ChainMode::choose`] once the head and the watched set are read, and
//! [`ChainMode::observe`] with what the poll cost. Time is an argument.
//!
//! **What is measured.** After each *complete* and *steady* Etherscan poll
//! of the chain (no error, every token's cursor at the safe head: no
//! catch-up, no first sight; and, with the deep pass on, every token's deep
//! cursor `rescan_depth` behind its cursor before and after the poll: not
//! the first `rescan_depth` blocks after a first sight, when the deep pass
//! has nothing to do yet, nor the one-off re-scan after a start), the calls it sent and the bytes of the answers' bodies feed
//! moving averages (the mean of the first 8 polls, then each weighs 1/8). The bytes are reckoned from what
//! the answers held ([`body_bytes`]: items × their size in the provider's
//! shape), as the HTTP client counts calls but not bytes:
//! - the share of polls that scanned at least one block (the others read
//!   the head only, in either mode);
//! - per scanning poll, the head excluded: the logs scan's calls and bytes,
//!   or the per-address scan's calls and bytes per (address, token) query;
//! - the watched addresses' new transfers per address, and the blocks, per
//!   scanning poll (either mode).
//!
//! So the logs scan's bytes are the chain's own token volume as its answers
//! showed it — each chain its own — and a per-address query's bytes are
//! what `tokentx` answered for these addresses.
//!
//! **The estimate**, per mode, for the watched set as it is now: the calls
//! of one scanning poll (head included), calls a day and bytes a day, with
//! polls a day = 86 400 s / `monitor.poll_interval` (to the millisecond) and
//! bytes = bodies + [`CALL_OVERHEAD_BYTES`] a call (headers both ways). The
//! per-address figures scale the per-query ones by addresses × tokens; until
//! a per-address poll was measured, a query is one empty answer
//! ([`EMPTY_BYTES`]) plus, per own transfer the logs scan saw, one `getLogs`
//! look-up of its log index ([`LOG_BYTES`]) and its row ([`ROW_BYTES`]) read
//! again while inside the deep-pass window (see [`tokentx`](super::tokentx)).
//!
//! **The limits** are the chain's share (the EVM chains share one key) of
//! `etherscan.requests_per_second` over one poll interval — a scanning poll
//! must finish before the next one is due — and of `etherscan.daily_limit`.
//! A mode *fits* when its calls are within both.
//!
//! **The rule** (`auto`, per chain):
//! 1. No watched address on the chain: logs, and the first decision waits
//!    for one.
//! 2. Until [`LOGS_SAMPLES`] complete logs polls were measured: logs.
//! 3. A decision is due at the first poll past 1–2, whenever the watched
//!    set changed since the last decision (an address added, removed, or
//!    swapped for another: [`fingerprint`]), when
//!    `monitor.scan_mode_recheck` of wall-clock time ([`DECIDE_EVERY`] by
//!    default) passed since it — however many polls that is — and at every
//!    poll where the current mode does not fit (so a per-address poll that a
//!    grown watched set makes too big is never started: it is decided after
//!    the watched set is re-read and before any `tokentx` call).
//! 4. When due, it switches only to a mode that is clearly better:
//!    - the current mode does not fit and the other does: switch;
//!    - both fit, the other within [`HEADROOM_PERCENT`] % of the limits: the
//!      other must move at most 1/[`MARGIN`] of the current one's bytes;
//!    - neither fits: the other must make at most 1/[`MARGIN`] of the calls;
//!    - otherwise: stay.
//!
//!    The margin both ways (and the headroom to enter) is the hysteresis: a
//!    tie in calls, or a small drift of the estimates, never flips the mode.
//!
//! A switch loses and repeats nothing: both modes move the same cursor per
//! (chain, token) and store the same key per transfer.

use std::time::{Duration, Instant};

use crate::config::ScanMode;

/// Bytes of one `getLogs` item (about 650–700 in the provider's shape):
/// the answer to one log-index look-up, before per-address was measured.
pub const LOG_BYTES: u64 = 700;
/// Bytes of one `tokentx` row, before per-address was measured.
pub const ROW_BYTES: u64 = 850;
/// Bytes of an empty answer (`"No transactions found"`, `eth_blockNumber`).
pub const EMPTY_BYTES: u64 = 70;
/// What one call weighs besides its body: HTTP request and response
/// headers, about 1 kB.
pub const CALL_OVERHEAD_BYTES: u64 = 1_000;
/// The other mode must be this many times lighter (bytes when both fit,
/// calls when neither does) for `auto` to switch to it, either way.
pub const MARGIN: u64 = 2;
/// A mode that `auto` enters while the current one fits must fit within
/// this share of the limits (percent), so that a mode near a limit is not
/// entered only to be left at the next drift.
pub const HEADROOM_PERCENT: u64 = 75;
/// Without a change of the watched set, `auto` decides at most this often
/// (the default of `monitor.scan_mode_recheck`).
pub const DECIDE_EVERY: Duration = Duration::from_secs(60);
/// Complete logs polls measured before the first decision.
pub const LOGS_SAMPLES: u32 = 3;

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

    fn other(self) -> Method {
        match self {
            Method::Logs => Method::PerAddress,
            Method::PerAddress => Method::Logs,
        }
    }
}

/// What one chain may spend: its share of the key's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Polls a day at the configured interval.
    pub polls_per_day: u64,
    /// Calls one poll can make at the rate limit before the next is due.
    pub calls_per_poll: u64,
    /// Calls a day within the daily budget.
    pub calls_per_day: u64,
}

impl Limits {
    /// The share of one of `chains` chains scanned with one key:
    /// `requests_per_second` over one `poll_interval` and `daily_limit`,
    /// each divided by `chains`.
    pub fn new(
        requests_per_second: u32,
        daily_limit: u64,
        poll_interval: Duration,
        chains: usize,
    ) -> Limits {
        let ms = u64::try_from(poll_interval.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let chains = (chains as u64).max(1);
        Limits {
            polls_per_day: (86_400_000 / ms).max(1),
            calls_per_poll: mul_div(u64::from(requests_per_second), ms, 1000 * chains),
            calls_per_day: daily_limit / chains,
        }
    }
}

/// What one mode costs, for the watched set as it is now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    /// Calls of one poll that scans blocks, head included.
    pub calls_per_poll: u64,
    pub calls_per_day: u64,
    /// Answer bodies and [`CALL_OVERHEAD_BYTES`] a call.
    pub bytes_per_day: u64,
}

impl Cost {
    /// Within `percent` % of both the rate and the daily budget?
    pub fn fits(&self, limits: &Limits, percent: u64) -> bool {
        let within = |used: u64, limit: u64| {
            u128::from(used) * 100 <= u128::from(limit) * u128::from(percent)
        };
        within(self.calls_per_poll, limits.calls_per_poll)
            && within(self.calls_per_day, limits.calls_per_day)
    }

    /// Which limit it breaks, for `/status`.
    fn breaks(&self, limits: &Limits) -> &'static str {
        if self.calls_per_poll > limits.calls_per_poll {
            "the rate limit"
        } else {
            "the daily call budget"
        }
    }
}

/// What one complete poll of the chain cost (see [`ChainMode::observe`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollCost {
    /// Etherscan calls sent, every retry included, head included.
    pub calls: u64,
    /// Bytes of the answers' bodies.
    pub bytes: u64,
    /// Blocks the first pass moved the cursor by (0: the head only).
    pub blocks: u64,
    /// Transfers of watched addresses recorded for the first time.
    pub new_transfers: u64,
    /// Watched addresses and tokens the poll scanned.
    pub addresses: u64,
    pub tokens: u64,
}

/// What the answers' bodies of a poll weigh, reckoned from what they held:
/// `calls` answers of at least an empty envelope ([`EMPTY_BYTES`]), `logs`
/// `getLogs` items ([`LOG_BYTES`]) and `rows` `tokentx` rows
/// ([`ROW_BYTES`]). Sizes: the provider's shape, as the simulator renders it
/// (`examples/mode_bench.rs`, BENCHMARKS.md).
pub fn body_bytes(calls: u64, logs: u64, rows: u64) -> u64 {
    calls
        .saturating_mul(EMPTY_BYTES)
        .saturating_add(logs.saturating_mul(LOG_BYTES))
        .saturating_add(rows.saturating_mul(ROW_BYTES))
}

/// A moving average in thousandths: the plain mean of the first 8 samples,
/// then each sample weighs 1/8 (so the first few do not weigh more than
/// the later ones).
#[derive(Debug, Clone, Copy, Default)]
struct Mean {
    milli: u64,
    samples: u32,
}

impl Mean {
    fn add_milli(&mut self, x: u64) {
        let n = u128::from(self.samples.min(7));
        let mean = (u128::from(self.milli) * n + u128::from(x)) / (n + 1);
        self.milli = u64::try_from(mean).unwrap_or(u64::MAX);
        self.samples = self.samples.saturating_add(1);
    }

    fn add(&mut self, x: u64) {
        self.add_milli(x.saturating_mul(1000));
    }

    fn get(&self) -> Option<u64> {
        (self.samples > 0).then_some(self.milli)
    }
}

/// The chain's measured figures (see the module doc).
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    /// Polls that scanned ≥ 1 block, as a share (thousandths of 1).
    scanning: Mean,
    blocks: Mean,
    /// New transfers per scanning poll and watched address.
    own_per_address: Mean,
    logs_calls: Mean,
    logs_bytes: Mean,
    /// Per (address, token) query of a scanning per-address poll.
    query_calls: Mean,
    query_bytes: Mean,
}

/// What the decision needs about a chain at this poll.
#[derive(Debug, Clone, Copy)]
pub struct Inputs {
    /// Watched addresses on the chain now.
    pub addresses: u64,
    /// A fingerprint of which addresses they are ([`fingerprint`]): a
    /// swap (one removed, one added) is a change of the set although the
    /// count stays.
    pub set: u64,
    pub tokens: u64,
    /// `monitor.rescan_depth` of the chain (0: no deep pass).
    pub rescan_depth: u64,
    pub limits: Limits,
    /// Wall-clock time between two decisions while the watched set stays
    /// the same (`monitor.scan_mode_recheck`).
    pub recheck: Duration,
}

/// A fingerprint of a watched set (`addresses` sorted): equal sets give
/// equal values within a run; any addition, removal or swap changes it
/// (but for a 64-bit hash collision, which only delays a decision to the
/// next `scan_mode_recheck`).
pub fn fingerprint<T: std::hash::Hash>(addresses: &[T]) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(addresses)
}

/// `x × y ÷ z`, without overflow, saturating.
fn mul_div(x: u64, y: u64, z: u64) -> u64 {
    u64::try_from(u128::from(x) * u128::from(y) / u128::from(z.max(1))).unwrap_or(u64::MAX)
}

impl Seen {
    /// Calls and bytes (thousandths) of one scanning poll, head excluded.
    fn logs_scan(&self) -> Option<(u64, u64)> {
        (self.logs_calls.samples >= LOGS_SAMPLES)
            .then_some((self.logs_calls.milli, self.logs_bytes.milli))
    }

    /// Calls and bytes (thousandths) of one (address, token) query.
    fn query(&self, i: &Inputs) -> (u64, u64) {
        if let (Some(c), Some(b)) = (self.query_calls.get(), self.query_bytes.get()) {
            return (c, b);
        }
        // Own transfers per query: each costs a look-up, and its row comes
        // again in every poll while inside the deep-pass window.
        let own = self.own_per_address.get().unwrap_or(0) / i.tokens.max(1);
        let blocks = self.blocks.get().map_or(1, |b| (b / 1000).max(1));
        let rereads = 1 + i.rescan_depth / blocks;
        let calls = 1000 + own;
        let bytes = EMPTY_BYTES * 1000 + own * (ROW_BYTES * rereads + LOG_BYTES);
        (calls, bytes)
    }

    /// The day of a mode whose scanning polls cost `scan` (thousandths).
    fn cost(&self, i: &Inputs, (calls, bytes): (u64, u64)) -> Cost {
        let share = self.scanning.get().unwrap_or(1000);
        let polls = i.limits.polls_per_day;
        // Thousandths of a call (of a byte) per poll, head included.
        let calls_milli = 1000 + mul_div(calls, share, 1000);
        let bytes_milli = EMPTY_BYTES * 1000 + mul_div(bytes, share, 1000);
        let bytes_milli = bytes_milli.saturating_add(mul_div(calls_milli, CALL_OVERHEAD_BYTES, 1));
        Cost {
            calls_per_poll: 1 + calls.div_ceil(1000),
            calls_per_day: mul_div(polls, calls_milli, 1000),
            bytes_per_day: mul_div(polls, bytes_milli, 1000),
        }
    }

    /// (logs, per-address) for the set as it is now; logs is `None` until
    /// measured.
    fn estimate(&self, i: &Inputs) -> (Option<Cost>, Cost) {
        let logs = self.logs_scan().map(|scan| self.cost(i, scan));
        let (c, b) = self.query(i);
        let pairs = i.addresses.saturating_mul(i.tokens);
        let per_address = self.cost(i, (c.saturating_mul(pairs), b.saturating_mul(pairs)));
        (logs, per_address)
    }
}

/// A chain's mode, what it has measured, and its last estimate.
#[derive(Debug, Clone)]
pub struct ChainMode {
    pub method: Method,
    /// Set by [`SetScanMode`](super::SetScanMode): wins over the setting.
    pub pinned: Option<Method>,
    seen: Seen,
    /// The method of the poll under way, until [`observe`](Self::observe).
    pending: Option<Method>,
    /// `tokentx` rows received by the poll under way ([`rows`](Self::rows)).
    rows: u64,
    /// When `auto` last decided, and for which watched set (its
    /// [`fingerprint`]).
    decided: Option<(Instant, u64)>,
    /// (logs, per-address) at the last poll; logs `None` until measured.
    pub last: Option<(Option<Cost>, Cost)>,
    /// Why the mode is what it is (the `/status` wording).
    pub why: String,
    /// The scanner's deep-pass cursors of the chain's tokens (in the chain's
    /// order) when the poll under way chose its mode: the poll hook's
    /// scratch, to tell a steady poll from a warm-up (`per_address.rs`).
    pub(super) deep_at_start: Vec<Option<u64>>,
}

impl Default for ChainMode {
    fn default() -> Self {
        ChainMode {
            method: Method::Logs,
            pinned: None,
            seen: Seen::default(),
            pending: None,
            rows: 0,
            deep_at_start: Vec::new(),
            decided: None,
            last: None,
            why: "not decided yet".into(),
        }
    }
}

impl ChainMode {
    /// The mode of this poll, decided at `now` for the watched set as
    /// `inputs` describes it. Returns `Some((from, to))` on a switch.
    pub fn choose(
        &mut self,
        setting: ScanMode,
        inputs: &Inputs,
        now: Instant,
    ) -> Option<(Method, Method)> {
        let (logs, per_address) = self.seen.estimate(inputs);
        self.last = Some((logs, per_address));
        let fixed = match (self.pinned, setting) {
            (Some(m), _) => Some((m, "pinned")),
            (None, ScanMode::Logs) => Some((Method::Logs, "configured")),
            (None, ScanMode::PerAddress) => Some((Method::PerAddress, "configured")),
            (None, ScanMode::Auto) => None,
        };
        let (target, why) = match fixed {
            Some((m, why)) => {
                // When the pin goes, `auto` decides at once.
                self.decided = None;
                (m, why.to_string())
            }
            None => self.auto(inputs, logs, per_address, now),
        };
        self.why = why;
        self.pending = Some(target);
        self.rows = 0;
        let from = std::mem::replace(&mut self.method, target);
        (from != target).then_some((from, target))
    }

    /// Rules 1–4 of the module doc.
    fn auto(
        &mut self,
        i: &Inputs,
        logs: Option<Cost>,
        per_address: Cost,
        now: Instant,
    ) -> (Method, String) {
        if i.addresses == 0 {
            // The next watched address gets a decision at once.
            self.decided = None;
            return (
                Method::Logs,
                "auto: no watched address on this chain".into(),
            );
        }
        let Some(logs) = logs else {
            return (Method::Logs, "auto: measuring the logs scan".into());
        };
        let cost = |m: Method| match m {
            Method::Logs => logs,
            Method::PerAddress => per_address,
        };
        let (current, other) = (self.method, self.method.other());
        let limits = &i.limits;
        let fits = cost(current).fits(limits, 100);
        let due = match self.decided {
            None => true,
            Some((at, set)) => set != i.set || now.duration_since(at) >= i.recheck || !fits,
        };
        if !due {
            return (current, self.why.clone());
        }
        self.decided = Some((now, i.set));
        let (now_cost, alt) = (cost(current), cost(other));
        let (cur, oth) = (current.as_str(), other.as_str());
        if !fits {
            if alt.fits(limits, 100) {
                let why = format!("auto: {cur} would exceed {}", now_cost.breaks(limits));
                return (other, why);
            }
            if alt.calls_per_day.saturating_mul(MARGIN) <= now_cost.calls_per_day {
                let why =
                    format!("auto: neither fits the limits; {oth} makes at most half the calls");
                return (other, why);
            }
            let why = format!("auto: neither fits the limits; {oth} does not halve the calls");
            return (current, why);
        }
        if !alt.fits(limits, HEADROOM_PERCENT) {
            return (current, format!("auto: {oth} would not fit the limits"));
        }
        if alt.bytes_per_day.saturating_mul(MARGIN) <= now_cost.bytes_per_day {
            return (
                other,
                format!("auto: {oth} moves at most half the bytes of {cur}"),
            );
        }
        (
            current,
            format!("auto: both fit; {oth} does not halve the bytes"),
        )
    }

    /// Counts `n` `tokentx` rows received by the poll under way.
    pub fn rows(&mut self, n: u64) {
        self.rows = self.rows.saturating_add(n);
    }

    /// The `tokentx` rows counted since this poll's
    /// [`choose`](Self::choose).
    pub fn rows_received(&self) -> u64 {
        self.rows
    }

    /// What the poll just made cost: feeds the measurement when the poll was
    /// complete (`Some`) and chose its mode here; `None` (an error, a
    /// catch-up, a first sight) only ends the poll.
    pub fn observe(&mut self, cost: Option<PollCost>) {
        let (Some(method), Some(c)) = (self.pending.take(), cost) else {
            return;
        };
        let seen = &mut self.seen;
        if c.blocks == 0 {
            seen.scanning.add(0);
            return;
        }
        seen.scanning.add(1);
        seen.blocks.add(c.blocks);
        if c.addresses > 0 {
            seen.own_per_address
                .add_milli(mul_div(c.new_transfers, 1000, c.addresses));
        }
        // The head: one call and an empty-sized answer, in either mode.
        let calls = c.calls.saturating_sub(1);
        let bytes = c.bytes.saturating_sub(EMPTY_BYTES);
        match method {
            Method::Logs => {
                seen.logs_calls.add(calls);
                seen.logs_bytes.add(bytes);
            }
            Method::PerAddress => {
                let pairs = c.addresses.saturating_mul(c.tokens);
                if pairs > 0 {
                    seen.query_calls.add_milli(mul_div(calls, 1000, pairs));
                    seen.query_bytes.add_milli(mul_div(bytes, 1000, pairs));
                }
            }
        }
    }

    /// The `/status` wording: mode, why, and both estimates.
    pub fn describe(&self) -> String {
        let mut s = format!("{} ({})", self.method.as_str(), self.why);
        if let Some((logs, pa)) = self.last {
            let logs = logs.map_or_else(
                || "logs not measured yet".to_string(),
                |l| {
                    format!(
                        "logs ≈ {} calls, {}",
                        l.calls_per_day,
                        human_bytes(l.bytes_per_day)
                    )
                },
            );
            s += &format!(
                "; per day: {logs}; per-address ≈ {} calls, {}",
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

    const TOKENS: u64 = 2;
    /// Body bytes of an `eth_blockNumber` answer, about.
    const HEAD: u64 = 45;

    /// One chain polled by a test clock: each poll chooses, then observes
    /// what the chosen mode cost on the simulated chain.
    struct Chain {
        mode: ChainMode,
        now: Instant,
        addresses: u64,
        /// Addresses swapped for others so far (the count unchanged).
        swaps: u64,
        limits: Limits,
        setting: ScanMode,
        /// Body bytes of a logs poll's getLogs answers.
        logs_body: u64,
        /// Own transfers per poll (each a look-up and a row per address).
        own: u64,
    }

    impl Chain {
        fn new(addresses: u64, limits: Limits, logs_body: u64) -> Chain {
            Chain {
                mode: ChainMode::default(),
                now: Instant::now(),
                addresses,
                swaps: 0,
                limits,
                setting: ScanMode::Auto,
                logs_body,
                own: 0,
            }
        }

        fn inputs(&self) -> Inputs {
            Inputs {
                addresses: self.addresses,
                set: fingerprint(&[self.addresses, self.swaps]),
                tokens: TOKENS,
                rescan_depth: 16,
                limits: self.limits,
                recheck: DECIDE_EVERY,
            }
        }

        /// One poll `after` the previous one; returns its mode.
        fn poll(&mut self, after: Duration) -> Method {
            self.now += after;
            let inputs = self.inputs();
            self.mode.choose(self.setting, &inputs, self.now);
            let pairs = self.addresses * TOKENS;
            let (calls, bytes) = match self.mode.method {
                // Head + 2 tokens × 2 passes, whatever the addresses.
                Method::Logs => (1 + TOKENS * 2, HEAD + self.logs_body),
                // Head + one tokentx per pair, one look-up per own transfer.
                Method::PerAddress => (
                    1 + pairs + self.own,
                    HEAD + pairs * EMPTY_BYTES + self.own * (ROW_BYTES + LOG_BYTES),
                ),
            };
            self.mode.observe(Some(PollCost {
                calls,
                bytes,
                blocks: 1,
                new_transfers: self.own,
                addresses: self.addresses,
                tokens: TOKENS,
            }));
            self.mode.method
        }
    }

    /// The numbers: a 1 s poll, a plan that allows both modes.
    fn one_second() -> Limits {
        Limits::new(1_000, 1_000_000, Duration::from_secs(1), 1)
    }

    /// ≈ 1.1 GB a day of logs at one poll a second.
    const BUSY: u64 = 12_700;

    #[test]
    fn limits_are_the_chains_share_to_the_millisecond() {
        let l = Limits::new(3, 100_000, Duration::from_secs(15), 1);
        assert_eq!(
            l,
            Limits {
                polls_per_day: 5_760,
                calls_per_poll: 45,
                calls_per_day: 100_000
            }
        );
        // Two chains on one key: half each.
        let l = Limits::new(3, 100_000, Duration::from_secs(15), 2);
        assert_eq!((l.calls_per_poll, l.calls_per_day), (22, 50_000));
        // Sub-second intervals are not whole seconds (0 s, or 1 s).
        let l = Limits::new(10, 100_000, Duration::from_millis(500), 1);
        assert_eq!((l.polls_per_day, l.calls_per_poll), (172_800, 5));
        let l = Limits::new(10, 100_000, Duration::from_millis(1_500), 1);
        assert_eq!((l.polls_per_day, l.calls_per_poll), (57_600, 15));
    }

    #[test]
    fn a_tie_in_calls_stays_per_address_for_hours() {
        let mut c = Chain::new(2, one_second(), BUSY);
        let mut modes = Vec::new();
        // Three hours of polls, a second apart; an own transfer now and then
        // makes per-address briefly heavier in calls than logs.
        for n in 0..3 * 3_600 {
            c.own = u64::from(n % 97 == 50);
            // The token's volume drifts by ±30 %.
            c.logs_body = BUSY * (7 + n % 7) / 10;
            modes.push(c.poll(Duration::from_secs(1)));
        }
        assert_eq!(
            modes[..LOGS_SAMPLES as usize],
            [Method::Logs; LOGS_SAMPLES as usize],
            "measures logs first"
        );
        assert!(
            modes[LOGS_SAMPLES as usize..]
                .iter()
                .all(|m| *m == Method::PerAddress),
            "{}",
            c.mode.describe()
        );
        // Calls a day: equal (per-address slightly above); bytes: not.
        let (logs, pa) = c.mode.last.unwrap();
        let logs = logs.unwrap();
        assert!(
            pa.calls_per_day >= logs.calls_per_day,
            "{}",
            c.mode.describe()
        );
        assert!(pa.bytes_per_day * MARGIN < logs.bytes_per_day);
    }

    #[test]
    fn no_watched_address_is_no_decision() {
        let mut c = Chain::new(0, one_second(), BUSY);
        for _ in 0..100 {
            assert_eq!(c.poll(Duration::from_secs(1)), Method::Logs);
        }
        assert!(c.mode.why.contains("no watched address"), "{}", c.mode.why);
        // The first address gets a decision at its first poll.
        c.addresses = 1;
        assert_eq!(c.poll(Duration::from_secs(1)), Method::PerAddress);
        // Back to none: logs, and the next one decides at once again.
        c.addresses = 0;
        assert_eq!(c.poll(Duration::from_secs(1)), Method::Logs);
        c.addresses = 1;
        assert_eq!(c.poll(Duration::from_secs(1)), Method::PerAddress);
    }

    #[test]
    fn the_first_decision_waits_for_the_logs_scan_to_be_measured() {
        let mut c = Chain::new(2, one_second(), BUSY);
        for _ in 0..LOGS_SAMPLES {
            assert_eq!(c.poll(Duration::from_secs(1)), Method::Logs);
            assert!(c.mode.why.contains("measuring"), "{}", c.mode.why);
            assert!(c.mode.describe().contains("logs not measured yet"));
        }
        assert_eq!(c.poll(Duration::from_secs(1)), Method::PerAddress);
        // Incomplete polls (errors, catch-up) measure nothing.
        let mut c = Chain::new(2, one_second(), BUSY);
        for _ in 0..10 {
            c.mode.choose(ScanMode::Auto, &c.inputs(), c.now);
            c.mode.observe(None);
        }
        assert_eq!(c.poll(Duration::from_secs(1)), Method::Logs);
    }

    #[test]
    fn a_jump_of_the_watched_set_goes_to_logs_at_the_next_poll() {
        let limits = Limits::new(10, 1_000_000, Duration::from_secs(1), 1);
        let mut c = Chain::new(2, limits, BUSY);
        while c.poll(Duration::from_secs(1)) == Method::Logs {}
        // 2 000 addresses at once: at the very next poll, within the same
        // second, no per-address poll of 4 000 queries starts.
        c.addresses = 2_000;
        let inputs = c.inputs();
        assert_eq!(
            c.mode.choose(ScanMode::Auto, &inputs, c.now),
            Some((Method::PerAddress, Method::Logs))
        );
        assert!(c.mode.why.contains("rate limit"), "{}", c.mode.why);
        // And a set that shrinks back: per-address at the next poll.
        c.mode.observe(None);
        c.addresses = 3;
        assert_eq!(c.poll(Duration::ZERO), Method::PerAddress);
    }

    #[test]
    fn a_set_that_grows_past_the_margin_in_bytes_goes_to_logs_and_back() {
        // A plan that fits either mode up to 250 addresses: bytes decide.
        let limits = Limits::new(1_000, 100_000_000, Duration::from_secs(1), 1);
        let mut c = Chain::new(2, limits, BUSY);
        while c.poll(Duration::from_secs(1)) == Method::Logs {}
        // Per-address weighs about 1.07 kB a query, logs about 17.7 kB a
        // poll: 2 × 2 queries are under half; 12 × 2 (26.6 kB) are not yet
        // twice logs (35.5 kB): the margin keeps per-address.
        c.addresses = 12;
        assert_eq!(c.poll(Duration::from_secs(1)), Method::PerAddress);
        assert!(
            c.mode.why.contains("does not halve the bytes"),
            "{}",
            c.mode.why
        );
        // 40 × 2 queries: logs is under half: logs.
        c.addresses = 40;
        assert_eq!(c.poll(Duration::from_secs(1)), Method::Logs);
        // Back to 6 × 2 (13.9 kB): not under half of logs, stay.
        c.addresses = 6;
        assert_eq!(c.poll(Duration::from_secs(1)), Method::Logs);
        // 3 × 2 (7.5 kB): under half: per-address again.
        c.addresses = 3;
        assert_eq!(c.poll(Duration::from_secs(1)), Method::PerAddress);
    }

    #[test]
    fn the_configured_daily_limit_and_rate_decide_what_fits() {
        // 2 addresses at 1 s: 432 000 calls a day either way.
        for (daily, want) in [
            (1_000_000, Method::PerAddress),
            // Neither fits 100 000: the one with far fewer calls (none).
            (100_000, Method::Logs),
        ] {
            let limits = Limits::new(1_000, daily, Duration::from_secs(1), 1);
            let mut c = Chain::new(2, limits, BUSY);
            for _ in 0..20 {
                c.poll(Duration::from_secs(1));
            }
            assert_eq!(c.mode.method, want, "{daily}: {}", c.mode.describe());
        }
        // At 500 ms the same plan no longer has room to enter per-address
        // (864 000 a day is above 75 % of 1 000 000): sub-second intervals
        // count as what they are.
        let limits = Limits::new(1_000, 1_000_000, Duration::from_millis(500), 1);
        let mut c = Chain::new(2, limits, BUSY);
        for _ in 0..20 {
            c.poll(Duration::from_millis(500));
        }
        assert_eq!(c.mode.method, Method::Logs, "{}", c.mode.describe());
        assert!(c.mode.why.contains("would not fit"), "{}", c.mode.why);
        // The rate: 3/s over 15 s is 45 calls a poll; 30 × 2 queries do not fit.
        let limits = Limits::new(3, 1_000_000, Duration::from_secs(15), 1);
        let mut c = Chain::new(10, limits, BUSY * 15);
        for _ in 0..5 {
            c.poll(Duration::from_secs(15));
        }
        assert_eq!(c.mode.method, Method::PerAddress, "{}", c.mode.describe());
        c.addresses = 30;
        assert_eq!(c.poll(Duration::from_secs(15)), Method::Logs);
        assert!(c.mode.why.contains("rate limit"), "{}", c.mode.why);
    }

    #[test]
    fn each_chain_weighs_its_own_measured_volume() {
        // Same set, same limits: a quiet token's logs are a few empty
        // answers, lighter than 3 × 2 tokentx queries; a busy one's are not.
        let limits = Limits::new(1_000, 1_000_000, Duration::from_secs(15), 2);
        let mut quiet = Chain::new(3, limits, 4 * EMPTY_BYTES);
        let mut busy = Chain::new(3, limits, 4 * 650 * 58);
        for _ in 0..50 {
            quiet.poll(Duration::from_secs(15));
            busy.poll(Duration::from_secs(15));
        }
        assert_eq!(quiet.mode.method, Method::Logs, "{}", quiet.mode.describe());
        assert_eq!(
            busy.mode.method,
            Method::PerAddress,
            "{}",
            busy.mode.describe()
        );
    }

    #[test]
    fn without_a_set_change_it_decides_on_wall_clock_time_not_polls() {
        // A plan where both fit: only the bytes decide.
        let roomy = Limits::new(1_000, 100_000_000, Duration::from_secs(1), 1);
        let mut c = Chain::new(2, roomy, BUSY);
        while c.poll(Duration::from_secs(1)) == Method::Logs {}
        let decided = c.now;
        // The watched addresses start moving a lot: per-address grows past
        // twice logs in bytes. A thousand quick polls: no decision is due.
        c.own = 40;
        for _ in 0..1_000 {
            assert_eq!(c.poll(Duration::from_millis(50)), Method::PerAddress);
        }
        assert!(c.now.duration_since(decided) < DECIDE_EVERY);
        // The first poll once DECIDE_EVERY has passed decides.
        c.now = decided + DECIDE_EVERY - Duration::from_millis(1);
        assert_eq!(c.poll(Duration::from_millis(1)), Method::Logs);
        assert!(c.mode.why.contains("per-address"), "{}", c.mode.why);
        // Slow polls (minutes apart) decide each time: the first poll whose
        // estimate crosses the margin switches.
        let mut c = Chain::new(2, roomy, BUSY);
        while c.poll(Duration::from_secs(1)) == Method::Logs {}
        c.own = 40;
        for n in 0.. {
            assert!(n < 20, "{}", c.mode.describe());
            let (logs, pa) = c.mode.seen.estimate(&c.inputs());
            let crossed = logs.unwrap().bytes_per_day * MARGIN <= pa.bytes_per_day;
            let method = c.poll(Duration::from_secs(120));
            assert_eq!(method == Method::Logs, crossed, "poll {n}");
            if crossed {
                assert!(n > 0, "the estimate follows the measurements");
                break;
            }
        }
    }

    #[test]
    fn before_measuring_per_address_its_queries_count_the_own_transfers() {
        let mut c = Chain::new(2, one_second(), BUSY);
        c.own = 3;
        for _ in 0..LOGS_SAMPLES {
            c.poll(Duration::from_secs(1));
        }
        let (_, pa) = c.mode.last.unwrap();
        // 3 own transfers a poll over 2 addresses × 2 tokens: 0.75 look-ups
        // a query, so 4 queries cost 8 calls a poll (head and 3 look-ups).
        let c0 = Chain::new(2, one_second(), BUSY);
        let none = c0.mode.seen.estimate(&c0.inputs()).1;
        assert_eq!(pa.calls_per_poll, 8);
        assert_eq!(none.calls_per_poll, 5);
        assert!(pa.calls_per_day > none.calls_per_day);
        assert!(pa.bytes_per_day > none.bytes_per_day);
    }

    #[test]
    fn a_pin_and_the_setting_win_and_auto_decides_at_once_after() {
        let mut c = Chain::new(2_000, one_second(), BUSY);
        c.mode.pinned = Some(Method::PerAddress);
        assert_eq!(c.poll(Duration::from_secs(1)), Method::PerAddress);
        assert_eq!(c.mode.why, "pinned");
        c.mode.pinned = None;
        c.setting = ScanMode::PerAddress;
        assert_eq!(c.poll(Duration::from_secs(1)), Method::PerAddress);
        assert_eq!(c.mode.why, "configured");
        c.setting = ScanMode::Logs;
        for _ in 0..LOGS_SAMPLES {
            assert_eq!(c.poll(Duration::from_secs(1)), Method::Logs);
        }
        c.setting = ScanMode::Auto;
        c.addresses = 2;
        assert_eq!(c.poll(Duration::from_secs(1)), Method::PerAddress);
    }

    #[test]
    fn the_mean_weighs_early_samples_equally_then_follows_recent_ones() {
        let mut m = Mean::default();
        assert_eq!(m.get(), None);
        for x in [2, 1, 1, 2] {
            m.add(x);
        }
        // Integer thousandths: within a few of the exact mean.
        let near = |m: &Mean, want: u64| m.get().is_some_and(|g| g.abs_diff(want) <= 3);
        assert!(near(&m, 1_500), "{m:?}");
        for _ in 0..4 {
            m.add(1);
        }
        assert!(near(&m, 1_250), "{m:?}");
        // Past 8 samples, a new one weighs 1/8.
        m.add(9);
        assert!(near(&m, 2_218), "{m:?}");
    }

    #[test]
    fn human_bytes_units() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_234_567), "1.2 MB");
        assert_eq!(human_bytes(2_000_000_000), "2.0 GB");
    }

    /// Regression (issue 17 review): the decision was due when the number
    /// of watched addresses changed, so one address swapped for another
    /// (a `/remove` and an `/add`) waited for `scan_mode_recheck`. Now any
    /// change of the set is.
    #[test]
    fn an_address_swapped_for_another_is_a_change_of_the_set() {
        let roomy = Limits::new(1_000, 100_000_000, Duration::from_secs(1), 1);
        let mut c = Chain::new(2, roomy, BUSY);
        while c.poll(Duration::from_secs(1)) == Method::Logs {}
        // The estimate crosses the margin: per-address would now move more
        // than twice the bytes of logs, but no decision is due yet.
        c.own = 40;
        for _ in 0..40 {
            assert_eq!(c.poll(Duration::from_millis(50)), Method::PerAddress);
        }
        // One address swapped for another: decided at the next poll.
        c.swaps += 1;
        assert_eq!(c.poll(Duration::from_millis(50)), Method::Logs);
        assert!(c.mode.why.contains("half the bytes"), "{}", c.mode.why);
        let a = ["0xaa", "0xbb"];
        assert_eq!(fingerprint(&a), fingerprint(&["0xaa", "0xbb"]));
        assert_ne!(fingerprint(&a), fingerprint(&["0xaa", "0xcc"]));
    }
}
