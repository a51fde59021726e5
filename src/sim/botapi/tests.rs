//! End-to-end tests through the real teloxide-core client (and awc where
//! teloxide's 10 s sleep after a 5xx would slow the suite down).

use std::future::IntoFuture;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use teloxide_core::payloads::{GetUpdatesSetters, SendMessageSetters};
use teloxide_core::requests::{Request, Requester};
use teloxide_core::types::{
    BotCommand, ChatId, ChatMemberKind, LinkPreviewOptions, MessageEntityKind, ParseMode,
    UpdateKind,
};
use teloxide_core::{ApiError, Bot, RequestError};

use super::{ChatFault, SimBotApi, SimBotOptions};

async fn sim() -> SimBotApi {
    SimBotApi::start(SimBotOptions::default())
        .await
        .expect("simulator starts")
}

fn bot(sim: &SimBotApi) -> Bot {
    Bot::new(sim.token()).set_api_url(sim.api_url().parse().expect("valid url"))
}

fn link_preview_off() -> LinkPreviewOptions {
    LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    }
}

#[actix_rt::test]
async fn get_me_and_delete_webhook() {
    let sim = sim().await;
    let bot = bot(&sim);
    let me = bot.get_me().await.expect("getMe");
    assert!(me.is_bot);
    assert_eq!(me.username(), "sim_bot");
    assert_eq!(me.id.0, 123_456);
    assert!(bot.delete_webhook().await.is_ok());
    assert_eq!(sim.calls("getMe"), 1);
    assert_eq!(sim.calls("DELETEWEBHOOK"), 1);
    sim.stop().await;
}

#[actix_rt::test]
async fn user_and_group_messages_arrive_as_messages() {
    let sim = sim().await;
    let bot = bot(&sim);
    sim.user_says(42, "/start now");
    sim.group_says(-100, 42, "hello group");
    let updates = bot.get_updates().await.expect("getUpdates");
    assert_eq!(updates.len(), 2);

    let UpdateKind::Message(m) = &updates[0].kind else {
        panic!("not a message: {:?}", updates[0].kind);
    };
    assert_eq!(m.text(), Some("/start now"));
    assert_eq!(m.chat.id, ChatId(42));
    assert!(m.chat.is_private());
    assert_eq!(m.chat.username(), Some("user42"));
    let from = m.from.as_ref().expect("from");
    assert_eq!(from.first_name, "User42");
    assert_eq!(from.language_code.as_deref(), Some("en"));
    let entity = &m.entities().expect("entities")[0];
    assert_eq!(entity.kind, MessageEntityKind::BotCommand);
    assert_eq!((entity.offset, entity.length), (0, 6));

    let UpdateKind::Message(g) = &updates[1].kind else {
        panic!("not a message: {:?}", updates[1].kind);
    };
    assert!(g.chat.is_group());
    assert_eq!(g.chat.id, ChatId(-100));
    assert!(g.entities().is_none_or(|e| e.is_empty()));
    sim.stop().await;
}

#[actix_rt::test]
async fn offset_confirms_and_drops_updates() {
    let sim = sim().await;
    let bot = bot(&sim);
    let ids: Vec<i64> = (0..3).map(|i| sim.user_says(7, &format!("m{i}"))).collect();
    assert_eq!(sim.pending_updates(), 3);

    let offset = i32::try_from(ids[1]).expect("small id");
    let updates = bot.get_updates().offset(offset).await.expect("getUpdates");
    assert_eq!(updates.len(), 2);
    assert_eq!(i64::from(updates[0].id.0), ids[1]);
    assert_eq!(sim.confirmed_offset(), ids[1]);
    assert_eq!(sim.pending_updates(), 2);

    let next = i32::try_from(ids[2] + 1).expect("small id");
    let updates = bot.get_updates().offset(next).await.expect("getUpdates");
    assert!(updates.is_empty());
    assert_eq!(sim.pending_updates(), 0);

    let limited = {
        (0..5).for_each(|_| {
            sim.user_says(7, "x");
        });
        bot.get_updates().offset(next).limit(2).await
    };
    assert_eq!(limited.expect("getUpdates").len(), 2);
    sim.stop().await;
}

#[actix_rt::test]
async fn long_poll_returns_as_soon_as_a_message_arrives() {
    let sim = sim().await;
    let bot = bot(&sim);
    let injector = sim.clone();
    actix_rt::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        injector.user_says(9, "/help");
    });
    let started = Instant::now();
    let updates = bot.get_updates().timeout(10).await.expect("getUpdates");
    let elapsed = started.elapsed();
    assert_eq!(updates.len(), 1);
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");

    // With nothing queued, the poll lasts its timeout and answers [].
    let next = i32::try_from(updates[0].id.0 + 1).expect("small id");
    let started = Instant::now();
    let empty = bot
        .get_updates()
        .offset(next)
        .timeout(1)
        .await
        .expect("getUpdates");
    assert!(empty.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(900));
    sim.stop().await;
}

#[actix_rt::test]
async fn a_second_poller_terminates_the_first_and_stop_ends_polls() {
    let sim = sim().await;
    let bot = bot(&sim);
    let first = bot.get_updates().timeout(10).send();
    let first = actix_rt::spawn(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = actix_rt::spawn(bot.get_updates().timeout(10).send());
    let first = first.await.expect("task");
    assert!(
        matches!(
            first,
            Err(RequestError::Api(ApiError::TerminatedByOtherGetUpdates))
        ),
        "{first:?}"
    );
    let started = Instant::now();
    sim.stop().await;
    let second = second.await.expect("task");
    assert!(matches!(second.as_deref(), Ok([])), "{second:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[actix_rt::test]
async fn my_chat_member_kicked_and_member() {
    let sim = sim().await;
    let bot = bot(&sim);
    sim.chat_member(5, "kicked");
    sim.chat_member(5, "member");
    let updates = bot.get_updates().await.expect("getUpdates");
    let kinds: Vec<_> = updates
        .iter()
        .map(|u| match &u.kind {
            UpdateKind::MyChatMember(c) => {
                assert_eq!(c.chat.id, ChatId(5));
                assert_eq!(c.from.id.0, 5);
                assert_eq!(c.new_chat_member.user.id.0, 123_456);
                (
                    c.old_chat_member.kind.clone(),
                    c.new_chat_member.kind.clone(),
                )
            }
            other => panic!("not my_chat_member: {other:?}"),
        })
        .collect();
    assert!(matches!(
        kinds[0],
        (ChatMemberKind::Member(_), ChatMemberKind::Banned(_))
    ));
    assert!(matches!(
        kinds[1],
        (ChatMemberKind::Banned(_), ChatMemberKind::Member(_))
    ));
    sim.stop().await;
}

#[actix_rt::test]
async fn send_message_is_recorded() {
    let sim = sim().await;
    let bot = bot(&sim);
    let message = bot
        .send_message(
            ChatId(42),
            "<b>1.00 USDT</b> from <code>0xabc</code> &amp; co",
        )
        .parse_mode(ParseMode::Html)
        .link_preview_options(link_preview_off())
        .await
        .expect("sendMessage");
    assert_eq!(message.chat.id, ChatId(42));
    assert_eq!(message.text(), Some("1.00 USDT from 0xabc & co"));
    assert!(message.from.as_ref().is_some_and(|u| u.is_bot));

    bot.send_message(ChatId(43), "plain").await.expect("plain");
    let sent = sim.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].seq, 1);
    assert_eq!(sent[0].message_id, i64::from(message.id.0));
    assert_eq!(sent[0].parse_mode.as_deref(), Some("HTML"));
    assert!(sent[0].link_preview_disabled);
    assert!(sent[0].text.starts_with("<b>1.00 USDT</b>"));
    assert_eq!(sent[1].parse_mode, None);
    assert!(!sent[1].link_preview_disabled);
    assert_eq!(sim.sent_to(43).len(), 1);
    sim.stop().await;
}

#[actix_rt::test]
async fn flood_gives_retry_after() {
    let sim = sim().await;
    let bot = bot(&sim);
    let results = join_all((0..5).map(|i| {
        bot.send_message(ChatId(77), format!("burst {i}"))
            .into_future()
    }))
    .await;
    let accepted = results.iter().filter(|r| r.is_ok()).count();
    let retry: Vec<u32> = results
        .iter()
        .filter_map(|r| match r {
            Err(RequestError::RetryAfter(secs)) => Some(secs.seconds()),
            _ => None,
        })
        .collect();
    assert_eq!(accepted, 3, "{results:?}");
    assert_eq!(retry, vec![1, 1]);
    assert_eq!(sim.rejected_429(), 2);
    assert_eq!(sim.sent_to(77).len(), 3);
    // Another chat is not affected by this chat's bucket.
    assert!(bot.send_message(ChatId(78), "other").await.is_ok());
    sim.stop().await;
}

#[actix_rt::test]
async fn blocked_and_failing_chats() {
    let sim = sim().await;
    let bot = bot(&sim);
    sim.block_chat(5, true);
    let err = bot.send_message(ChatId(5), "hi").await;
    assert!(
        matches!(err, Err(RequestError::Api(ApiError::BotBlocked))),
        "{err:?}"
    );
    sim.block_chat(5, false);
    assert!(bot.send_message(ChatId(5), "hi").await.is_ok());

    sim.fail_chat(6, Some("Bad Request: chat not found"));
    let err = bot.send_message(ChatId(6), "hi").await;
    assert!(
        matches!(err, Err(RequestError::Api(ApiError::ChatNotFound))),
        "{err:?}"
    );
    sim.fail_chat(6, None);
    assert!(bot.send_message(ChatId(6), "hi").await.is_ok());
    assert_eq!(sim.sent().len(), 2);
    sim.stop().await;
}

#[actix_rt::test]
async fn bad_html_and_long_text_are_rejected() {
    let sim = sim().await;
    let bot = bot(&sim);
    for text in ["label <script>", "Tom & Jerry", "<b>open"] {
        let err = bot
            .send_message(ChatId(1), text)
            .parse_mode(ParseMode::Html)
            .await;
        assert!(
            matches!(err, Err(RequestError::Api(ApiError::CantParseEntities(_)))),
            "{text}: {err:?}"
        );
    }
    // Without a parse mode the same text is fine.
    assert!(bot.send_message(ChatId(1), "Tom & Jerry").await.is_ok());

    let err = bot.send_message(ChatId(2), "x".repeat(4097)).await;
    assert!(
        matches!(err, Err(RequestError::Api(ApiError::MessageIsTooLong))),
        "{err:?}"
    );
    // The limit applies after entity parsing.
    let ok = bot
        .send_message(ChatId(2), format!("<b>{}</b>", "&amp;".repeat(4096)))
        .parse_mode(ParseMode::Html)
        .await;
    assert!(ok.is_ok(), "{ok:?}");
    sim.stop().await;
}

#[actix_rt::test]
async fn wrong_token_is_unauthorized() {
    let sim = sim().await;
    let bad = Bot::new("999:wrong").set_api_url(sim.api_url().parse().expect("valid url"));
    let err = bad.get_me().await;
    assert!(
        matches!(err, Err(RequestError::Api(ApiError::InvalidToken))),
        "{err:?}"
    );
    assert_eq!(sim.calls("getMe"), 0);
    sim.stop().await;
}

#[actix_rt::test]
async fn set_my_commands_is_recorded_and_validated() {
    let sim = sim().await;
    let bot = bot(&sim);
    bot.set_my_commands(vec![
        BotCommand::new("start", "Subscribe"),
        BotCommand::new("add", "Watch an address"),
    ])
    .await
    .expect("setMyCommands");
    assert_eq!(
        sim.my_commands(),
        vec![
            ("start".to_owned(), "Subscribe".to_owned()),
            ("add".to_owned(), "Watch an address".to_owned()),
        ]
    );
    let listed = bot.get_my_commands().await.expect("getMyCommands");
    assert_eq!(listed.len(), 2);
    let err = bot
        .set_my_commands(vec![BotCommand::new("Bad-Name", "x")])
        .await;
    assert!(err.is_err());
    assert_eq!(sim.my_commands().len(), 2);
    sim.stop().await;
}

#[actix_rt::test]
async fn server_errors_unknown_methods_and_forms_over_plain_http() {
    // awc's rustls connector needs a process-wide crypto provider, even for
    // plain http; another test may have installed it already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = sim().await;
    let client = awc::Client::default();
    let url = |method: &str| format!("{}/bot{}/{method}", sim.api_url(), sim.token());

    sim.set_server_errors(2);
    for _ in 0..2 {
        let mut res = client.post(url("getMe")).send().await.expect("http");
        assert_eq!(res.status().as_u16(), 502);
        let body: serde_json::Value = res.json().await.expect("json");
        assert_eq!(body["error_code"], 502);
        assert_eq!(body["description"], "Bad Gateway");
    }
    let mut res = client.get(url("getMe")).send().await.expect("http");
    assert_eq!(res.status().as_u16(), 200);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["result"]["username"], "sim_bot");
    assert_eq!(sim.calls("getme"), 3);

    let mut res = client.post(url("noSuchMethod")).send().await.expect("http");
    assert_eq!(res.status().as_u16(), 404);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["description"], "Not Found: method not found");

    let res = client
        .post(url("sendMessage"))
        .send_form(&[
            ("chat_id", "12"),
            ("text", "via form"),
            ("disable_web_page_preview", "true"),
        ])
        .await
        .expect("http");
    assert_eq!(res.status().as_u16(), 200);
    let sent = sim.sent_to(12);
    assert_eq!(sent[0].text, "via form");
    assert!(sent[0].link_preview_disabled);

    let mut res = client
        .get(format!("{}/bot1:other/getMe", sim.api_url()))
        .send()
        .await
        .expect("http");
    assert_eq!(res.status().as_u16(), 401);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["description"], "Unauthorized");
    sim.stop().await;
}

#[actix_rt::test]
async fn wait_for_resolves_on_send_and_times_out() {
    let sim = sim().await;
    let bot = bot(&sim);
    let sender = actix_rt::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        bot.send_message(ChatId(3), "one").await.expect("send");
        bot.send_message(ChatId(3), "two").await.expect("send");
    });
    let started = Instant::now();
    let got = sim
        .wait_for(Duration::from_secs(5), |s| s.len() >= 2)
        .await
        .expect("two messages");
    assert_eq!(got[1].text, "two");
    assert!(started.elapsed() < Duration::from_secs(3));
    sender.await.expect("sender");

    let started = Instant::now();
    let timed_out = sim
        .wait_for(Duration::from_millis(100), |s| s.len() >= 3)
        .await;
    assert_eq!(timed_out.expect_err("only two").len(), 2);
    assert!(started.elapsed() < Duration::from_secs(2));
    sim.stop().await;
}

#[test]
fn handle_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<SimBotApi>();
}

/// How the daemon should build its client when its long poll approaches
/// teloxide's default 17 s request timeout: reqwest is reachable through
/// `teloxide_core::net` without depending on it directly.
#[actix_rt::test]
async fn custom_client_with_longer_timeout_and_raw_updates() {
    let sim = sim().await;
    let client = teloxide_core::net::default_reqwest_settings()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("reqwest client");
    let bot = Bot::with_client(sim.token(), client)
        .set_api_url(sim.api_url().parse().expect("valid url"));
    sim.push_raw_update(serde_json::json!({
        "edited_message": {
            "message_id": 1, "date": 0, "edit_date": 1,
            "chat": { "id": 4, "type": "private", "first_name": "U" },
            "text": "edited",
        }
    }));
    let updates = bot.get_updates().timeout(1).await.expect("getUpdates");
    assert!(
        matches!(&updates[0].kind, UpdateKind::EditedMessage(m) if m.text() == Some("edited")),
        "{updates:?}"
    );
    sim.stop().await;
}

/// Documents what the daemon sees on a 5xx: teloxide-core sleeps 10 s, then
/// reports the description as `ApiError::Unknown`. Slow, hence ignored; run
/// with `cargo test --lib sim::botapi -- --ignored`.
#[actix_rt::test]
async fn teloxide_sees_502_as_unknown_after_ten_seconds() {
    let sim = sim().await;
    let bot = bot(&sim);
    sim.set_server_errors(1);
    let started = Instant::now();
    let err = bot.get_me().await;
    assert!(started.elapsed() >= Duration::from_secs(10));
    assert!(
        matches!(&err, Err(RequestError::Api(ApiError::Unknown(d))) if d == "Bad Gateway"),
        "{err:?}"
    );
    assert!(bot.get_me().await.is_ok());
    sim.stop().await;
}

/// The kind `4xx_classification`: chat faults come in the Bot API's shape
/// (`error_code`, `description`, `parameters`), and the daemon's client
/// reads them so.
#[actix_rt::test]
async fn chat_faults_answer_in_the_bot_api_shape() {
    use crate::telegram::bot::{TgError, send_html};
    let sim = sim().await;
    let bot = bot(&sim);
    sim.fail_chat_with(6, Some(ChatFault::migrated(-100_777)));
    let err = bot.send_message(ChatId(6), "hi").await;
    assert!(
        matches!(err, Err(RequestError::MigrateToChatId(ChatId(-100_777)))),
        "{err:?}"
    );
    assert_eq!(
        send_html(&bot, 6, "hi").await,
        Err(TgError::Migrated(-100_777))
    );
    for fault in [
        ChatFault::chat_not_found(),
        ChatFault::user_deactivated(),
        ChatFault::kicked(),
        ChatFault::cant_initiate(),
    ] {
        sim.fail_chat_with(6, Some(fault.clone()));
        let err = send_html(&bot, 6, "hi").await;
        assert!(
            matches!(err, Err(TgError::ChatUnreachable(_))),
            "{fault:?}: {err:?}"
        );
    }
    sim.fail_chat_with(6, Some(ChatFault::not_enough_rights()));
    assert!(matches!(
        send_html(&bot, 6, "hi").await,
        Err(TgError::NoRights(_))
    ));
    sim.fail_chat(6, None);
    assert_eq!(send_html(&bot, 6, "hi").await, Ok(()));
    assert_eq!(sim.sent().len(), 1);
    sim.stop().await;
}

/// The kind `long_reply`: the limit is 4 096 UTF-16 code units of the
/// parsed text, as on Telegram.
#[actix_rt::test]
async fn the_length_limit_counts_utf16_units_after_parsing() {
    use crate::telegram::bot::{TgError, send_html};
    let sim = sim().await;
    let bot = bot(&sim);
    // 2 049 emoji are 4 098 units (2 049 characters).
    let err = send_html(&bot, 2, &"😀".repeat(2049)).await;
    assert!(matches!(err, Err(TgError::TooLong(_))), "{err:?}");
    assert_eq!(send_html(&bot, 2, &"😀".repeat(2048)).await, Ok(()));
    let tagged = format!("<b>{}</b>", "&lt;".repeat(4096));
    assert_eq!(send_html(&bot, 2, &tagged).await, Ok(()));
    sim.stop().await;
}

/// The kind `ambiguous_send`: the message is recorded, the answer comes
/// after the client gave up; the next one is answered at once.
#[actix_rt::test]
async fn a_late_answer_is_recorded_while_the_client_times_out() {
    use crate::config::TelegramConfig;
    use crate::telegram::bot::{TgError, build, send_html};
    let sim = sim().await;
    let config = TelegramConfig {
        api_url: sim.api_url(),
        send_timeout: Duration::from_millis(300),
        ..TelegramConfig::default()
    };
    let bots = build(&config, sim.token()).unwrap();
    sim.set_answer_after_timeout(1, Duration::from_secs(30));
    let err = send_html(&bots.sender, 3, "hi").await;
    assert_eq!(err, Err(TgError::AnswerLost("timeout")));
    assert_eq!(sim.sent_to(3).len(), 1, "recorded although unanswered");
    assert_eq!(send_html(&bots.sender, 3, "again").await, Ok(()));
    assert_eq!(sim.sent_to(3).len(), 2);
    let late: Vec<String> = sim.answered_late().into_iter().map(|m| m.text).collect();
    assert_eq!(late, ["hi"], "only the first was answered late");
    sim.stop().await;
}

/// Nothing listens: a connect error, nothing was sent, safe to retry.
#[actix_rt::test]
async fn a_connect_error_is_not_ambiguous() {
    use crate::config::TelegramConfig;
    use crate::telegram::bot::{TgError, build, send_html};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let config = TelegramConfig {
        api_url: format!("http://127.0.0.1:{port}"),
        ..TelegramConfig::default()
    };
    let bots = build(&config, "1:t").unwrap();
    let err = send_html(&bots.sender, 3, "hi").await.unwrap_err();
    assert_eq!(err, TgError::Network("cannot connect"));
    assert!(err.is_transient() && !err.is_ambiguous());
}

/// Groups: `getChatMember` statuses, the bot added and removed, an
/// anonymous administrator and a migration all parse as teloxide-core's
/// types; a migrated group answers sends with `migrate_to_chat_id`.
#[actix_rt::test]
async fn group_members_membership_and_migration_in_the_bot_api_shapes() {
    use teloxide_core::types::UserId;
    let sim = sim().await;
    let bot = bot(&sim);
    let group = -4242;
    sim.set_member(group, 11, "administrator");
    sim.set_member(group, 12, "creator");
    let kind = |user: u64| {
        let bot = bot.clone();
        async move {
            bot.get_chat_member(ChatId(group), UserId(user))
                .await
                .expect("getChatMember")
                .kind
        }
    };
    assert!(kind(11).await.is_administrator());
    assert!(kind(12).await.is_owner());
    assert!(!kind(13).await.is_privileged(), "anyone else is a member");

    sim.bot_in_group(group, 11, "left", "member");
    sim.group_says_as_group(group, "/list");
    let new_id = -1_000_000_004_242;
    sim.migrate_group(group, new_id, true);
    let updates = bot.get_updates().await.expect("getUpdates");
    assert_eq!(updates.len(), 4);
    let UpdateKind::MyChatMember(m) = &updates[0].kind else {
        panic!("{:?}", updates[0].kind)
    };
    assert!(m.chat.is_group() && m.new_chat_member.kind.is_present());
    let UpdateKind::Message(m) = &updates[1].kind else {
        panic!("{:?}", updates[1].kind)
    };
    assert_eq!(m.sender_chat.as_ref().map(|c| c.id), Some(ChatId(group)));
    let UpdateKind::Message(m) = &updates[2].kind else {
        panic!("{:?}", updates[2].kind)
    };
    assert_eq!(m.migrate_to_chat_id(), Some(&ChatId(new_id)));
    let UpdateKind::Message(m) = &updates[3].kind else {
        panic!("{:?}", updates[3].kind)
    };
    assert!(m.chat.is_supergroup());
    assert_eq!(m.migrate_from_chat_id(), Some(&ChatId(group)));
    match bot.send_message(ChatId(group), "hi").await {
        Err(RequestError::MigrateToChatId(to)) => assert_eq!(to, ChatId(new_id)),
        other => panic!("{other:?}"),
    }
    assert!(bot.send_message(ChatId(new_id), "hi").await.is_ok());
    sim.bot_in_group(new_id, 11, "member", "kicked");
    assert!(bot.send_message(ChatId(new_id), "hi").await.is_err());
    sim.stop().await;
}

/// The kind `group_rate`: a group is refused with a real 429 and
/// `retry_after` past 20 messages in a minute.
#[actix_rt::test]
async fn a_group_past_20_messages_a_minute_gets_a_429() {
    let sim = SimBotApi::start(SimBotOptions {
        per_chat_per_sec: 0.0,
        ..SimBotOptions::default()
    })
    .await
    .expect("simulator starts");
    let bot = bot(&sim);
    for _ in 0..20 {
        bot.send_message(ChatId(-7), "hi")
            .await
            .expect("within the limit");
    }
    match bot.send_message(ChatId(-7), "hi").await {
        Err(RequestError::RetryAfter(secs)) => assert!(secs.seconds() >= 1),
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.rejected_429(), 1);
    sim.stop().await;
}
