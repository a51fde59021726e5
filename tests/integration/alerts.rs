//! Per-address settings and buttons, end to end: the compiled daemon
//! against the simulated Etherscan and Bot API, driven by commands, button
//! presses and transfers; checked in what users receive and in the SQLite
//! file (read-only).

use std::time::Instant;

use crate::common::*;
use usdt_monitor::domain::{Address, TokenSymbol};
use usdt_monitor::sim::botapi::{CallbackAnswer, SentMessage};
use usdt_monitor::sim::tron::{SimTronGrid, SimTronGridOptions};

const ALICE: i64 = 601;
const STRANGER: i64 = 602;

/// A read-only look at the daemon's database.
fn db(w: &World) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(
        w.dir.path().join("data/monitor.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap()
}

/// Is this transaction recorded in `transfers`?
fn recorded(w: &World, tx: &str) -> bool {
    db(w)
        .query_row(
            "SELECT count(*) FROM transfers WHERE lower(tx_hash) = lower(?1)",
            [tx],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
        > 0
}

/// Outbox rows of `chat` for this transaction.
fn outbox_rows(w: &World, chat: i64, tx: &str) -> i64 {
    db(w)
        .query_row(
            "SELECT count(*) FROM outbox o JOIN transfers t ON t.id = o.transfer_id
             WHERE o.chat_id = ?1 AND lower(t.tx_hash) = lower(?2)",
            rusqlite::params![chat, tx],
            |r| r.get(0),
        )
        .unwrap()
}

/// `(min_amount, direction, muted_until)` of every subscription of `chat`.
fn settings(w: &World, chat: i64) -> Vec<(Option<String>, String, Option<i64>)> {
    let conn = db(w);
    let mut stmt = conn
        .prepare(
            "SELECT min_amount, direction, muted_until FROM subscriptions
             WHERE chat_id = ?1 ORDER BY id",
        )
        .unwrap();
    stmt.query_map([chat], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Waits for a condition on the database (no change notification there).
async fn until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Nothing `chat` received mentions `tx`.
fn never_sent(w: &World, chat: i64, tx: &str) {
    let hits: Vec<String> = (w.bot.sent_to(chat).into_iter())
        .filter(|m| m.text.contains(tx))
        .map(|m| m.text)
        .collect();
    assert!(hits.is_empty(), "{tx} was sent: {hits:#?}");
}

async fn started(chat: i64, watch: &[(&Address, &str)]) -> World {
    let mut w = World::new(Tweaks {
        telegram: "command_limit = 100".into(),
        ..Tweaks::default()
    })
    .await;
    w.start_daemon();
    w.say(chat, "/start").await;
    for (a, label) in watch {
        let reply = w.say(chat, &format!("/add {a} {label}")).await;
        assert!(reply.contains("Now watching"), "{reply}");
    }
    w
}

/// The notification of `tx` to `chat`, once it arrived.
async fn notification(w: &World, chat: i64, tx: &str) -> SentMessage {
    w.wait_messages(chat, tx, 1).await.remove(0)
}

#[actix_rt::test]
async fn minimum_suppresses_only_smaller_transfers() {
    let (savings, payer) = (addr('a'), addr('1'));
    let w = started(ALICE, &[(&savings, "Savings")]).await;
    let reply = w.say(ALICE, "/set savings min 100").await;
    assert!(reply.contains("below 100"), "{reply}");
    assert_eq!(
        settings(&w, ALICE)[0].0.as_deref(),
        Some("100000000000000000000")
    );

    let small = w.transfer(TokenSymbol::Usdt, &payer, &savings, 99_999_999);
    let exact = w.transfer(TokenSymbol::Usdt, &payer, &savings, 100_000_000);
    let big = w.transfer(TokenSymbol::Usdc, &payer, &savings, 250_000_000);
    notification(&w, ALICE, &big).await;
    notification(&w, ALICE, &exact).await;
    assert!(recorded(&w, &small), "the small transfer is recorded");
    assert_eq!(outbox_rows(&w, ALICE, &small), 0, "but never queued");
    never_sent(&w, ALICE, &small);

    // `min 0` clears: a small transfer arrives again.
    let reply = w.say(ALICE, "/set Savings min 0").await;
    assert!(reply.contains("No minimum"), "{reply}");
    let tiny = w.transfer(TokenSymbol::Usdt, &payer, &savings, 1);
    notification(&w, ALICE, &tiny).await;
    w.assert_delivered_once(ALICE, [&exact, &big, &tiny]);
    never_sent(&w, ALICE, &small);
}

#[actix_rt::test]
async fn direction_suppresses_only_the_other_direction() {
    let (hot, cold, shop) = (addr('b'), addr('c'), addr('2'));
    let w = started(ALICE, &[(&hot, "Hot"), (&cold, "Cold")]).await;
    let reply = w.say(ALICE, "/set Hot direction in").await;
    assert!(reply.contains("incoming transfers only"), "{reply}");
    w.say(ALICE, &format!("/set {cold} direction out")).await;

    let hot_out = w.transfer(TokenSymbol::Usdt, &hot, &shop, 5_000_000);
    let cold_in = w.transfer(TokenSymbol::Usdt, &shop, &cold, 6_000_000);
    let hot_in = w.transfer(TokenSymbol::Usdt, &shop, &hot, 7_000_000);
    let cold_out = w.transfer(TokenSymbol::Usdt, &cold, &shop, 8_000_000);
    // Between the two: it notifies when either end wants it. Cold → Hot
    // is outgoing for Cold and incoming for Hot (both wanted); Hot → Cold
    // is wanted by neither.
    let between = w.transfer(TokenSymbol::Usdt, &cold, &hot, 9_000_000);
    let unwanted = w.transfer(TokenSymbol::Usdt, &hot, &cold, 10_000_000);
    notification(&w, ALICE, &hot_in).await;
    notification(&w, ALICE, &cold_out).await;
    notification(&w, ALICE, &between).await;
    for tx in [&hot_out, &cold_in, &unwanted] {
        until("the filtered transfer is recorded", || recorded(&w, tx)).await;
        assert_eq!(outbox_rows(&w, ALICE, tx), 0);
        never_sent(&w, ALICE, tx);
    }
    w.assert_delivered_once(ALICE, [&hot_in, &cold_out, &between]);
}

#[actix_rt::test]
async fn mute_suppresses_until_unmute_and_unmute_does_not_replay() {
    let (muted, other, payer) = (addr('d'), addr('e'), addr('3'));
    let mut w = started(ALICE, &[(&muted, "Noisy"), (&other, "Quiet")]).await;
    let reply = w.say(ALICE, "/mute Noisy").await;
    assert!(reply.contains("muted until /unmute"), "{reply}");
    let silenced = w.transfer(TokenSymbol::Usdt, &payer, &muted, 1_000_000);
    let heard = w.transfer(TokenSymbol::Usdt, &payer, &other, 2_000_000);
    notification(&w, ALICE, &heard).await;
    until("the muted transfer is recorded", || recorded(&w, &silenced)).await;
    assert_eq!(outbox_rows(&w, ALICE, &silenced), 0);

    // The mute survives a restart, and /list says so. (Killed only once
    // the delivery is marked, or it would rightly be sent again.)
    until("the delivery is marked", || {
        db(&w)
            .query_row(
                "SELECT count(*) FROM outbox WHERE state = 'pending'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
            == 0
    })
    .await;
    w.kill9();
    w.start_daemon();
    let list = w.say(ALICE, "/list").await;
    assert!(list.contains("muted until /unmute"), "{list}");
    let still = w.transfer(TokenSymbol::Usdt, &payer, &muted, 3_000_000);
    until("the second muted transfer is recorded", || {
        recorded(&w, &still)
    })
    .await;

    let reply = w.say(ALICE, &format!("/unmute {muted}")).await;
    assert!(reply.contains("not muted any more"), "{reply}");
    let after = w.transfer(TokenSymbol::Usdt, &payer, &muted, 4_000_000);
    notification(&w, ALICE, &after).await;
    never_sent(&w, ALICE, &silenced);
    never_sent(&w, ALICE, &still);
    w.assert_delivered_once(ALICE, [&heard, &after]);

    // A mute with a duration ends by itself; /list shows until when.
    let reply = w.say(ALICE, "/mute Noisy 8h").await;
    assert!(reply.contains("muted until 20"), "{reply}");
    let (_, _, until_at) = settings(&w, ALICE)[0].clone();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let left = until_at.unwrap() - now;
    assert!((8 * 3600 - 60..=8 * 3600).contains(&left), "{left}");
}

#[actix_rt::test]
async fn mute_24h_button_mutes_and_is_answered() {
    let (watched, other, payer) = (addr('f'), addr('9'), addr('4'));
    let w = started(ALICE, &[(&watched, "Main"), (&other, "Side")]).await;
    let first = w.transfer(TokenSymbol::Usdt, &payer, &watched, 1_000_000);
    let m = notification(&w, ALICE, &first).await;
    // The keyboard: the explorer link of this transaction, and the mute.
    let urls = m.button_urls();
    assert_eq!(urls.len(), 1, "{:?}", m.reply_markup);
    assert!(urls[0].starts_with("https://etherscan.io/tx/") && urls[0].contains(&first));
    let data = m.callback_data();
    assert_eq!(data.len(), 1);
    assert!(
        data[0].starts_with("m1:") && data[0].ends_with(":24h"),
        "{data:?}"
    );

    let query = w.bot.user_presses(ALICE, ALICE, m.message_id, &data[0]);
    let answer = w.bot.wait_for_answer(WAIT, &query).await.expect("answered");
    assert!(
        answer
            .text
            .as_deref()
            .unwrap_or("")
            .contains("muted for 24 h"),
        "{answer:?}"
    );
    assert!(!answer.show_alert);
    let until_at = settings(&w, ALICE)[0].2.expect("muted");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((86_400 - 60..=86_400).contains(&(until_at - now)));
    assert_eq!(
        settings(&w, ALICE)[1].2,
        None,
        "the other address is not muted"
    );

    let second = w.transfer(TokenSymbol::Usdt, &payer, &watched, 2_000_000);
    let sentinel = w.transfer(TokenSymbol::Usdt, &payer, &other, 3_000_000);
    notification(&w, ALICE, &sentinel).await;
    until("the muted transfer is recorded", || recorded(&w, &second)).await;
    never_sent(&w, ALICE, &second);
    w.assert_delivered_once(ALICE, [&first, &sentinel]);
}

#[actix_rt::test]
async fn forged_callback_data_changes_nothing_and_is_answered() {
    let (watched, theirs, payer) = (addr('a'), addr('b'), addr('5'));
    let w = started(ALICE, &[(&watched, "Mine")]).await;
    // Another user's subscription: its id is not Alice's to mute.
    w.say(STRANGER, "/start").await;
    w.say(STRANGER, &format!("/add {theirs}")).await;
    let their_id: i64 = db(&w)
        .query_row(
            "SELECT id FROM subscriptions WHERE chat_id = ?1",
            [STRANGER],
            |r| r.get(0),
        )
        .unwrap();
    let first = w.transfer(TokenSymbol::Usdt, &payer, &watched, 1_000_000);
    let m = notification(&w, ALICE, &first).await;
    for data in [
        format!("m1:{their_id}:24h"),
        "m1:999999:24h".into(),
        "m2:1:24h".into(),
        "m1:1:8760h".into(),
        "<b>m1:1:24h</b>".into(),
        "m1:1:24h\u{200B}".into(),
        "y1:-1".into(),
        "x".repeat(64),
    ] {
        let query = w.bot.user_presses(ALICE, ALICE, m.message_id, &data);
        let answer = w.bot.wait_for_answer(WAIT, &query).await.expect("answered");
        assert!(answer.show_alert, "{data}: {answer:?}");
        assert!(
            answer
                .text
                .as_deref()
                .unwrap_or("")
                .contains("Nothing was changed"),
            "{data}: {answer:?}"
        );
    }
    assert!(settings(&w, ALICE).iter().all(|s| s.2.is_none()));
    assert!(settings(&w, STRANGER).iter().all(|s| s.2.is_none()));
    let second = w.transfer(TokenSymbol::Usdt, &payer, &watched, 2_000_000);
    notification(&w, ALICE, &second).await;
}

/// A user pressing a button under a message in someone else's chat (as in
/// a group, where everyone sees the buttons) is refused by
/// `may_change_settings`; nothing changes.
#[actix_rt::test]
async fn a_stranger_pressing_a_button_is_refused() {
    let (watched, payer) = (addr('c'), addr('6'));
    let w = started(ALICE, &[(&watched, "Mine")]).await;
    let first = w.transfer(TokenSymbol::Usdt, &payer, &watched, 1_000_000);
    let m = notification(&w, ALICE, &first).await;
    let query = w
        .bot
        .user_presses(STRANGER, ALICE, m.message_id, &m.callback_data()[0]);
    let answer = w.bot.wait_for_answer(WAIT, &query).await.expect("answered");
    assert!(answer.show_alert);
    assert!(
        answer
            .text
            .as_deref()
            .unwrap_or("")
            .contains("Only the owner"),
        "{answer:?}"
    );
    assert_eq!(settings(&w, ALICE)[0].2, None);
    let second = w.transfer(TokenSymbol::Usdt, &payer, &watched, 2_000_000);
    notification(&w, ALICE, &second).await;
}

#[actix_rt::test]
async fn list_shows_settings_and_remove_asks_for_confirmation() {
    let (a, b) = (addr('d'), addr('e'));
    let w = started(ALICE, &[(&a, "Alpha"), (&b, "Beta")]).await;
    w.say(ALICE, "/set Alpha min 0.5").await;
    w.say(ALICE, "/set Alpha direction out").await;
    w.say(ALICE, "/mute Beta").await;
    w.say(ALICE, "/list").await;
    let list = w.bot.sent_to(ALICE).pop().unwrap();
    assert!(
        list.text
            .contains("min: 0.5 · outgoing transfers only · not muted"),
        "{}",
        list.text
    );
    assert!(
        list.text
            .contains("min: none · incoming and outgoing transfers · muted until /unmute"),
        "{}",
        list.text
    );
    let data = list.callback_data();
    assert_eq!(data.len(), 4, "Remove and Mute for each address: {data:?}");
    // Rows in /list order: Alpha, then Beta.
    let remove_beta = data
        .iter()
        .filter(|d| d.starts_with("r1:"))
        .nth(1)
        .cloned()
        .unwrap();

    // Remove → a confirmation; Cancel keeps the address.
    let before = w.bot.sent_to(ALICE).len();
    let q = w
        .bot
        .user_presses(ALICE, ALICE, list.message_id, &remove_beta);
    assert!(w.bot.wait_for_answer(WAIT, &q).await.is_some());
    let confirm = sent_after(&w, ALICE, before).await;
    assert!(
        confirm.text.contains("Stop watching <b>Beta</b>"),
        "{}",
        confirm.text
    );
    let choices = confirm.callback_data();
    assert!(
        choices[0].starts_with("y1:") && choices[1].starts_with("n1:"),
        "{choices:?}"
    );
    let q = w
        .bot
        .user_presses(ALICE, ALICE, confirm.message_id, &choices[1]);
    let answer = w.bot.wait_for_answer(WAIT, &q).await.unwrap();
    assert!(answer.text.unwrap().contains("Nothing was removed"));
    assert_eq!(settings(&w, ALICE).len(), 2);
    let edited = nth_edit(&w, 1).await.expect("the confirmation was edited");
    assert!(edited.text.contains("Still watching"), "{edited:?}");
    assert_eq!(edited.reply_markup, None, "no buttons left");

    // Again, and this time Yes: removed, the confirmation says so.
    let before = w.bot.sent_to(ALICE).len();
    let q = w
        .bot
        .user_presses(ALICE, ALICE, list.message_id, &remove_beta);
    assert!(w.bot.wait_for_answer(WAIT, &q).await.is_some());
    let confirm = sent_after(&w, ALICE, before).await;
    let q = w.bot.user_presses(
        ALICE,
        ALICE,
        confirm.message_id,
        &confirm.callback_data()[0],
    );
    let answer = w.bot.wait_for_answer(WAIT, &q).await.unwrap();
    assert_eq!(answer.text.as_deref(), Some("Removed."));
    let edited = nth_edit(&w, 2).await.unwrap();
    assert!(edited.text.contains("Stopped watching"), "{edited:?}");
    let left: Vec<String> = {
        let conn = db(&w);
        let mut stmt = conn
            .prepare("SELECT label FROM subscriptions WHERE chat_id = ?1")
            .unwrap();
        stmt.query_map([ALICE], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(left, vec!["Alpha".to_string()]);
    // The old button is stale now: answered, nothing changed.
    let q = w.bot.user_presses(
        ALICE,
        ALICE,
        confirm.message_id,
        &confirm.callback_data()[0],
    );
    let answer = w.bot.wait_for_answer(WAIT, &q).await.unwrap();
    assert!(answer.show_alert && answer.text.unwrap().contains("out of date"));
}

#[actix_rt::test]
async fn hostile_settings_commands_get_a_clear_reply_and_store_nothing() {
    let (a, b, c) = (addr('7'), addr('8'), addr('9'));
    let w = started(ALICE, &[(&a, "Twin"), (&b, "twin"), (&c, "<b>x</b>")]).await;
    let untouched = settings(&w, ALICE);
    assert!(
        untouched
            .iter()
            .all(|s| *s == (None, "both".to_string(), None))
    );
    for (command, expect) in [
        (
            "/set Twin min 5".to_string(),
            "More than one address is labelled <b>Twin</b>",
        ),
        (
            "/mute Nobody".into(),
            "None of your addresses is labelled <b>Nobody</b>",
        ),
        (
            "/set <i>y</i> min 5".into(),
            "labelled <b>&lt;i&gt;y&lt;/i&gt;</b>",
        ),
        (
            "/set Sav\u{2060}ings min 5".into(),
            "None of your addresses",
        ),
        (format!("/set {c} min -5"), "is not an amount"),
        (format!("/set {c} min 1e9"), "is not an amount"),
        (format!("/set {c} min {}", "9".repeat(80)), "too large"),
        (format!("/set {c} min 0.0000001"), "have 6 decimal places"),
        (format!("/set {c} direction up"), "is not a direction"),
        (format!("/mute {c} 5y"), "is not a duration"),
        (format!("/mute {c} 400d"), "at most 365 days"),
        (format!("/unmute {}", addr('5')), "You are not watching"),
        ("/remove Twin".into(), "More than one address"),
    ] {
        let reply = w.say(ALICE, &command).await;
        assert!(reply.contains(expect), "{command}: {reply}");
        assert_eq!(settings(&w, ALICE), untouched, "{command} stored something");
    }
    // HTML in a label addresses it and is escaped in the reply.
    let reply = w.say(ALICE, "/set <b>x</b> min 1").await;
    assert!(reply.contains("<b>&lt;b&gt;x&lt;/b&gt;</b>"), "{reply}");
    assert_eq!(
        settings(&w, ALICE)[2].0.as_deref(),
        Some("1000000000000000000")
    );
    // The menu and /help name the new commands.
    let menu: Vec<String> = w.bot.my_commands().into_iter().map(|(c, _)| c).collect();
    for c in ["set", "mute", "unmute"] {
        assert!(menu.iter().any(|m| m == c), "{menu:?}");
    }
    let help = w.say(ALICE, "/help").await;
    assert!(help.contains("/mute") && help.contains("/set"), "{help}");
}

/// The bot's next message to group `chat` after `text` from `user` there.
async fn group_ask(w: &World, chat: i64, user: i64, text: &str) -> String {
    let before = w.bot.sent_to(chat).len();
    w.bot.group_says(chat, user, text);
    let sent = w
        .bot
        .wait_for(WAIT, |all| {
            all.iter().filter(|m| m.chat_id == chat).count() > before
        })
        .await
        .unwrap_or_else(|_| panic!("no reply to {text:?}"));
    (sent.into_iter().filter(|m| m.chat_id == chat))
        .nth(before)
        .unwrap()
        .text
}

/// In a group everyone sees the buttons, but only its administrators
/// (`getChatMember`) may use them or the settings commands: a member's
/// `🔕 Mute 24h` press is answered and changes nothing, as is a member's
/// `/mute`; an administrator's press mutes.
#[actix_rt::test]
async fn in_a_group_only_an_administrator_may_press_mute() {
    const GROUP: i64 = -7070;
    const ADMIN: i64 = 701;
    const MEMBER: i64 = 702;
    let (watched, payer) = (addr('a'), addr('7'));
    let mut w = World::new(Tweaks {
        telegram: "command_limit = 100".into(),
        ..Tweaks::default()
    })
    .await;
    w.bot.set_member(GROUP, ADMIN, "administrator");
    w.bot.set_member(GROUP, MEMBER, "member");
    w.start_daemon();
    let r = group_ask(&w, GROUP, ADMIN, "/start@sim_bot").await;
    assert!(r.contains("Welcome"), "{r}");
    let r = group_ask(&w, GROUP, ADMIN, &format!("/add@sim_bot {watched} Till")).await;
    assert!(r.contains("Now watching"), "{r}");

    let r = group_ask(&w, GROUP, MEMBER, "/mute@sim_bot Till").await;
    assert!(r.contains("Only this group's administrators"), "{r}");
    assert_eq!(
        settings(&w, GROUP)[0].2,
        None,
        "a member's /mute changes nothing"
    );

    let first = w.transfer(TokenSymbol::Usdt, &payer, &watched, 1_000_000);
    let m = notification(&w, GROUP, &first).await;
    let mute = m.callback_data()[0].clone();
    assert!(mute.starts_with("m1:"), "{mute}");

    let query = w.bot.user_presses(MEMBER, GROUP, m.message_id, &mute);
    let answer = w.bot.wait_for_answer(WAIT, &query).await.expect("answered");
    assert!(answer.show_alert, "{answer:?}");
    assert!(
        answer
            .text
            .as_deref()
            .unwrap_or("")
            .contains("Nothing was changed"),
        "{answer:?}"
    );
    assert_eq!(
        settings(&w, GROUP)[0].2,
        None,
        "a member's press changes nothing"
    );
    let second = w.transfer(TokenSymbol::Usdt, &payer, &watched, 2_000_000);
    notification(&w, GROUP, &second).await;

    let query = w.bot.user_presses(ADMIN, GROUP, m.message_id, &mute);
    let answer = w.bot.wait_for_answer(WAIT, &query).await.expect("answered");
    assert!(
        answer
            .text
            .as_deref()
            .unwrap_or("")
            .contains("muted for 24 h"),
        "{answer:?}"
    );
    assert!(
        settings(&w, GROUP)[0].2.is_some(),
        "the administrator's press mutes"
    );
    let third = w.transfer(TokenSymbol::Usdt, &payer, &watched, 3_000_000);
    until("the muted transfer is recorded", || recorded(&w, &third)).await;
    never_sent(&w, GROUP, &third);
}

/// A world watching Ethereum and Tron (a simulated TronGrid, no transfers),
/// ALICE started.
async fn tron_world() -> (World, SimTronGrid) {
    const TRON_KEY: &str = "tron-alerts-key";
    let tron = SimTronGrid::start(SimTronGridOptions {
        valid_keys: vec![TRON_KEY.into()],
        block_time: Some(std::time::Duration::from_millis(200)),
        ..SimTronGridOptions::default()
    })
    .await
    .expect("simulated TronGrid starts");
    let mut w = World::new(Tweaks {
        chains: Some(r#"["ethereum", "tron"]"#),
        telegram: "command_limit = 100".into(),
        extra: format!(
            "\n[tron]\napi_url = \"{}\"\nrequests_per_second = 50\nrequest_timeout = \"2s\"\n",
            tron.base_url()
        ),
        env: vec![("TRONGRID_API_KEY".into(), TRON_KEY.into())],
        ..Tweaks::default()
    })
    .await;
    w.start_daemon();
    w.say(ALICE, "/start").await;
    (w, tron)
}

/// The message to `chat` after its first `before`, once sent: a press is
/// answered at once, the message it asks for follows (see `outgoing`).
async fn sent_after(w: &World, chat: i64, before: usize) -> SentMessage {
    let all = w
        .bot
        .wait_for(WAIT, |all| {
            all.iter().filter(|m| m.chat_id == chat).count() > before
        })
        .await
        .expect("a message follows");
    let mine: Vec<&SentMessage> = all.iter().filter(|m| m.chat_id == chat).collect();
    mine[before].clone()
}

/// The `n`th edit (from 1), once made: edits follow the press's answer.
async fn nth_edit(w: &World, n: usize) -> Option<usdt_monitor::sim::botapi::EditedMessage> {
    let deadline = Instant::now() + WAIT;
    while w.bot.edited().len() < n && Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    w.bot.edited().get(n - 1).cloned()
}

/// ALICE presses a button under `message_id`; its answer.
async fn press(w: &World, message_id: i64, data: &str) -> CallbackAnswer {
    let q = w.bot.user_presses(ALICE, ALICE, message_id, data);
    w.bot.wait_for_answer(WAIT, &q).await.expect("answered")
}

/// `TR7NHq…jLj6t`: how a Tron address is shown where space is short.
fn tron_short(t: &str) -> String {
    format!("{}…{}", &t[..6], &t[t.len() - 5..])
}

#[actix_rt::test]
async fn a_tron_address_reads_in_base58_in_settings_replies_and_button_answers() {
    let (w, _tron) = tron_world().await;
    let (till, unknown) = (addr('c').to_tron(), addr('7').to_tron());
    let reply = w.say(ALICE, &format!("/add {till}")).await;
    assert!(reply.contains("Now watching"), "{reply}");
    let base58_only = |text: &str, t: &str| {
        assert!(text.contains(t) && !text.contains("0x"), "{text}");
    };
    for command in [
        format!("/mute {till}"),
        format!("/set {till} min 5"),
        format!("/set {till} direction in"),
        format!("/unmute {till}"),
    ] {
        base58_only(&w.say(ALICE, &command).await, &till);
    }
    let muted = w.say(ALICE, &format!("/mute {till}")).await;
    assert!(muted.contains("muted until /unmute"), "{muted}");
    let min = w.say(ALICE, &format!("/set {till} min 5")).await;
    assert!(min.contains("below 5"), "{min}");
    // Not watched: the reply names the address as it was typed.
    for command in [format!("/mute {unknown}"), format!("/set {unknown} min 5")] {
        let reply = w.say(ALICE, &command).await;
        assert!(reply.contains("not watching"), "{reply}");
        base58_only(&reply, &unknown);
    }

    // The buttons under /list: named, answered and edited in base58 too.
    w.say(ALICE, "/list").await;
    let list = w.bot.sent_to(ALICE).pop().unwrap();
    let markup = list
        .reply_markup
        .as_ref()
        .map(|m| m.to_string())
        .unwrap_or_default();
    assert!(
        markup.contains(&tron_short(&till)) && !markup.contains("0x"),
        "{markup}"
    );
    let data = list.callback_data();
    let answer = press(&w, list.message_id, &data[1]).await;
    let text = answer.text.unwrap_or_default();
    assert!(text.contains("muted for 24 h"), "{text}");
    base58_only(&text, &tron_short(&till));

    let before = w.bot.sent_to(ALICE).len();
    press(&w, list.message_id, &data[0]).await;
    let confirm = sent_after(&w, ALICE, before).await;
    base58_only(&confirm.text, &till);
    press(&w, confirm.message_id, &confirm.callback_data()[1]).await;
    let edited = nth_edit(&w, 1).await.expect("the confirmation was edited");
    assert!(edited.text.contains("Still watching"), "{edited:?}");
    base58_only(&edited.text, &till);

    let before = w.bot.sent_to(ALICE).len();
    press(&w, list.message_id, &data[0]).await;
    let confirm = sent_after(&w, ALICE, before).await;
    let answer = press(&w, confirm.message_id, &confirm.callback_data()[0]).await;
    assert_eq!(answer.text.as_deref(), Some("Removed."));
    let edited = nth_edit(&w, 2).await.unwrap();
    assert!(edited.text.contains("Stopped watching"), "{edited:?}");
    base58_only(&edited.text, &till);
}
