//! Bursts: many distinct new counterparties within a short window.
//!
//! Poisoning campaigns spray a wallet from many freshly ground addresses at
//! once, hoping one resembles a real counterparty. The check fires when the
//! transfer's counterparty is itself new (not in the known index) and, with
//! it, at least `burst_count` distinct new counterparties appeared within
//! `burst_window` up to the transfer's block time.
//!
//! It is weak evidence on its own (a shop's customers also arrive in rushes),
//! so its weight stays well below the threshold; it tips dust over it. The
//! prior bot also penalised "a transfer within 20 minutes of the previous
//! one", which punishes any active wallet; that rule is deliberately absent:
//! only *new* counterparties count here.

use std::collections::HashSet;

use crate::domain::Address;

use super::super::{Flag, History, SpamRules, Subject};

pub const NAME: &str = "burst";
/// Below the threshold alone; dust (25) + burst reaches the default 50.
pub const WEIGHT: u8 = 25;

pub fn check(rules: &SpamRules, subject: &Subject<'_>, history: &History<'_>) -> Option<Flag> {
    let candidate = subject.counterparty()?;
    if history.known.contains(candidate) {
        return None;
    }
    let now = subject.transfer.timestamp;
    let window = rules.burst_window_secs();
    let needed = usize::try_from(rules.burst_count()).unwrap_or(usize::MAX);
    // Distinct new counterparties in [now - window, now], the candidate
    // included. Stops as soon as enough are found, so a huge spray costs no
    // more than `burst_count` set insertions past the scan.
    let mut seen: HashSet<&Address> = HashSet::with_capacity(needed.min(64));
    seen.insert(candidate);
    for (address, at) in history.recent_new {
        if seen.len() >= needed {
            break;
        }
        let in_window = *at <= now && now - *at <= window;
        if in_window && address != subject.watched && !history.known.contains(address) {
            seen.insert(address);
        }
    }
    (seen.len() >= needed).then(|| Flag {
        check: NAME,
        weight: WEIGHT,
        reason: format!(
            "burst: {} or more new addresses transacted with this wallet within {}",
            needed,
            humantime::format_duration(std::time::Duration::from_secs(window))
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

    const T: u64 = 1_700_000_000;
    const A: &str = "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "0xcccccccccccccccccccccccccccccccccccccccc";

    fn run(known_addrs: &[&str], counterparty: &str, recent: &[(&str, u64)]) -> Option<Flag> {
        let r = rules(); // 3 within 30 min
        let ix = known(&r, known_addrs);
        let recent: Vec<(Address, u64)> = recent.iter().map(|(a, t)| (addr(a), *t)).collect();
        let history = History {
            known: &ix,
            recent_new: &recent,
        };
        let watched = addr(WATCHED);
        let t = transfer(counterparty, WATCHED, 250_000_000, 6, T);
        let s = Subject {
            transfer: &t,
            watched: &watched,
            direction: IN,
        };
        check(&r, &s, &history)
    }

    /// Recent new counterparties as (address, unix seconds).
    type Recent<'a> = &'a [(&'a str, u64)];

    #[test]
    fn table() {
        let w = 30 * 60;
        let cases: [(&str, &[&str], &str, Recent, bool); 9] = [
            ("alone", &[], C, &[], false),
            ("two new", &[], C, &[(A, T - 60)], false),
            ("three new", &[], C, &[(A, T - 60), (B, T - 120)], true),
            ("window edge is inside", &[], C, &[(A, T - w), (B, T)], true),
            (
                "just outside the window",
                &[],
                C,
                &[(A, T - w - 1), (B, T)],
                false,
            ),
            (
                "duplicates count once",
                &[],
                C,
                &[(A, T - 1), (A, T - 2), (A, T - 3)],
                false,
            ),
            (
                "candidate listed itself counts once",
                &[],
                C,
                &[(C, T), (A, T)],
                false,
            ),
            (
                "known candidate is no burst",
                &[C],
                C,
                &[(A, T - 1), (B, T - 2)],
                false,
            ),
            (
                "the watched address is not a counterparty",
                &[],
                C,
                &[(A, T), (WATCHED, T)],
                false,
            ),
        ];
        for (why, known_addrs, cp, recent, expected) in cases {
            assert_eq!(run(known_addrs, cp, recent).is_some(), expected, "{why}");
        }
    }

    #[test]
    fn future_entries_do_not_count() {
        // Entries after the transfer's own time (a batch assessed out of
        // order) do not make an earlier transfer part of a burst.
        assert!(run(&[], C, &[(A, T + 1), (B, T + 2)]).is_none());
    }

    #[test]
    fn reason_and_configured_count() {
        let f = run(&[], C, &[(A, T), (B, T)]).unwrap();
        assert_eq!(
            f.reason,
            "burst: 3 or more new addresses transacted with this wallet within 30m"
        );
        let cfg = SpamConfig {
            burst_count: 1,
            ..SpamConfig::default()
        };
        let r = SpamRules::from_config(&cfg).unwrap();
        let ix = known(&r, &[]);
        let history = History {
            known: &ix,
            recent_new: &[],
        };
        let watched = addr(WATCHED);
        let t = transfer(C, WATCHED, 1, 6, T);
        let s = Subject {
            transfer: &t,
            watched: &watched,
            direction: IN,
        };
        assert!(check(&r, &s, &history).is_some());
    }
}
