//! The outbox loop: queued notifications → Telegram, each marked once sent.
//!
//! A notification is a row in the outbox, written together with its
//! transfer; it stays `pending` until this loop has sent it and marked it
//! `sent` (or `failed`, for a permanent error). A crash at any point loses
//! nothing; the only possible duplicate is a message on the wire at the
//! instant of the crash (sent, not yet marked).
//!
//! Throughput: messages to different chats are sent concurrently (up to
//! [`MAX_IN_FLIGHT`]), all drawing on the one [`Pacer`](super::pacing::Pacer);
//! at most one message per chat is in flight, so a chat receives its
//! messages in order. A chat whose spacing has not passed yet is skipped
//! in favour of one that is ready, so waiting slots do not idle the bucket.
//!
//! Outcomes: 403 → the chat is marked inactive and its rows stay pending
//! (sent when it comes back); 400 → `failed` with the reason, never
//! retried; network errors and 5xx → retried with exponential backoff.

use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::future::{FusedFuture, FutureExt, LocalBoxFuture};
use futures_util::stream::{FuturesUnordered, StreamExt};
use rusqlite::{Transaction, params};

use super::Core;
use super::bot::TgError;
use crate::db::outbox::{Delivery, DueNotifications, MarkDelivery, OutboxItem};
use crate::db::{DbError, DbRequest, chats, now_secs};
use crate::metrics::Counters;
use crate::notification::escape_html;

/// Concurrent sends (each to a different chat).
pub const MAX_IN_FLIGHT: usize = 32;
/// Rows fetched per query.
const FETCH_LIMIT: usize = 500;
/// Without a wake-up, look for due rows this often.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// Transient failures before a notification is given up on (with the
/// backoff below, about a day of trying).
const MAX_TRANSIENT_ATTEMPTS: u32 = 150;
/// How often admin alerts are collected.
const ALERT_INTERVAL: Duration = Duration::from_secs(2);

/// Backoff before retrying after a transient failure: 5 s, 10 s, 20 s, …
/// capped at ten minutes.
pub fn retry_backoff(attempts: u32) -> u64 {
    5u64.saturating_mul(1 << attempts.min(10)).min(600)
}

/// The outcome of one delivery attempt, as stored.
pub fn delivery_for(result: &Result<(), TgError>, attempts: u32) -> Delivery {
    match result {
        Ok(()) => Delivery::Sent,
        // Kept pending (with attempts counted) until the chat comes back.
        Err(e @ TgError::Forbidden(_)) => Delivery::Retry {
            after_secs: 0,
            error: e.to_string(),
        },
        Err(TgError::RetryAfter(d)) => Delivery::Retry {
            after_secs: d.as_secs().max(1),
            error: "flood limit".into(),
        },
        Err(e) if e.is_transient() && attempts + 1 < MAX_TRANSIENT_ATTEMPTS => Delivery::Retry {
            after_secs: retry_backoff(attempts),
            error: e.to_string(),
        },
        Err(e) => Delivery::Failed {
            error: e.to_string(),
        },
    }
}

struct Done {
    id: i64,
    chat_id: i64,
    forbidden: bool,
}

/// Sends one row and records the outcome. Abandoned (the row stays
/// pending) if the actor is asked to stop before the message goes out.
async fn deliver(core: Rc<Core>, item: OutboxItem) -> Done {
    let chat = item.chat_id;
    let mut done = Done {
        id: item.id,
        chat_id: chat,
        forbidden: false,
    };
    let Some(result) = core.send_paced(chat, &item.text, true).await else {
        return done;
    };
    let counters = &core.shared.metrics.counters;
    match &result {
        Ok(()) => Counters::add(&counters.notifications_sent, 1),
        Err(TgError::Forbidden(_)) => done.forbidden = true,
        Err(e) => {
            tracing::warn!(actor = "telegram", chat, id = item.id, error = %e, "notification not delivered")
        }
    }
    let delivery = delivery_for(&result, item.attempts);
    if matches!(delivery, Delivery::Failed { .. }) {
        Counters::add(&counters.notifications_failed, 1);
    }
    let mark = MarkDelivery {
        id: item.id,
        delivery,
    };
    if let Err(e) = core.shared.db.exec(mark).await {
        // Sent but not marked: it will be sent again (the one duplicate
        // the design allows).
        tracing::error!(actor = "telegram", id = item.id, error = %e, "cannot mark a notification");
    }
    done
}

type Fetched = (u64, Result<Vec<OutboxItem>, DbError>);

/// The outbox loop; returns once stopping and nothing is in flight.
pub async fn run(core: Rc<Core>) {
    let mut queue: VecDeque<OutboxItem> = VecDeque::new();
    let mut known: HashSet<i64> = HashSet::new(); // queued or in flight
    let mut busy: HashSet<i64> = HashSet::new(); // chats with a send in flight
    // Rows finished (marked), with the number of fetches started when they
    // finished: a fetch that started before a row was marked may still
    // return it as pending, so it stays ignored until a later fetch is in.
    let mut recently_done: HashMap<i64, u64> = HashMap::new();
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
                let chat = queue[i].chat_id;
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
                let Some(item) = queue.remove(i) else { break };
                busy.insert(chat);
                tasks.push(deliver(core.clone(), item));
            }
            if queue.len() < FETCH_LIMIT / 2 && want_fetch && fetch.is_terminated() {
                want_fetch = false;
                fetches_started += 1;
                let (db, epoch) = (core.shared.db.clone(), fetches_started);
                let request = DueNotifications { limit: FETCH_LIMIT };
                fetch = async move { (epoch, db.exec(request).await) }
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
                known.remove(&done.id);
                recently_done.insert(done.id, fetches_started);
                if done.forbidden {
                    // The chat is inactive now: drop what was queued for it.
                    queue.retain(|i| {
                        let keep = i.chat_id != done.chat_id;
                        if !keep { known.remove(&i.id); }
                        keep
                    });
                }
                if queue.is_empty() {
                    want_fetch = true;
                }
            }
            (epoch, result) = &mut fetch, if !fetch.is_terminated() => {
                recently_done.retain(|_, finished_at| *finished_at >= epoch);
                match result {
                    Ok(items) => {
                        let full = items.len() >= FETCH_LIMIT;
                        for item in items {
                            if !recently_done.contains_key(&item.id) && known.insert(item.id) {
                                queue.push_back(item);
                            }
                        }
                        want_fetch = full;
                    }
                    Err(e) => tracing::warn!(actor = "telegram", error = %e, "cannot read the outbox"),
                }
            }
            () = core.shared.outbox_ready.notified(), if !stopping => want_fetch = true,
            _ = tick.tick(), if !stopping => want_fetch = true,
            () = ready_timer, if !stopping => {}
            () = core.stopped(), if !stopping => stopping = true,
        }
    }
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
            "INSERT INTO outbox (chat_id, transfer_id, text, state, next_attempt_at, created_at)
             VALUES (?1, NULL, ?2, 'pending', ?3, ?3)",
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
/// [`Metrics::raise`](crate::metrics::Metrics::raise)), so admins hear of
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
        for alert in core.shared.metrics.take_undelivered() {
            tracing::info!(actor = "telegram", alert = %alert.key, "alert for the admins");
            for admin in &core.shared.config.telegram.admins {
                waiting.push((*admin, alert_text(&alert.text)));
            }
        }
        let mut queued_any = false;
        while let Some((chat_id, text)) = waiting.first().cloned() {
            let request = QueueMessage { chat_id, text };
            match core.shared.db.exec(request).await {
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
            core.shared.outbox_ready.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_map_to_deliveries() {
        assert_eq!(delivery_for(&Ok(()), 0), Delivery::Sent);
        assert!(matches!(
            delivery_for(&Err(TgError::BadRequest("Bad Request: chat not found".into())), 0),
            Delivery::Failed { error } if error.contains("chat not found")
        ));
        assert!(matches!(
            delivery_for(&Err(TgError::Network("timeout")), 3),
            Delivery::Retry { after_secs: 40, .. }
        ));
        assert!(matches!(
            delivery_for(
                &Err(TgError::Server("Bad Gateway".into())),
                MAX_TRANSIENT_ATTEMPTS
            ),
            Delivery::Failed { .. }
        ));
        assert!(matches!(
            delivery_for(&Err(TgError::Forbidden("blocked".into())), 0),
            Delivery::Retry { after_secs: 0, .. }
        ));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(retry_backoff(0), 5);
        assert_eq!(retry_backoff(1), 10);
        assert_eq!(retry_backoff(7), 600);
        assert_eq!(retry_backoff(1000), 600);
    }
}
