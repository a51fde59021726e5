//! A webhook receiver on 127.0.0.1 that verifies Standard Webhooks
//! signatures, the way an integrator's endpoint would.
//!
//! Every POST is recorded with its `webhook-id` and whether its signature
//! and timestamp verified; receivers dedupe by `webhook-id`, so tests count
//! both distinct ids and total requests. The answer is scripted: the next
//! requests get the statuses queued with [`SimReceiver::script`] (a 429 or
//! 503 with `Retry-After` when given), then [`SimReceiver::answer`]'s
//! status (200 by default); [`SimReceiver::stall`] delays answers past a
//! client's timeout, [`SimReceiver::slow_body`] sends the headers at once
//! and the body late; [`SimReceiver::redirect_to`] gives 3xx answers a
//! `Location`. A request whose signature does not verify gets 401, as
//! a real receiver would answer.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

use crate::webhook::SigningKey;

/// One request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub webhook_id: String,
    pub timestamp: i64,
    /// The raw body as received.
    pub body: String,
    /// The signature and timestamp verified.
    pub verified: bool,
    /// What the receiver answered.
    pub status: u16,
}

impl Received {
    /// The body parsed as JSON (`Null` if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    script: VecDeque<(u16, Option<u64>)>,
    answer: Option<u16>,
    /// Delays for the next requests' answers.
    stalls: VecDeque<Duration>,
    /// The `Location` of 3xx answers.
    location: Option<String>,
    /// Delays between the next answers' headers and their bodies.
    slow_bodies: VecDeque<Duration>,
}

struct Inner {
    key: SigningKey,
    state: Mutex<State>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a request and decides its answer.
    fn record(&self, mut r: Received) -> Answer {
        let mut st = self.lock();
        let (status, retry_after) = match (r.verified, st.script.pop_front()) {
            (false, _) => (401, None),
            (true, Some(scripted)) => scripted,
            (true, None) => (st.answer.unwrap_or(200), None),
        };
        r.status = status;
        st.received.push(r);
        Answer {
            status,
            retry_after,
            stall: st.stalls.pop_front(),
            body_delay: st.slow_bodies.pop_front(),
            location: st.location.clone().filter(|_| (300..400).contains(&status)),
        }
    }
}

/// What the receiver answers one request.
struct Answer {
    status: u16,
    /// `Retry-After` seconds.
    retry_after: Option<u64>,
    /// Delay before answering.
    stall: Option<Duration>,
    /// Delay between the headers and the body.
    body_delay: Option<Duration>,
    location: Option<String>,
}

/// Handle to a running receiver; stops when the last clone drops.
#[derive(Clone)]
pub struct SimReceiver {
    inner: Arc<Inner>,
    server: Arc<ServerHandle>,
    url: String,
    port: u16,
}

impl Drop for SimReceiver {
    fn drop(&mut self) {
        if Arc::strong_count(&self.server) == 1 {
            // Sends the stop command; completion is not awaited.
            drop(self.server.stop(false));
        }
    }
}

impl SimReceiver {
    /// Binds 127.0.0.1 on a free port; `secret` as a sink's `secret_env`
    /// would hold it (`whsec_…`). Needs a Tokio runtime.
    pub async fn start(secret: &str) -> std::io::Result<SimReceiver> {
        SimReceiver::start_on(secret, 0).await
    }

    /// [`start`](Self::start) on a given port (0: any free one), e.g. to
    /// come back where a stopped receiver was.
    pub async fn start_on(secret: &str, port: u16) -> std::io::Result<SimReceiver> {
        let key = SigningKey::parse(secret).map_err(std::io::Error::other)?;
        let inner = Arc::new(Inner {
            key,
            state: Mutex::new(State::default()),
        });
        let data = web::Data::from(inner.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .bind(("127.0.0.1", port))?;
        let port = server
            .addrs()
            .first()
            .map(|a| a.port())
            .ok_or_else(|| std::io::Error::other("the receiver bound no address"))?;
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(SimReceiver {
            inner,
            server: Arc::new(handle),
            // A query token, as some integrators use: it must never be logged.
            url: format!("http://127.0.0.1:{port}/hooks/usdt?token=hook-SECRET-query-5d1e"),
            port,
        })
    }

    /// The endpoint URL (with a secret query token).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The next requests get these statuses, in order; a `Some(secs)`
    /// adds `Retry-After: secs`.
    pub fn script(&self, answers: impl IntoIterator<Item = (u16, Option<u64>)>) {
        self.inner.lock().script.extend(answers);
    }

    /// The next `n` answers wait `d` first (a receiver slower than the
    /// client's timeout). The request is recorded when it arrives.
    pub fn stall(&self, n: usize, d: Duration) {
        self.inner.lock().stalls.extend(std::iter::repeat_n(d, n));
    }

    /// The next `n` answers send their status and headers at once and
    /// their body `d` later (a receiver that accepted, then dawdles).
    pub fn slow_body(&self, n: usize, d: Duration) {
        self.inner
            .lock()
            .slow_bodies
            .extend(std::iter::repeat_n(d, n));
    }

    /// 3xx answers carry `Location: url` (e.g. another receiver's).
    pub fn redirect_to(&self, url: &str) {
        self.inner.lock().location = Some(url.to_string());
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops listening: connections are refused until a receiver starts on
    /// the same port again.
    pub async fn stop(&self) {
        self.server.stop(false).await;
    }

    /// The status answered once the script is used up (200 by default).
    pub fn answer(&self, status: u16) {
        self.inner.lock().answer = Some(status);
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().received.clone()
    }

    /// The distinct `webhook-id`s of verified requests answered with a 2xx:
    /// what a deduping receiver accepted.
    pub fn accepted_ids(&self) -> BTreeSet<String> {
        let st = self.inner.lock();
        st.received
            .iter()
            .filter(|r| r.verified && (200..300).contains(&r.status))
            .map(|r| r.webhook_id.clone())
            .collect()
    }

    /// Waits until `pred` holds for what was received, at most `timeout`.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&[Received]) -> bool,
    ) -> Result<Vec<Received>, Vec<Received>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let got = self.received();
            if pred(&got) {
                return Ok(got);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(got);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn receive(req: HttpRequest, body: web::Bytes, inner: web::Data<Inner>) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (id, signature) = (header("webhook-id"), header("webhook-signature"));
    let timestamp = header("webhook-timestamp").parse::<i64>().unwrap_or(0);
    let verified = inner
        .key
        .verify(&signature, &id, timestamp, &body, crate::db::now_secs());
    let received = Received {
        webhook_id: id,
        timestamp,
        body: String::from_utf8_lossy(&body).into_owned(),
        verified,
        status: 0,
    };
    let answer = inner.record(received);
    if let Some(d) = answer.stall {
        actix_rt::time::sleep(d).await;
    }
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut resp = HttpResponse::build(status);
    if let Some(secs) = answer.retry_after {
        resp.insert_header(("Retry-After", secs.to_string()));
    }
    if let Some(url) = answer.location {
        resp.insert_header(("Location", url));
    }
    match answer.body_delay {
        Some(d) => resp.streaming(futures_util::stream::once(async move {
            actix_rt::time::sleep(d).await;
            Ok::<_, std::convert::Infallible>(web::Bytes::from_static(b"ok"))
        })),
        None => resp.finish(),
    }
}
