//! Look-alike counterparties: the address-poisoning check proper.
//!
//! Wallets and explorers shorten addresses to their first and last few hex
//! digits, and that is what people compare. An attacker grinds an address
//! sharing those digits with someone the victim really pays, makes it appear
//! in the victim's history, and waits for the victim to copy it.
//!
//! The counterparty (the sender of an incoming transfer, the recipient of an
//! outgoing one) is a look-alike when it shares at least `lookalike_prefix`
//! leading and `lookalike_suffix` trailing hex digits with a known
//! counterparty of the watched address, or with the watched address itself,
//! without being that address. On Tron, wallets show the base58 `T…` form,
//! so there the leading (the `T` counted) and trailing base58 characters
//! count (`spam.lookalike_prefix_tron`/`_suffix_tron`), case-sensitively.
//! A known counterparty is never a look-alike
//! (see [`CounterpartyIndex::imitated_by`](super::super::CounterpartyIndex::imitated_by)).
//!
//! Outgoing matters as much as incoming: a zero-value `transferFrom` makes a
//! poisoned "payment to the look-alike" appear as sent by the victim, and a
//! real payment to a look-alike is the attack succeeding, which the user must
//! hear about at once.

use crate::domain::{Address, ChainKind};

use super::super::{Flag, History, SpamRules, Subject};

pub const NAME: &str = "lookalike";
/// Reaches the default threshold alone, whatever the amount: 8 shared digits
/// by chance has odds of about 1 in 4.3 billion per known address, so a match
/// is almost surely deliberate, and even a "real" transfer from a look-alike
/// is worth a warning rather than a cheerful notification.
pub const WEIGHT: u8 = 60;

pub fn check(_rules: &SpamRules, subject: &Subject<'_>, history: &History<'_>) -> Option<Flag> {
    let candidate = subject.counterparty()?;
    let kind = history.known.kind();
    if history.known.contains(candidate) {
        return None;
    }
    // The watched address itself is a target too: people copy their own
    // address from their history when they deposit to it.
    let own = (candidate != subject.watched && history.known.resembles(candidate, subject.watched))
        .then_some(subject.watched);
    let real = own
        .into_iter()
        .chain(history.known.imitated_by(candidate))
        .filter(|real| *real != candidate)
        // Several matches only with tiny digit counts: name the closest one,
        // the smallest on ties, so the verdict is deterministic.
        .max_by(|a, b| {
            shared(kind, candidate, a)
                .cmp(&shared(kind, candidate, b))
                .then_with(|| b.cmp(a))
        })?;
    let (lead, trail) = shared_digits(kind, candidate, real);
    let unit = match kind {
        ChainKind::Evm => "hex digits",
        ChainKind::Tron => "characters",
    };
    let whose = if real == subject.watched {
        "your own watched address"
    } else {
        "a known counterparty"
    };
    Some(Flag {
        check: NAME,
        weight: WEIGHT,
        reason: format!(
            "look-alike address: {} imitates {whose} {} (same first {lead} and last {trail} {unit}, different address)",
            kind.show(candidate),
            kind.show(real)
        ),
        imitates: Some(real.clone()),
        lookalike: Some(candidate.clone()),
    })
}

fn shared(kind: ChainKind, a: &Address, b: &Address) -> usize {
    let (lead, trail) = shared_digits(kind, a, b);
    lead + trail
}

/// How many leading and trailing hex digits (on Tron: base58 characters of
/// the `T…` form, the `T` counted) two addresses have in common.
fn shared_digits(kind: ChainKind, a: &Address, b: &Address) -> (usize, usize) {
    let (a, b) = match kind {
        ChainKind::Evm => (a.hex().to_string(), b.hex().to_string()),
        ChainKind::Tron => (a.to_tron(), b.to_tron()),
    };
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let lead = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let trail = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    (lead, trail)
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use super::*;
    use crate::config::SpamConfig;
    use crate::domain::{Direction, Transfer};
    use crate::spam::CounterpartyIndex;

    /// Assesses `counterparty` against one known address (REAL_CHECKSUMMED).
    fn run(r: &SpamRules, counterparty: &str, direction: Direction) -> Option<Flag> {
        let ix = known(r, &[REAL_CHECKSUMMED]);
        let history = History {
            known: &ix,
            recent_new: &[],
        };
        let watched = addr(WATCHED);
        let t = match direction {
            Direction::Outgoing => transfer(WATCHED, counterparty, 0, 6, 1),
            _ => transfer(counterparty, WATCHED, 0, 6, 1),
        };
        let s = Subject {
            transfer: &t,
            watched: &watched,
            direction,
        };
        check(r, &s, &history)
    }

    #[test]
    fn digit_table() {
        let r = rules();
        // REAL is 0x5aaeb605…ef1beaed (lowercase of the EIP-55 vector).
        let table: [(&str, bool, &str); 9] = [
            (
                "0x5aae0000000000000000000000000000000beaed",
                true,
                "4 + 5 shared",
            ),
            (
                "0x5aaef00000000000000000000000000000f0eaed",
                true,
                "exactly 4 + 4",
            ),
            (
                "0x5aa0000000000000000000000000000000f0eaed",
                false,
                "3 leading only",
            ),
            (
                "0x5aae000000000000000000000000000000f00aed",
                false,
                "3 trailing only",
            ),
            (
                "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
                false,
                "the real address itself",
            ),
            (REAL_CHECKSUMMED, false, "the real address, checksummed"),
            (
                "0x5AAE00000000000000000000000000000000EAED",
                true,
                "upper-case input",
            ),
            (STRANGER, false, "unrelated"),
            (
                "0xeaed000000000000000000000000000000005aae",
                false,
                "digits swapped",
            ),
        ];
        for (candidate, expected, why) in table {
            assert_eq!(
                run(&r, candidate, IN).is_some(),
                expected,
                "incoming: {why}"
            );
            assert_eq!(
                run(&r, candidate, OUT).is_some(),
                expected,
                "outgoing: {why}"
            );
        }
    }

    #[test]
    fn flag_names_the_lookalike_and_the_real_address() {
        let fake = "0x5aae0000000000000000000000000000000beaed";
        let f = run(&rules(), fake, IN).unwrap();
        assert_eq!(f.imitates, Some(addr(REAL_CHECKSUMMED)));
        assert_eq!(f.lookalike, Some(addr(fake)));
        assert_eq!(f.weight, WEIGHT);
        assert!(f.reason.contains(REAL_CHECKSUMMED), "{}", f.reason);
        assert!(f.reason.contains(&addr(fake).checksummed()), "{}", f.reason);
        assert!(f.reason.contains("first 4 and last 5"), "{}", f.reason);
    }

    #[test]
    fn checksummed_known_address_matches_lowercase_lookalike() {
        // The known address went in as EIP-55 mixed case; the look-alike
        // arrives lowercase from a log topic. Both compare lowercase.
        let fake = Address::from_topic(
            "0x0000000000000000000000005aae1234567890123456789012345678901beaed",
        )
        .unwrap();
        let f = run(&rules(), fake.as_str(), IN).unwrap();
        assert_eq!(f.imitates.unwrap().checksummed(), REAL_CHECKSUMMED);
    }

    #[test]
    fn direction_picks_the_counterparty() {
        let r = rules();
        let ix = known(&r, &[REAL_CHECKSUMMED]);
        let history = History {
            known: &ix,
            recent_new: &[],
        };
        let watched = addr(WATCHED);
        let fake = "0x5aae0000000000000000000000000000000beaed";
        // Incoming from a stranger to the look-alike makes no sense for this
        // watched address: the sender is what counts, and it is a stranger.
        let t = transfer(STRANGER, fake, 0, 6, 1);
        let s = Subject {
            transfer: &t,
            watched: &watched,
            direction: IN,
        };
        assert!(check(&r, &s, &history).is_none());
        // Outgoing: the recipient counts.
        let t = transfer(WATCHED, fake, 0, 6, 1);
        let s = Subject {
            transfer: &t,
            watched: &watched,
            direction: OUT,
        };
        assert!(check(&r, &s, &history).is_some());
        // Self-transfers have no counterparty.
        let s = Subject {
            transfer: &t,
            watched: &watched,
            direction: Direction::SelfTransfer,
        };
        assert!(check(&r, &s, &history).is_none());
    }

    #[test]
    fn imitating_the_watched_address_itself() {
        let r = rules();
        let ix = known(&r, &[]);
        let history = History {
            known: &ix,
            recent_new: &[],
        };
        let watched = addr(WATCHED);
        let fake = "0x1111000000000000000000000000000000001111";
        let t = transfer(fake, WATCHED, 0, 6, 1);
        let s = Subject {
            transfer: &t,
            watched: &watched,
            direction: IN,
        };
        let f = check(&r, &s, &history).unwrap();
        assert_eq!(f.imitates, Some(watched.clone()));
        assert!(f.reason.contains("your own watched address"));
    }

    #[test]
    fn a_known_counterparty_is_never_a_lookalike() {
        let r = rules();
        let fake = "0x5aae0000000000000000000000000000000beaed";
        let ix = known(&r, &[REAL_CHECKSUMMED, fake]);
        let history = History {
            known: &ix,
            recent_new: &[],
        };
        let watched = addr(WATCHED);
        let t = transfer(fake, WATCHED, 0, 6, 1);
        let s = Subject {
            transfer: &t,
            watched: &watched,
            direction: IN,
        };
        assert!(check(&r, &s, &history).is_none());
    }

    #[test]
    fn digit_counts_are_configurable() {
        // The prior bot's 3 + 4: now "3 leading only" counts.
        let cfg = SpamConfig {
            lookalike_prefix: 3,
            ..SpamConfig::default()
        };
        let r = SpamRules::from_config(&cfg).unwrap();
        assert!(run(&r, "0x5aa0000000000000000000000000000000f0eaed", IN).is_some());
        assert!(run(&r, "0x5a00000000000000000000000000000000f0eaed", IN).is_none());
    }

    #[test]
    fn closest_of_several_originals_is_named() {
        let cfg = SpamConfig {
            lookalike_prefix: 1,
            lookalike_suffix: 1,
            ..SpamConfig::default()
        };
        let r = SpamRules::from_config(&cfg).unwrap();
        let near = "0x5aae00000000000000000000000000000000000d";
        let far = "0x500000000000000000000000000000000000000d";
        let ix = known(&r, &[far, near]);
        let history = History {
            known: &ix,
            recent_new: &[],
        };
        let watched = addr(WATCHED);
        let t = transfer(
            "0x5aa000000000000000000000000000000000000d",
            WATCHED,
            0,
            6,
            1,
        );
        let s = Subject {
            transfer: &t,
            watched: &watched,
            direction: IN,
        };
        assert_eq!(check(&r, &s, &history).unwrap().imitates, Some(addr(near)));
    }

    /// A real Tron counterparty (Tether's contract address) and a vanity
    /// address ground to share its first 5 base58 characters (`TR7NH`, the
    /// `T` counted) and its last 4 (`Lj6t`); their hex forms share only
    /// `a614f8…` at the front and nothing at the end.
    const TRON_REAL: &str = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
    const TRON_VANITY: &str = "TR7NHyBdes2VfA8JkE9aUHFiSZW9KKLj6t";

    fn run_tron(r: &SpamRules, kind: ChainKind, counterparty: &str) -> Option<Flag> {
        let mut ix = CounterpartyIndex::new(r, kind);
        ix.insert(Address::parse_tron(TRON_REAL).unwrap());
        let history = History {
            known: &ix,
            recent_new: &[],
        };
        let watched = Address::parse_tron("TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8").unwrap();
        let t = Transfer {
            chain_id: crate::domain::TRON_CHAIN_ID,
            from: Address::parse_tron(counterparty).unwrap(),
            to: watched.clone(),
            ..transfer(WATCHED, WATCHED, 0, 6, 1)
        };
        let s = Subject {
            transfer: &t,
            watched: &watched,
            direction: IN,
        };
        check(r, &s, &history)
    }

    /// The kind `tron_lookalike`: on Tron the base58 form's leading and
    /// trailing characters are compared, not the hex digits.
    #[test]
    fn tron_lookalike_matches_on_base58_characters() {
        let five_four = SpamRules::from_config(&SpamConfig {
            lookalike_suffix_tron: 4,
            ..SpamConfig::default()
        })
        .unwrap();
        let f = run_tron(&five_four, ChainKind::Tron, TRON_VANITY).expect("flagged");
        assert_eq!(f.imitates, Some(Address::parse_tron(TRON_REAL).unwrap()));
        assert!(
            f.reason.contains(TRON_VANITY) && f.reason.contains(TRON_REAL),
            "{}",
            f.reason
        );
        assert!(
            f.reason.contains("first 5 and last 4 characters"),
            "{}",
            f.reason
        );
        assert!(!f.reason.contains("0x"), "{}", f.reason);
        // A different Tron address is no look-alike.
        assert!(
            run_tron(
                &five_four,
                ChainKind::Tron,
                "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb"
            )
            .is_none()
        );
        // The defaults ask for 5 + 5: 4 shared trailing characters are not enough.
        assert!(run_tron(&rules(), ChainKind::Tron, TRON_VANITY).is_none());
        // Compared as hex (EVM rules) the same pair shares no trailing digit.
        assert!(run_tron(&five_four, ChainKind::Evm, TRON_VANITY).is_none());
    }
}
