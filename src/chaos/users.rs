//! Simulated users: each one talks to the bot through the simulated Bot
//! API like a person would — `/start`, then `/add` and `/remove` now and
//! then, one command at a time, sending it again when no answer comes —
//! and every step is written to the [`Ledger`].

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use super::ledger::{Ledger, SubEvent};
use super::rng::Rng;
use crate::domain::Address;
use crate::sim::botapi::SimBotApi;

/// How long a user waits for an answer before sending the command again.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(20);

/// A command a user sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    Start,
    Add(Address),
    Remove(Address),
}

impl Cmd {
    fn text(&self) -> String {
        match self {
            Cmd::Start => "/start".into(),
            Cmd::Add(a) => format!("/add {a}"),
            Cmd::Remove(a) => format!("/remove {a}"),
        }
    }

    /// Whether `reply` answers this command (commands of one user are
    /// sent one at a time, so matching the address and the verb suffices).
    fn answered_by(&self, reply: &str) -> bool {
        match self {
            Cmd::Start => reply.contains("Welcome"),
            Cmd::Add(a) => {
                reply.contains(&a.checksummed())
                    && (reply.contains("Now watching") || reply.contains("already watching"))
            }
            Cmd::Remove(a) => {
                reply.contains(&a.checksummed())
                    && (reply.contains("Stopped watching") || reply.contains("not watching"))
            }
        }
    }
}

#[derive(Debug)]
struct Pending {
    cmd: Cmd,
    pushed_at: Instant,
}

/// One user, in a private chat whose id is the user id.
#[derive(Debug)]
pub struct User {
    pub chat: i64,
    /// The addresses this user may watch.
    pub candidates: Vec<Address>,
    /// What the bot confirmed this user watches.
    pub watched: BTreeSet<Address>,
    /// False while the chat blocks the bot or fails: the user sends nothing.
    pub reachable: bool,
    /// Commands sent (again-sent ones included).
    pub pushed: u64,
    pending: Option<Pending>,
    todo: VecDeque<Cmd>,
    next_act: Instant,
    rng: Rng,
}

impl User {
    pub fn new(chat: i64, candidates: Vec<Address>, rng: Rng, now: Instant) -> User {
        User {
            chat,
            candidates,
            watched: BTreeSet::new(),
            reachable: true,
            pushed: 0,
            pending: None,
            todo: VecDeque::from([Cmd::Start]),
            next_act: now,
            rng,
        }
    }

    /// Nothing sent and unanswered, nothing left to send.
    pub fn is_idle(&self) -> bool {
        self.pending.is_none() && self.todo.is_empty()
    }

    /// The chat can be reached again: `/start` first, then whatever was
    /// unanswered when it went away.
    pub fn came_back(&mut self) {
        self.reachable = true;
        if let Some(p) = self.pending.take() {
            self.todo.push_front(p.cmd);
        }
        self.todo.push_front(Cmd::Start);
    }

    /// A message the bot sent to this chat that is not a notification.
    pub fn on_reply(&mut self, text: &str, at: Instant, ledger: &mut Ledger) {
        let Some(p) = self.pending.as_ref().filter(|p| p.cmd.answered_by(text)) else {
            return;
        };
        match &p.cmd {
            Cmd::Start => ledger.unreachable_end(self.chat, at),
            Cmd::Add(a) => {
                ledger.sub(self.chat, a, SubEvent::AddConfirmed(at));
                self.watched.insert(a.clone());
            }
            Cmd::Remove(a) => {
                ledger.sub(self.chat, a, SubEvent::RemoveConfirmed(at));
                self.watched.remove(a);
            }
        }
        self.pending = None;
    }

    /// Sends what is due: a command again after [`REPLY_TIMEOUT`], the
    /// next queued one, or (while `active`) a new `/add` or `/remove`.
    pub fn act(&mut self, bot: &SimBotApi, ledger: &mut Ledger, now: Instant, active: bool) {
        if !self.reachable {
            return;
        }
        if let Some(p) = &self.pending {
            if now.duration_since(p.pushed_at) >= REPLY_TIMEOUT {
                let cmd = p.cmd.clone();
                self.push(cmd, bot, ledger, now);
            }
            return;
        }
        if let Some(cmd) = self.todo.pop_front() {
            self.push(cmd, bot, ledger, now);
            return;
        }
        if !active || now < self.next_act {
            return;
        }
        self.next_act = now
            + self
                .rng
                .between(Duration::from_secs(2), Duration::from_secs(15));
        let unwatched: Vec<Address> = self
            .candidates
            .iter()
            .filter(|a| !self.watched.contains(*a))
            .cloned()
            .collect();
        let add = self.watched.is_empty() || (!unwatched.is_empty() && self.rng.chance(0.6));
        let cmd = if add {
            self.rng.pick(&unwatched).cloned().map(Cmd::Add)
        } else {
            let watched: Vec<Address> = self.watched.iter().cloned().collect();
            self.rng.pick(&watched).cloned().map(Cmd::Remove)
        };
        if let Some(cmd) = cmd {
            self.push(cmd, bot, ledger, now);
        }
    }

    fn push(&mut self, cmd: Cmd, bot: &SimBotApi, ledger: &mut Ledger, now: Instant) {
        match &cmd {
            Cmd::Start => {}
            Cmd::Add(a) => ledger.sub(self.chat, a, SubEvent::AddPushed(now)),
            Cmd::Remove(a) => ledger.sub(self.chat, a, SubEvent::RemovePushed(now)),
        }
        bot.user_says(self.chat, &cmd.text());
        self.pushed += 1;
        self.pending = Some(Pending {
            cmd,
            pushed_at: now,
        });
    }
}
