//! Who may use the bot (`telegram.registration`), decided before a command
//! is handled, when the bot is added to a group, and by the admins'
//! Approve / Deny buttons.
//!
//! * Admins are always allowed, in any chat.
//! * `open`: anyone, up to `telegram.max_chats` chats.
//! * `allowlist`: a chat whose id, or whose sender's user id, is in
//!   `telegram.allowed`; anyone else gets one reply and nothing is stored.
//! * `approval`: a chat the bot does not know asks with `/start` (or by
//!   adding the bot to a group: the user who added it asks). The chat is
//!   stored as pending and one message with Approve / Deny buttons is
//!   queued in the outbox for every admin, in one transaction
//!   ([`Admit`]); until an admin decides, the chat's commands other than
//!   `/help` are answered "waiting for approval", and it gets no
//!   notifications. The decision ([`DecideAccess`]) is told to the chat
//!   through the outbox too.
//!
//! The state is in `chats.access` (`src/db/access.rs`); the words are here
//! and in [`replies`].

use super::callback_data::Action;
use super::{Core, replies};
use crate::config::Registration;
use crate::db::access::{
    Access, Admission, Admit, Applicant, ApprovalRequest, ChatAccess, DecideAccess, Decision,
    FormerIds,
};

/// Whether a chat may go on, or the one reply it gets instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Handle the command; `new`: the chat was registered just now (its
    /// first contact: "Welcome", not "Welcome back").
    Go { new: bool },
    /// Answer this and stop.
    Refuse(String),
    /// Say nothing and stop (the chat was told already).
    Quiet,
}

/// How a chat came to the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// `/start`: asks for access when approval is needed.
    Start,
    /// `/help`: answered whatever the chat's state.
    Help,
    /// Any other command or message.
    Other,
    /// The bot was added to a group: asks like `/start`.
    AddedToGroup,
}

/// The gate for one chat and user (see the module doc).
pub async fn gate(core: &Core, who: Applicant, arrival: Arrival) -> Gate {
    let t = &core.deps.config.telegram;
    if core.is_admin(who.user_id) {
        return Gate::Go { new: false };
    }
    if t.registration == Registration::Allowlist && !listed(core, who.chat_id, who.user_id).await {
        tracing::info!(
            actor = "telegram",
            chat = who.chat_id,
            "refused: not on telegram.allowed"
        );
        return Gate::Refuse(replies::private_bot());
    }
    let asks = matches!(arrival, Arrival::Start | Arrival::AddedToGroup);
    let approval = (t.registration == Registration::Approval).then(|| {
        asks.then(|| ApprovalRequest {
            admins: t.admins.clone(),
            text: replies::access_request(
                who.chat_id,
                who.user_id,
                who.title.as_deref(),
                who.username.as_deref(),
                who.first_name.as_deref(),
            ),
            markup: decision_keyboard(who.chat_id),
        })
    });
    let chat = who.chat_id;
    let request = Admit {
        who,
        max_chats: t.max_chats,
        approval,
    };
    let admission = match core.deps.db.exec(request).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(actor = "telegram", chat, error = %e, "cannot check a chat's access");
            return Gate::Refuse(replies::try_later());
        }
    };
    let help = arrival == Arrival::Help;
    let alerts = &core.deps.alerts;
    match admission {
        Admission::Full => {
            tracing::warn!(
                actor = "telegram",
                chat,
                "refused a new chat: telegram.max_chats reached"
            );
            alerts.raise(FULL_ALERT, replies::bot_full_alert(t.max_chats));
            Gate::Refuse(replies::bot_full())
        }
        Admission::TooManyRequests => {
            tracing::info!(
                actor = "telegram",
                chat,
                "refused a request: its user has too many waiting"
            );
            Gate::Refuse(replies::too_many_requests())
        }
        Admission::Admitted { new } => {
            if new {
                // Room again (chats were denied or removed): the alert ends.
                alerts.resolve(FULL_ALERT);
            }
            Gate::Go { new }
        }
        Admission::Pending { new: true } => {
            alerts.resolve(FULL_ALERT);
            tracing::info!(actor = "telegram", chat, "a new chat asks for approval");
            core.deps.outbox_ready.notify_one();
            Gate::Refuse(replies::approval_requested())
        }
        // Answered here: the command path would register the chat (a
        // group's row), and a row the gate did not admit must not exist.
        Admission::NotRequested | Admission::Pending { .. } | Admission::Denied if help => {
            Gate::Refuse(replies::help(&core.chains, false))
        }
        // Re-adding the bot to a waiting or denied group: told before.
        Admission::Pending { .. } | Admission::Denied if arrival == Arrival::AddedToGroup => {
            Gate::Quiet
        }
        Admission::NotRequested => Gate::Refuse(replies::approval_needed()),
        Admission::Pending { .. } => Gate::Refuse(replies::waiting_for_approval()),
        Admission::Denied => Gate::Refuse(replies::access_denied()),
    }
}

/// `telegram.registration = "allowlist"`: the chat's id (or an id it had
/// before it became a supergroup) or the sender's user id is listed.
async fn listed(core: &Core, chat_id: i64, user_id: i64) -> bool {
    let allowed = &core.deps.config.telegram.allowed;
    if allowed.contains(&chat_id) || allowed.contains(&user_id) {
        return true;
    }
    if chat_id > 0 {
        return false;
    }
    match core.deps.db.exec(FormerIds(chat_id)).await {
        Ok(ids) => ids.iter().any(|id| allowed.contains(id)),
        Err(e) => {
            tracing::error!(actor = "telegram", chat = chat_id, error = %e, "cannot read a chat's former ids");
            false
        }
    }
}

/// The admins' alert while new chats are refused for `telegram.max_chats`
/// (raised at the first refusal, told once; ended by the next chat that
/// gets in).
const FULL_ALERT: &str = "access:full";

/// The Approve / Deny keyboard under an access request.
fn decision_keyboard(chat: i64) -> String {
    serde_json::json!({ "inline_keyboard": [[
        { "text": "✅ Approve", "callback_data": Action::Approve(chat).encode() },
        { "text": "❌ Deny", "callback_data": Action::Deny(chat).encode() },
    ]] })
    .to_string()
}

/// Whether a `my_chat_member` update or a migration may touch `chat`'s
/// row: always with `open`; otherwise only a chat the bot knows (so that
/// no side door stores a chat the gate never admitted).
pub async fn known_or_open(core: &Core, chat: i64) -> bool {
    if core.deps.config.telegram.registration == Registration::Open {
        return true;
    }
    match core.deps.db.exec(ChatAccess(chat)).await {
        Ok(access) => access.is_some(),
        Err(e) => {
            tracing::error!(actor = "telegram", chat, error = %e, "cannot check a chat's access");
            false
        }
    }
}

/// An admin's press of Approve or Deny under an access request. Decided
/// only by an admin, in their private chat with the bot (where the request
/// was sent), and only for a chat that waits: anything else changes
/// nothing and says so. Returns the press's answer and whether to show it
/// as an alert; `edit`: the request's new text, once decided.
pub async fn decide(
    core: &Core,
    presser: i64,
    in_chat: i64,
    chat: i64,
    approve: bool,
) -> (String, bool, Option<String>) {
    if !core.is_admin(presser) || in_chat != presser {
        tracing::warn!(
            actor = "telegram",
            user = presser,
            chat = in_chat,
            "an access decision pressed by someone not an admin, or outside an admin's chat"
        );
        return (
            "Only the bot's operators decide access, in their private chat with me. Nothing was changed."
                .into(),
            true,
            None,
        );
    }
    let t = &core.deps.config.telegram;
    if approve && t.registration == Registration::Allowlist && !listed(core, chat, chat).await {
        return (
            "The bot runs with registration = \"allowlist\" and this chat is not in telegram.allowed: approving would not let it in. Nothing was changed."
                .into(),
            true,
            None,
        );
    }
    let notice = if approve {
        replies::access_approved_notice()
    } else {
        replies::access_denied_notice()
    };
    let request = DecideAccess {
        chat_id: chat,
        approve,
        by: presser,
        notice,
    };
    match core.deps.db.exec(request).await {
        Ok(Decision::Decided) => {
            tracing::info!(
                actor = "telegram",
                chat,
                approve,
                admin = presser,
                "access decided"
            );
            core.deps.outbox_ready.notify_one();
            let answer = if approve { "Approved." } else { "Denied." };
            (
                answer.into(),
                false,
                Some(replies::access_decided(chat, approve)),
            )
        }
        Ok(Decision::Already(access)) => {
            let state = match access {
                Access::Approved => "approved",
                Access::Denied => "denied",
                Access::Pending => "pending",
            };
            (
                format!("This chat was already {state}. Nothing was changed."),
                true,
                None,
            )
        }
        Ok(Decision::Unknown) => (
            "No chat asked for this (or it is out of date). Nothing was changed.".into(),
            true,
            None,
        ),
        Err(e) => {
            tracing::error!(actor = "telegram", chat, error = %e, "cannot record an access decision");
            (
                "Something went wrong on my side; please try again in a minute.".into(),
                true,
                None,
            )
        }
    }
}
