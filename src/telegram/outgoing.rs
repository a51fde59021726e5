//! Replies on their way out: command replies, confirmations and edits,
//! sent in order per chat, never holding the update loop.
//!
//! A reply waits for its chat's pacing (one message per
//! `per_chat_interval`, a group's `group_per_minute`, a 429's
//! `retry_after`): up to a minute in a busy group. Handling an update
//! therefore never sends: it does what the update asks (database, rights
//! checks), answers a button press at once (`answerCallbackQuery` is not
//! paced), and queues the messages here. This loop sends each chat's
//! queue in order, one message in flight per chat, different chats
//! concurrently: a chat that waits holds only its own replies, never the
//! update loop nor another chat's replies.
//!
//! Replies take precedence over notifications in the pacer (see
//! [`Pacer::try_acquire_reply`](super::pacing::Pacer::try_acquire_reply)).
//!
//! An [`After`] (restarting or crashing this actor, asked by an admin) is
//! queued by the update loop once the update offset is saved, behind the
//! reply that announces it, so it runs only after that reply went out.
//!
//! A reply is held in memory only: a crash after its command was handled
//! (and the offset saved) loses a reply not yet sent, never the command's
//! effect. On stop, replies already started are given until
//! [`Core::send_cut_off`] to finish; the rest are dropped (logged).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;

use futures_util::stream::{FuturesUnordered, StreamExt};
use teloxide_core::payloads::EditMessageTextSetters;
use teloxide_core::prelude::Requester;
use teloxide_core::types::{ChatId, MessageId, ParseMode};
use tokio::sync::Notify;

use super::Core;
use super::bot::TgError;
use super::commands::{After, admin};

/// One thing to send to a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// An HTML message (split if long), with an inline keyboard
    /// (`reply_markup` JSON) under its last part.
    Send {
        text: String,
        markup: Option<String>,
    },
    /// Replaces a message's text (and removes its buttons).
    Edit { message_id: i32, text: String },
    /// Restarts or crashes an actor, after the replies queued before it.
    After(After),
}

/// The per-chat queues of replies waiting to be sent.
#[derive(Debug, Default)]
pub struct Outgoing {
    queues: RefCell<HashMap<i64, VecDeque<Job>>>,
    ready: Notify,
}

impl Outgoing {
    /// Queues `job` for `chat`, behind the chat's earlier jobs.
    pub fn push(&self, chat: i64, job: Job) {
        self.queues
            .borrow_mut()
            .entry(chat)
            .or_default()
            .push_back(job);
        self.ready.notify_one();
    }

    /// Jobs waiting (not yet started) for every chat.
    pub fn waiting(&self) -> usize {
        self.queues.borrow().values().map(VecDeque::len).sum()
    }

    fn pop(&self, chat: i64) -> Option<Job> {
        let mut queues = self.queues.borrow_mut();
        let queue = queues.get_mut(&chat)?;
        let job = queue.pop_front();
        if queue.is_empty() {
            queues.remove(&chat);
        }
        job
    }

    fn chats(&self) -> Vec<i64> {
        self.queues.borrow().keys().copied().collect()
    }
}

/// Sends one chat's queue until it is empty.
async fn drain(core: Rc<Core>, chat: i64) -> i64 {
    while let Some(job) = core.outgoing.pop(chat) {
        run_job(&core, chat, job).await;
    }
    chat
}

async fn run_job(core: &Core, chat: i64, job: Job) {
    match job {
        Job::Send { text, markup } => {
            if let Err(e) = core.send_with(chat, &text, markup.as_deref()).await {
                tracing::warn!(actor = "telegram", chat, error = %e, "reply not delivered");
            }
        }
        Job::Edit { message_id, text } => {
            core.acquire(chat).await;
            let result = core
                .sender
                .edit_message_text(ChatId(chat), MessageId(message_id), text)
                .parse_mode(ParseMode::Html)
                .await
                .map_err(TgError::from);
            if let Err(e) = result {
                tracing::warn!(actor = "telegram", chat, error = %e, "message not edited");
            }
        }
        Job::After(after) => admin::after(core, after).await,
    }
}

/// The reply loop; returns once stopping and what was started is done (or
/// the cut-off passed).
pub async fn run(core: Rc<Core>) {
    let mut busy: HashSet<i64> = HashSet::new();
    let mut tasks = FuturesUnordered::new();
    loop {
        for chat in core.outgoing.chats() {
            if busy.insert(chat) {
                tasks.push(drain(core.clone(), chat));
            }
        }
        tokio::select! {
            Some(chat) = tasks.next(), if !tasks.is_empty() => {
                busy.remove(&chat);
            }
            () = core.outgoing.ready.notified() => {}
            () = core.stopped() => break,
        }
    }
    // Stopping: let what started finish, within the cut-off.
    let finish = async { while tasks.next().await.is_some() {} };
    if tokio::time::timeout(core.send_cut_off(), finish)
        .await
        .is_err()
    {
        tracing::warn!(
            actor = "telegram",
            "stopping: replies still waiting for their chat's turn are dropped"
        );
    }
    let dropped = core.outgoing.waiting();
    if dropped > 0 {
        tracing::warn!(actor = "telegram", dropped, "stopping: replies not sent");
    }
}
