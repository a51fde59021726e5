//! End-to-end: the compiled daemon watching Tron through the simulated
//! TronGrid (and Ethereum through the simulated Etherscan), observed only
//! through what the simulated Bot API and TronGrid received, its exit code
//! and its logs. Each TronGrid fault kind has a test named after it.

use std::time::Duration;

use crate::common::*;
use usdt_monitor::domain::{Address, TokenSymbol};
use usdt_monitor::sim::tron::{Endpoint, Fault, SimTronGrid, SimTronGridOptions};

const ALICE: i64 = 601;
const TRON_KEY: &str = "tron-SECRET-key-5b2d8e";

/// A world with Ethereum and Tron, the daemon started with `key` as
/// TRONGRID_API_KEY (the simulator knows only [`TRON_KEY`]).
async fn world(sim: SimTronGridOptions, key: &str) -> (World, SimTronGrid) {
    world_with(sim, key, "").await
}

/// As [`world`], with `more` appended to the config text.
async fn world_with(sim: SimTronGridOptions, key: &str, more: &str) -> (World, SimTronGrid) {
    let (mut w, tron) = tron_world(sim, key, more).await;
    w.start_daemon();
    (w, tron)
}

/// The simulated TronGrid of these tests: a block every 200 ms, solid 3 behind.
fn fast() -> SimTronGridOptions {
    fast_tron(TRON_KEY)
}

/// A Tron address for a test: the 20-byte id `digit` repeated, in base58.
fn taddr(digit: char) -> String {
    addr(digit).to_tron()
}

/// ALICE watches `address` on Tron.
async fn watch(w: &World, address: &str) {
    w.say(ALICE, "/start").await;
    let reply = w.say(ALICE, &format!("/add {address} tron Wallet")).await;
    assert!(reply.contains(address), "{reply}");
}

/// Waits (up to `within`) until `user` got a message containing `needle`.
async fn wait_long(w: &World, user: i64, needle: &str, within: Duration) {
    let got = w
        .bot
        .wait_for(within, |all| {
            all.iter()
                .any(|m| m.chat_id == user && m.text.contains(needle))
        })
        .await;
    if let Err(all) = got {
        panic!("no message with {needle:?}; got {:#?}", texts(&all));
    }
}

#[actix_rt::test]
async fn a_tron_transfer_is_notified_once_in_base58_with_a_tronscan_link_and_the_key_only_in_the_header()
 {
    let (w, tron) = world(fast(), TRON_KEY).await;
    let (wallet, payer) = (taddr('a'), taddr('1'));
    watch(&w, &wallet).await;
    let tx = tron.inject(&payer, &wallet, 1_250_000_000);
    let got = w.wait_messages(ALICE, &tx.txid, 1).await;
    let text = &got[0].text;
    assert!(text.contains("Incoming 1,250 USDT</b> on Tron"), "{text}");
    assert!(text.contains(&payer), "counterparty in base58: {text}");
    assert!(
        text.contains(&format!("https://tronscan.org/#/transaction/{}", tx.txid)),
        "{text}"
    );
    assert!(
        !text.contains(&Address::parse_tron(&payer).unwrap().as_str()[2..]),
        "no hex: {text}"
    );
    // More polls happen; still once.
    let later = tron.inject(&payer, &wallet, 1_000_000);
    w.wait_messages(ALICE, &later.txid, 1).await;
    w.assert_delivered_once(ALICE, [&tx.txid, &later.txid]);

    // The key travelled only in the header, never in a URL or a log line.
    let requests = tron.requests();
    assert!(!requests.is_empty());
    for r in &requests {
        assert_eq!(r.api_key.as_deref(), Some(TRON_KEY), "{}", r.path);
        assert!(!r.query.contains(TRON_KEY) && !r.path.contains(TRON_KEY));
    }
    assert!(!w.logs(1).contains(TRON_KEY));
    // Status shows Tron's head, cursor and lag.
    let status = w.say(ADMIN, "/status").await;
    assert!(status.contains("Tron"), "{status}");
}

#[actix_rt::test]
async fn a_tron_event_indexed_late_is_delivered_once() {
    // The events index trails the solid head by 5 blocks (1 s at 200 ms a
    // block, polls every 500 ms): the first pass reads the block before
    // its events are served; the deep pass, 10 blocks behind, finds them.
    let (w, tron) = world_with(fast(), TRON_KEY, "[monitor.rescan_depth]\ntron = 10\n").await;
    tron.set_index_lag(5);
    let (wallet, payer) = (taddr('a'), taddr('1'));
    watch(&w, &wallet).await;
    let late = tron.inject(&payer, &wallet, 7_000_000);
    w.wait_messages(ALICE, &late.txid, 1).await;
    // A later transfer, delivered after both passes read the first one's block.
    let after = tron.inject(&payer, &wallet, 8_000_000);
    w.wait_messages(ALICE, &after.txid, 1).await;
    w.assert_delivered_once(ALICE, [&late.txid, &after.txid]);
}

#[actix_rt::test]
async fn a_tron_poisoning_attempt_is_held_back() {
    let (w, tron) = world(fast(), TRON_KEY).await;
    let (wallet, employer, vanity) = (taddr('a'), taddr('1'), taddr('2'));
    watch(&w, &wallet).await;
    let salary = tron.inject(&employer, &wallet, 2_500_000_000);
    w.wait_messages(ALICE, &salary.txid, 1).await;
    // A zero-value transfer is held back; a later payment proves its block
    // was scanned.
    let poison = tron.inject_poisoning(&vanity, &wallet);
    tron.advance(1);
    let later = tron.inject(&employer, &wallet, 10_000_000);
    w.wait_messages(ALICE, &later.txid, 1).await;
    assert!(
        w.bot
            .sent_to(ALICE)
            .iter()
            .all(|m| !m.text.contains(&poison.txid))
    );
    let spam = w.say(ALICE, "/spam").await;
    assert!(spam.contains("0 USDT"), "{spam}");
    assert!(spam.contains(&vanity[..6]), "base58 in /spam: {spam}");
}

#[actix_rt::test]
async fn kill_9_and_restart_delivers_a_tron_transfer_once() {
    let (mut w, tron) = world(fast(), TRON_KEY).await;
    let (wallet, payer) = (taddr('a'), taddr('1'));
    watch(&w, &wallet).await;
    let first = tron.inject(&payer, &wallet, 5_000_000);
    w.wait_messages(ALICE, &first.txid, 1).await;
    // Recorded as sent before the kill: not in flight.
    let deadline = std::time::Instant::now() + WAIT;
    while !w
        .say(ADMIN, "/stats")
        .await
        .contains("Notifications: 1 sent")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "never recorded as sent"
        );
    }
    w.kill9();
    // Made while the daemon is down: found from the stored cursor.
    let missed = tron.inject(&payer, &wallet, 6_000_000);
    tron.advance(5);
    w.start_daemon();
    w.wait_messages(ALICE, &missed.txid, 1).await;
    let after = tron.inject(&payer, &wallet, 7_000_000);
    w.wait_messages(ALICE, &after.txid, 1).await;
    w.assert_delivered_once(ALICE, [&first.txid, &missed.txid, &after.txid]);
}

#[actix_rt::test]
async fn a_panic_in_tron_is_restarted_while_evm_notifications_keep_flowing() {
    let (w, tron) = world(fast(), TRON_KEY).await;
    let (wallet, payer) = (taddr('a'), taddr('1'));
    let (evm_wallet, evm_payer) = (addr('b'), addr('3'));
    watch(&w, &wallet).await;
    w.say(ALICE, &format!("/add {evm_wallet}")).await;
    w.bot.user_says(ADMIN, "/panic tron");
    let evm = w.transfer(TokenSymbol::Usdt, &evm_payer, &evm_wallet, 3_000_000);
    w.wait_messages(ALICE, &evm, 1).await;
    let tx = tron.inject(&payer, &wallet, 4_000_000);
    w.wait_messages(ALICE, &tx.txid, 1).await;
    let status = w.say(ADMIN, "/status").await;
    let line = status
        .lines()
        .find(|l| l.contains("tron"))
        .unwrap_or_else(|| panic!("{status}"));
    assert!(line.contains('1'), "one restart of tron: {status}");
    w.assert_delivered_once(ALICE, [&evm, &tx.txid]);
}

#[actix_rt::test]
async fn sigterm_stops_the_actors_in_order_with_tron() {
    let (mut w, _tron) = world(fast(), TRON_KEY).await;
    w.say(ALICE, "/start").await;
    w.signal("TERM");
    let status = w.wait_exit(Duration::from_secs(25)).await;
    assert_eq!(status.code(), Some(0), "logs:\n{}", w.logs(1));
    assert_eq!(
        stopped_actors(&w.logs(1)),
        ["ticker", "etherscan", "tron", "telegram", "db"]
    );
}

#[actix_rt::test]
async fn missing_fingerprint_pages_without_loss() {
    // 120 noise events a block: a window of a few blocks is more than a page.
    let (w, tron) = world(
        SimTronGridOptions {
            noise_per_block: 120,
            block_time: None,
            ..fast()
        },
        TRON_KEY,
    )
    .await;
    let (wallet, payer) = (taddr('a'), taddr('1'));
    watch(&w, &wallet).await;
    tron.set_fault(Some(Fault::MissingFingerprint));
    let mut txs = Vec::new();
    for i in 0..4 {
        txs.push(tron.inject(&payer, &wallet, 1_000_000 + i).txid);
    }
    // Solidify them: the window holds several pages of events.
    tron.advance(4);
    for tx in &txs {
        w.wait_messages(ALICE, tx, 1).await;
    }
    w.assert_delivered_once(ALICE, &txs);
    assert!(w.logs(1).contains("narrowing the window"));
}

#[actix_rt::test]
async fn rate_limited_suspension_is_waited_out_without_loss() {
    let (w, tron) = world(fast(), TRON_KEY).await;
    let (wallet, payer) = (taddr('a'), taddr('1'));
    watch(&w, &wallet).await;
    let before = tron.inject(&payer, &wallet, 1_000_000);
    w.wait_messages(ALICE, &before.txid, 1).await;
    tron.fault_for_calls(Fault::RateLimited { status: 403 }, 1);
    let tx = tron.inject(&payer, &wallet, 2_000_000);
    // The daemon waits out TronGrid's 30 s suspension, then finds it.
    wait_long(&w, ALICE, &tx.txid, Duration::from_secs(60)).await;
    let limited: Vec<_> = tron
        .requests()
        .into_iter()
        .filter(|r| r.status == 403)
        .collect();
    assert_eq!(limited.len(), 1, "no call during the suspension");
    w.assert_delivered_once(ALICE, [&before.txid, &tx.txid]);
}

#[actix_rt::test]
async fn server_errors_and_html_pages_hold_the_cursor() {
    let (w, tron) = world(fast(), TRON_KEY).await;
    let (wallet, payer) = (taddr('a'), taddr('1'));
    watch(&w, &wallet).await;
    let mut txs = Vec::new();
    for fault in [
        Fault::ServerError(502),
        Fault::HtmlPage(200),
        Fault::Truncated,
    ] {
        let tx = tron.inject(&payer, &wallet, 1_000_000 + txs.len() as u128);
        tron.fault_for_calls(fault, 4);
        w.wait_messages(ALICE, &tx.txid, 1).await;
        txs.push(tx.txid);
    }
    w.assert_delivered_once(ALICE, &txs);
    assert!(tron.calls(Endpoint::Events) > 0);
}

#[actix_rt::test]
async fn invalid_key_alerts_the_admins_once() {
    let (w, tron) = world(fast(), "not-a-known-key").await;
    wait_long(&w, ADMIN, "TRONGRID_API_KEY", Duration::from_secs(30)).await;
    // Many polls later (each skipped while paused), still one alert.
    let status = w.say(ADMIN, "/status").await;
    assert!(status.contains("TronGrid paused"), "{status}");
    let alerts = w
        .bot
        .sent_to(ADMIN)
        .iter()
        .filter(|m| m.text.contains("TRONGRID_API_KEY") && !m.text.contains("TronGrid paused"))
        .count();
    assert_eq!(alerts, 1);
    // Paused: no more calls than the first refused one until the probe (5 min).
    let refused = tron.requests().iter().filter(|r| r.status == 401).count();
    assert_eq!(refused, 1);
    assert!(!w.logs(1).contains("not-a-known-key"));
}

#[actix_rt::test]
async fn a_tron_only_config_starts_without_etherscan_api_key() {
    let tron = SimTronGrid::start(fast())
        .await
        .expect("simulated TronGrid starts");
    let mut w = World::new(Tweaks {
        chains: Some(r#"["tron"]"#),
        extra: format!(
            "\n[tron]\napi_url = \"{}\"\nrequests_per_second = 50\nrequest_timeout = \"2s\"\n",
            tron.base_url()
        ),
        env: vec![("TRONGRID_API_KEY".into(), TRON_KEY.into())],
        unset: vec!["ETHERSCAN_API_KEY"],
        ..Tweaks::default()
    })
    .await;
    w.start_daemon();
    let (wallet, payer) = (taddr('a'), taddr('1'));
    watch(&w, &wallet).await;
    let tx = tron.inject(&payer, &wallet, 7_000_000);
    w.wait_messages(ALICE, &tx.txid, 1).await;
    // No `etherscan` child: Etherscan is never called, /status does not list
    // it, and asking to restart it is a clear refusal.
    assert_eq!(w.es.request_count(), 0);
    let status = w.say(ADMIN, "/status").await;
    assert!(status.contains("tron: running"), "{status}");
    assert!(!status.contains("etherscan"), "{status}");
    let reply = w.say(ADMIN, "/restart etherscan").await;
    assert!(reply.contains("etherscan is not running"), "{reply}");
    let reply = w.say(ADMIN, "/restart tron").await;
    assert!(reply.contains("Restarting tron"), "{reply}");
    w.signal("TERM");
    let status = w.wait_exit(Duration::from_secs(25)).await;
    assert_eq!(status.code(), Some(0), "logs:\n{}", w.logs(1));
    // The shutdown (after the restart's own stop of tron) in order.
    let stopped = stopped_actors(&w.logs(1));
    assert_eq!(
        stopped[stopped.len().saturating_sub(4)..],
        ["ticker", "tron", "telegram", "db"],
        "{stopped:?}"
    );
}

#[actix_rt::test]
async fn restart_and_panic_of_tron_without_tron_are_refused_clearly() {
    let mut w = World::new(Tweaks::default()).await;
    w.start_daemon();
    for command in ["/restart tron", "/panic tron"] {
        let reply = w.say(ADMIN, command).await;
        assert!(reply.contains("tron is not running"), "{command}: {reply}");
        assert!(reply.contains("monitor.chains"), "{command}: {reply}");
    }
}

/// Regression (issue 17 review): TronGrid is a chain's only source, and a
/// lasting failure of any kind must reach the admins. Before, only a
/// rejected key did; a TronGrid answering 502 for minutes left `/status`
/// saying "ok" and told no one. Now the chain's pool of one says "no working
/// source" after three failed polls (alert and `/status`), tells the admins
/// once when TronGrid answers again, and the transfer made during the outage
/// is delivered once.
#[actix_rt::test]
async fn a_lasting_tron_outage_tells_the_admins_and_recovers_without_loss() {
    let (w, tron) = world(fast(), TRON_KEY).await;
    let (wallet, payer) = (taddr('a'), taddr('1'));
    watch(&w, &wallet).await;
    let before = tron.inject(&payer, &wallet, 1_000_000);
    w.wait_messages(ALICE, &before.txid, 1).await;

    tron.set_fault(Some(Fault::ServerError(502)));
    let during = tron.inject(&payer, &wallet, 2_000_000);
    wait_long(&w, ADMIN, "no working source", Duration::from_secs(30)).await;
    let status = w.say(ADMIN, "/status").await;
    assert!(status.contains("no working source"), "{status}");

    tron.set_fault(None);
    w.wait_messages(ALICE, &during.txid, 1).await;
    wait_long(&w, ADMIN, "TronGrid answers again", Duration::from_secs(30)).await;
    let status = w.say(ADMIN, "/status").await;
    assert!(!status.contains("no working source"), "{status}");
    let told = |needle: &str| {
        w.bot
            .sent_to(ADMIN)
            .iter()
            .filter(|m| m.text.contains(needle) && !m.text.contains("Restarts in window"))
            .count()
    };
    assert_eq!(told("no working source"), 1);
    assert_eq!(told("TronGrid answers again"), 1);
    w.assert_delivered_once(ALICE, [&before.txid, &during.txid]);
}

/// Regression (issue 17 break test): TronGrid rejecting the key. The pause
/// alerts once ("fix TRONGRID_API_KEY") and probes every 5 minutes; each
/// refused probe counted against the chain's pool of one, which did not
/// know TronGrid was paused, so the third raised a second alert for the
/// same cause ("no working source … retried every few seconds", which it
/// was not). In-process, so that the test moves each probe to now.
#[actix_rt::test]
async fn a_rejected_key_is_told_once_across_its_probes() {
    use usdt_monitor::app::{self, Shared};
    use usdt_monitor::config::{Config, Secret, Secrets};
    use usdt_monitor::scanner::retry::RetryPolicy;
    use usdt_monitor::supervisor::{ChildSpec, Restart, Supervisor};
    use usdt_monitor::tron::{Poll, TronActor, TronOptions};

    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = SimTronGrid::start(fast()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.tron.api_url = sim.base_url();
    config.tron.requests_per_second = 100;
    config.monitor.chains = vec!["tron".into()];
    config.monitor.poll_interval = Duration::from_secs(3600);
    config.database.path = dir.path().join("monitor.db");
    let secrets = Secrets {
        telegram_token: Secret::new("unused"),
        etherscan_key: None,
        tron_key: Some(Secret::new(TRON_KEY)),
    };
    let shared = Shared::new(config, secrets).unwrap();
    usdt_monitor::db::connection::prepare(&shared.db_settings()).unwrap();
    let db = app::child_specs(&shared)
        .into_iter()
        .find(|s| s.name == "db")
        .unwrap();
    let s: Shared = shared.clone();
    let scanner = ChildSpec::actor("tron", shared.tron.clone(), move |guard| {
        let options = TronOptions {
            retry: RetryPolicy {
                transient_backoff: Duration::from_millis(10),
                ..RetryPolicy::default()
            },
            suspension: Duration::from_millis(50),
        };
        TronActor::with_options(s.tron_deps(), guard, options)
    })
    .restart(Restart::Permanent);
    let _sup = Supervisor::start(vec![db, scanner], app::policy(&shared.config));
    let poll = || async { shared.tron.call(Poll).await.unwrap() };

    let _ = poll().await; // cursors start at the solid head
    sim.set_fault(Some(Fault::InvalidKey));
    let mut keys = Vec::new();
    for _ in 0..6 {
        let _ = poll().await;
        keys.extend(shared.alerts.take_undelivered().into_iter().map(|a| a.key));
        // The probe is due now rather than in 5 minutes.
        let mut pause = shared.pauses.paused("TronGrid").expect("paused");
        pause.next_probe = std::time::SystemTime::now();
        shared.pauses.pause(pause);
    }
    assert_eq!(keys, ["tron:invalid-key"]);
}
