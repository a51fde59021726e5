//! The `webhook` child: posts due delivery rows to their sinks.
//!
//! One loop per sink, all inside the actor's context (a panic or a restart
//! takes them down together), on the actor's own Arbiter with its own
//! `awc::Client` (bounded connections, redirects not followed, a timeout per
//! POST). A loop takes a bounded batch of its sink's due rows from SQLite
//! ([`DueWebhooks`]), posts them oldest first, one at a time, and marks each
//! ([`MarkWebhook`]). After a transient failure the whole sink pauses (the
//! `Retry-After` it asked for, else a backoff doubling per consecutive
//! failure), so a dead sink costs one request per backoff, not one per row;
//! its rows wait in SQLite, never in memory. Nothing here touches the
//! Telegram outbox, so a slow or dead sink never delays a notification.
//!
//! When the supervisor asks it to stop (its stop token, see
//! [`ChildGuard::stop_token`], then [`Control::Stop`]) a POST on the wire
//! finishes and is marked; the rest stays pending for the next start.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, ActorContext, ActorFutureExt, AsyncContext, Context, Handler, WrapFuture};
use awc::error::SendRequestError;
use awc::http::header::{CONTENT_TYPE, RETRY_AFTER};
use tokio_util::sync::CancellationToken;

use super::retry::{Attempt, parse_retry_after};
use super::{Sink, Webhooks};
use crate::db::webhooks::{DueWebhooks, MarkWebhook, Outcome, WebhookItem};
use crate::db::{DbRef, now_secs};
use crate::supervisor::{ChildGuard, Control, obey, stop_before_abandoned};

/// Rows loaded per query and sink: what bounds memory for a long backlog.
pub const BATCH: usize = 50;
/// Without due rows, look again this often.
const IDLE_POLL: Duration = Duration::from_millis(500);
/// Connections the client keeps across all sinks.
const MAX_CONNECTIONS: usize = 8;
/// The part of a receiver's answer that is read (and discarded).
const MAX_ANSWER: usize = 64 * 1024;

/// What the `webhook` child is handed, and nothing else (built by the
/// application from the configuration and the shared handles).
#[derive(Clone)]
pub struct Deps {
    /// Due rows are read and marked here.
    pub db: DbRef,
    /// The configured sinks with their signing keys.
    pub webhooks: Arc<Webhooks>,
    /// The supervisor's `shutdown_timeout`: a POST on the wire at a stop is
    /// waited for until just before it.
    pub shutdown_timeout: Duration,
}

/// The webhook actor. Started only when `[[webhook]]` sinks are configured.
pub struct WebhookActor {
    deps: Deps,
    /// Cancelled when the supervisor asks this incarnation to stop.
    stop: CancellationToken,
    _guard: ChildGuard,
}

impl WebhookActor {
    pub fn new(deps: Deps, guard: ChildGuard) -> Self {
        WebhookActor {
            deps,
            stop: guard.stop_token(),
            _guard: guard,
        }
    }
}

/// What the loops of one incarnation share (single-threaded).
struct Worker {
    db: DbRef,
    http: awc::Client,
    stopping: CancellationToken,
}

impl Actor for WebhookActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let worker = Rc::new(Worker {
            db: self.deps.db.clone(),
            http: client(),
            stopping: self.stop.clone(),
        });
        let loops = self.deps.webhooks.sinks.iter().map(|sink| {
            let worker = worker.clone();
            run_sink(worker, sink.clone())
        });
        let all = futures_util::future::join_all(loops);
        // The loops end only when asked to stop.
        ctx.spawn(all.into_actor(self).map(|_, _, ctx| ctx.stop()));
    }
}

impl Handler<Control> for WebhookActor {
    type Result = ();

    fn handle(&mut self, msg: Control, ctx: &mut Context<Self>) {
        match msg {
            Control::Stop => {
                tracing::info!(actor = "webhook", "stopping: finishing in-flight posts");
                // The loops saw the stop token already (the supervisor
                // cancels it first); a direct `Control::Stop` stops them too.
                self.stop.cancel();
                // A POST may take up to the sink's timeout, longer than
                // the supervisor waits.
                stop_before_abandoned(ctx, self.deps.shutdown_timeout);
            }
            Control::Panic => obey(msg, ctx),
        }
    }
}

fn client() -> awc::Client {
    // rustls needs a process-wide provider (a no-op when one is installed).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let connector = awc::Connector::new()
        .limit(MAX_CONNECTIONS)
        .timeout(Duration::from_secs(10))
        .conn_keep_alive(Duration::from_secs(30));
    awc::Client::builder()
        .connector(connector)
        .disable_redirects()
        .add_default_header((
            "User-Agent",
            concat!("usdt-monitor/", env!("CARGO_PKG_VERSION")),
        ))
        .finish()
}

impl Worker {
    fn is_stopping(&self) -> bool {
        self.stopping.is_cancelled()
    }

    /// Waits `d`; true when asked to stop meanwhile.
    async fn pause(&self, d: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(d) => {}
            () = self.stopping.cancelled() => return true,
        }
        self.is_stopping()
    }
}

/// Unix milliseconds.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// One sink's loop, until asked to stop.
async fn run_sink(w: Rc<Worker>, sink: Sink) {
    let mut failures = 0u32;
    while !w.is_stopping() {
        let due = DueWebhooks {
            sink: sink.id.clone(),
            now_ms: now_ms(),
            limit: BATCH,
        };
        let pause = match w.db.exec(due).await {
            Ok(items) if items.is_empty() => Some(IDLE_POLL),
            Ok(items) => deliver_batch(&w, &sink, items, &mut failures).await,
            Err(e) => {
                tracing::warn!(actor = "webhook", sink = %sink.host, error = %e, "cannot load due deliveries");
                Some(IDLE_POLL)
            }
        };
        if let Some(pause) = pause
            && w.pause(pause).await
        {
            break;
        }
    }
}

/// Posts `items` in order; after a transient failure returns how long the
/// sink should rest (the rest of the batch stays due).
async fn deliver_batch(
    w: &Worker,
    sink: &Sink,
    items: Vec<WebhookItem>,
    failures: &mut u32,
) -> Option<Duration> {
    for item in items {
        if w.is_stopping() {
            return None;
        }
        let attempt = post(&w.http, sink, &item).await;
        let outcome = sink
            .retry
            .outcome(&attempt, item.attempts, item.created_ms, now_ms());
        log(sink, &item, &outcome);
        let mark = MarkWebhook {
            id: item.id,
            outcome,
        };
        if let Err(e) = w.db.exec(mark).await {
            // Posted but not marked: posted again later, deduped by the
            // receiver on `webhook-id`.
            tracing::error!(actor = "webhook", sink = %sink.host, id = item.id, error = %e, "cannot mark a delivery");
        }
        match attempt {
            Attempt::Delivered => *failures = 0,
            Attempt::Permanent { .. } => {}
            Attempt::Transient { retry_after, .. } => {
                // The receiver's Retry-After holds for the whole sink (an
                // absurd one is bounded by give_up_after).
                let rest = sink.retry.delay(retry_after, *failures);
                *failures = failures.saturating_add(1);
                return Some(rest.min(sink.retry.give_up_after));
            }
        }
    }
    None
}

fn log(sink: &Sink, item: &WebhookItem, outcome: &Outcome) {
    let (host, id) = (&sink.host, &item.webhook_id);
    match outcome {
        Outcome::Delivered => {
            tracing::info!(actor = "webhook", sink = %host, webhook_id = %id, "delivered")
        }
        Outcome::Retry { at_ms, error } => tracing::warn!(
            actor = "webhook",
            sink = %host,
            webhook_id = %id,
            error = %error,
            retry_in_ms = at_ms.saturating_sub(now_ms()),
            "delivery failed; will retry"
        ),
        Outcome::Dead { error } => tracing::error!(
            actor = "webhook",
            sink = %host,
            webhook_id = %id,
            error = %error,
            "delivery dead-lettered"
        ),
    }
}

/// One signed POST of `item` (a fresh `webhook-timestamp` and signature on
/// every attempt, the same id and body).
async fn post(http: &awc::Client, sink: &Sink, item: &WebhookItem) -> Attempt {
    let timestamp = now_secs();
    let signature = sink
        .key
        .sign(&item.webhook_id, timestamp, item.body.as_bytes());
    let request = http
        .post(&sink.url)
        .timeout(sink.timeout)
        .insert_header((CONTENT_TYPE, "application/json"))
        .insert_header(("webhook-id", item.webhook_id.as_str()))
        .insert_header(("webhook-timestamp", timestamp.to_string()))
        .insert_header(("webhook-signature", signature));
    let started = tokio::time::Instant::now();
    let sent = tokio::time::timeout(sink.timeout, request.send_body(item.body.clone())).await;
    let mut resp = match sent {
        Ok(Ok(resp)) => resp,
        Ok(Err(e)) => {
            return Attempt::Transient {
                error: describe(e),
                retry_after: None,
            };
        }
        Err(_) => {
            return Attempt::Transient {
                error: "timeout".into(),
                retry_after: None,
            };
        }
    };
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
    // The status decides: a 2xx whose body is slow or broken was still
    // accepted (posting it again would only make a duplicate). The body is
    // read, within what is left of the timeout, so that the connection can
    // be reused.
    let left = sink.timeout.saturating_sub(started.elapsed());
    let _ = tokio::time::timeout(left, resp.body().limit(MAX_ANSWER)).await;
    Attempt::from_status(status, retry_after)
}

/// A send error in words that never include the URL.
fn describe(e: SendRequestError) -> String {
    match e {
        SendRequestError::Timeout => "timeout".into(),
        SendRequestError::Url(_) => "invalid URL".into(),
        SendRequestError::Connect(e) => format!("cannot connect: {e}"),
        e => format!("request failed: {e}"),
    }
}
