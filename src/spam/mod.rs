//! Address-poisoning and dust checks that do not cry wolf.
//!
//! Pure code: no database, no actors, no network. The caller (the monitor)
//! owns the history; this module only judges one transfer at a time:
//!
//! ```text
//! rules   = SpamRules::from_config(&config.spam)?             // once
//! index   = CounterpartyIndex::new(&rules, kind) + known addresses  // per watched address
//! verdict = assess(&rules, &Subject { .. }, &History { .. })  // per transfer
//! if verdict.establishes_counterparty() { index.insert(counterparty) }
//! ```
//!
//! # Checks and weights
//!
//! Each check is independent, named, and returns at most one [`Flag`]
//! (weight + reason). The score is the sum of the weights, capped at 100; a
//! transfer is suspicious at or above `spam.threshold` (default 50).
//!
//! | check                      | weight | alone vs. 50 |
//! |----------------------------|-------:|--------------|
//! | [`zero_value`](checks::zero) | 50   | held back    |
//! | [`dust`](checks::dust)       | 25   | delivered    |
//! | [`lookalike`](checks::lookalike) | 60 | held back  |
//! | [`burst`](checks::burst)     | 25   | delivered    |
//!
//! Why these numbers:
//! - **Look-alike alone (60) ≥ threshold.** Sharing 4 + 4 hex digits with a
//!   real counterparty by chance is ~1 in 4.3 billion per known address; it is
//!   the attack itself, whatever the amount.
//! - **Zero + look-alike = 110 → 100**, dust + look-alike = 85: the classic
//!   poisoning transfer scores high, well clear of any sensible threshold.
//! - **Zero alone (50) = threshold.** A zero-value transfer carries no money,
//!   so holding it back costs the user nothing, and it is the classic vector
//!   (even spoofed as *sent by* the victim through `transferFrom`). It stays
//!   visible in `/spam`.
//! - **Dust alone (25) < threshold.** Small test payments are real; a little
//!   money arriving harms nobody.
//! - **Burst alone (25) < threshold**, but dust + burst = 50: one new payer is
//!   business, a spray of dust from many fresh addresses is a campaign.
//! - **An ordinary first payment scores 0.** No check looks at "never seen
//!   before" on its own, and there is no "new contract" rule: the prior bot
//!   gave every first-time sender +15 and every ordinary wallet +35 as a
//!   "brand new contract", so a first payment from anyone scored 50 and was
//!   suppressed. Its "within 20 minutes of the previous transfer" rule is gone
//!   too: it punished every active wallet.
//!
//! # Learning
//!
//! A suspicious or worthless transfer never makes its counterparty known: see
//! [`Verdict::establishes_counterparty`]. Otherwise one zero-value transfer
//! from a look-alike would whitelist it for the real attack.

pub mod checks;
mod index;
pub mod render;
mod verdict;

#[cfg(test)]
mod tests;

use std::time::Duration;

use crate::config::SpamConfig;
use crate::domain::{Address, AmountError, ChainKind, Direction, Transfer};

pub use checks::dust::DustLimit;
pub use index::CounterpartyIndex;
pub use verdict::{Flag, Verdict};

/// The validated spam settings, with the dust threshold precomputed in raw
/// units for every token precision.
#[derive(Debug, Clone)]
pub struct SpamRules {
    threshold: u8,
    dust_below: String,
    dust: Vec<DustLimit>,
    lookalike_prefix: usize,
    lookalike_suffix: usize,
    lookalike_prefix_tron: usize,
    lookalike_suffix_tron: usize,
    burst_count: u32,
    burst_window_secs: u64,
}

/// Why a [`SpamConfig`] can not be turned into rules. The configuration
/// loader validates the same things; these are repeated here so the module
/// is safe on its own, e.g. with settings built in code or tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpamRulesError {
    #[error("spam.threshold must be between 0 and 100, not {0}")]
    Threshold(u8),
    #[error("spam.dust_below must be a token amount such as \"0.1\": {0}")]
    DustBelow(AmountError),
    #[error("spam.{key} must be between {min} and 20, not {value}")]
    LookalikeDigits {
        key: &'static str,
        min: usize,
        value: usize,
    },
    #[error("spam.burst_count must be at least 1")]
    BurstCount,
    #[error("spam.burst_window must be at least one second")]
    BurstWindow,
}

impl SpamRules {
    pub fn from_config(config: &SpamConfig) -> Result<Self, SpamRulesError> {
        if config.threshold > 100 {
            return Err(SpamRulesError::Threshold(config.threshold));
        }
        let dust = checks::dust::limits(&config.dust_below).map_err(SpamRulesError::DustBelow)?;
        for (key, min, value) in [
            ("lookalike_prefix", 1, config.lookalike_prefix),
            ("lookalike_suffix", 1, config.lookalike_suffix),
            // Every Tron address starts with T: one character says nothing.
            ("lookalike_prefix_tron", 2, config.lookalike_prefix_tron),
            ("lookalike_suffix_tron", 1, config.lookalike_suffix_tron),
        ] {
            // 20 + 20 digits is the whole address: the index key holds at most that.
            if !(min..=20).contains(&value) {
                return Err(SpamRulesError::LookalikeDigits { key, min, value });
            }
        }
        if config.burst_count == 0 {
            return Err(SpamRulesError::BurstCount);
        }
        let burst_window_secs = config.burst_window.as_secs();
        if burst_window_secs == 0 {
            return Err(SpamRulesError::BurstWindow);
        }
        Ok(SpamRules {
            threshold: config.threshold,
            dust_below: config.dust_below.clone(),
            dust,
            lookalike_prefix: config.lookalike_prefix,
            lookalike_suffix: config.lookalike_suffix,
            lookalike_prefix_tron: config.lookalike_prefix_tron,
            lookalike_suffix_tron: config.lookalike_suffix_tron,
            burst_count: config.burst_count,
            burst_window_secs,
        })
    }

    pub fn threshold(&self) -> u8 {
        self.threshold
    }

    /// The dust threshold as configured, in token units ("0.1").
    pub fn dust_below(&self) -> &str {
        &self.dust_below
    }

    /// The dust threshold in raw units for a token with `decimals` places.
    pub fn dust_limit(&self, decimals: u8) -> DustLimit {
        // The table has one entry per u8 value; the fallback is unreachable.
        self.dust
            .get(usize::from(decimals))
            .copied()
            .unwrap_or(DustLimit::Everything)
    }

    pub fn lookalike_prefix(&self) -> usize {
        self.lookalike_prefix
    }

    pub fn lookalike_suffix(&self) -> usize {
        self.lookalike_suffix
    }

    /// (leading, trailing) characters a look-alike shares with the real
    /// address on a chain of `kind`: hex digits after `0x` on EVM chains,
    /// base58 characters of the `T…` form (the `T` counted) on Tron.
    pub fn lookalike_digits(&self, kind: ChainKind) -> (usize, usize) {
        match kind {
            ChainKind::Evm => (self.lookalike_prefix, self.lookalike_suffix),
            ChainKind::Tron => (self.lookalike_prefix_tron, self.lookalike_suffix_tron),
        }
    }

    pub fn burst_count(&self) -> u32 {
        self.burst_count
    }

    pub fn burst_window(&self) -> Duration {
        Duration::from_secs(self.burst_window_secs)
    }

    pub fn burst_window_secs(&self) -> u64 {
        self.burst_window_secs
    }
}

/// The transfer being judged, as seen from one watched address.
///
/// `direction` is the caller's: `Incoming` when `watched` is the recipient,
/// `Outgoing` when it is the sender, `SelfTransfer` when both ends are the
/// subscriber's own watched addresses.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub transfer: &'a Transfer,
    pub watched: &'a Address,
    pub direction: Direction,
}

impl Subject<'_> {
    /// The other side: the sender of an incoming transfer, the recipient of
    /// an outgoing one; `None` for self-transfers or when both ends are the
    /// watched address.
    pub fn counterparty(&self) -> Option<&Address> {
        let other = match self.direction {
            Direction::Incoming => &self.transfer.from,
            Direction::Outgoing => &self.transfer.to,
            Direction::SelfTransfer => return None,
        };
        (other != self.watched).then_some(other)
    }
}

/// What the caller knows about the watched address.
#[derive(Debug, Clone, Copy)]
pub struct History<'a> {
    /// Its known counterparties: addresses it transacted with in transfers
    /// that [established](Verdict::establishes_counterparty) them, plus the
    /// subscriber's own other watched addresses.
    pub known: &'a CounterpartyIndex,
    /// New counterparties it saw recently, with the block time (Unix seconds)
    /// of the transfer that first showed each, flagged or not: a spray of
    /// spam is exactly what the burst check counts. Entries older than
    /// `burst_window` before the transfer, or later than it, are ignored, so
    /// the caller may pass a generous slice. When assessing a batch, go in
    /// block order and append each new counterparty after assessing it.
    pub recent_new: &'a [(Address, u64)],
}

/// Runs every check of the pipeline on one transfer. Self-transfers (and a
/// transfer from the watched address to itself) are never suspicious.
pub fn assess(rules: &SpamRules, subject: &Subject<'_>, history: &History<'_>) -> Verdict {
    if subject.counterparty().is_none() {
        return Verdict::clean(rules.threshold);
    }
    let flags = checks::PIPELINE
        .iter()
        .filter_map(|(_, check)| check(rules, subject, history))
        .collect();
    Verdict::from_flags(rules.threshold, flags)
}
