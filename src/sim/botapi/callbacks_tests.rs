//! Inline keyboards and callback queries through the real teloxide-core
//! client: the shapes it reads, and the errors Telegram gives.

use teloxide_core::payloads::{AnswerCallbackQuerySetters, GetUpdatesSetters, SendMessageSetters};
use teloxide_core::requests::Requester;
use teloxide_core::types::{
    CallbackQueryId, ChatId, InlineKeyboardButton, InlineKeyboardMarkup, MessageId, UpdateKind,
};
use teloxide_core::{ApiError, Bot, RequestError};

use super::super::{SimBotApi, SimBotOptions};

fn bot(sim: &SimBotApi) -> Bot {
    Bot::new(sim.token()).set_api_url(sim.api_url().parse().expect("valid url"))
}

fn keyboard(data: &str) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([[
        InlineKeyboardButton::url("Explorer", "https://etherscan.io/tx/0x1".parse().unwrap()),
        InlineKeyboardButton::callback("Mute", data),
    ]])
}

fn bad_request(e: RequestError) -> String {
    match e {
        RequestError::Api(ApiError::Unknown(d)) => d,
        RequestError::Api(other) => other.to_string(),
        other => panic!("not an API error: {other}"),
    }
}

#[actix_rt::test]
async fn a_press_arrives_as_a_callback_query_and_is_answered_once() {
    let sim = SimBotApi::start(SimBotOptions::default()).await.unwrap();
    let bot = bot(&sim);
    let sent = bot
        .send_message(ChatId(42), "hello")
        .reply_markup(keyboard("m1:7:24h"))
        .await
        .unwrap();
    let recorded = sim.sent_to(42).remove(0);
    assert_eq!(recorded.callback_data(), ["m1:7:24h"]);
    assert_eq!(recorded.button_urls(), ["https://etherscan.io/tx/0x1"]);

    let query = sim.user_presses(43, 42, i64::from(sent.id.0), "m1:7:24h");
    let updates = bot.get_updates().await.unwrap();
    let UpdateKind::CallbackQuery(q) = &updates[0].kind else {
        panic!("{:?}", updates[0].kind)
    };
    assert_eq!(q.id.0, query);
    assert_eq!(q.from.id.0, 43);
    assert_eq!(q.data.as_deref(), Some("m1:7:24h"));
    let message = q.message.as_ref().unwrap();
    assert_eq!((message.chat().id.0, message.id()), (42, sent.id));

    bot.answer_callback_query(CallbackQueryId(query.clone()))
        .text("Muted")
        .show_alert(true)
        .await
        .unwrap();
    let answers = sim.callback_answers();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].text.as_deref(), Some("Muted"));
    assert!(answers[0].show_alert);
    // Answered already, or never issued: refused as Telegram does.
    for id in [query, "cq999".to_string()] {
        let e = bot
            .answer_callback_query(CallbackQueryId(id))
            .await
            .unwrap_err();
        assert!(bad_request(e).contains("query is too old"));
    }
    // A press on a message the simulator does not know: inaccessible.
    sim.user_presses(42, 42, 999, "x");
    let updates = bot
        .get_updates()
        .offset(updates[0].id.as_offset())
        .await
        .unwrap();
    let UpdateKind::CallbackQuery(q) = &updates[0].kind else {
        panic!("{:?}", updates[0].kind)
    };
    assert!(q.message.as_ref().unwrap().regular_message().is_none());
    sim.stop().await;
}

#[actix_rt::test]
async fn edits_and_keyboards_are_checked_like_telegram() {
    let sim = SimBotApi::start(SimBotOptions::default()).await.unwrap();
    let bot = bot(&sim);
    let sent = bot
        .send_message(ChatId(42), "Remove?")
        .reply_markup(keyboard("y1:1"))
        .await
        .unwrap();
    bot.edit_message_text(ChatId(42), sent.id, "Removed")
        .await
        .unwrap();
    let edited = sim.edited();
    assert_eq!(edited.len(), 1);
    assert_eq!(edited[0].text, "Removed");
    assert_eq!(edited[0].reply_markup, None, "the keyboard is gone");
    assert_eq!(sim.sent_to(42)[0].text, "Removed");
    let e = bot
        .edit_message_text(ChatId(42), sent.id, "Removed")
        .await
        .unwrap_err();
    assert!(bad_request(e).contains("message is not modified"));
    let e = bot
        .edit_message_text(ChatId(42), MessageId(999), "x")
        .await
        .unwrap_err();
    assert!(bad_request(e).contains("message to edit not found"));

    let e = bot
        .send_message(ChatId(42), "x")
        .reply_markup(keyboard(&"d".repeat(65)))
        .await
        .unwrap_err();
    assert!(bad_request(e).contains("BUTTON_DATA_INVALID"));
    let rows: Vec<Vec<InlineKeyboardButton>> = (0..51)
        .map(|i| {
            vec![
                InlineKeyboardButton::callback("a", format!("a{i}")),
                InlineKeyboardButton::callback("b", format!("b{i}")),
            ]
        })
        .collect();
    let e = bot
        .send_message(ChatId(42), "x")
        .reply_markup(InlineKeyboardMarkup::new(rows))
        .await
        .unwrap_err();
    assert!(bad_request(e).contains("reply markup is too long"));
    assert_eq!(
        sim.sent_to(42).len(),
        1,
        "refused messages are not recorded"
    );
    sim.stop().await;
}
