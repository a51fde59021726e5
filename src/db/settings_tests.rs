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

/// The same 20 bytes watched on Ethereum (as `0x…`) and on Tron (as `T…`)
/// are two addresses to a person: a command, a label and a button act on
/// the chains of one kind only.
#[test]
fn a_setting_acts_on_the_chains_of_its_targets_kind_only() {
    use crate::domain::TRON_CHAIN_ID;
    use crate::telegram::commands::user::RemoveWatch;
    let (_dir, s) = temp_db();
    let chat = 7;
    for (chain_id, label) in [(1, "Main"), (TRON_CHAIN_ID, "Till")] {
        let added = exec(
            &s,
            AddSubscription {
                chat_id: chat,
                chain_id,
                address: addr(WATCHED),
                label: Some(label.into()),
                limit: 10,
            },
        );
        assert_eq!(added, subscriptions::AddOutcome::Added);
    }
    // (chain id, settings) of every subscription, in id order.
    let all = || -> Vec<(u64, settings::Settings)> {
        exec(&s, subscriptions::ListSubscriptions { chat_id: chat })
            .into_iter()
            .map(|sub| (sub.chain_id, sub.settings))
            .collect()
    };
    let set = |target: Target, change: Change| {
        let done = exec(
            &s,
            ChangeSettings {
                chat_id: chat,
                target,
                change,
            },
        );
        let Changed::Done { watched, label, .. } = done else {
            panic!("{done:?}");
        };
        (watched.kind, label)
    };
    let tron = || Target::Address(addr(WATCHED), ChainKind::Tron);
    let evm = || Target::Address(addr(WATCHED), ChainKind::Evm);

    let until = MUTED_FOREVER;
    let named = set(tron(), Change::Mute { until });
    assert_eq!(named, (ChainKind::Tron, Some("Till".into())));
    assert_eq!(all()[0].1.muted_until, None, "Ethereum is not muted");
    assert_eq!(all()[1].1.muted_until, Some(until));

    let min = Amount::parse_units("5", settings::MIN_SCALE).unwrap();
    let named = set(
        evm(),
        Change::Min {
            min: Some(min),
            places: 0,
        },
    );
    assert_eq!(named, (ChainKind::Evm, Some("Main".into())));
    assert_eq!(all()[0].1.min, Some(min));
    assert_eq!(all()[1].1.min, None, "Tron keeps no minimum");

    // A label names the labelled subscription's kind.
    set(
        Target::Label("till".into()),
        Change::Direction(DirectionFilter::In),
    );
    assert_eq!(all()[0].1.direction, DirectionFilter::Both);
    assert_eq!(all()[1].1.direction, DirectionFilter::In);

    // The Mute 24h button of the Ethereum subscription.
    let ids: Vec<i64> = exec(&s, subscriptions::ListSubscriptions { chat_id: chat })
        .iter()
        .map(|sub| sub.id)
        .collect();
    let (watched, _) = exec(
        &s,
        settings::MuteSubscription {
            chat_id: chat,
            subscription_id: ids[0],
            secs: 86_400,
        },
    )
    .unwrap();
    assert_eq!(watched.kind, ChainKind::Evm);
    assert!(all()[0].1.muted_until.is_some_and(|u| u < MUTED_FOREVER));
    assert_eq!(all()[1].1.muted_until, Some(until), "Tron's mute unchanged");

    // Removing the Tron address leaves the Ethereum one watched.
    let removed = exec(
        &s,
        RemoveWatch {
            chat_id: chat,
            target: tron(),
            chain_ids: None,
        },
    )
    .unwrap();
    assert_eq!(
        (removed.0.kind, removed.1),
        (ChainKind::Tron, vec![TRON_CHAIN_ID])
    );
    assert_eq!(all().len(), 1);
    assert_eq!(all()[0].0, 1);
    let gone = exec(
        &s,
        ChangeSettings {
            chat_id: chat,
            target: tron(),
            change: Change::Unmute,
        },
    );
    assert!(
        matches!(&gone, Changed::Unresolved(settings::Unresolved::NotWatching(w)) if w.kind == ChainKind::Tron),
        "{gone:?}"
    );
}
