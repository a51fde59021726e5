//! Spam protection through the recording path, on a real SQLite file:
//! [`RecordPollResult`] judges, the spam requests read back.

use super::outbox::DueNotifications;
use super::poll_result::{PollRecorded, RecordPollResult};
use super::spam::{FlaggedTransfers, GetSpamMode, SetSpamMode, TakeDigest, known_counterparties};
use super::subscriptions::{AddOutcome, AddSubscription};
use super::tests::{exec, policy, temp_db};
use super::*;
use std::path::Path;
use std::sync::Arc;

use crate::config::{Config, SpamMode};
use crate::domain::{Address, Amount, Contracts, TokenSymbol, Transfer};
use crate::spam::render;

const WATCHED: &str = "0x1111111111111111111111111111111111111111";
const WATCHED2: &str = "0x2222222222222222222222222222222222222222";
/// A real wallet (the EIP-55 test vector) and look-alikes of it: same first
/// 4 and last 4 hex digits.
const REAL: &str = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
const FAKE: &str = "0x5aae0000000000000000000000000000000beaed";
const FAKE2: &str = "0x5aae1111111111111111111111111111111beaed";
/// A look-alike of WATCHED2.
const FAKE_OF_2: &str = "0x2222000000000000000000000000000000002222";
const T0: u64 = 1_764_297_023;
const USDT_250: u128 = 250_000_000;

fn addr(s: &str) -> Address {
    Address::parse(s).unwrap()
}

fn usdt() -> Address {
    addr("0xdac17f958d2ee523a2206206994597c13d831ec7")
}

/// A USDT transfer on Ethereum; `n` makes the tx hash unique.
fn tr(n: u64, from: &str, to: &str, raw: u128, ts: u64) -> Transfer {
    Transfer {
        chain_id: 1,
        tx_hash: format!("0x{n:064x}"),
        log_index: 0,
        block: 19_000_000 + n,
        timestamp: ts,
        token: TokenSymbol::Usdt,
        contract: usdt(),
        decimals: 6,
        from: addr(from),
        to: addr(to),
        amount: Amount::from_u128(raw),
    }
}

/// The registry's contracts, as a daemon with no `[[monitor.contracts]]` has.
fn contracts() -> Arc<Contracts> {
    Arc::new(Contracts::new([]))
}

fn watch(s: &DbSettings, chat: i64, a: &str) {
    let added = exec(
        s,
        AddSubscription {
            chat_id: chat,
            chain_id: 1,
            address: addr(a),
            label: None,
            limit: 10,
        },
    );
    assert_eq!(added, AddOutcome::Added);
}

fn record(s: &DbSettings, transfers: Vec<Transfer>) -> PollRecorded {
    exec(s, RecordPollResult::new(1, transfers, vec![], policy()))
}

fn set_mode(s: &DbSettings, chat: i64, mode: SpamMode) {
    exec(
        s,
        SetSpamMode {
            chat_id: chat,
            mode,
        },
    );
}

/// (state, flagged, score, reasons JSON) of the outbox row of a chat and a tx.
fn row(s: &DbSettings, chat: i64, n: u64) -> (String, bool, i64, Option<String>, String) {
    connection::with_transaction(s, false, |tx| {
        Ok(tx.query_row(
            "SELECT o.state, o.flagged, o.spam_score, o.spam_reasons, o.text
             FROM outbox o JOIN transfers t ON t.id = o.transfer_id
             WHERE o.chat_id = ?1 AND t.tx_hash = ?2",
            rusqlite::params![chat, format!("0x{n:064x}")],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?)
    })
    .unwrap()
}

fn flagged(s: &DbSettings, chat: i64) -> render::FlaggedReport {
    exec(
        s,
        FlaggedTransfers {
            chat_id: chat,
            limit: 10,
            contracts: contracts(),
        },
    )
}

#[test]
fn real_payment_delivered_then_zero_value_lookalike_held() {
    let (_dir, s) = temp_db();
    watch(&s, 7, WATCHED);
    // A first payment from a wallet never seen before: delivered as usual.
    let r = record(&s, vec![tr(1, REAL, WATCHED, USDT_250, T0)]);
    assert_eq!((r.new_transfers, r.notifications, r.held), (1, 1, 0));
    let (state, is_flagged, score, reasons, text) = row(&s, 7, 1);
    assert_eq!(
        (state.as_str(), is_flagged, score, reasons),
        ("pending", false, 0, None)
    );
    assert!(text.starts_with("⬇️ <b>Incoming 250 USDT</b>"), "{text}");
    // A minute later, a zero-value transfer from a look-alike of that wallet.
    let r = record(&s, vec![tr(2, FAKE, WATCHED, 0, T0 + 60)]);
    assert_eq!((r.new_transfers, r.notifications, r.held), (1, 0, 1));
    let (state, is_flagged, score, reasons, text) = row(&s, 7, 2);
    assert_eq!((state.as_str(), is_flagged, score), ("held", true, 100));
    let reasons = reasons.unwrap();
    assert!(reasons.contains("\"check\":\"zero_value\""), "{reasons}");
    assert!(reasons.contains("\"check\":\"lookalike\""), "{reasons}");
    assert!(
        text.starts_with("⬇️ <b>Incoming 0 USDT</b>"),
        "the ordinary text is kept for /spam"
    );
    // Never delivered: only the real payment is due.
    let due = exec(
        &s,
        DueNotifications {
            limit: 10,
            per_chat: 10,
        },
    );
    assert_eq!(due.len(), 1);
    assert!(due[0].text.contains("250 USDT"));
    // And listed by /spam.
    let report = flagged(&s, 7);
    assert_eq!((report.flagged, report.held, report.items.len()), (1, 1, 1));
    let item = &report.items[0];
    assert_eq!(
        (item.from.as_str(), item.score, item.held),
        (FAKE, 100, true)
    );
    assert_eq!(item.token, Some(TokenSymbol::Usdt));
    assert_eq!(item.decimals, Some(6));
    let checks: Vec<&str> = item.flags.iter().map(|f| f.check.as_str()).collect();
    assert_eq!(checks, ["zero_value", "lookalike"]);
    assert_eq!(item.flags[1].imitates, Some(addr(REAL)));
    let text = render::listing(&report);
    assert!(text.contains("look-alike address"), "{text}");
    assert!(
        text.contains(&render::marked(
            crate::domain::ChainKind::Evm,
            &addr(FAKE),
            &addr(REAL)
        )),
        "{text}"
    );
    assert!(text.contains("1 flagged, 1 held back"), "{text}");
}

#[test]
fn mode_on_sends_a_warning_naming_both_addresses() {
    let (_dir, s) = temp_db();
    watch(&s, 7, WATCHED);
    set_mode(&s, 7, SpamMode::On);
    record(&s, vec![tr(1, REAL, WATCHED, USDT_250, T0)]);
    let r = record(&s, vec![tr(2, FAKE, WATCHED, 0, T0 + 60)]);
    assert_eq!((r.notifications, r.held), (1, 0));
    let (state, is_flagged, score, _, text) = row(&s, 7, 2);
    assert_eq!((state.as_str(), is_flagged, score), ("pending", true, 100));
    assert!(
        text.starts_with("⚠️ <b>Possible address poisoning</b>"),
        "{text}"
    );
    assert!(
        text.contains(&render::marked(
            crate::domain::ChainKind::Evm,
            &addr(FAKE),
            &addr(REAL)
        )),
        "{text}"
    );
    assert!(
        text.contains(&render::marked(
            crate::domain::ChainKind::Evm,
            &addr(REAL),
            &addr(FAKE)
        )),
        "{text}"
    );
    assert!(text.contains("0 USDT"), "{text}");
    assert!(text.contains("https://etherscan.io/tx/0x"), "{text}");
    // Listed as flagged but not held.
    let report = flagged(&s, 7);
    assert_eq!((report.flagged, report.held), (1, 0));
    assert!(!report.items[0].held);
}

#[test]
fn modes_default_and_per_chat() {
    let (_dir, s) = temp_db();
    let get = |chat, default_mode| {
        exec(
            &s,
            GetSpamMode {
                chat_id: chat,
                default_mode,
            },
        )
    };
    assert_eq!(get(7, SpamMode::Off), SpamMode::Off, "unknown chat");
    assert_eq!(get(7, SpamMode::Digest), SpamMode::Digest);
    set_mode(&s, 7, SpamMode::On);
    assert_eq!(get(7, SpamMode::Digest), SpamMode::On, "own choice wins");
}

/// A flagged transfer never makes its sender known, whether the next one
/// comes in the same poll (the in-memory history) or a later one (the table).
#[test]
fn a_flagged_sender_never_becomes_known() {
    // (why, polls: each a list of transfers)
    type Poll = Vec<Transfer>;
    let cases: Vec<(&str, Vec<Poll>)> = vec![
        (
            "separate polls",
            vec![
                vec![tr(1, REAL, WATCHED, USDT_250, T0)],
                vec![tr(2, FAKE, WATCHED, 0, T0 + 60)],
                vec![tr(3, FAKE, WATCHED, USDT_250, T0 + 120)],
                vec![tr(4, FAKE2, WATCHED, 0, T0 + 180)],
            ],
        ),
        (
            "one poll",
            vec![vec![
                tr(4, FAKE2, WATCHED, 0, T0 + 180),
                tr(3, FAKE, WATCHED, USDT_250, T0 + 120),
                tr(2, FAKE, WATCHED, 0, T0 + 60),
                tr(1, REAL, WATCHED, USDT_250, T0),
            ]],
        ),
    ];
    for (why, polls) in cases {
        let (_dir, s) = temp_db();
        watch(&s, 7, WATCHED);
        for p in polls {
            record(&s, p);
        }
        assert_eq!(row(&s, 7, 1).0, "pending", "{why}: the real payment");
        for n in [2, 3, 4] {
            let (state, is_flagged, ..) = row(&s, 7, n);
            assert_eq!(
                (state.as_str(), is_flagged),
                ("held", true),
                "{why}: tx {n}"
            );
        }
        // 250 USDT from the look-alike: the look-alike check alone (60).
        assert_eq!(row(&s, 7, 3).2, 60, "{why}");
        let known = connection::with_transaction(&s, false, |tx| {
            known_counterparties(tx, 1, &addr(WATCHED))
        })
        .unwrap();
        assert_eq!(known, [addr(REAL)], "{why}");
    }
}

#[test]
fn own_other_watched_address_counts_as_known() {
    let (_dir, s) = temp_db();
    watch(&s, 7, WATCHED);
    watch(&s, 7, WATCHED2);
    watch(&s, 8, WATCHED); // does not own WATCHED2
    let r = record(&s, vec![tr(1, FAKE_OF_2, WATCHED, USDT_250, T0)]);
    assert_eq!((r.notifications, r.held), (1, 1));
    let (state, _, score, reasons, _) = row(&s, 7, 1);
    assert_eq!((state.as_str(), score), ("held", 60));
    assert!(
        reasons.unwrap().contains(WATCHED2),
        "imitates chat 7's own address"
    );
    let (state, is_flagged, score, ..) = row(&s, 8, 1);
    assert_eq!((state.as_str(), is_flagged, score), ("pending", false, 0));
    // A real transfer between the two own addresses is a self-transfer.
    record(&s, vec![tr(2, WATCHED2, WATCHED, 1, T0 + 60)]);
    assert_eq!(row(&s, 7, 2).0, "pending");
}

#[test]
fn ordinary_first_transfers_are_not_flagged() {
    // The prior bot scored every first-time sender +15 and every wallet as a
    // "brand new contract" +35: a first payment from anyone was suppressed.
    // Also its "within 20 minutes of the previous transfer" rule.
    let (_dir, s) = temp_db();
    watch(&s, 7, WATCHED);
    let senders = [
        "0xa000000000000000000000000000000000000001",
        "0xb000000000000000000000000000000000000002",
        "0xc000000000000000000000000000000000000003",
        "0xd000000000000000000000000000000000000004",
    ];
    let amounts = [100_000u128, USDT_250, 1_000_000_000_000, 5_000_000];
    let batch: Vec<Transfer> = senders
        .iter()
        .zip(amounts)
        .enumerate()
        .map(|(i, (from, raw))| tr(i as u64 + 1, from, WATCHED, raw, T0 + i as u64 * 60))
        .collect();
    let r = record(&s, batch);
    // Four new senders within 3 minutes: a burst (25) on the 3rd and 4th,
    // still below the threshold with real amounts.
    assert_eq!((r.notifications, r.held), (4, 0));
    for n in 1..=4 {
        let (state, is_flagged, ..) = row(&s, 7, n);
        assert_eq!((state.as_str(), is_flagged), ("pending", false), "tx {n}");
    }
    // An outgoing first payment too.
    record(&s, vec![tr(9, WATCHED, REAL, USDT_250, T0 + 3600)]);
    assert_eq!(row(&s, 7, 9).2, 0);
    assert_eq!(flagged(&s, 7).flagged, 0);
    let text = render::listing(&flagged(&s, 7));
    assert!(text.contains("Nothing flagged"), "{text}");
}

#[test]
fn dust_burst_from_new_addresses_is_held_from_the_third() {
    let (_dir, s) = temp_db();
    watch(&s, 7, WATCHED);
    let senders = [
        "0xa000000000000000000000000000000000000001",
        "0xb000000000000000000000000000000000000002",
        "0xc000000000000000000000000000000000000003",
    ];
    for (i, from) in senders.iter().enumerate() {
        let n = i as u64 + 1;
        record(&s, vec![tr(n, from, WATCHED, 5_000, T0 + n * 60)]);
    }
    let states: Vec<(String, i64)> = (1..=3)
        .map(|n| {
            let r = row(&s, 7, n);
            (r.0, r.2)
        })
        .collect();
    assert_eq!(
        states,
        [
            ("pending".into(), 25),
            ("pending".into(), 25),
            ("held".into(), 50)
        ]
    );
}

#[test]
fn outgoing_real_money_to_a_lookalike_is_never_silent() {
    let (_dir, s) = temp_db();
    watch(&s, 7, WATCHED);
    record(&s, vec![tr(1, WATCHED, REAL, USDT_250, T0)]);
    // Default mode off, but the user's own money went to a look-alike.
    let r = record(&s, vec![tr(2, WATCHED, FAKE, USDT_250, T0 + 600)]);
    assert_eq!((r.notifications, r.held), (1, 0));
    let (state, is_flagged, _, _, text) = row(&s, 7, 2);
    assert_eq!((state.as_str(), is_flagged), ("pending", true));
    assert!(text.starts_with("⚠️"), "{text}");
    assert!(text.contains("sent from"), "{text}");
    // A zero-value one "sent by" the victim (transferFrom spoofing) is held.
    record(&s, vec![tr(3, WATCHED, FAKE2, 0, T0 + 700)]);
    assert_eq!(row(&s, 7, 3).0, "held");
}

#[test]
fn the_digest_collects_held_rows_once_and_queues_one_message() {
    let (_dir, s) = temp_db();
    watch(&s, 7, WATCHED);
    watch(&s, 8, WATCHED2);
    set_mode(&s, 7, SpamMode::Digest);
    // chat 8 stays on the default (off): not part of an all-chats digest.
    record(
        &s,
        vec![
            tr(1, REAL, WATCHED, USDT_250, T0),
            tr(2, FAKE, WATCHED, 0, T0 + 60),
            tr(3, FAKE2, WATCHED, 0, T0 + 120),
            tr(4, FAKE, WATCHED2, 0, T0 + 180),
        ],
    );
    assert_eq!(row(&s, 7, 2).0, "held");
    let take = |chat_id| {
        exec(
            &s,
            TakeDigest {
                chat_id,
                since: 0,
                default_mode: SpamMode::Off,
                contracts: contracts(),
            },
        )
    };
    let reports = take(None);
    assert_eq!(reports.len(), 1);
    let d = &reports[0];
    assert_eq!((d.chat_id, d.count, d.latest.len()), (7, 2, 2));
    assert_eq!(
        d.by_check,
        [("lookalike".to_string(), 2), ("zero_value".to_string(), 2)]
    );
    assert_eq!(d.latest[0].from.as_str(), FAKE2, "newest first");
    // Queued in the outbox, so a failed send is retried like any other.
    let due = exec(
        &s,
        DueNotifications {
            limit: 10,
            per_chat: 10,
        },
    );
    let digests: Vec<_> = due
        .iter()
        .filter(|d| d.text.contains("Daily spam digest"))
        .collect();
    assert_eq!(digests.len(), 1);
    assert_eq!(digests[0].chat_id, 7);
    assert!(
        digests[0]
            .text
            .contains("2 suspicious transfers were held back")
    );
    // Each row once.
    assert!(take(None).is_empty());
    assert!(take(Some(7)).is_empty());
    // The rows stay held and listed.
    assert_eq!(flagged(&s, 7).held, 2);
    // A chat asked for explicitly is digested whatever its mode; with the
    // default switched to digest, chat 8 is in the all-chats run as well.
    let explicit = take(Some(8));
    assert_eq!(explicit.len(), 1);
    assert_eq!(explicit[0].count, 1);
    record(&s, vec![tr(5, FAKE2, WATCHED2, 0, T0 + 240)]);
    let by_default = exec(
        &s,
        TakeDigest {
            chat_id: None,
            since: 0,
            default_mode: SpamMode::Digest,
            contracts: contracts(),
        },
    );
    assert_eq!(
        by_default.iter().map(|d| d.chat_id).collect::<Vec<_>>(),
        [8]
    );
}

#[test]
fn digest_respects_since() {
    let (_dir, s) = temp_db();
    watch(&s, 7, WATCHED);
    set_mode(&s, 7, SpamMode::Digest);
    record(&s, vec![tr(1, FAKE, WATCHED, 0, T0)]);
    let future = now_secs() as u64 + 3600;
    let none = exec(
        &s,
        TakeDigest {
            chat_id: None,
            since: future,
            default_mode: SpamMode::Off,
            contracts: contracts(),
        },
    );
    assert!(
        none.is_empty(),
        "rows recorded before `since` are not included"
    );
}

// ---- Regressions for the prior bot's mistakes ----

/// De-duplication on the transaction hash alone lost one of two transfers
/// in one transaction. Here both are recorded and judged separately: a real
/// payment and a zero-value look-alike in the same transaction.
#[test]
fn two_transfers_in_one_transaction_are_both_recorded() {
    let (_dir, s) = temp_db();
    watch(&s, 7, WATCHED);
    record(&s, vec![tr(1, REAL, WATCHED, USDT_250, T0)]);
    let mut a = tr(2, REAL, WATCHED, 1_000_000, T0 + 60);
    let mut b = tr(2, FAKE, WATCHED, 0, T0 + 60);
    a.log_index = 4;
    b.log_index = 5;
    let r = record(&s, vec![a.clone(), b.clone()]);
    assert_eq!((r.new_transfers, r.notifications, r.held), (2, 1, 1));
    // Re-recording the same pair is a no-op.
    assert_eq!(record(&s, vec![a, b]), PollRecorded::default());
    let states: Vec<(i64, String)> = connection::with_transaction(&s, false, |tx| {
        let mut stmt = tx.prepare(
            "SELECT t.log_index, o.state FROM transfers t JOIN outbox o ON o.transfer_id = t.id
             WHERE t.tx_hash = ?1 ORDER BY t.log_index",
        )?;
        let rows = stmt.query_map([format!("0x{:064x}", 2)], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    })
    .unwrap();
    assert_eq!(states, [(4, "pending".into()), (5, "held".into())]);
}

/// Amounts were floats stored as REAL: dust printed as 0.00 and large values
/// lost precision. No column is REAL, and the extremes come back exactly.
#[test]
fn amounts_are_exact_and_no_column_is_real() {
    let (_dir, s) = temp_db();
    let real_columns: Vec<String> = connection::with_transaction(&s, false, |tx| {
        let mut stmt = tx.prepare(
            "SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p
             WHERE m.type = 'table' AND (upper(p.type) LIKE '%REAL%'
                 OR upper(p.type) LIKE '%FLOA%' OR upper(p.type) LIKE '%DOUB%')",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    })
    .unwrap();
    assert!(real_columns.is_empty(), "{real_columns:?}");

    watch(&s, 7, WATCHED);
    record(&s, vec![tr(9, REAL, WATCHED, USDT_250, T0 - 60)]);
    let huge = Amount::from_hex(&format!("0x{}", "f".repeat(60))).unwrap();
    let mut big = tr(1, FAKE, WATCHED, 0, T0);
    big.amount = huge;
    record(&s, vec![big, tr(2, FAKE2, WATCHED, 1, T0 + 1)]);
    let report = flagged(&s, 7);
    let amounts: Vec<Amount> = report.items.iter().map(|i| i.amount).collect();
    assert_eq!(amounts, [Amount::from_u128(1), huge]);
    let text = render::listing(&report);
    assert!(text.contains("<b>0.000001 USDT</b>"), "{text}");
    assert!(text.contains(&huge.format_units(6)), "{text}");
}

/// The prior bot wrote its checkpoint with INSERT OR REPLACE on a parent row
/// with ON DELETE CASCADE: every cycle deleted the history it relied on.
/// Here the cursor moves on while the history — and what it taught — stays.
#[test]
fn advancing_cursors_keeps_the_history_the_checks_rely_on() {
    let (_dir, s) = temp_db();
    watch(&s, 7, WATCHED);
    for (n, block) in [(1, 100), (2, 200), (3, 300)] {
        let t = if n == 1 {
            tr(1, REAL, WATCHED, USDT_250, T0)
        } else {
            tr(n, FAKE, WATCHED, 0, T0 + n * 60)
        };
        exec(
            &s,
            RecordPollResult::new(1, vec![t], vec![(usdt(), block)], policy()),
        );
    }
    let counts: (i64, i64, i64) = connection::with_transaction(&s, false, |tx| {
        Ok(tx.query_row(
            "SELECT (SELECT count(*) FROM transfers), (SELECT count(*) FROM outbox),
                    (SELECT count(*) FROM outbox WHERE state = 'held')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?)
    })
    .unwrap();
    assert_eq!(counts, (3, 3, 2));
    assert_eq!(exec(&s, cursors::GetCursors)[&(1, usdt())], 300);
    // The look-alike is still recognised: REAL stayed known.
    assert_eq!(row(&s, 7, 3).2, 100);
}

#[test]
fn without_spam_checks_everything_is_ordinary() {
    let (_dir, s) = temp_db();
    watch(&s, 7, WATCHED);
    let r = exec(
        &s,
        RecordPollResult::without_spam_checks(1, vec![tr(1, FAKE, WATCHED, 0, T0)], vec![]),
    );
    assert_eq!((r.notifications, r.held), (1, 0));
    assert_eq!(row(&s, 7, 1).0, "pending");
}

/// Fault 9 (a stale registry), seen from /spam: a flagged transfer of a
/// contract the operator added in config.toml is listed with its symbol and
/// exact decimal amount, like a registered token's.
#[test]
fn stale_registry_an_operator_added_contract_is_shown_by_symbol_in_spam() {
    const ADDED: &str = "0x01bff41798a0bcf287b996046ca68b395dbc1071";
    let config = Config::parse(
        &format!(
            "[[monitor.contracts]]\nchain = \"ethereum\"\nsymbol = \"USDT\"\n\
             contract = \"{ADDED}\"\ndecimals = 18\n"
        ),
        Path::new("test.toml"),
    )
    .unwrap();
    let (_dir, s) = temp_db();
    watch(&s, 7, WATCHED);
    record(&s, vec![tr(1, REAL, WATCHED, USDT_250, T0)]);
    // A look-alike of that wallet pays 0.000001234567890123 of the added token.
    let fake = Transfer {
        contract: addr(ADDED),
        decimals: 18,
        ..tr(2, FAKE, WATCHED, 1_234_567_890_123, T0 + 60)
    };
    record(&s, vec![fake]);
    let list = |contracts: Contracts| {
        let report = exec(
            &s,
            FlaggedTransfers {
                chat_id: 7,
                limit: 10,
                contracts: Arc::new(contracts),
            },
        );
        assert_eq!(report.items.len(), 1, "{report:?}");
        render::listing(&report)
    };
    let text = list(config.contracts());
    assert!(text.contains("0.000001234567890123 USDT"), "{text}");
    assert!(!text.contains("raw units"), "{text}");
    // The registry alone does not know it (what /spam showed before).
    let text = list(Contracts::new([]));
    assert!(text.contains("1234567890123 raw units of"), "{text}");
}

/// Fault kind: a Tron look-alike behind a long history. On Tron the
/// look-alike compares base58 characters, which no range of the stored hex
/// selects: the real wallet paid long before the burst window and thousands
/// of transfers ago must still be found, and the look-alike held.
#[test]
fn tron_lookalike_found_behind_a_long_history() {
    const TRON: u64 = 728_126_428;
    let key = |a: &Address| {
        let t = a.to_tron();
        (t[..2].to_string(), t[t.len() - 1..].to_string())
    };
    // Ids spread over the whole hex range.
    let hex = |n: u64| {
        let spread = u128::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
        addr(&format!("0x{spread:032x}{n:08x}"))
    };
    let real = hex(1);
    // An id whose base58 form shares the first 2 and last 1 characters
    // while its hex starts differently.
    let fake = (2..)
        .map(hex)
        .find(|a| key(a) == key(&real) && a.as_str()[..4] != real.as_str()[..4])
        .unwrap();
    let watched = addr(WATCHED);
    let usdt = Address::parse_tron("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t").unwrap();
    let t = |n: u64, from: &Address, to: &Address, raw: u128, ts: u64| Transfer {
        chain_id: TRON,
        tx_hash: format!("0x{n:064x}"),
        log_index: 0,
        block: 70_000_000 + n,
        timestamp: ts,
        token: TokenSymbol::Usdt,
        contract: usdt.clone(),
        decimals: 6,
        from: from.clone(),
        to: to.clone(),
        amount: Amount::from_u128(raw),
    };
    let mut config = crate::config::SpamConfig::default();
    (config.lookalike_prefix_tron, config.lookalike_suffix_tron) = (2, 1);
    let policy = Arc::new(super::spam::SpamPolicy::from_config(&config).unwrap());
    let (_dir, s) = temp_db();
    let added = exec(
        &s,
        AddSubscription {
            chat_id: 7,
            chain_id: TRON,
            address: watched.clone(),
            label: None,
            limit: 10,
        },
    );
    assert_eq!(added, AddOutcome::Added);
    let day = 86_400;
    let mut history = vec![t(1, &real, &watched, USDT_250, T0 - 10 * day)];
    // 3000 later transfers with 30 other wallets, none resembling `real`.
    let others: Vec<Address> = (0..)
        .map(|n| hex(1_000_000 + n))
        .filter(|a| key(a) != key(&real))
        .take(30)
        .collect();
    for n in 0..3000u64 {
        let other = &others[(n % 30) as usize];
        history.push(t(2 + n, other, &watched, USDT_250, T0 - 9 * day + n));
    }
    exec(
        &s,
        RecordPollResult::new(TRON, history, vec![], policy.clone()),
    );
    let n = 9_999;
    exec(
        &s,
        RecordPollResult::new(
            TRON,
            vec![t(n, &fake, &watched, USDT_250, T0)],
            vec![],
            policy,
        ),
    );
    let (state, is_flagged, _, reasons, _) = row(&s, 7, n);
    assert_eq!((state.as_str(), is_flagged), ("held", true));
    let reasons = reasons.unwrap();
    assert!(reasons.contains("\"check\":\"lookalike\""), "{reasons}");
    assert!(
        reasons.contains(&real.to_tron()) || reasons.contains(real.as_str()),
        "{reasons}"
    );
    assert!(!row(&s, 7, 1).1, "the real payment is not flagged");
}
