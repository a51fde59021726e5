//! What happened during a campaign, as the checker needs it: the transfers
//! put on the chain, every user's subscription commands and their
//! confirmations, when chats could not be reached, and the events that may
//! explain a duplicate.
//!
//! All times are [`Instant`]s of this process, the clock the simulated Bot
//! API stamps accepted messages with ([`crate::sim::botapi::SentMessage::at`]).

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use crate::domain::Address;

/// One transfer put on the simulated chain.
#[derive(Debug, Clone)]
pub struct TransferRecord {
    pub tx: String,
    pub from: Address,
    pub to: Address,
    /// When it was injected (its block was not yet mined).
    pub at: Instant,
}

/// A step in one chat's subscription to one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubEvent {
    /// `/add` was sent (it may or may not have been handled yet).
    AddPushed(Instant),
    /// The bot answered that the address is watched.
    AddConfirmed(Instant),
    RemovePushed(Instant),
    /// The bot answered that the address is no longer (or not) watched.
    RemoveConfirmed(Instant),
}

impl SubEvent {
    pub fn at(self) -> Instant {
        match self {
            SubEvent::AddPushed(t)
            | SubEvent::AddConfirmed(t)
            | SubEvent::RemovePushed(t)
            | SubEvent::RemoveConfirmed(t) => t,
        }
    }
}

/// Something that may legitimately make the daemon send one notification
/// twice.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cause {
    /// The process was killed with SIGKILL: a message on the wire was
    /// sent but not marked.
    Sigkill,
    /// The supervisor logged "actor crashed" for this actor (only
    /// `telegram` and `db` can explain a duplicate).
    ActorCrash(String),
    /// The Bot API accepted a `sendMessage` but its answer was lost
    /// (recorded by a fault kind through [`Ledger::ambiguous`]).
    AmbiguousTimeout,
}

impl Cause {
    pub fn name(&self) -> String {
        match self {
            Cause::Sigkill => "SIGKILL".into(),
            Cause::ActorCrash(actor) => format!("{actor} actor crash"),
            Cause::AmbiguousTimeout => "ambiguous sendMessage timeout".into(),
        }
    }

    /// Whether this cause can explain a second copy of a notification.
    pub fn explains_duplicates(&self) -> bool {
        match self {
            Cause::ActorCrash(actor) => actor == "telegram" || actor == "db",
            Cause::Sigkill | Cause::AmbiguousTimeout => true,
        }
    }
}

/// A `sendMessage` the Bot API stored but answered too late (or never):
/// the hook for the "ambiguous timeout" fault kind. `tx: None` covers every
/// message to the chat at that moment.
#[derive(Debug, Clone)]
pub struct AmbiguousSend {
    pub chat_id: i64,
    pub tx: Option<String>,
    pub at: Instant,
}

/// The campaign's record.
#[derive(Debug)]
pub struct Ledger {
    /// The campaign's start, on both clocks (to place log timestamps).
    pub t0: Instant,
    pub wall0: SystemTime,
    pub transfers: Vec<TransferRecord>,
    pub subs: HashMap<(i64, Address), Vec<SubEvent>>,
    /// Per chat: intervals during which it could not be reached (blocked
    /// the bot, or answered "chat not found"), from the fault until the
    /// bot confirmed the user's `/start`; `None` while still open.
    pub unreachable: Intervals,
    /// Per chat: while the simulated Bot API refused it with 403 (from
    /// `block_chat(true)` to `block_chat(false)`).
    pub blocked: Intervals,
    pub causes: Vec<(Instant, Cause)>,
    pub ambiguous: Vec<AmbiguousSend>,
}

impl Ledger {
    pub fn new() -> Ledger {
        Ledger {
            t0: Instant::now(),
            wall0: SystemTime::now(),
            transfers: Vec::new(),
            subs: HashMap::new(),
            unreachable: HashMap::new(),
            blocked: HashMap::new(),
            causes: Vec::new(),
            ambiguous: Vec::new(),
        }
    }

    pub fn sub(&mut self, chat: i64, address: &Address, event: SubEvent) {
        self.subs
            .entry((chat, address.clone()))
            .or_default()
            .push(event);
    }

    pub fn unreachable_begin(&mut self, chat: i64, at: Instant) {
        open(&mut self.unreachable, chat, at);
    }

    /// Closes the chat's open unreachable interval, if any.
    pub fn unreachable_end(&mut self, chat: i64, at: Instant) {
        close(&mut self.unreachable, chat, at);
    }

    pub fn block_begin(&mut self, chat: i64, at: Instant) {
        open(&mut self.blocked, chat, at);
    }

    pub fn block_end(&mut self, chat: i64, at: Instant) {
        close(&mut self.blocked, chat, at);
    }

    /// Whether the Bot API refused the chat (403) at `at`.
    pub fn blocked_at(&self, chat: i64, at: Instant) -> bool {
        self.blocked
            .get(&chat)
            .is_some_and(|v| v.iter().any(|(s, e)| *s < at && e.is_none_or(|e| at < e)))
    }

    /// Whether the chat was unreachable at any moment in `[from, to]`.
    pub fn unreachable_during(&self, chat: i64, from: Instant, to: Instant) -> bool {
        self.unreachable.get(&chat).is_some_and(|v| {
            v.iter()
                .any(|(start, end)| *start <= to && end.is_none_or(|e| e >= from))
        })
    }

    pub fn cause(&mut self, at: Instant, cause: Cause) {
        self.causes.push((at, cause));
    }

    /// A wall-clock time (e.g. from the daemon's log) on this process's
    /// monotonic clock.
    pub fn instant_of(&self, wall: SystemTime) -> Instant {
        match wall.duration_since(self.wall0) {
            Ok(d) => self.t0 + d,
            Err(e) => self.t0.checked_sub(e.duration()).unwrap_or(self.t0),
        }
    }

    /// Seconds since the start, for reports.
    pub fn secs(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.t0).as_secs_f64()
    }
}

type Intervals = HashMap<i64, Vec<(Instant, Option<Instant>)>>;

fn open(intervals: &mut Intervals, chat: i64, at: Instant) {
    intervals.entry(chat).or_default().push((at, None));
}

fn close(intervals: &mut Intervals, chat: i64, at: Instant) {
    if let Some(last) = intervals
        .get_mut(&chat)
        .and_then(|v| v.last_mut())
        .filter(|(_, end)| end.is_none())
    {
        last.1 = Some(at);
    }
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger::new()
    }
}

/// How close before the first copy a cause may be and still explain the
/// second: a request already on the wire is accepted by the server a few
/// milliseconds after the process that sent it died.
pub const CAUSE_SLACK: Duration = Duration::from_millis(500);
