//! Zero-value transfers.
//!
//! An ERC-20 transfer of 0 costs the attacker only gas and, through
//! `transferFrom` with a zero allowance, can even be made to appear as sent
//! *by the victim*. It moves no money, so nobody loses anything when it is
//! held back: it is the classic address-poisoning vector, and on its own it
//! reaches the default threshold (see the weights in [`crate::spam`]).

use super::super::{Flag, History, SpamRules, Subject};

pub const NAME: &str = "zero_value";
/// Reaches the default threshold alone: a zero-value transfer is junk even
/// from a stranger whose address resembles nothing.
pub const WEIGHT: u8 = 50;

pub fn check(_rules: &SpamRules, subject: &Subject<'_>, _history: &History<'_>) -> Option<Flag> {
    subject.transfer.amount.is_zero().then(|| Flag {
        check: NAME,
        weight: WEIGHT,
        reason: format!(
            "zero-value {} transfer: it moves no money and is a common way to plant an address in your history",
            subject.transfer.token.as_str()
        ),
        imitates: None,
        lookalike: None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use super::*;
    use crate::spam::CounterpartyIndex;

    #[test]
    fn only_exact_zero_is_flagged() {
        let r = rules();
        let ix = CounterpartyIndex::new(&r, crate::domain::ChainKind::Evm);
        let history = History {
            known: &ix,
            recent_new: &[],
        };
        let watched = addr(WATCHED);
        for (raw, expected) in [
            (0u128, true),
            (1, false),
            (99_999, false),
            (250_000_000, false),
        ] {
            let t = incoming(STRANGER, raw);
            let s = Subject {
                transfer: &t,
                watched: &watched,
                direction: IN,
            };
            let flag = check(&r, &s, &history);
            assert_eq!(flag.is_some(), expected, "raw {raw}");
            if let Some(f) = flag {
                assert_eq!((f.check, f.weight), (NAME, WEIGHT));
            }
        }
    }
}
