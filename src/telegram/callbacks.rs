//! Button presses (`callback_query` updates): validated like any outside
//! input ([`super::callback_data`]), checked with
//! [`may_change_settings`] (an access request's Approve / Deny: by
//! [`super::access::decide`]), applied, and always answered with
//! `answerCallbackQuery` saying what happened — Telegram shows a spinner on
//! the button until then, and refuses an answer that comes too late ("query
//! is too old"). The answer is never paced and never waits for a message:
//! edits and confirmations are queued (see [`outgoing`](super::outgoing)).

use teloxide_core::payloads::AnswerCallbackQuerySetters;
use teloxide_core::prelude::Requester;
use teloxide_core::types::{CallbackQuery, CallbackQueryId};

use std::time::Instant;

use super::bot::TgError;
use super::callback_data::{Action, BUTTON_MUTE_SECS};
use super::commands::limit::Verdict;
use super::commands::settings::{refused, unresolved};
use super::commands::user::RemoveWatch;
use super::outgoing::Job;
use super::permission::{Permission, may_change_settings};
use super::{Core, replies};
use crate::db::settings::{MuteSubscription, SubscriptionAddress, Target, Watched};

/// One press of an inline button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Press {
    /// The callback query id, to answer.
    pub query_id: String,
    pub user_id: i64,
    /// The chat of the message the button is under (the user's id when
    /// the message is unknown, e.g. an inline message).
    pub chat_id: i64,
    /// The message the button is under, when known.
    pub message_id: Option<i32>,
    pub data: Option<String>,
}

impl Press {
    /// From a Bot API `CallbackQuery`; `None` if the user id does not fit.
    pub fn from_query(q: CallbackQuery) -> Option<Press> {
        let user_id = i64::try_from(q.from.id.0).ok()?;
        let (chat_id, message_id) = match &q.message {
            Some(m) => (m.chat().id.0, Some(m.id().0)),
            None => (user_id, None),
        };
        Some(Press {
            query_id: q.id.0,
            user_id,
            chat_id,
            message_id,
            data: q.data,
        })
    }
}

const STALE: &str = "This button is out of date (or not one of mine). Nothing was changed.";

/// Handles one press and answers it. Presses count against the presser's
/// command limit (admins aside), like commands.
pub async fn handle(core: &Core, press: Press) {
    let limited = !core.is_admin(press.user_id)
        && matches!(
            core.limiter
                .borrow_mut()
                .check((press.chat_id, press.user_id), Instant::now()),
            Verdict::Refuse { .. }
        );
    let (text, alert) = if limited {
        (
            "Too many commands and presses; please wait a minute. Nothing was changed.".into(),
            true,
        )
    } else {
        act(core, &press).await
    };
    let answer = core
        .sender
        .answer_callback_query(CallbackQueryId(press.query_id.clone()))
        .text(text)
        .show_alert(alert)
        .await
        .map_err(TgError::from);
    if let Err(e) = answer {
        tracing::warn!(actor = "telegram", chat = press.chat_id, error = %e, "button press not answered");
    }
}

/// Does what the press asks; returns the answer's text (plain, at most 200
/// characters) and whether to show it as an alert.
async fn act(core: &Core, press: &Press) -> (String, bool) {
    let action = press.data.as_deref().and_then(Action::decode);
    let (Some(action), Some(message_id)) = (action, press.message_id) else {
        tracing::debug!(
            actor = "telegram",
            chat = press.chat_id,
            "unknown button data"
        );
        return (STALE.into(), true);
    };
    let chat = press.chat_id;
    if let Action::Approve(asking) | Action::Deny(asking) = action {
        let approve = matches!(action, Action::Approve(_));
        let (text, alert, decided) =
            super::access::decide(core, press.user_id, chat, asking, approve).await;
        if let Some(decided) = decided {
            edit(core, chat, message_id, &decided).await;
        }
        return (text, alert);
    }
    match may_change_settings(core, chat, press.user_id).await {
        Permission::Allowed => {}
        Permission::NotAdmin => return (strip_tags(&refused()), true),
        Permission::Unknown(_) => return (strip_tags(&replies::rights_unknown()), true),
    }
    let db = &core.deps.db;
    let failed = |e: crate::db::DbError| {
        tracing::error!(actor = "telegram", chat, error = %e, "button press failed");
        (
            "Something went wrong on my side; please try again in a minute.".to_string(),
            true,
        )
    };
    let lookup = |id| SubscriptionAddress {
        chat_id: chat,
        subscription_id: id,
    };
    match action {
        Action::Mute24h(id) => {
            let request = MuteSubscription {
                chat_id: chat,
                subscription_id: id,
                secs: BUTTON_MUTE_SECS,
            };
            match db.exec(request).await {
                Ok(Some((watched, label))) => (
                    format!(
                        "🔕 {} muted for 24 h. /unmute to hear it again.",
                        plain_name(&watched, label.as_deref())
                    ),
                    false,
                ),
                Ok(None) => (STALE.into(), true),
                Err(e) => failed(e),
            }
        }
        Action::AskRemove(id) => match db.exec(lookup(id)).await {
            Ok(Some((w, label))) => {
                let text = format!(
                    "Stop watching {}?",
                    replies::named(w.kind, &w.address, label.as_deref())
                );
                let markup = serde_json::json!({ "inline_keyboard": [[
                    { "text": "Yes, remove", "callback_data": Action::Remove(id).encode() },
                    { "text": "Cancel", "callback_data": Action::Cancel(id).encode() },
                ]] });
                // Queued, not awaited: the press is answered now, whatever
                // the chat's pacing (see `outgoing`).
                let job = Job::Send {
                    text,
                    markup: Some(markup.to_string()),
                };
                core.outgoing.push(chat, job);
                ("Please confirm below.".into(), false)
            }
            Ok(None) => (STALE.into(), true),
            Err(e) => failed(e),
        },
        Action::Remove(id) => {
            let watched = match db.exec(lookup(id)).await {
                Ok(Some((watched, _))) => watched,
                Ok(None) => return (STALE.into(), true),
                Err(e) => return failed(e),
            };
            let request = RemoveWatch {
                chat_id: chat,
                target: Target::Address(watched.address, watched.kind),
                chain_ids: None,
            };
            match db.exec(request).await {
                Ok(Ok((w, ids))) if !ids.is_empty() => {
                    edit(
                        core,
                        chat,
                        message_id,
                        &replies::removed(w.kind, &w.address, &ids),
                    )
                    .await;
                    ("Removed.".into(), false)
                }
                Ok(Ok(_)) => (STALE.into(), true),
                Ok(Err(u)) => (strip_tags(&unresolved(&u)), true),
                Err(e) => failed(e),
            }
        }
        Action::Cancel(id) => match db.exec(lookup(id)).await {
            Ok(Some((w, label))) => {
                let text = format!(
                    "Still watching {}.",
                    replies::named(w.kind, &w.address, label.as_deref())
                );
                edit(core, chat, message_id, &text).await;
                ("Nothing was removed.".into(), false)
            }
            Ok(None) => (STALE.into(), true),
            Err(e) => failed(e),
        },
        // Handled above.
        Action::Approve(_) | Action::Deny(_) => (STALE.into(), true),
    }
}

/// Replaces a message's text (and removes its buttons), paced like a send:
/// queued (see [`outgoing`](super::outgoing)), so the press is answered
/// without waiting for the chat's turn.
async fn edit(core: &Core, chat: i64, message_id: i32, text: &str) {
    let job = Job::Edit {
        message_id,
        text: text.to_owned(),
    };
    core.outgoing.push(chat, job);
}

/// `label (0x1234…abcd)` or `label (TR7NHq…jLj6t)` as plain text (an
/// answer is not HTML), clipped.
fn plain_name(watched: &Watched, label: Option<&str>) -> String {
    let short = watched.kind.short(&watched.address);
    match label {
        Some(l) => format!("{} ({short})", l.chars().take(32).collect::<String>()),
        None => short,
    }
}

/// An HTML reply as plain text: tags dropped, the few entities decoded.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    out.chars().take(200).collect()
}
