//! Dust: a non-zero amount below `spam.dust_below` token units.
//!
//! The threshold is configured in token units ("0.1") and turned into raw
//! integer units per token precision with [`Amount::parse_units`]: 0.1 USDT on
//! Ethereum (6 decimals) is raw 100 000, on BSC (18 decimals) raw 10¹⁷. The
//! comparison is exact integer arithmetic; the prior bot compared floats and
//! printed dust as `0.00`. An amount exactly at the threshold is not dust.
//!
//! Zero is left to the zero-value check, so one fact is not scored twice.
//!
//! Dust alone stays below the default threshold: people do send a small test
//! payment before a large one, and a little real money arriving hurts nobody.

use crate::domain::{Amount, AmountError};

use super::super::{Flag, History, SpamRules, Subject};

pub const NAME: &str = "dust";
/// Below the default threshold alone; with a look-alike (60) it is 85, with a
/// burst of new senders (25) it is 50: a spray of dust from many fresh
/// addresses is a poisoning campaign even when none of them matched yet.
pub const WEIGHT: u8 = 25;

/// The dust threshold for one token precision, in raw units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DustLimit {
    /// Dust is `amount < limit` (the threshold is a whole number of raw units).
    Below(Amount),
    /// Dust is `amount <= limit`: the threshold lies strictly between `limit`
    /// and `limit + 1` raw units because it has more decimals than the token.
    AtMost(Amount),
    /// The threshold does not even fit in 256 bits: every amount is below it.
    Everything,
}

impl DustLimit {
    pub fn is_dust(&self, amount: &Amount) -> bool {
        match self {
            DustLimit::Below(limit) => amount < limit,
            DustLimit::AtMost(limit) => amount <= limit,
            DustLimit::Everything => true,
        }
    }
}

/// The dust limit of `dust_below` (token units, e.g. "0.1") for every token
/// precision 0..=255, indexed by decimals, so the hot path is a table lookup.
///
/// Errors if `dust_below` is not a plain non-negative decimal number.
pub fn limits(dust_below: &str) -> Result<Vec<DustLimit>, AmountError> {
    let (int, frac) = dust_below.split_once('.').unwrap_or((dust_below, ""));
    // Validate once at the threshold's own precision.
    let own = u8::try_from(frac.len()).map_err(|_| AmountError::TooPrecise(u8::MAX))?;
    Amount::parse_units(dust_below, own)?;
    // ".5" is valid, but its truncation to 0 decimals must read "0.", not ".".
    let int = if int.is_empty() { "0" } else { int };
    (0..=u8::MAX)
        .map(|decimals| {
            let d = usize::from(decimals);
            let (kept, dropped) = frac.split_at(frac.len().min(d));
            let exact = dropped.bytes().all(|b| b == b'0');
            match Amount::parse_units(&format!("{int}.{kept}"), decimals) {
                Ok(limit) if exact => Ok(DustLimit::Below(limit)),
                Ok(limit) => Ok(DustLimit::AtMost(limit)),
                Err(AmountError::Overflow) => Ok(DustLimit::Everything),
                Err(e) => Err(e),
            }
        })
        .collect()
}

pub fn check(rules: &SpamRules, subject: &Subject<'_>, _history: &History<'_>) -> Option<Flag> {
    let t = subject.transfer;
    if t.amount.is_zero() || !rules.dust_limit(t.decimals).is_dust(&t.amount) {
        return None;
    }
    Some(Flag {
        check: NAME,
        weight: WEIGHT,
        reason: format!(
            "dust: {} {} is below the {} {} threshold",
            t.amount.format_units(t.decimals),
            t.token.as_str(),
            rules.dust_below(),
            t.token.as_str()
        ),
        imitates: None,
        lookalike: None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use super::*;
    use crate::config::SpamConfig;
    use crate::spam::CounterpartyIndex;

    const E17: u128 = 100_000_000_000_000_000;

    fn is_flagged(r: &SpamRules, raw: u128, decimals: u8) -> bool {
        let ix = CounterpartyIndex::new(r, crate::domain::ChainKind::Evm);
        let history = History {
            known: &ix,
            recent_new: &[],
        };
        let watched = addr(WATCHED);
        let t = transfer(STRANGER, WATCHED, raw, decimals, 1);
        let s = Subject {
            transfer: &t,
            watched: &watched,
            direction: IN,
        };
        check(r, &s, &history).is_some()
    }

    #[test]
    fn default_threshold_is_exact_per_precision() {
        let r = rules();
        let table: [(u128, u8, bool); 10] = [
            // Regression (prior bot used floats): 0.1 USDT = raw 100000 is not dust.
            (100_000, 6, false),
            (99_999, 6, true),
            (1, 6, true),
            (100_001, 6, false),
            (250_000_000, 6, false),
            // Zero belongs to the zero-value check.
            (0, 6, false),
            // BSC: 18 decimals.
            (E17, 18, false),
            (E17 - 1, 18, true),
            (1, 18, true),
            // Raw 100000 on an 18-decimal token is 10⁻¹³ USDT: dust.
            (100_000, 18, true),
        ];
        for (raw, decimals, expected) in table {
            assert_eq!(
                is_flagged(&r, raw, decimals),
                expected,
                "raw {raw}, {decimals} decimals"
            );
        }
    }

    #[test]
    fn configured_threshold_and_reason() {
        let cfg = SpamConfig {
            dust_below: "1.5".into(),
            ..SpamConfig::default()
        };
        let r = SpamRules::from_config(&cfg).unwrap();
        assert!(is_flagged(&r, 1_499_999, 6));
        assert!(!is_flagged(&r, 1_500_000, 6));
        let ix = CounterpartyIndex::new(&r, crate::domain::ChainKind::Evm);
        let history = History {
            known: &ix,
            recent_new: &[],
        };
        let watched = addr(WATCHED);
        let t = incoming(STRANGER, 70_000);
        let s = Subject {
            transfer: &t,
            watched: &watched,
            direction: IN,
        };
        let f = check(&r, &s, &history).unwrap();
        assert_eq!(f.reason, "dust: 0.07 USDT is below the 1.5 USDT threshold");
    }

    #[test]
    fn threshold_finer_than_the_token_is_still_exact() {
        // 0.125 on a 2-decimal token: raw 12 (0.12) is below, raw 13 (0.13) is not.
        let l = limits("0.125").unwrap();
        assert_eq!(l[2], DustLimit::AtMost(Amount::from_u128(12)));
        assert!(l[2].is_dust(&Amount::from_u128(12)));
        assert!(!l[2].is_dust(&Amount::from_u128(13)));
        // 0.1 on a 0-decimal token: only zero is below, and zero is not dust here.
        assert_eq!(l[0], DustLimit::AtMost(Amount::ZERO));
        assert_eq!(limits("0.1").unwrap()[0], DustLimit::AtMost(Amount::ZERO));
        // Trailing zeros beyond the precision do not make it inexact.
        assert_eq!(
            limits("0.10").unwrap()[1],
            DustLimit::Below(Amount::from_u128(1))
        );
        // Too large for 256 bits at high precision.
        assert_eq!(limits("0.1").unwrap()[200], DustLimit::Everything);
        assert_eq!(limits("0").unwrap()[6], DustLimit::Below(Amount::ZERO));
        assert_eq!(limits(".5").unwrap()[0], DustLimit::AtMost(Amount::ZERO));
        assert_eq!(
            limits(".5").unwrap()[1],
            DustLimit::Below(Amount::from_u128(5))
        );
    }

    #[test]
    fn rejects_non_numbers() {
        for bad in ["", ".", "abc", "-1", "1e5", "0,1", " 0.1", "0.1.2", "+1"] {
            assert!(limits(bad).is_err(), "{bad:?}");
        }
    }
}
