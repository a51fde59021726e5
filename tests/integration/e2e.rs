//! End-to-end: the compiled daemon against the simulators, driven only
//! through Telegram updates and Etherscan data.

use std::time::{Duration, Instant};

use crate::common::*;
use usdt_monitor::domain::TokenSymbol;
use usdt_monitor::sim::etherscan::Fault;

const ALICE: i64 = 501;
const BOB: i64 = 502;

#[actix_rt::test]
async fn commands_and_notifications_round_trip_for_several_users() {
    let mut w = World::new(Tweaks::default()).await;
    w.start_daemon();
    let (savings, payer, shop) = (addr('a'), addr('1'), addr('2'));

    assert!(w.say(ALICE, "/start").await.contains("/add"));
    let reply = w
        .say(ALICE, &format!("/add {} Savings", savings.checksummed()))
        .await;
    assert!(reply.contains("Savings"), "{reply}");
    w.say(BOB, "/start").await;
    w.say(BOB, &format!("/add {savings}")).await;
    let list = w.say(ALICE, "/list").await;
    assert!(list.contains(&savings.checksummed()), "{list}");

    // Incoming USDT to a watched address: both watchers are told, once each.
    let tx = w.transfer(TokenSymbol::Usdt, &payer, &savings, 1_250_500_000);
    let got = w.wait_messages(ALICE, &tx, 1).await;
    assert!(got[0].text.contains("1,250.5 USDT"), "{}", got[0].text);
    assert!(got[0].text.contains("Incoming"), "{}", got[0].text);
    assert!(got[0].text.contains("Savings"), "{}", got[0].text);
    assert!(got[0].link_preview_disabled);
    w.wait_messages(BOB, &tx, 1).await;

    // A fake token (same symbol, another contract) is ignored; an outgoing
    // USDC transfer afterwards arrives, and by then the fake one would have.
    let fake =
        usdt_monitor::domain::Address::parse("0x9999999999999999999999999999999999999999").unwrap();
    let fake_tx =
        w.es.inject_transfer(
            1,
            usdt_monitor::sim::etherscan::InjectedTransfer {
                contract: fake,
                from: payer.clone(),
                to: savings.clone(),
                amount: usdt_monitor::domain::Amount::from_u128(5_000_000),
                block: None,
            },
        )
        .0;
    let out_tx = w.transfer(TokenSymbol::Usdc, &savings, &shop, 42_000_000);
    let got = w.wait_messages(ALICE, &out_tx, 1).await;
    assert!(got[0].text.contains("Outgoing 42 USDC"), "{}", got[0].text);
    assert!(w.bot.sent().iter().all(|m| !m.text.contains(&fake_tx)));
    // Exactly once each, even after more polls.
    w.wait_messages(BOB, &out_tx, 1).await;
    w.assert_delivered_once(ALICE, [&tx, &out_tx]);
    w.assert_delivered_once(BOB, [&tx, &out_tx]);
}

#[actix_rt::test]
async fn a_panic_in_each_actor_is_survived_and_status_shows_the_restarts() {
    let mut w = World::new(Tweaks::default()).await;
    w.start_daemon();
    let (watched, payer) = (addr('b'), addr('3'));
    w.say(ALICE, "/start").await;
    w.say(ALICE, &format!("/add {watched}")).await;
    for (i, actor) in ["db", "etherscan", "telegram", "ticker"]
        .into_iter()
        .enumerate()
    {
        w.bot.user_says(ADMIN, &format!("/panic {actor}"));
        // The transfer sent after the panic is still delivered.
        let tx = w.transfer(TokenSymbol::Usdt, &payer, &watched, 1_000_000 + i as u128);
        w.wait_messages(ALICE, &tx, 1).await;
    }
    let status = w.say(ADMIN, "/status").await;
    for actor in ["db", "etherscan", "telegram", "ticker"] {
        let line = status
            .lines()
            .find(|l| l.contains(actor))
            .unwrap_or_else(|| panic!("{status}"));
        assert!(
            line.contains("restarts 1") || line.contains("1 restart"),
            "{actor}: {status}"
        );
    }
}

#[actix_rt::test]
async fn an_etherscan_outage_loses_nothing_and_doubles_nothing() {
    let mut w = World::new(Tweaks::default()).await;
    w.start_daemon();
    let (watched, payer) = (addr('c'), addr('4'));
    w.say(ALICE, "/start").await;
    w.say(ALICE, &format!("/add {watched}")).await;
    let first = w.transfer(TokenSymbol::Usdt, &payer, &watched, 1_000_000);
    w.wait_messages(ALICE, &first, 1).await;

    let mut during = Vec::new();
    for fault in [
        Fault::Http500,
        Fault::RateLimitStorm,
        Fault::MalformedJson,
        Fault::Slow(Duration::from_secs(3)),
    ] {
        w.es.reset_requests();
        w.es.set_fault(Some(fault));
        during.push(w.transfer(
            TokenSymbol::Usdt,
            &payer,
            &watched,
            2_000_000 + during.len() as u128,
        ));
        // Let the daemon meet the fault a few times.
        let deadline = Instant::now() + WAIT;
        while w.es.requests().len() < 4 {
            assert!(
                Instant::now() < deadline,
                "the daemon stopped polling during the outage"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    w.es.set_fault(None);
    for tx in &during {
        w.wait_messages(ALICE, tx, 1).await;
    }
    let last = w.transfer(TokenSymbol::Usdt, &payer, &watched, 9_000_000);
    w.wait_messages(ALICE, &last, 1).await;
    w.assert_delivered_once(ALICE, during.iter().chain([&first, &last]));
}

#[actix_rt::test]
async fn kill_9_while_transfers_arrive_then_restart_delivers_each_once() {
    let mut w = World::new(Tweaks::default()).await;
    w.start_daemon();
    let (watched, payer) = (addr('d'), addr('5'));
    w.say(ALICE, "/start").await;
    w.say(ALICE, &format!("/add {watched}")).await;
    let before: Vec<_> = (0..3)
        .map(|i| w.transfer(TokenSymbol::Usdt, &payer, &watched, 1_000_000 + i))
        .collect();
    for tx in &before {
        w.wait_messages(ALICE, tx, 1).await;
    }
    // The admin's /stats says the three were recorded as sent: the kill
    // below comes after that, so none of them is in flight.
    let deadline = Instant::now() + WAIT;
    while !w
        .say(ADMIN, "/stats")
        .await
        .contains("Notifications: 3 sent")
    {
        assert!(
            Instant::now() < deadline,
            "the deliveries were never recorded"
        );
    }
    w.kill9();
    let down: Vec<_> = (0..3)
        .map(|i| w.transfer(TokenSymbol::Usdc, &payer, &watched, 5_000_000 + i))
        .collect();
    w.es.advance(1, 10);
    w.start_daemon();
    for tx in &down {
        w.wait_messages(ALICE, tx, 1).await;
    }
    let after = w.transfer(TokenSymbol::Usdt, &payer, &watched, 7_000_000);
    w.wait_messages(ALICE, &after, 1).await;
    w.assert_delivered_once(ALICE, before.iter().chain(&down).chain([&after]));
}

#[actix_rt::test]
async fn sigterm_stops_every_actor_in_order_and_exits_zero() {
    let mut w = World::new(Tweaks::default()).await;
    w.start_daemon();
    w.say(ALICE, "/start").await;
    w.signal("TERM");
    let status = w.wait_exit(Duration::from_secs(5 * 4 + 5)).await;
    assert_eq!(status.code(), Some(0), "logs:\n{}", w.logs(1));
    assert_eq!(
        stopped_actors(&w.logs(1)),
        ["ticker", "etherscan", "telegram", "db"]
    );
}

#[actix_rt::test]
async fn secrets_never_reach_output_or_logs() {
    let mut w = World::new(Tweaks::default()).await;
    w.start_daemon();
    let watched = addr('e');
    w.say(ALICE, "/start").await;
    w.say(ALICE, &format!("/add {watched}")).await;
    // Errors too: an invalid key answer and a Bot API failure are logged.
    w.es.set_fault(Some(Fault::InvalidKey));
    let tx = w.transfer(TokenSymbol::Usdt, &addr('6'), &watched, 1_000_000);
    // Two refused polls: the daemon has handled the first answer (the
    // next poll only comes after it). Counting all requests since the start
    // would include the start-up check's.
    let deadline = Instant::now() + WAIT;
    while w
        .es
        .requests()
        .iter()
        .filter(|r| r.outcome == "fault")
        .count()
        < 2
    {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The admin sees what only a human can fix, without the key itself.
    let status = w.say(ADMIN, "/status").await;
    assert!(status.contains("Needs attention"), "{status}");
    assert!(status.contains("rejects the API key"), "{status}");
    w.es.set_fault(None);
    w.wait_messages(ALICE, &tx, 1).await;
    w.say(ADMIN, "/status").await;
    w.signal("TERM");
    w.wait_exit(Duration::from_secs(25)).await;
    let output = w.logs(1) + &std::fs::read_to_string(w.stdout_path(1)).unwrap();
    assert!(output.contains("actor stopped"), "the logs were captured");
    let token_secret = TG_TOKEN.split(':').nth(1).unwrap();
    for secret in [ES_KEY, TG_TOKEN, token_secret] {
        assert!(!output.contains(secret), "a secret leaked into the output");
    }
    // Nor into what the bot sent.
    assert!(
        w.bot
            .sent()
            .iter()
            .all(|m| !m.text.contains(ES_KEY) && !m.text.contains(token_secret))
    );
}

#[actix_rt::test]
async fn address_poisoning_is_held_back_and_warned_about_on_request() {
    let mut w = World::new(Tweaks::default()).await;
    w.start_daemon();
    let watched = addr('a');
    let employer =
        usdt_monitor::domain::Address::parse("0xc0ffee254729296a45a3885639ac7e10f9d54979").unwrap();
    let lookalike =
        usdt_monitor::domain::Address::parse("0xc0ffee0000000000000000000000000000004979").unwrap();
    w.say(ALICE, "/start").await;
    w.say(ALICE, &format!("/add {watched} Savings")).await;

    // A real payment from a wallet never seen before is delivered normally.
    let salary = w.transfer(TokenSymbol::Usdt, &employer, &watched, 2_500_000_000);
    let got = w.wait_messages(ALICE, &salary, 1).await;
    assert!(
        got[0].text.contains("Incoming 2,500 USDT"),
        "{}",
        got[0].text
    );

    // A zero-value look-alike of that wallet is held back; a later payment
    // proves its block was scanned.
    let poison = w.transfer(TokenSymbol::Usdt, &lookalike, &watched, 0);
    w.es.advance(1, 1);
    let later = w.transfer(TokenSymbol::Usdc, &employer, &watched, 10_000_000);
    w.wait_messages(ALICE, &later, 1).await;
    assert!(
        w.bot
            .sent_to(ALICE)
            .iter()
            .all(|m| !m.text.contains(&poison))
    );
    let spam = w.say(ALICE, "/spam").await;
    assert!(spam.contains("look-alike"), "{spam}");
    assert!(spam.contains("0 USDT"), "{spam}");

    // With warnings on, the next attempt gets a ⚠️ naming both addresses.
    w.say(ALICE, "/spam on").await;
    let poison2 = w.transfer(TokenSymbol::Usdt, &lookalike, &watched, 0);
    let warned = w.wait_messages(ALICE, &poison2, 1).await;
    // The differing middle is marked (<b><u>); the visible text holds
    // both addresses in full.
    let text = &warned[0].text.replace("<b><u>", "").replace("</u></b>", "");
    assert!(text.contains('⚠'), "{text}");
    assert!(
        text.contains(&lookalike.checksummed()) || text.contains(lookalike.as_str()),
        "{text}"
    );
    assert!(
        text.contains(&employer.checksummed()) || text.contains(employer.as_str()),
        "{text}"
    );
}
