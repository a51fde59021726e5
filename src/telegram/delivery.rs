//! The outbox loop: queued notifications → Telegram, each marked once sent.
//!
//! A notification is a row in the outbox, written together with its
//! transfer; it stays `pending` until this loop has sent it and marked it
//! `sent` (or `failed`, the dead letter, or `uncertain`, below). A crash
//! at any point loses nothing; the only possible duplicates are a message
//! on the wire at the instant of the crash (sent, not yet marked) and the
//! one retry after a lost answer.
//!
//! Throughput: messages to different chats are sent concurrently (up to
//! [`MAX_IN_FLIGHT`]), all drawing on the one [`Pacer`](super::pacing::Pacer);
//! at most one message per chat is in flight, so a chat receives its
//! messages in order. A chat whose spacing has not passed yet is skipped
//! in favour of one that is ready, so waiting slots do not idle the bucket.
//!
//! Outcomes, by kind of answer (see [`delivery_for`]):
//!
//! * **sent** → `sent`;
//! * **answer lost** (client timeout after the request went out, a reset
//!   mid-answer, a 504, a stop that cut the wait for the answer short):
//!   the message may have been delivered. The row is
//!   tried once more; a second lost answer makes it `uncertain`, never
//!   sent again: at most two copies, whatever the pattern of timeouts. A
//!   connect error sent nothing and is retried like a 5xx;
//! * **chat-level** (403 blocked / deactivated / kicked / can't initiate,
//!   400 chat not found): the chat is deactivated once, keeping its
//!   subscriptions, and none of its rows is tried (nor failed) until
//!   `/start` brings it back;
//! * **migrated** (400 with `parameters.migrate_to_chat_id`): not a
//!   failure; the chat and its rows move to the new id (see
//!   [`groups`](super::groups)) and are sent there, nothing counted;
//! * **no rights** (400 "not enough rights to send text messages"): a
//!   known transient fault; the chat's rows all wait a long backoff, the
//!   admins are told, and the row is dead-lettered only after
//!   [`MAX_RIGHTS_ATTEMPTS`] (days);
//! * **too long**: never retried unchanged → `failed`;
//! * **other 4xx**: dead-lettered after [`MAX_BAD_REQUEST_ATTEMPTS`];
//! * **429, 5xx, connect errors**: retried with exponential backoff, up
//!   to [`MAX_TRANSIENT_ATTEMPTS`].
//!
//! Each limit counts only its own kind of answer ([`OutboxItem::refusals`],
//! [`OutboxItem::no_rights`], [`OutboxItem::transient_failures`]): days of
//! 5xx do not use up the tries of a rights problem, nor the reverse. A
//! chat-level answer counts against none (the row is left untouched).
//!
//! One chat's trouble never holds up another: each outcome concerns only
//! the rows of that chat.
//!
//! Fairness: each fetch takes every chat's oldest rows round robin, at
//! most [`PER_CHAT_FETCH`] per chat, admin alerts first (see
//! [`DueNotifications`]), and a fetch is made whenever new rows may be due
//! (woken, every [`IDLE_POLL`], or the queue ran dry), however many rows
//! of busy chats are queued: a quiet chat's notification never waits
//! behind another chat's burst. Before each fetch, every chat's backlog is
//! bounded by `telegram.max_pending_per_chat` ([`FoldBacklog`]): the rows
//! past it are folded into one message that counts them.
//!
//! Bursts: several rows due for one chat go as one combined message (see
//! [`combine`](super::combine)); its rows share one outcome, recorded for
//! all of them in one transaction, under the rules above (counted on the
//! highest counters among them: a combined message whose answer is lost is
//! sent once more, then all its rows are `uncertain`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::future::{FusedFuture, FutureExt, LocalBoxFuture};
use futures_util::stream::{FuturesUnordered, StreamExt};
use rusqlite::{Transaction, params};

use super::Core;
use super::bot::TgError;
use super::combine::{self, Plan, Queued, Rule};
use crate::db::outbox::{Delivery, DueNotifications, FoldBacklog, MarkDeliveries, OutboxItem};
use crate::db::{DbError, DbRequest, chats, now_secs};
use crate::metrics::Counters;
use crate::notification::escape_html;

/// Concurrent sends (each to a different chat).
pub const MAX_IN_FLIGHT: usize = 32;
/// Rows fetched per query.
const FETCH_LIMIT: usize = 500;
/// Rows of one chat per fetch: enough for a few combined messages, few
/// enough that a chat's burst never fills a fetch (see
/// [`DueNotifications`]).
const PER_CHAT_FETCH: usize = 50;
/// Without a wake-up, look for due rows this often.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// Transient failures before a notification is given up on (with the
/// backoff below, about a day of trying).
pub const MAX_TRANSIENT_ATTEMPTS: u32 = 150;
/// Tries of a message Telegram refuses for an unknown reason (400) before
/// it is dead-lettered.
pub const MAX_BAD_REQUEST_ATTEMPTS: u32 = 3;
/// Tries of a message to a chat where the bot lacks the right to write,
/// [`rights_backoff`] apart (about four days in all).
pub const MAX_RIGHTS_ATTEMPTS: u32 = 20;
/// Sends of one message whose answer may be lost before it is held as
/// uncertain: each may have delivered it, so this is the most copies a
/// subscriber can get (a crash during a send aside).
pub const MAX_LOST_ANSWERS: u32 = 2;
/// How often admin alerts are collected.
const ALERT_INTERVAL: Duration = Duration::from_secs(2);

/// Backoff before retrying after a transient failure: 5 s, 10 s, 20 s, …
/// capped at ten minutes.
pub fn retry_backoff(attempts: u32) -> u64 {
    5u64.saturating_mul(1 << attempts.min(10)).min(600)
}

/// Backoff after "not enough rights": 10 min, 20 min, … capped at 6 h.
pub fn rights_backoff(attempts: u32) -> u64 {
    600u64.saturating_mul(1 << attempts.min(10)).min(6 * 3600)
}

/// The outcome of one delivery attempt of `item`, as stored.
pub fn delivery_for(result: &Result<(), TgError>, item: &OutboxItem) -> Delivery {
    let Err(e) = result else {
        return Delivery::Sent;
    };
    // Each limit counts only its own kind of failure.
    let transient = item.transient_failures();
    let error = e.to_string();
    match e {
        TgError::AnswerLost(_) if item.lost_answers + 1 >= MAX_LOST_ANSWERS => {
            Delivery::Uncertain { error }
        }
        TgError::AnswerLost(_) => Delivery::RetryLost {
            after_secs: retry_backoff(0),
            error,
        },
        // Kept pending, untouched, until the chat comes back (it is
        // inactive now).
        e if e.is_chat_level() => Delivery::ChatUnreachable { error },
        TgError::RetryAfter(d) => Delivery::Retry {
            after_secs: d.as_secs().max(1),
            error,
        },
        TgError::NoRights(_) if item.no_rights + 1 < MAX_RIGHTS_ATTEMPTS => Delivery::RetryChat {
            after_secs: rights_backoff(item.no_rights),
            error,
        },
        TgError::NoRights(_) => Delivery::Failed { error },
        TgError::BadRequest(_) if item.refusals + 1 < MAX_BAD_REQUEST_ATTEMPTS => {
            Delivery::RetryRefused {
                after_secs: retry_backoff(item.refusals),
                error,
            }
        }
        // Only a human can fix the token; keep everything until then.
        TgError::Unauthorized | TgError::Conflict => Delivery::Retry {
            after_secs: retry_backoff(transient),
            error,
        },
        e if e.is_transient() && transient + 1 < MAX_TRANSIENT_ATTEMPTS => Delivery::Retry {
            after_secs: retry_backoff(transient),
            error,
        },
        _ => Delivery::Failed { error },
    }
}

/// The key of the admin alert about missing rights in `chat`.
fn rights_alert(chat: i64) -> String {
    format!("telegram:no-rights:{chat}")
}

/// What one `sendMessage` of the loop carries: one row as it is (with its
/// inline keyboard), or several rows of one chat combined. A combined
/// message carries no buttons: its lines may name several addresses, and
/// each line keeps its explorer link in the text; `/mute` and `/list`'s
/// buttons serve instead.
struct Batch {
    items: Vec<OutboxItem>,
    text: String,
    /// The Bot API `reply_markup` JSON (`None`: no keyboard).
    reply_markup: Option<String>,
}

impl Batch {
    fn single(item: OutboxItem) -> Batch {
        Batch {
            text: item.text.clone(),
            reply_markup: item.reply_markup.clone(),
            items: vec![item],
        }
    }

    fn combined(rows: Vec<Queued>) -> Batch {
        let lines: Vec<&str> = rows.iter().filter_map(|q| q.line.as_deref()).collect();
        let text = combine::message(&lines);
        Batch {
            text,
            reply_markup: None,
            items: rows.into_iter().map(|q| q.item).collect(),
        }
    }

    /// The rows' counters for deciding the outcome: the highest of each.
    fn counted(&self) -> OutboxItem {
        let max = |f: fn(&OutboxItem) -> u32| self.items.iter().map(f).max().unwrap_or(0);
        OutboxItem {
            attempts: max(|i| i.attempts),
            lost_answers: max(|i| i.lost_answers),
            refusals: max(|i| i.refusals),
            no_rights: max(|i| i.no_rights),
            ..self.items[0].clone()
        }
    }
}

struct Done {
    ids: Vec<i64>,
    chat_id: i64,
    /// No other row of the chat should be tried now (it was deactivated,
    /// or its rows were all postponed).
    chat_held: bool,
}

/// Sends one row, or one combined message, and records the outcome.
/// Abandoned (the rows stay pending) if the actor is asked to stop before
/// the message goes out.
async fn deliver(core: Rc<Core>, batch: Batch) -> Done {
    let item = batch.counted();
    let rows = batch.items.len() as u64;
    let chat = item.chat_id;
    let mut done = Done {
        ids: batch.items.iter().map(|i| i.id).collect(),
        chat_id: chat,
        chat_held: false,
    };
    // Asked to stop with the message on the wire: wait for its answer
    // only as long as the shutdown allows, then count the answer as lost
    // (it may have been delivered) and mark it so, rather than be stopped
    // unmarked and send it again uncounted after the restart.
    let cut_off = async {
        core.stopped().await;
        tokio::time::sleep(core.send_cut_off()).await;
    };
    let result = tokio::select! {
        sent = core.send_paced_with(chat, &batch.text, batch.reply_markup.as_deref(), true) => match sent {
            Some(result) => result,
            None => return done,
        },
        () = cut_off => Err(TgError::AnswerLost("stopped while waiting for the answer")),
    };
    let counters = &core.deps.counters;
    let delivery = delivery_for(&result, &item);
    match (&result, &delivery) {
        (Ok(()), _) => {
            Counters::add(&counters.notifications_sent, rows);
            if item.attempts > 0 {
                core.deps.alerts.resolve(&rights_alert(chat));
            }
        }
        // Migrated: the rows moved to the new id (left untouched here).
        (Err(e), _) if e.is_chat_level() => done.chat_held = true,
        (Err(e @ TgError::NoRights(_)), Delivery::RetryChat { after_secs, .. }) => {
            done.chat_held = true;
            tracing::warn!(actor = "telegram", chat, id = item.id, error = %e, retry_in_secs = after_secs, "no right to write to the chat; its messages wait");
            core.deps.alerts.raise(
                &rights_alert(chat),
                format!(
                    "Telegram says the bot may not send messages to chat {chat} (not enough rights). \
                     Its notifications are kept and retried with a growing backoff (next in {} min); \
                     check the bot's rights in that chat.",
                    after_secs / 60
                ),
            );
        }
        (Err(e), Delivery::Uncertain { .. }) => tracing::warn!(
            actor = "telegram", chat, id = item.id, error = %e,
            "answer lost again: the notification may have been delivered; held as uncertain, not sent again"
        ),
        (Err(e), _) => {
            tracing::warn!(actor = "telegram", chat, id = item.id, error = %e, "notification not delivered")
        }
    }
    if let Delivery::Failed { error } = &delivery {
        Counters::add(&counters.notifications_failed, rows);
        tracing::warn!(actor = "telegram", chat, id = item.id, error = %error, "notification dead-lettered");
    }
    let mark = MarkDeliveries {
        ids: done.ids.clone(),
        delivery,
    };
    if let Err(e) = core.deps.db.exec(mark).await {
        // Sent but not marked: it will be sent again (the one duplicate
        // the design allows).
        tracing::error!(actor = "telegram", id = item.id, rows, error = %e, "cannot mark a notification");
    }
    done
}

type Fetched = (u64, Result<Vec<OutboxItem>, DbError>);

/// The outbox loop; returns once stopping and nothing is in flight.
pub async fn run(core: Rc<Core>) {
    let mut queue: VecDeque<Queued> = VecDeque::new();
    let t = &core.deps.config.telegram;
    let rule = Rule {
        after: t.combine_after as usize,
        window: t.combine_window,
    };
    // When each chat was last sent a message by this loop (for the window).
    let mut last_sent: HashMap<i64, Instant> = HashMap::new();
    let mut known: HashSet<i64> = HashSet::new(); // queued or in flight
    let mut busy: HashSet<i64> = HashSet::new(); // chats with a send in flight
    // Rows finished (marked), with the number of fetches started when they
    // finished: a fetch that started before a row was marked may still
    // return it as pending, so it stays ignored until a later fetch is in.
    let mut recently_done: HashMap<i64, u64> = HashMap::new();
    // Chats whose rows must not be tried now (deactivated, or postponed),
    // with the number of fetches started then: only a later fetch knows
    // whether the chat is back.
    let mut held_chats: HashMap<i64, u64> = HashMap::new();
    let mut fetches_started: u64 = 0;
    let mut fetch = futures_util::future::Fuse::<LocalBoxFuture<'static, Fetched>>::terminated();
    let mut want_fetch = true;
    let mut tasks = FuturesUnordered::new();
    let mut stopping = false;
    let mut tick = tokio::time::interval(IDLE_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    loop {
        let now = Instant::now();
        let mut next_ready: Option<Instant> = None;
        if !stopping {
            // Dispatch the oldest row of every idle chat whose spacing has
            // passed; later rows of a held-back chat stay behind it.
            let mut held: HashSet<i64> = HashSet::new();
            let mut i = 0;
            while tasks.len() < MAX_IN_FLIGHT && i < queue.len() {
                let chat = queue[i].item.chat_id;
                if busy.contains(&chat) || held.contains(&chat) {
                    i += 1;
                    continue;
                }
                let ready_at = core.pacer.borrow().chat_ready_at(chat);
                if let Some(at) = ready_at.filter(|at| *at > now) {
                    next_ready = Some(next_ready.map_or(at, |n| n.min(at)));
                    held.insert(chat);
                    i += 1;
                    continue;
                }
                let batch = {
                    let view: Vec<&Queued> = queue.iter().collect();
                    combine::plan(&view, i, rule, last_sent.get(&chat).copied(), now)
                };
                let batch = match batch {
                    Plan::Hold(at) => {
                        next_ready = Some(next_ready.map_or(at, |n| n.min(at)));
                        held.insert(chat);
                        i += 1;
                        continue;
                    }
                    Plan::Single => match queue.remove(i) {
                        Some(q) => Batch::single(q.item),
                        None => break,
                    },
                    Plan::Combine(positions) => {
                        let mut rows: Vec<Queued> = positions
                            .iter()
                            .rev()
                            .filter_map(|p| queue.remove(*p))
                            .collect();
                        rows.reverse();
                        Batch::combined(rows)
                    }
                };
                last_sent.insert(chat, now);
                busy.insert(chat);
                tasks.push(deliver(core.clone(), batch));
            }
            if last_sent.len() > 4096 {
                last_sent.retain(|_, at| *at + rule.window > now);
            }
            // Fetch whenever rows may be due, however long the queue: a
            // quiet chat's first row is among the first of every fetch.
            if want_fetch && fetch.is_terminated() {
                want_fetch = false;
                fetches_started += 1;
                let epoch = fetches_started;
                let fold = FoldBacklog {
                    max_per_chat: u64::from(t.max_pending_per_chat),
                    keep: known.iter().copied().collect(),
                };
                let request = DueNotifications {
                    limit: FETCH_LIMIT,
                    per_chat: PER_CHAT_FETCH,
                };
                fetch = fetch_due(core.clone(), epoch, fold, request)
                    .boxed_local()
                    .fuse();
            }
        } else if tasks.is_empty() {
            return;
        }
        let ready_timer = async move {
            match next_ready {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(done) = tasks.next(), if !tasks.is_empty() => {
                busy.remove(&done.chat_id);
                for id in &done.ids {
                    known.remove(id);
                    recently_done.insert(*id, fetches_started);
                }
                if done.chat_held {
                    // Drop what was queued for the chat; a fetch already
                    // under way may still return its rows: ignored.
                    held_chats.insert(done.chat_id, fetches_started);
                    queue.retain(|q| {
                        let keep = q.item.chat_id != done.chat_id;
                        if !keep { known.remove(&q.item.id); }
                        keep
                    });
                }
                if queue.is_empty() {
                    want_fetch = true;
                }
            }
            (epoch, result) = &mut fetch, if !fetch.is_terminated() => {
                recently_done.retain(|_, finished_at| *finished_at >= epoch);
                held_chats.retain(|_, held_at| *held_at >= epoch);
                match result {
                    Ok(items) => {
                        let full = items.len() >= FETCH_LIMIT;
                        let mut added = false;
                        // Alerts go to the front, in their order.
                        let mut alerts = 0;
                        for item in items {
                            if !recently_done.contains_key(&item.id)
                                && !held_chats.contains_key(&item.chat_id)
                                && known.insert(item.id)
                            {
                                added = true;
                                if item.alert {
                                    queue.insert(alerts, Queued::new(item));
                                    alerts += 1;
                                } else {
                                    queue.push_back(Queued::new(item));
                                }
                            }
                        }
                        want_fetch = full && added;
                    }
                    Err(e) => tracing::warn!(actor = "telegram", error = %e, "cannot read the outbox"),
                }
            }
            () = core.deps.outbox_ready.notified(), if !stopping => want_fetch = true,
            _ = tick.tick(), if !stopping => want_fetch = true,
            () = ready_timer, if !stopping => {}
            () = core.stopped(), if !stopping => stopping = true,
        }
    }
}

/// Bounds the backlogs, then fetches the due rows (the fold is skipped,
/// with a warning, if the database cannot take it now).
async fn fetch_due(
    core: Rc<Core>,
    epoch: u64,
    fold: FoldBacklog,
    request: DueNotifications,
) -> Fetched {
    match core.deps.db.exec(fold).await {
        Ok(0) => {}
        Ok(n) => {
            core.deps.instruments.notifications_folded.inc_by(n);
            tracing::info!(
                actor = "telegram",
                folded = n,
                "chat backlogs over telegram.max_pending_per_chat folded"
            );
        }
        Err(e) => tracing::warn!(actor = "telegram", error = %e, "cannot bound the backlogs"),
    }
    (epoch, core.deps.db.exec(request).await)
}

/// Puts a message for one chat into the outbox, to be delivered like a
/// notification (paced, retried, never lost). Used for admin alerts.
pub struct QueueMessage {
    pub chat_id: i64,
    pub text: String,
}

impl DbRequest for QueueMessage {
    type Output = ();
    fn run(self, tx: &Transaction<'_>) -> Result<(), DbError> {
        chats::ensure(tx, self.chat_id)?;
        tx.execute(
            "INSERT INTO outbox (chat_id, transfer_id, text, state, next_attempt_at, created_at,
                 kind)
             VALUES (?1, NULL, ?2, 'pending', ?3, ?3, 'alert')",
            params![self.chat_id, self.text, now_secs()],
        )?;
        Ok(())
    }
}

/// The text of an admin alert.
pub fn alert_text(text: &str) -> String {
    format!("🚨 <b>Needs attention</b>\n{}", escape_html(text))
}

/// Every [`ALERT_INTERVAL`], hands new alerts to every admin through the
/// outbox. An alert is raised once per incident (see
/// [`Alerts::raise`](crate::metrics::Alerts::raise)), so admins hear of
/// an incident once, not once per retry. An alert that cannot be queued
/// (database down) is kept and queued on a later round.
pub async fn alerts(core: Rc<Core>) {
    let mut waiting: Vec<(i64, String)> = Vec::new();
    let mut tick = tokio::time::interval(ALERT_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = core.stopped() => return,
        }
        for alert in core.deps.alerts.take_undelivered() {
            tracing::info!(actor = "telegram", alert = %alert.key, "alert for the admins");
            for admin in &core.deps.config.telegram.admins {
                waiting.push((*admin, alert_text(&alert.text)));
            }
        }
        let mut queued_any = false;
        while let Some((chat_id, text)) = waiting.first().cloned() {
            let request = QueueMessage { chat_id, text };
            match core.deps.db.exec(request).await {
                Ok(()) => {
                    waiting.remove(0);
                    queued_any = true;
                }
                Err(e) => {
                    tracing::warn!(actor = "telegram", error = %e, "cannot queue an alert; will retry");
                    break;
                }
            }
        }
        if queued_any {
            core.deps.outbox_ready.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(attempts: u32, lost_answers: u32) -> OutboxItem {
        OutboxItem {
            id: 1,
            chat_id: 7,
            text: "x".into(),
            attempts,
            lost_answers,
            refusals: 0,
            no_rights: 0,
            reply_markup: None,
            alert: false,
        }
    }

    /// A row tried `transient` times with passing failures, then refused
    /// `refusals` times and answered "not enough rights" `no_rights` times.
    fn tried(transient: u32, refusals: u32, no_rights: u32) -> OutboxItem {
        OutboxItem {
            refusals,
            no_rights,
            ..item(transient + refusals + no_rights, 0)
        }
    }

    #[test]
    fn outcomes_map_to_deliveries() {
        assert_eq!(delivery_for(&Ok(()), &item(0, 0)), Delivery::Sent);
        assert!(matches!(
            delivery_for(
                &Err(TgError::ChatUnreachable("Bad Request: chat not found".into())),
                &item(0, 0)
            ),
            Delivery::ChatUnreachable { error } if error.contains("chat not found")
        ));
        assert!(matches!(
            delivery_for(&Err(TgError::Network("cannot connect")), &item(3, 0)),
            Delivery::Retry { after_secs: 40, .. }
        ));
        assert!(matches!(
            delivery_for(
                &Err(TgError::Server("Bad Gateway".into())),
                &item(MAX_TRANSIENT_ATTEMPTS, 0)
            ),
            Delivery::Failed { .. }
        ));
        assert!(matches!(
            delivery_for(&Err(TgError::TooLong("too long".into())), &item(0, 0)),
            Delivery::Failed { .. }
        ));
    }

    /// The kind `ambiguous_send`: one retry after a lost answer, then held.
    #[test]
    fn a_lost_answer_is_retried_once_then_uncertain() {
        let lost = Err(TgError::AnswerLost("timeout"));
        assert!(matches!(
            delivery_for(&lost, &item(0, 0)),
            Delivery::RetryLost { .. }
        ));
        // Connect errors and 5xx between the two do not reset the count.
        assert!(matches!(
            delivery_for(&lost, &item(5, 1)),
            Delivery::Uncertain { .. }
        ));
        assert!(matches!(
            delivery_for(&Err(TgError::Network("cannot connect")), &item(5, 1)),
            Delivery::Retry { .. }
        ));
    }

    /// The kind `4xx_classification`: rights wait long, unknown 400s are
    /// dead-lettered after a few tries.
    #[test]
    fn rights_problems_wait_and_unknown_400s_are_bounded() {
        let rights = Err(TgError::NoRights("not enough rights".into()));
        assert!(matches!(
            delivery_for(&rights, &item(0, 0)),
            Delivery::RetryChat {
                after_secs: 600,
                ..
            }
        ));
        assert!(matches!(
            delivery_for(&rights, &tried(0, 0, MAX_RIGHTS_ATTEMPTS - 1)),
            Delivery::Failed { .. }
        ));
        let unknown = Err(TgError::BadRequest("Bad Request: odd".into()));
        for refusals in 0..MAX_BAD_REQUEST_ATTEMPTS - 1 {
            assert!(matches!(
                delivery_for(&unknown, &tried(0, refusals, 0)),
                Delivery::RetryRefused { .. }
            ));
        }
        assert!(matches!(
            delivery_for(&unknown, &tried(0, MAX_BAD_REQUEST_ATTEMPTS - 1, 0)),
            Delivery::Failed { .. }
        ));
        assert!(matches!(
            delivery_for(&Err(TgError::Unauthorized), &item(500, 0)),
            Delivery::Retry { .. }
        ));
    }

    /// The kind `shared_retry_counter`: 5xx and connect errors do not use
    /// up the tries a rights problem is allowed.
    #[test]
    fn transient_failures_do_not_count_against_the_rights_limit() {
        let rights = Err(TgError::NoRights("not enough rights".into()));
        assert!(matches!(
            delivery_for(&rights, &tried(MAX_RIGHTS_ATTEMPTS + 5, 0, 0)),
            Delivery::RetryChat {
                after_secs: 600,
                ..
            }
        ));
        assert!(matches!(
            delivery_for(&rights, &tried(100, 2, MAX_RIGHTS_ATTEMPTS - 2)),
            Delivery::RetryChat { .. }
        ));
    }

    /// The kind `shared_retry_counter`: earlier connect errors, 5xx and
    /// rights answers do not use up the tries an unknown 400 is allowed.
    #[test]
    fn other_failures_do_not_count_against_the_bad_request_limit() {
        let unknown = Err(TgError::BadRequest("Bad Request: odd".into()));
        assert!(matches!(
            delivery_for(&unknown, &tried(MAX_BAD_REQUEST_ATTEMPTS + 10, 0, 0)),
            Delivery::RetryRefused { after_secs: 5, .. }
        ));
        assert!(matches!(
            delivery_for(&unknown, &tried(0, 0, 7)),
            Delivery::RetryRefused { .. }
        ));
    }

    /// The kind `shared_retry_counter`: refusals and rights answers do not
    /// use up the tries (nor lengthen the backoff) of passing failures.
    #[test]
    fn refusals_do_not_count_against_the_transient_limit() {
        let down = Err(TgError::Server("Bad Gateway".into()));
        assert!(matches!(
            delivery_for(&down, &tried(MAX_TRANSIENT_ATTEMPTS - 1, 2, 19)),
            Delivery::Failed { .. }
        ));
        assert!(matches!(
            delivery_for(&down, &tried(MAX_TRANSIENT_ATTEMPTS - 2, 2, 19)),
            Delivery::Retry { .. }
        ));
        assert!(matches!(
            delivery_for(&down, &tried(0, 2, 19)),
            Delivery::Retry { after_secs: 5, .. }
        ));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(retry_backoff(0), 5);
        assert_eq!(retry_backoff(1), 10);
        assert_eq!(retry_backoff(7), 600);
        assert_eq!(retry_backoff(1000), 600);
        assert_eq!(rights_backoff(1), 1200);
        assert_eq!(rights_backoff(99), 6 * 3600);
    }
}
