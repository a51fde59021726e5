//! The signed webhook sink, end to end: the compiled daemon against the
//! simulators and a receiver on 127.0.0.1 that verifies every signature
//! and dedupes by `webhook-id`, as an integrator's endpoint would.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::common::*;
use usdt_monitor::domain::{Address, TokenSymbol};
use usdt_monitor::sim::webhook::{Received, SimReceiver};

const ALICE: i64 = 601;
const SECRET_VAR: &str = "USDT_MONITOR_TEST_WEBHOOK_SECRET";
/// A 32-byte key (00..1f) in the Standard Webhooks form.
const SECRET: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// A world whose daemon posts to `receiver`, with fast retries.
async fn world(receiver: &SimReceiver) -> World {
    let extra = format!(
        r#"
[[webhook]]
url = "{}"
secret_env = "{SECRET_VAR}"
backoff_min = "100ms"
backoff_max = "1s"
timeout = "2s"
"#,
        receiver.url()
    );
    World::new(Tweaks {
        extra,
        env: vec![(SECRET_VAR.into(), SECRET.into())],
        ..Tweaks::default()
    })
    .await
}

/// [`world`], with the daemon running and ALICE watching `watched`.
async fn watching(receiver: &SimReceiver, watched: &Address) -> World {
    let mut w = world(receiver).await;
    w.start_daemon();
    w.say(ALICE, "/start").await;
    w.say(ALICE, &format!("/add {watched}")).await;
    w
}

/// The transaction hashes of the accepted (verified, 2xx) deliveries.
fn accepted_txs(got: &[Received]) -> BTreeSet<String> {
    got.iter()
        .filter(|r| r.verified && r.status == 200)
        .map(|r| {
            r.json()["data"]["tx_hash"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

async fn wait_accepted(receiver: &SimReceiver, txs: &[String]) -> Vec<Received> {
    let want: BTreeSet<String> = txs.iter().cloned().collect();
    receiver
        .wait_for(WAIT, |got| accepted_txs(got).is_superset(&want))
        .await
        .unwrap_or_else(|got| panic!("not every transfer was posted: {got:#?}"))
}

#[actix_rt::test]
async fn each_transfer_is_posted_once_across_a_kill_9() {
    let receiver = SimReceiver::start(SECRET).await.unwrap();
    let (watched, payer) = (addr('a'), addr('1'));
    let mut w = watching(&receiver, &watched).await;

    let mut txs = vec![w.transfer(TokenSymbol::Usdt, &payer, &watched, 1_250_500_000)];
    let got = wait_accepted(&receiver, &txs).await;
    // The payload: exact amounts, the documented fields.
    let data = &got[0].json()["data"];
    assert_eq!(data["amount"], "1250.5", "{data}");
    assert_eq!(data["value"], "1250500000", "{data}");
    assert_eq!(data["token"], "USDT", "{data}");
    assert_eq!(data["chain"], "ethereum", "{data}");
    assert_eq!(data["to"], watched.checksummed(), "{data}");
    assert_eq!(data["watching_chats"], 1, "{data}");
    assert_eq!(
        data["explorer_url"],
        format!("https://etherscan.io/tx/{}", txs[0]),
        "{data}"
    );

    // Transfers keep coming; the daemon is killed as soon as it has posted
    // one of a batch (the others recorded or not yet), then restarted.
    let batch: Vec<String> = (0..4)
        .map(|i| w.transfer(TokenSymbol::Usdc, &payer, &watched, 2_000_000 + i))
        .collect();
    receiver
        .wait_for(WAIT, |got| {
            batch.iter().any(|tx| accepted_txs(got).contains(tx))
        })
        .await
        .expect("a post of the batch before the kill");
    w.kill9();
    txs.extend(batch);
    for i in 0..2 {
        txs.push(w.transfer(TokenSymbol::Usdt, &watched, &payer, 3_000_000 + i));
    }
    w.start_daemon();
    let got = wait_accepted(&receiver, &txs).await;

    assert!(got.iter().all(|r| r.verified), "{got:#?}");
    let distinct = receiver.accepted_ids();
    assert_eq!(distinct.len(), txs.len(), "one webhook-id per transfer");
    // A kill -9 may catch one POST on the wire (sent, not yet marked): it is
    // posted again with the same webhook-id, and the receiver dedupes it.
    let total = got.len();
    assert!(
        total <= txs.len() + 1,
        "{total} posts for {} transfers",
        txs.len()
    );
    // Telegram delivery goes on independently of the sink (exactly-once
    // across a kill is tests/e2e.rs's subject; this kill may land mid-send).
    for tx in &txs {
        w.wait_messages(ALICE, tx, 1).await;
    }

    // The URL carries a token in its query: logs name the host only.
    for run in [1, 2] {
        let log = w.logs(run);
        assert!(
            !log.contains("hook-SECRET-query"),
            "run {run} logged the URL"
        );
        assert!(!log.contains("AAECAwQF"), "run {run} logged the secret");
    }
    assert!(w.logs(2).contains("127.0.0.1"), "the sink's host is logged");
}

#[actix_rt::test]
async fn a_burst_of_500s_is_retried_until_delivered() {
    let receiver = SimReceiver::start(SECRET).await.unwrap();
    // Three 500s, then a 503 asking for a one-second pause, then 200.
    receiver.script([(500, None), (500, None), (500, None), (503, Some(1))]);
    let (watched, payer) = (addr('b'), addr('2'));
    let w = watching(&receiver, &watched).await;

    let tx = w.transfer(TokenSymbol::Usdt, &payer, &watched, 7_000_000);
    let got = wait_accepted(&receiver, std::slice::from_ref(&tx)).await;
    let statuses: Vec<u16> = got.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 500, 500, 503, 200]);
    // Every retry: the same id and body, signed afresh.
    assert!(got.iter().all(|r| r.verified));
    assert!(got.iter().all(|r| r.webhook_id == got[0].webhook_id));
    assert!(got.iter().all(|r| r.body == got[0].body));
    // The Telegram notification did not wait for the sink.
    w.wait_messages(ALICE, &tx, 1).await;
    // Retry-After: 1 was honoured before the last attempt.
    assert!(
        got[4].timestamp - got[3].timestamp >= 1,
        "{} then {}",
        got[3].timestamp,
        got[4].timestamp
    );
}

#[actix_rt::test]
async fn a_410_dead_letters_at_once_and_status_shows_it_then_sigterm_stops_in_order() {
    let receiver = SimReceiver::start(SECRET).await.unwrap();
    receiver.answer(410);
    let (watched, payer) = (addr('c'), addr('3'));
    let mut w = watching(&receiver, &watched).await;

    let mut txs = Vec::new();
    for n in 1..=2 {
        txs.push(w.transfer(TokenSymbol::Usdt, &payer, &watched, 5_000_000 + n));
        let line = format!("0 pending, {n} dead (last: HTTP 410)");
        let status = status_until(&w, &line).await;
        assert!(status.contains("<b>Webhooks</b>\n• 127.0.0.1:"), "{status}");
        assert!(!status.contains("hook-SECRET-query"), "{status}");
    }
    // Each was tried exactly once: a 410 is never retried (with a 100 ms
    // backoff, the first would have been retried many times meanwhile).
    let got = receiver.received();
    let ids: BTreeSet<&str> = got.iter().map(|r| r.webhook_id.as_str()).collect();
    assert_eq!((got.len(), ids.len()), (2, 2), "{got:#?}");
    assert!(got.iter().all(|r| r.verified && r.status == 410));

    // SIGTERM: the webhook child stops after the scanner, before the bot.
    w.signal("TERM");
    let status = w.wait_exit(WAIT).await;
    assert_eq!(status.code(), Some(0), "logs:\n{}", w.logs(1));
    assert_eq!(
        stopped_actors(&w.logs(1)),
        ["ticker", "etherscan", "webhook", "telegram", "db"]
    );
}

#[actix_rt::test]
async fn a_timeout_is_retried_and_the_receiver_dedupes_by_webhook_id() {
    let receiver = SimReceiver::start(SECRET).await.unwrap();
    // The first answer comes after the sink's 2 s timeout.
    receiver.stall(1, Duration::from_secs(3));
    let (watched, payer) = (addr('d'), addr('4'));
    let w = watching(&receiver, &watched).await;

    let tx = w.transfer(TokenSymbol::Usdt, &payer, &watched, 9_000_000);
    w.wait_messages(ALICE, &tx, 1).await;
    let got = receiver
        .wait_for(WAIT, |got| got.len() >= 2)
        .await
        .unwrap_or_else(|got| panic!("no retry after the timeout: {got:#?}"));
    assert!(
        got.iter()
            .all(|r| r.verified && r.webhook_id == got[0].webhook_id)
    );
    assert_eq!(receiver.accepted_ids().len(), 1);
    assert_eq!(accepted_txs(&got), BTreeSet::from([tx]));
    let retried = json_lines(&w.logs(1))
        .into_iter()
        .any(|l| l["message"] == "delivery failed; will retry" && l["error"] == "timeout");
    assert!(retried, "logs:\n{}", w.logs(1));
}

#[actix_rt::test]
async fn a_refused_connection_is_retried_until_the_receiver_is_back() {
    let receiver = SimReceiver::start(SECRET).await.unwrap();
    let port = receiver.port();
    receiver.stop().await;
    let (watched, payer) = (addr('e'), addr('5'));
    let w = watching(&receiver, &watched).await;

    let tx = w.transfer(TokenSymbol::Usdt, &payer, &watched, 11_000_000);
    // The notification goes out while the sink is down.
    w.wait_messages(ALICE, &tx, 1).await;
    let deadline = Instant::now() + WAIT;
    let refused = |log: &str| {
        json_lines(log).into_iter().any(|l| {
            l["message"] == "delivery failed; will retry"
                && l["error"]
                    .as_str()
                    .is_some_and(|e| e.starts_with("cannot connect"))
        })
    };
    while !refused(&w.logs(1)) {
        assert!(Instant::now() < deadline, "no refused connection logged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let back = SimReceiver::start_on(SECRET, port).await.unwrap();
    wait_accepted(&back, std::slice::from_ref(&tx)).await;
    assert!(!w.logs(1).contains("hook-SECRET-query"));
}

#[actix_rt::test]
async fn a_200_whose_body_comes_after_the_timeout_is_delivered_not_posted_again() {
    let receiver = SimReceiver::start(SECRET).await.unwrap();
    // The headers at once, the body after the sink's 2 s timeout.
    receiver.slow_body(1, Duration::from_secs(3));
    let (watched, payer) = (addr('a'), addr('6'));
    let w = watching(&receiver, &watched).await;

    let first = w.transfer(TokenSymbol::Usdt, &payer, &watched, 23_000_000);
    receiver
        .wait_for(WAIT, |got| !got.is_empty())
        .await
        .expect("a first post");
    let second = w.transfer(TokenSymbol::Usdt, &payer, &watched, 23_000_001);
    // Rows go out oldest first: had the first been taken for a failure, it
    // would have been posted again before the second.
    let got = wait_accepted(&receiver, &[first, second]).await;
    assert_eq!(got.len(), 2, "{got:#?}");
}

#[actix_rt::test]
async fn a_redirect_is_not_followed_to_another_host_and_is_retried() {
    let receiver = SimReceiver::start(SECRET).await.unwrap();
    let elsewhere = SimReceiver::start(SECRET).await.unwrap();
    receiver.redirect_to(elsewhere.url());
    receiver.script([(307, None), (308, None), (302, None)]);
    let (watched, payer) = (addr('f'), addr('6'));
    let w = watching(&receiver, &watched).await;

    let tx = w.transfer(TokenSymbol::Usdt, &payer, &watched, 13_000_000);
    let got = wait_accepted(&receiver, std::slice::from_ref(&tx)).await;
    let statuses: Vec<u16> = got.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [307, 308, 302, 200]);
    // The signed body never went to the host the redirects named.
    assert_eq!(elsewhere.received(), [], "a redirect was followed");
    let logged = json_lines(&w.logs(1))
        .into_iter()
        .any(|l| l["message"] == "delivery failed; will retry" && l["error"] == "HTTP 307");
    assert!(logged, "logs:\n{}", w.logs(1));
}

#[actix_rt::test]
async fn a_408_and_a_429_are_retried_even_with_retry_after_zero() {
    let receiver = SimReceiver::start(SECRET).await.unwrap();
    receiver.script([(408, None), (429, Some(0)), (429, Some(0))]);
    let (watched, payer) = (addr('7'), addr('8'));
    let w = watching(&receiver, &watched).await;

    let tx = w.transfer(TokenSymbol::Usdc, &payer, &watched, 17_000_000);
    let got = wait_accepted(&receiver, std::slice::from_ref(&tx)).await;
    let statuses: Vec<u16> = got.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [408, 429, 429, 200]);
    assert!(got.iter().all(|r| r.webhook_id == got[0].webhook_id));
    w.wait_messages(ALICE, &tx, 1).await;
}

#[actix_rt::test]
async fn a_400_and_a_401_dead_letter_at_once() {
    let receiver = SimReceiver::start(SECRET).await.unwrap();
    receiver.script([(400, None), (401, None)]);
    let (watched, payer) = (addr('9'), addr('5'));
    let w = watching(&receiver, &watched).await;

    for (n, status) in [(1, 400), (2, 401)] {
        let tx = w.transfer(TokenSymbol::Usdt, &payer, &watched, 19_000_000 + n);
        w.wait_messages(ALICE, &tx, 1).await;
        status_until(&w, &format!("0 pending, {n} dead (last: HTTP {status})")).await;
    }
    // Never retried: one request per transfer.
    let got = receiver.received();
    let statuses: Vec<u16> = got.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [400, 401], "{got:#?}");
}

/// Asks /status until its webhook line contains `needle`.
async fn status_until(w: &World, needle: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let status = w.say(ADMIN, "/status").await;
        if status.contains(needle) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "/status never said {needle:?}: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
