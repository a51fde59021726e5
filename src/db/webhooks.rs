//! Webhook deliveries: one row per (transfer, sink), the webhook sink's
//! durable outbox (see [`crate::webhook`]).
//!
//! Rows are written by [`super::poll_result`] together with their transfer
//! ([`queue`]); the `webhook` actor takes a bounded batch of due rows per
//! sink ([`DueWebhooks`]), posts each, and records the outcome
//! ([`MarkWebhook`]). A row is `pending` until marked `delivered` or `dead`
//! (dead-lettered), so a crash loses none; the only possible duplicate is a
//! POST on the wire at the instant of a crash, which the receiver dedupes by
//! `webhook-id`. Times: `next_attempt_ms` in Unix milliseconds (backoff
//! starts at seconds or less), the other columns in Unix seconds.

use rusqlite::{Transaction, params};

use super::{DbError, DbRequest, now_secs};
use crate::domain::Transfer;
use crate::webhook::{SinkFilter, payload};

/// Queues `t` (already inserted as `transfer_id`) for every sink whose
/// filter it passes. Returns the rows added.
pub fn queue(
    tx: &Transaction<'_>,
    t: &Transfer,
    transfer_id: i64,
    watching_chats: usize,
    sinks: &[SinkFilter],
    now: i64,
) -> Result<usize, DbError> {
    let mut added = 0;
    let mut body = None;
    for sink in sinks.iter().filter(|s| s.matches(t)) {
        let body = body.get_or_insert_with(|| payload::body(t, watching_chats));
        added += tx.execute(
            "INSERT OR IGNORE INTO webhook_deliveries
             (sink, transfer_id, webhook_id, body, next_attempt_ms, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                sink.sink,
                transfer_id,
                payload::webhook_id(&sink.sink, t),
                body.as_str(),
                now.saturating_mul(1000),
                now
            ],
        )?;
    }
    Ok(added)
}

/// A delivery to attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookItem {
    pub id: i64,
    pub webhook_id: String,
    /// The exact bytes to post and sign.
    pub body: String,
    pub attempts: u32,
    /// When the transfer was recorded, Unix milliseconds (the start of
    /// `give_up_after`).
    pub created_ms: i64,
}

/// One sink's pending rows whose next attempt is due, oldest first, at
/// most `limit`: memory stays bounded however long a sink is down.
pub struct DueWebhooks {
    pub sink: String,
    pub now_ms: i64,
    pub limit: usize,
}

impl DbRequest for DueWebhooks {
    type Output = Vec<WebhookItem>;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<Vec<WebhookItem>, DbError> {
        let mut stmt = tx.prepare_cached(
            "SELECT id, webhook_id, body, attempts, created_at FROM webhook_deliveries
             WHERE sink = ?1 AND state = 'pending' AND next_attempt_ms <= ?2
             ORDER BY id LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![self.sink, self.now_ms, self.limit as i64], |r| {
            Ok(WebhookItem {
                id: r.get(0)?,
                webhook_id: r.get(1)?,
                body: r.get(2)?,
                attempts: r.get::<_, i64>(3)?.max(0) as u32,
                created_ms: r.get::<_, i64>(4)?.saturating_mul(1000),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// A row's fate after one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Pending again, due at `at_ms` (Unix milliseconds).
    Retry {
        at_ms: i64,
        error: String,
    },
    /// Dead-lettered: never attempted again; shown in `/status`.
    Dead {
        error: String,
    },
}

/// Records one attempt's outcome.
pub struct MarkWebhook {
    pub id: i64,
    pub outcome: Outcome,
}

impl DbRequest for MarkWebhook {
    type Output = ();
    fn run(self, tx: &Transaction<'_>) -> Result<(), DbError> {
        let now = now_secs();
        match self.outcome {
            Outcome::Delivered => tx.execute(
                "UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1,
                 finished_at = ?2 WHERE id = ?1",
                params![self.id, now],
            )?,
            Outcome::Retry { at_ms, error } => tx.execute(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_ms = ?2,
                 last_error = ?3 WHERE id = ?1 AND state = 'pending'",
                params![self.id, at_ms, error],
            )?,
            Outcome::Dead { error } => tx.execute(
                "UPDATE webhook_deliveries SET state = 'dead', attempts = attempts + 1,
                 last_error = ?2, finished_at = ?3 WHERE id = ?1",
                params![self.id, error, now],
            )?,
        };
        Ok(())
    }
}

/// One sink's backlog, for `/status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SinkCounts {
    pub pending: u64,
    pub dead: u64,
    /// The most recent dead letter's error.
    pub last_dead_error: Option<String>,
}

/// Pending and dead-lettered rows of each of `sinks`, in that order.
pub struct WebhookCounts {
    pub sinks: Vec<String>,
}

impl DbRequest for WebhookCounts {
    type Output = Vec<SinkCounts>;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<Vec<SinkCounts>, DbError> {
        let mut out = Vec::with_capacity(self.sinks.len());
        for sink in &self.sinks {
            let (pending, dead) = tx.query_row(
                "SELECT count(*) FILTER (WHERE state = 'pending'),
                        count(*) FILTER (WHERE state = 'dead')
                 FROM webhook_deliveries WHERE sink = ?1",
                [sink],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )?;
            let last_dead_error = tx
                .query_row(
                    "SELECT last_error FROM webhook_deliveries
                     WHERE sink = ?1 AND state = 'dead' ORDER BY finished_at DESC, id DESC LIMIT 1",
                    [sink],
                    |r| r.get::<_, Option<String>>(0),
                )
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    e => Err(e),
                })?;
            out.push(SinkCounts {
                pending: pending as u64,
                dead: dead as u64,
                last_dead_error,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::poll_result::RecordPollResult;
    use super::super::subscriptions::AddSubscription;
    use super::super::tests::{exec, policy, temp_db};
    use super::*;
    use crate::config::WebhookConfig;
    use crate::domain::{Address, Amount, TokenSymbol};

    fn payment(n: u64, raw: u128) -> Transfer {
        let a = |d: char| Address::parse(&format!("0x{}", d.to_string().repeat(40))).unwrap();
        Transfer {
            chain_id: 1,
            tx_hash: format!("0x{n:064x}"),
            log_index: n,
            block: 100 + n,
            timestamp: 1_700_000_000 + n,
            token: TokenSymbol::Usdt,
            contract: Address::parse("0xdac17f958d2ee523a2206206994597c13d831ec7").unwrap(),
            decimals: 6,
            from: a('9'),
            to: a('1'),
            amount: Amount::from_u128(raw),
        }
    }

    /// Rows are written with the transfers, filtered per sink, never for a
    /// transfer the spam checks hold back, and once however often a poll
    /// is recorded again.
    #[test]
    fn the_poll_write_queues_one_row_per_matching_sink_and_transfer() {
        let (_dir, s) = temp_db();
        exec(
            &s,
            AddSubscription {
                chat_id: 5,
                chain_id: 1,
                address: payment(0, 0).to,
                label: None,
                limit: 3,
            },
        );
        let sink = |url: &str, c: WebhookConfig| SinkFilter::new(url.into(), &c);
        let sinks: std::sync::Arc<[SinkFilter]> = vec![
            sink(
                "big",
                WebhookConfig {
                    min_amount: Some("100".into()),
                    ..WebhookConfig::default()
                },
            ),
            sink(
                "usdc",
                WebhookConfig {
                    tokens: vec!["USDC".into()],
                    ..WebhookConfig::default()
                },
            ),
            sink("all", WebhookConfig::default()),
        ]
        .into();
        // 250 USDT, 0.5 USDT, and a zero-value transfer (held back as spam).
        let batch = vec![payment(1, 250_000_000), payment(2, 500_000), payment(3, 0)];
        for _ in 0..2 {
            let record = RecordPollResult::new(1, batch.clone(), vec![], policy())
                .with_webhooks(sinks.clone());
            exec(&s, record);
        }
        let due = |sink: &str| {
            exec(
                &s,
                DueWebhooks {
                    sink: sink.into(),
                    now_ms: i64::MAX,
                    limit: 10,
                },
            )
        };
        let big = due("big");
        assert_eq!(big.len(), 1);
        assert_eq!(big[0].webhook_id, payload::webhook_id("big", &batch[0]));
        assert!(big[0].body.contains(r#""amount":"250""#), "{}", big[0].body);
        assert!(due("usdc").is_empty());
        assert_eq!(due("all").len(), 2);

        exec(
            &s,
            MarkWebhook {
                id: big[0].id,
                outcome: Outcome::Dead {
                    error: "HTTP 410".into(),
                },
            },
        );
        let counts = exec(
            &s,
            WebhookCounts {
                sinks: vec!["big".into(), "all".into()],
            },
        );
        assert_eq!(
            counts[0],
            SinkCounts {
                pending: 0,
                dead: 1,
                last_dead_error: Some("HTTP 410".into()),
            }
        );
        assert_eq!((counts[1].pending, counts[1].dead), (2, 0));
    }
}
