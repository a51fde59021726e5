//! Per-address settings through the recording path, on a real SQLite file:
//! what a chat's settings filter out is recorded, never queued, and still
//! reaches the webhook sinks.

use std::sync::Arc;

use super::poll_result::RecordPollResult;
use super::settings::{Change, ChangeSettings, Changed, DirectionFilter, MUTED_FOREVER, Target};
use super::subscriptions::AddSubscription;
use super::tests::{exec, policy, temp_db};
use super::*;
use crate::config::WebhookConfig;
use crate::domain::{Address, Amount, ChainKind, TokenSymbol, Transfer};
use crate::webhook::SinkFilter;

const WATCHED: &str = "0x1111111111111111111111111111111111111111";
const OTHER: &str = "0x9999999999999999999999999999999999999999";

fn addr(s: &str) -> Address {
    Address::parse(s).unwrap()
}

fn tr(n: u64, from: &str, to: &str, usdt: u128) -> Transfer {
    Transfer {
        chain_id: 1,
        tx_hash: format!("0x{n:064x}"),
        log_index: 0,
        block: 19_000_000 + n,
        timestamp: 1_764_297_023 + n,
        token: TokenSymbol::Usdt,
        contract: addr("0xdac17f958d2ee523a2206206994597c13d831ec7"),
        decimals: 6,
        from: addr(from),
        to: addr(to),
        amount: Amount::from_u128(usdt * 1_000_000),
    }
}

fn change(s: &DbSettings, chat: i64, change: Change) {
    let done = exec(
        s,
        ChangeSettings {
            chat_id: chat,
            target: Target::Address(addr(WATCHED), ChainKind::Evm),
            change,
        },
    );
    assert!(matches!(done, Changed::Done { .. }), "{done:?}");
}

/// Outbox rows per chat, in id order: (chat, tx number).
fn rows(s: &DbSettings) -> Vec<(i64, String)> {
    connection::with_transaction(s, false, |tx| {
        let mut stmt = tx.prepare(
            "SELECT o.chat_id, t.tx_hash FROM outbox o JOIN transfers t ON t.id = o.transfer_id
             ORDER BY o.id",
        )?;
        let out = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(out)
    })
    .unwrap()
}

#[test]
fn settings_filter_per_chat_without_dropping_transfers_or_webhooks() {
    let (_dir, s) = temp_db();
    for chat in [1, 2, 3] {
        let added = exec(
            &s,
            AddSubscription {
                chat_id: chat,
                chain_id: 1,
                address: addr(WATCHED),
                label: None,
                limit: 10,
            },
        );
        assert_eq!(added, subscriptions::AddOutcome::Added);
    }
    change(
        &s,
        1,
        Change::Mute {
            until: MUTED_FOREVER,
        },
    );
    change(
        &s,
        2,
        Change::Min {
            min: Some(Amount::parse_units("100", settings::MIN_SCALE).unwrap()),
            places: 0,
        },
    );
    change(&s, 3, Change::Direction(DirectionFilter::Out));
    let sinks: Arc<[SinkFilter]> =
        Arc::new([SinkFilter::new("sink".into(), &WebhookConfig::default())]);
    let batch = vec![
        tr(1, OTHER, WATCHED, 50),  // chat 2: below min; chat 3: incoming
        tr(2, OTHER, WATCHED, 200), // chat 3: incoming
        tr(3, WATCHED, OTHER, 100), // chat 2: exactly the minimum
    ];
    let recorded = exec(
        &s,
        RecordPollResult::new(1, batch.clone(), vec![], policy()).with_webhooks(sinks.clone()),
    );
    assert_eq!(recorded.new_transfers, 3);
    assert_eq!(recorded.webhooks, 3, "sinks get every transfer");
    assert_eq!(recorded.notifications, 3);
    assert_eq!(recorded.filtered, 6);
    let tx = |n: u64| format!("0x{n:064x}");
    assert_eq!(rows(&s), vec![(2, tx(2)), (2, tx(3)), (3, tx(3))]);

    // Unmuting and re-recording the same poll queues nothing more: what
    // was filtered out is never sent later.
    change(&s, 1, Change::Unmute);
    let again = exec(
        &s,
        RecordPollResult::new(1, batch, vec![], policy()).with_webhooks(sinks),
    );
    assert_eq!(again, Default::default());
    assert_eq!(rows(&s).len(), 3);
    let later = exec(
        &s,
        RecordPollResult::new(1, vec![tr(4, OTHER, WATCHED, 1)], vec![], policy()),
    );
    assert_eq!((later.notifications, later.filtered), (1, 2));
}

#[test]
fn the_mute_button_never_shortens_a_mute_and_ignores_other_chats() {
    let (_dir, s) = temp_db();
    let mut ids = Vec::new();
    for chat in [1, 2] {
        exec(
            &s,
            AddSubscription {
                chat_id: chat,
                chain_id: 1,
                address: addr(WATCHED),
                label: Some("Main".into()),
                limit: 10,
            },
        );
        let subs = exec(&s, subscriptions::ListSubscriptions { chat_id: chat });
        ids.push(subs[0].id);
    }
    let mute = |chat, id| {
        exec(
            &s,
            settings::MuteSubscription {
                chat_id: chat,
                subscription_id: id,
                secs: 86_400,
            },
        )
    };
    let muted_until = |chat| {
        exec(&s, subscriptions::ListSubscriptions { chat_id: chat })[0]
            .settings
            .muted_until
    };
    // Chat 1 cannot mute chat 2's subscription by its id.
    assert_eq!(mute(1, ids[1]), None);
    assert_eq!(muted_until(2), None);
    let (watched, label) = mute(1, ids[0]).unwrap();
    assert_eq!(
        (watched.address, watched.kind, label.as_deref()),
        (addr(WATCHED), ChainKind::Evm, Some("Main"))
    );
    let day = muted_until(1).unwrap() - now_secs();
    assert!((86_400 - 60..=86_400).contains(&day), "{day}");
    change(
        &s,
        1,
        Change::Mute {
            until: MUTED_FOREVER,
        },
    );
    mute(1, ids[0]).unwrap();
    assert_eq!(muted_until(1), Some(MUTED_FOREVER));
}
