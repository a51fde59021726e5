//! State shared by the HTTP handlers (on the server's worker thread) and the
//! test-side handle (on any thread).
//!
//! One `Mutex` guards everything: the simulator is tiny and never holds the
//! lock across an `.await`. Waiters (long polls, `wait_for`) are woken through
//! `watch` channels, which cannot lose a wake-up: a receiver marks the current
//! version as seen *before* it inspects the state, so any change after that
//! inspection makes `changed()` resolve.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;

use super::callbacks::{CallbackAnswer, EditedMessage};
use super::flood::FloodGate;
use super::updates::UpdateQueue;
use super::{ChatFault, SentMessage, SimBotOptions};

/// Everything the simulator knows; see the field docs for what each models.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) updates: UpdateQueue,
    /// Shared counter for injected and sent messages; ids only need to be
    /// unique, not per-chat as on Telegram.
    pub(crate) next_message_id: i64,
    pub(crate) sent: Vec<SentMessage>,
    pub(crate) blocked: HashSet<i64>,
    pub(crate) failing: HashMap<i64, ChatFault>,
    /// `sendMessage` calls still to be recorded but answered only after
    /// `late_delay` (past the client's timeout).
    pub(crate) late_answers: u32,
    pub(crate) late_delay: Duration,
    /// `seq` of every recorded message whose answer came late.
    pub(crate) answered_late: Vec<u64>,
    /// Calls still to be answered with 502.
    pub(crate) server_errors: u32,
    /// While set, every call answers `307` with `Location` this URL
    /// followed by the request's path (which holds the token).
    pub(crate) redirect_to: Option<String>,
    pub(crate) rejected_429: u64,
    /// Calls per lower-cased method name.
    pub(crate) calls: HashMap<String, u64>,
    pub(crate) commands: Vec<(String, String)>,
    pub(crate) flood: FloodGate,
    /// Group members' statuses for `getChatMember`: (chat, user) → status;
    /// anyone else in a group is a `member`.
    pub(crate) members: HashMap<(i64, i64), String>,
    /// Bumped by every `getUpdates`; a waiting poll that sees a newer one
    /// answers 409, as Telegram does when two instances poll one token.
    pub(crate) poll_generation: u64,
    /// Callback query ids issued by presses and not answered yet.
    pub(crate) open_queries: HashSet<String>,
    pub(crate) next_query_id: u64,
    pub(crate) callback_answers: Vec<CallbackAnswer>,
    pub(crate) edited: Vec<EditedMessage>,
}

impl State {
    pub(crate) fn take_message_id(&mut self) -> i64 {
        let id = self.next_message_id;
        self.next_message_id += 1;
        id
    }
}

pub(crate) struct Shared {
    pub(crate) token: String,
    pub(crate) bot_id: i64,
    pub(crate) retry_after_secs: u32,
    state: Mutex<State>,
    /// Version bumped on every new update, new poll and on stop.
    pub(crate) updates_changed: watch::Sender<u64>,
    /// Version bumped on every accepted message.
    pub(crate) sent_changed: watch::Sender<u64>,
    stopping: AtomicBool,
}

impl Shared {
    pub(crate) fn new(opts: &SimBotOptions) -> Self {
        // A real token starts with the bot's user id; use it when it parses.
        let bot_id = opts
            .token
            .split(':')
            .next()
            .and_then(|id| id.parse().ok())
            .unwrap_or(123_456);
        Self {
            token: opts.token.clone(),
            bot_id,
            retry_after_secs: opts.retry_after_secs,
            state: Mutex::new(State {
                updates: UpdateQueue::default(),
                next_message_id: 1,
                sent: Vec::new(),
                blocked: HashSet::new(),
                failing: HashMap::new(),
                late_answers: 0,
                late_delay: Duration::ZERO,
                answered_late: Vec::new(),
                server_errors: 0,
                redirect_to: None,
                rejected_429: 0,
                calls: HashMap::new(),
                commands: Vec::new(),
                flood: FloodGate::new(
                    opts.flood_limits,
                    opts.per_chat_per_sec,
                    opts.global_per_sec,
                )
                .with_group_limit(opts.group_per_min),
                members: HashMap::new(),
                poll_generation: 0,
                open_queries: HashSet::new(),
                next_query_id: 1,
                callback_answers: Vec::new(),
                edited: Vec::new(),
            }),
            updates_changed: watch::Sender::new(0),
            sent_changed: watch::Sender::new(0),
            stopping: AtomicBool::new(false),
        }
    }

    /// The state; a panic elsewhere while holding the lock (a failed
    /// assertion in a test thread) must not take the simulator down too.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues an update and wakes long polls; returns the update id.
    pub(crate) fn push_update(&self, body: impl FnOnce(&mut State) -> Value) -> i64 {
        let id = {
            let mut st = self.lock();
            let value = body(&mut st);
            st.updates.push(|| value)
        };
        self.wake_pollers();
        id
    }

    pub(crate) fn wake_pollers(&self) {
        self.updates_changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Wakes `wait_for` callers after a message was recorded.
    pub(crate) fn notify_sent(&self) {
        self.sent_changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    pub(crate) fn begin_stop(&self) {
        self.stopping.store(true, Ordering::Release);
        self.wake_pollers();
    }
}
