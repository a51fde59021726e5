//! Pipeline tests: the combinations the weights were chosen for, and
//! regressions for the prior Python bot's mistakes.

use std::time::Duration;

use super::checks::fixture::*;
use super::checks::{burst, dust, lookalike, zero};
use super::*;
use crate::domain::Direction;

const LOOKALIKE: &str = "0x5aae0000000000000000000000000000000beaed";
const USDT_250: u128 = 250_000_000;

fn verdict(
    t: &Transfer,
    direction: Direction,
    known_addrs: &[&str],
    recent: &[(&str, u64)],
) -> Verdict {
    let r = rules();
    let ix = known(&r, known_addrs);
    let recent: Vec<(Address, u64)> = recent.iter().map(|(a, t)| (addr(a), *t)).collect();
    let watched = addr(WATCHED);
    let s = Subject {
        transfer: t,
        watched: &watched,
        direction,
    };
    assess(
        &r,
        &s,
        &History {
            known: &ix,
            recent_new: &recent,
        },
    )
}

fn checks_of(v: &Verdict) -> Vec<&'static str> {
    v.flags.iter().map(|f| f.check).collect()
}

#[test]
fn ordinary_first_payment_is_not_suspicious() {
    // 250 USDT from a wallet never seen before, no history at all.
    let v = verdict(&incoming(STRANGER, USDT_250), IN, &[], &[]);
    assert_eq!(v.score, 0);
    assert!(!v.is_suspicious());
    assert!(v.establishes_counterparty());
    // The same with a rich history that it does not resemble.
    let v = verdict(&incoming(STRANGER, USDT_250), IN, &[REAL_CHECKSUMMED], &[]);
    assert_eq!(v.score, 0);
}

/// One row of the weight table: what fired, the score, and the decision.
struct Case {
    why: &'static str,
    transfer: Transfer,
    recent: bool,
    checks: &'static [&'static str],
    score: u8,
    suspicious: bool,
}

#[test]
fn weight_combinations() {
    let t = 1_700_000_000;
    let recent = [
        ("0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", t - 60),
        ("0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", t - 120),
    ];
    let case = |why, transfer, recent, checks, score, suspicious| Case {
        why,
        transfer,
        recent,
        checks,
        score,
        suspicious,
    };
    let cases = [
        case(
            "normal amount, stranger",
            incoming(STRANGER, USDT_250),
            false,
            &[],
            0,
            false,
        ),
        case(
            "zero alone",
            incoming(STRANGER, 0),
            false,
            &[zero::NAME],
            50,
            true,
        ),
        case(
            "dust alone",
            incoming(STRANGER, 99_999),
            false,
            &[dust::NAME],
            25,
            false,
        ),
        case(
            "look-alike alone",
            incoming(LOOKALIKE, USDT_250),
            false,
            &[lookalike::NAME],
            60,
            true,
        ),
        case(
            "zero + look-alike",
            incoming(LOOKALIKE, 0),
            false,
            &[zero::NAME, lookalike::NAME],
            100,
            true,
        ),
        case(
            "dust + look-alike",
            incoming(LOOKALIKE, 1),
            false,
            &[dust::NAME, lookalike::NAME],
            85,
            true,
        ),
        case(
            "burst alone",
            incoming(STRANGER, USDT_250),
            true,
            &[burst::NAME],
            25,
            false,
        ),
        case(
            "dust + burst",
            incoming(STRANGER, 5),
            true,
            &[dust::NAME, burst::NAME],
            50,
            true,
        ),
    ];
    for c in cases {
        let recent: &[(&str, u64)] = if c.recent { &recent } else { &[] };
        let v = verdict(&c.transfer, IN, &[REAL_CHECKSUMMED], recent);
        assert_eq!(checks_of(&v), c.checks, "{}", c.why);
        assert_eq!(v.score, c.score, "{}", c.why);
        assert_eq!(v.is_suspicious(), c.suspicious, "{}", c.why);
    }
}

#[test]
fn classic_poisoning_names_both_addresses_and_teaches_nothing() {
    let v = verdict(&incoming(LOOKALIKE, 0), IN, &[REAL_CHECKSUMMED], &[]);
    assert_eq!(v.score, 100);
    let (fake, real) = v.imitation().unwrap();
    assert_eq!((fake, real), (&addr(LOOKALIKE), &addr(REAL_CHECKSUMMED)));
    assert!(v.is_worthless());
    assert!(!v.establishes_counterparty());
}

#[test]
fn spoofed_outgoing_zero_transfer_to_a_lookalike() {
    // transferFrom(victim, lookalike, 0): appears as sent by the watched wallet.
    let t = transfer(WATCHED, LOOKALIKE, 0, 6, 1);
    let v = verdict(&t, OUT, &[REAL_CHECKSUMMED], &[]);
    assert_eq!(v.score, 100);
    assert!(v.is_suspicious());
}

#[test]
fn self_transfers_are_never_suspicious() {
    let t = transfer(WATCHED, LOOKALIKE, 0, 6, 1);
    let v = verdict(&t, Direction::SelfTransfer, &[REAL_CHECKSUMMED], &[]);
    assert_eq!(v, Verdict::clean(50));
    assert!(!v.is_suspicious());
    // A transfer from the watched address to itself has no counterparty either.
    let t = transfer(WATCHED, WATCHED, 0, 6, 1);
    assert!(verdict(&t, IN, &[], &[]).is_clean());
}

#[test]
fn eighteen_decimal_tokens() {
    let e17: u128 = 100_000_000_000_000_000;
    let at = transfer(STRANGER, WATCHED, e17, 18, 1);
    assert!(verdict(&at, IN, &[], &[]).is_clean());
    let below = transfer(STRANGER, WATCHED, e17 - 1, 18, 1);
    assert_eq!(checks_of(&verdict(&below, IN, &[], &[])), vec![dust::NAME]);
    // 250 BSC-USDT is an ordinary payment.
    let normal = transfer(STRANGER, WATCHED, 250 * 10 * e17, 18, 1);
    assert_eq!(verdict(&normal, IN, &[], &[]).score, 0);
}

#[test]
fn regression_first_time_sender_is_not_penalised() {
    // Prior bot: +15 "never seen before" and +35 "brand new contract" = 50.
    let v = verdict(&incoming(STRANGER, 1_000_000), IN, &[], &[]);
    assert!(v.flags.is_empty(), "{:?}", v.flags);
}

#[test]
fn regression_no_new_contract_heuristic() {
    let names: Vec<&str> = checks::PIPELINE.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        vec![zero::NAME, dust::NAME, lookalike::NAME, burst::NAME]
    );
}

#[test]
fn regression_quick_repeat_payment_is_not_penalised() {
    // A known counterparty paying again 5 minutes after the last transfer,
    // during a rush of new payers: nothing to object to.
    let t0 = 1_700_000_000;
    let repeat = transfer(REAL_CHECKSUMMED, WATCHED, USDT_250, 6, t0 + 300);
    let recent = [
        ("0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", t0),
        ("0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", t0 + 60),
    ];
    let v = verdict(&repeat, IN, &[REAL_CHECKSUMMED], &recent);
    assert!(v.is_clean(), "{:?}", v.flags);
}

#[test]
fn regression_dust_is_exact_integers() {
    // 0.1 USDT = raw 100000 is not dust; raw 99999 is.
    assert!(verdict(&incoming(STRANGER, 100_000), IN, &[], &[]).is_clean());
    let v = verdict(&incoming(STRANGER, 99_999), IN, &[], &[]);
    assert_eq!(checks_of(&v), vec![dust::NAME]);
    assert!(
        v.flags[0].reason.contains("0.099999 USDT"),
        "{}",
        v.flags[0].reason
    );
}

#[test]
fn learning_loop_does_not_whitelist_a_lookalike() {
    // Caller's loop: only transfers that establish a counterparty feed the index.
    let r = rules();
    let mut ix = known(&r, &[REAL_CHECKSUMMED]);
    let watched = addr(WATCHED);
    for raw in [0, 1, USDT_250] {
        let t = incoming(LOOKALIKE, raw);
        let s = Subject {
            transfer: &t,
            watched: &watched,
            direction: IN,
        };
        let v = assess(
            &r,
            &s,
            &History {
                known: &ix,
                recent_new: &[],
            },
        );
        assert!(v.is_suspicious(), "raw {raw}");
        if v.establishes_counterparty() {
            ix.insert(t.from.clone());
        }
    }
    assert!(!ix.contains(&addr(LOOKALIKE)));
    // And an ordinary payer is learned.
    let t = incoming(STRANGER, USDT_250);
    let s = Subject {
        transfer: &t,
        watched: &watched,
        direction: IN,
    };
    assert!(
        assess(
            &r,
            &s,
            &History {
                known: &ix,
                recent_new: &[]
            }
        )
        .establishes_counterparty()
    );
}

#[test]
fn threshold_is_configurable() {
    let cfg = SpamConfig {
        threshold: 70,
        ..SpamConfig::default()
    };
    let r = SpamRules::from_config(&cfg).unwrap();
    let ix = CounterpartyIndex::new(&r, ChainKind::Evm);
    let watched = addr(WATCHED);
    let t = incoming(STRANGER, 0);
    let s = Subject {
        transfer: &t,
        watched: &watched,
        direction: IN,
    };
    let v = assess(
        &r,
        &s,
        &History {
            known: &ix,
            recent_new: &[],
        },
    );
    assert_eq!((v.score, v.threshold, v.is_suspicious()), (50, 70, false));
}

#[test]
fn invalid_settings_are_rejected() {
    let d = SpamConfig::default;
    let cases: [(SpamConfig, SpamRulesError); 7] = [
        (
            SpamConfig {
                threshold: 101,
                ..d()
            },
            SpamRulesError::Threshold(101),
        ),
        (
            SpamConfig {
                dust_below: "0.1x".into(),
                ..d()
            },
            SpamRulesError::DustBelow(AmountError::NotDecimal("01x".into())),
        ),
        (
            SpamConfig {
                lookalike_prefix: 0,
                ..d()
            },
            SpamRulesError::LookalikeDigits {
                key: "lookalike_prefix",
                min: 1,
                value: 0,
            },
        ),
        (
            SpamConfig {
                lookalike_suffix: 21,
                ..d()
            },
            SpamRulesError::LookalikeDigits {
                key: "lookalike_suffix",
                min: 1,
                value: 21,
            },
        ),
        (
            SpamConfig {
                lookalike_prefix_tron: 1,
                ..d()
            },
            SpamRulesError::LookalikeDigits {
                key: "lookalike_prefix_tron",
                min: 2,
                value: 1,
            },
        ),
        (
            SpamConfig {
                burst_count: 0,
                ..d()
            },
            SpamRulesError::BurstCount,
        ),
        (
            SpamConfig {
                burst_window: Duration::from_millis(500),
                ..d()
            },
            SpamRulesError::BurstWindow,
        ),
    ];
    for (cfg, expected) in cases {
        assert_eq!(SpamRules::from_config(&cfg).unwrap_err(), expected);
    }
    let r = SpamRules::from_config(&d()).unwrap();
    assert_eq!(r.burst_window(), Duration::from_secs(1800));
    assert_eq!(r.threshold(), 50);
}
