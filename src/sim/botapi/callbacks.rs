//! Inline keyboards from the users' side: pressing a button makes a
//! `callback_query` update; the bot answers it with `answerCallbackQuery`
//! and may edit the message (`editMessageText`). Shapes as the Bot API
//! documents them; ids and errors as Telegram gives them.

use serde_json::{Map, Value, json};

use super::server::ApiErr;
use super::state::{Shared, State};
use super::updates;

type Params = Map<String, Value>;

/// The most buttons an inline keyboard may have.
pub(crate) const MAX_BUTTONS: usize = 100;

/// One `answerCallbackQuery` the simulator accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackAnswer {
    /// The `callback_query_id` answered.
    pub query_id: String,
    /// The text shown to the user (`None`: nothing shown).
    pub text: Option<String>,
    /// Shown as an alert the user must dismiss, rather than a notification.
    pub show_alert: bool,
}

/// One accepted `editMessageText`.
#[derive(Debug, Clone, PartialEq)]
pub struct EditedMessage {
    pub chat_id: i64,
    pub message_id: i64,
    /// The new text exactly as the bot sent it.
    pub text: String,
    /// The new `reply_markup` (`None`: the keyboard is removed).
    pub reply_markup: Option<Value>,
}

/// The `callback_query` update body for a press of `data` by `user_id` on
/// message `message_id` in `chat_id`, with query id `query_id`. The message
/// is the one the bot sent, when the simulator has it (else an
/// inaccessible message, `date` 0, as Telegram gives for old messages).
pub(crate) fn press(
    st: &State,
    bot_id: i64,
    query_id: &str,
    user_id: i64,
    chat_id: i64,
    message_id: i64,
    data: &str,
) -> Value {
    let message = match st
        .sent
        .iter()
        .rev()
        .find(|m| m.chat_id == chat_id && m.message_id == message_id)
    {
        Some(m) => {
            let mut message = updates::text_message(
                message_id,
                updates::chat(chat_id),
                updates::bot_user(bot_id),
                &m.text,
            );
            if let (Some(markup), Value::Object(map)) = (&m.reply_markup, &mut message) {
                map.insert("reply_markup".into(), markup.clone());
            }
            message
        }
        None => json!({ "chat": updates::chat(chat_id), "message_id": message_id, "date": 0 }),
    };
    json!({
        "callback_query": {
            "id": query_id,
            "from": updates::user(user_id),
            "message": message,
            "chat_instance": format!("ci{chat_id}"),
            "data": data,
        }
    })
}

/// `answerCallbackQuery`: only for a query id the simulator issued, and
/// only once, as on Telegram (later: "query is too old").
pub(crate) fn answer(shared: &Shared, params: &Params) -> Result<Value, ApiErr> {
    let invalid = || {
        ApiErr::new(
            400,
            "Bad Request: query is too old and response timeout expired or query ID is invalid",
        )
    };
    let id = match params.get("callback_query_id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(ApiErr::new(400, "Bad Request: callback_query_id is empty")),
    };
    let text = params
        .get("text")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if text.as_ref().is_some_and(|t| t.chars().count() > 200) {
        return Err(ApiErr::new(400, "Bad Request: MESSAGE_TOO_LONG"));
    }
    let show_alert = match params.get("show_alert") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    let mut st = shared.lock();
    if !st.open_queries.remove(&id) {
        return Err(invalid());
    }
    st.callback_answers.push(CallbackAnswer {
        query_id: id,
        text,
        show_alert,
    });
    drop(st);
    shared.notify_sent();
    Ok(json!(true))
}

/// `editMessageText` of a message the bot sent (by `chat_id` and
/// `message_id`): replaces its text and keyboard.
pub(crate) fn edit_text(shared: &Shared, params: &Params) -> Result<Value, ApiErr> {
    let int = |name: &str| match params.get(name) {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let (Some(chat_id), Some(message_id)) = (int("chat_id"), int("message_id")) else {
        return Err(ApiErr::new(400, "Bad Request: message to edit not found"));
    };
    let text = params.get("text").and_then(Value::as_str).unwrap_or("");
    if text.trim().is_empty() {
        return Err(ApiErr::new(400, "Bad Request: message text is empty"));
    }
    let html = params
        .get("parse_mode")
        .and_then(Value::as_str)
        .is_some_and(|m| m.eq_ignore_ascii_case("html"));
    if html {
        super::html::parse_html(text).map_err(|d| ApiErr::new(400, d))?;
    }
    let reply_markup = markup_param(params)?;
    let mut st = shared.lock();
    let Some(m) = st
        .sent
        .iter_mut()
        .find(|m| m.chat_id == chat_id && m.message_id == message_id)
    else {
        return Err(ApiErr::new(400, "Bad Request: message to edit not found"));
    };
    if m.text == text && m.reply_markup == reply_markup {
        return Err(ApiErr::new(
            400,
            "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
        ));
    }
    m.text = text.to_owned();
    m.reply_markup = reply_markup.clone();
    st.edited.push(EditedMessage {
        chat_id,
        message_id,
        text: text.to_owned(),
        reply_markup,
    });
    drop(st);
    shared.notify_sent();
    Ok(json!({
        "message_id": message_id,
        "date": updates::unix_now(),
        "edit_date": updates::unix_now(),
        "chat": updates::chat(chat_id),
        "from": updates::bot_user(shared.bot_id),
        "text": text,
    }))
}

/// `reply_markup`: inline JSON or JSON in a string; must be an object with
/// an `inline_keyboard` of rows of buttons, each with a `text` and exactly
/// one of `url` / `callback_data` (1–64 bytes), as Telegram checks.
pub(crate) fn markup_param(params: &Params) -> Result<Option<Value>, ApiErr> {
    let markup = match params.get("reply_markup") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => serde_json::from_str(s).map_err(|_| {
            ApiErr::new(
                400,
                "Bad Request: can't parse reply keyboard markup JSON object",
            )
        })?,
        Some(other) => other.clone(),
    };
    let bad = |what: &str| ApiErr::new(400, format!("Bad Request: {what}"));
    let rows = markup
        .get("inline_keyboard")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("can't parse reply keyboard markup JSON object"))?;
    let mut buttons = 0;
    for row in rows {
        for button in row
            .as_array()
            .ok_or_else(|| bad("can't parse inline keyboard button"))?
        {
            buttons += 1;
            if buttons > MAX_BUTTONS {
                return Err(bad("reply markup is too long"));
            }
            let text = button.get("text").and_then(Value::as_str).unwrap_or("");
            if text.is_empty() {
                return Err(bad(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
                ));
            }
            match (button.get("url"), button.get("callback_data")) {
                (Some(Value::String(_)), None) => {}
                (None, Some(Value::String(d))) if (1..=64).contains(&d.len()) => {}
                (None, Some(_)) => return Err(bad("BUTTON_DATA_INVALID")),
                _ => return Err(bad("can't parse inline keyboard button")),
            }
        }
    }
    Ok(Some(markup))
}

#[cfg(test)]
#[path = "callbacks_tests.rs"]
mod tests;
