//! Hardening against outside input and an exposed host (issue 20): Tron
//! tokens whose `Transfer` names its parameters otherwise, no secret in a
//! trace log, a bounded `[http]` endpoint, symlinks refused, credentials
//! redacted, admin commands only in private, per-member command limits.
//! Each test drives the compiled daemon (or the CLI) against the simulators.

use std::time::Duration;

use crate::common::*;
use usdt_monitor::sim::tron::{EventShape, SimTronGrid, SimTronGridOptions};

const ALICE: i64 = 601;
const TRON_KEY: &str = "tron-SECRET-key-5b2d8e";
/// USDC on Tron: added by the operator under `[[monitor.contracts]]`.
const TRON_USDC: &str = "TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8";

/// Ethereum and Tron (with Tron USDC added as a contract), `more` appended
/// to the config, the daemon started.
async fn tron_world(more: &str) -> (World, SimTronGrid) {
    let tron = SimTronGrid::start(SimTronGridOptions {
        valid_keys: vec![TRON_KEY.into()],
        block_time: Some(Duration::from_millis(200)),
        solid_lag: 3,
        ..SimTronGridOptions::default()
    })
    .await
    .expect("simulated TronGrid starts");
    let mut w = World::new(Tweaks {
        chains: Some(r#"["ethereum", "tron"]"#),
        extra: format!(
            "\n[tron]\napi_url = \"{}\"\nrequests_per_second = 50\nrequest_timeout = \"2s\"\n\
             [[monitor.contracts]]\nchain = \"tron\"\nsymbol = \"USDC\"\ncontract = \"{TRON_USDC}\"\n\
             decimals = 6\n{more}",
            tron.base_url()
        ),
        env: vec![("TRONGRID_API_KEY".into(), TRON_KEY.into())],
        ..Tweaks::default()
    })
    .await;
    w.start_daemon();
    (w, tron)
}

fn taddr(digit: char) -> String {
    addr(digit).to_tron()
}

async fn watch_tron(w: &World, address: &str) {
    w.say(ALICE, "/start").await;
    let reply = w.say(ALICE, &format!("/add {address} tron Wallet")).await;
    assert!(reply.contains(address), "{reply}");
}

/// A TRC-20 token whose `Transfer(address _from, address _to, uint256
/// _value)` used to be rejected event by event ("field `from` missing"):
/// decoded by position, by the signature's names, or by a known spelling.
#[actix_rt::test]
async fn a_tron_token_naming_its_transfer_parameters_otherwise_is_notified() {
    let (w, tron) = tron_world("").await;
    let (wallet, payer) = (taddr('a'), taddr('1'));
    watch_tron(&w, &wallet).await;

    tron.set_event_shape(TRON_USDC, EventShape::named(["_from", "_to", "_value"]));
    let first = tron.inject_token(TRON_USDC, &payer, &wallet, 3_000_000);
    let got = w.wait_messages(ALICE, &first.txid, 1).await;
    assert!(got[0].text.contains("3 USDC"), "{}", got[0].text);

    // Names only, from the signature (no positions).
    let mut shape = EventShape::named(["src", "dst", "wad"]);
    shape.positions = false;
    tron.set_event_shape(TRON_USDC, shape);
    let second = tron.inject_token(TRON_USDC, &payer, &wallet, 4_000_000);
    w.wait_messages(ALICE, &second.txid, 1).await;

    // Positions only, without a signature, under names nobody uses.
    let mut shape = EventShape::named(["a", "b", "c"]);
    shape.signature = false;
    tron.set_event_shape(TRON_USDC, shape);
    let third = tron.inject_token(TRON_USDC, &payer, &wallet, 5_000_000);
    w.wait_messages(ALICE, &third.txid, 1).await;
    w.assert_delivered_once(ALICE, [&first.txid, &second.txid, &third.txid]);
    assert!(
        w.bot
            .sent_to(ADMIN)
            .iter()
            .all(|m| !m.text.contains(TRON_USDC)),
        "no alert while events decode"
    );
}

/// A token whose every event is rejected is no longer silent: the admins
/// get one alert (not one per event or per poll), and the rest keeps working.
#[actix_rt::test]
async fn a_tron_token_whose_events_are_all_rejected_raises_one_admin_alert() {
    let (w, tron) = tron_world("").await;
    let (wallet, payer) = (taddr('a'), taddr('1'));
    watch_tron(&w, &wallet).await;
    // Neither positions, nor a signature, nor a name anybody knows.
    tron.set_event_shape(
        TRON_USDC,
        EventShape {
            names: ["p", "q", "r"].map(String::from),
            positions: false,
            signature: false,
        },
    );
    let lost = tron.inject_token(TRON_USDC, &payer, &wallet, 1_000_000);
    w.wait_messages(ADMIN, TRON_USDC, 1).await;
    // More rejected events in later polls; then a USDT transfer proves
    // that the scan went on past them.
    tron.advance(2);
    tron.inject_token(TRON_USDC, &payer, &wallet, 2_000_000);
    tron.advance(2);
    tron.inject_token(TRON_USDC, &payer, &wallet, 3_000_000);
    tron.advance(2);
    let usdt = tron.inject(&payer, &wallet, 6_000_000);
    w.wait_messages(ALICE, &usdt.txid, 1).await;
    let alerts: Vec<String> = (w.bot.sent_to(ADMIN).into_iter())
        .filter(|m| m.text.contains(TRON_USDC))
        .map(|m| m.text)
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert!(alerts[0].contains("rejected"), "{}", alerts[0]);
    assert!(
        w.bot
            .sent_to(ALICE)
            .iter()
            .all(|m| !m.text.contains(&lost.txid)),
        "an undecodable event is not guessed at"
    );
}
