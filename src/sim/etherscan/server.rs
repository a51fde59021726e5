//! The HTTP side: actix-web wiring, the shared state behind the handle, and
//! the checks every request goes through before it reaches an action
//! (faults, API key, rate limit, chain id), in the order the real service
//! seems to apply them.
//!
//! Everything a request does happens under one short lock and produces a
//! plain [`Reply`]; only a `Slow` fault's delay is awaited, after the lock is
//! released, so requests are recorded in the order they arrived.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::api::{self, Params};
use super::chain::SimChain;
use super::faults::{DAILY_CAP_REASON, Fault, rate_limit_reason};
use super::{RequestKind, RequestRecord, SimEtherscanOptions};

/// An answer, independent of actix so the logic stays plain data.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) json: bool,
    /// `Location` of a 3xx answer.
    pub(crate) location: Option<String>,
}

impl Reply {
    pub(crate) fn json(status: u16, body: String) -> Reply {
        Reply {
            status,
            body,
            json: true,
            location: None,
        }
    }

    pub(crate) fn text(status: u16, body: &str) -> Reply {
        Reply {
            status,
            body: body.to_string(),
            json: false,
            location: None,
        }
    }

    /// A `307 Temporary Redirect` to `url`.
    pub(crate) fn redirect(url: &str) -> Reply {
        Reply {
            location: Some(url.to_string()),
            ..Reply::text(307, "Temporary Redirect")
        }
    }

    /// The error envelope, over HTTP 200 like the real API.
    pub(crate) fn notok(reason: &str) -> Reply {
        let body = serde_json::json!({"status": "0", "message": "NOTOK", "result": reason});
        Reply::json(200, body.to_string())
    }

    pub(crate) fn into_response(self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let ct = if self.json {
            "application/json"
        } else {
            "text/plain; charset=utf-8"
        };
        let mut resp = HttpResponse::build(status);
        if let Some(url) = self.location {
            resp.insert_header(("Location", url));
        }
        resp.content_type(ct).body(self.body)
    }
}

pub(crate) struct State {
    pub(crate) chains: BTreeMap<u64, SimChain>,
    pub(crate) fault: Option<Fault>,
    pub(crate) requests: Vec<RequestRecord>,
    /// Arrival times of the calls served in the last second (rate limit).
    window: VecDeque<Instant>,
    /// The daily quota ([`SimEtherscan::set_daily_limit`](super::SimEtherscan::set_daily_limit)).
    pub(crate) daily: Daily,
    /// One token contract (`0x` + 40 lowercase hex) whose `getLogs` and
    /// `tokentx` calls answer this HTTP status ([`SimEtherscan::fail_contract`](super::SimEtherscan::fail_contract)).
    pub(crate) failing_contract: Option<(String, u16)>,
}

/// Calls served this UTC day, against an optional cap.
#[derive(Debug, Default)]
pub(crate) struct Daily {
    pub(crate) limit: Option<u64>,
    pub(crate) used: u64,
    /// The UTC day (days since the epoch) `used` counts.
    day: u64,
}

impl Daily {
    /// Counts one call; `false` when the cap is reached (not counted).
    fn take(&mut self) -> bool {
        let day = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 86_400);
        if day != self.day {
            (self.day, self.used) = (day, 0);
        }
        if self.limit.is_some_and(|l| self.used >= l) {
            return false;
        }
        self.used += 1;
        true
    }
}

/// What the handle and the HTTP workers share.
pub(crate) struct Shared {
    pub(crate) opts: SimEtherscanOptions,
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new(opts: SimEtherscanOptions) -> Self {
        // The starting head is dated "now": a demo reads today's times.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let genesis = super::chain::genesis_for(now, opts.start_block);
        let chains = opts
            .chains
            .iter()
            .map(|&id| {
                (
                    id,
                    SimChain::new(
                        id,
                        opts.start_block,
                        genesis,
                        opts.noise_per_block,
                        opts.seed,
                    ),
                )
            })
            .collect();
        Shared {
            opts,
            state: Mutex::new(State {
                chains,
                fault: None,
                requests: Vec::new(),
                window: VecDeque::new(),
                daily: Daily::default(),
                failing_contract: None,
            }),
        }
    }

    /// A panic elsewhere must not wedge the simulator: take the state anyway.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answers one query string; returns the reply and how long to wait
    /// before sending it.
    pub(crate) fn serve(&self, query: &str, now: Instant) -> (Reply, Option<Duration>) {
        let mut st = self.lock();
        let mut rec = RequestRecord {
            at: now,
            chain_id: None,
            kind: RequestKind::Other,
            from_block: None,
            to_block: None,
            page: None,
            outcome: "error",
            bytes: 0,
        };
        let reply = match Params::parse(query) {
            Some(p) => {
                api::describe(&p, &st.chains, &mut rec);
                self.decide(&mut st, &p, &mut rec, now)
            }
            None => Reply::notok("Error! Invalid query string"),
        };
        let delay = st.fault.as_ref().and_then(Fault::delay);
        rec.bytes = reply.body.len();
        st.requests.push(rec);
        (reply, delay)
    }

    fn decide(&self, st: &mut State, p: &Params, rec: &mut RequestRecord, now: Instant) -> Reply {
        let head = rec
            .chain_id
            .and_then(|id| st.chains.get(&id))
            .map(|c| c.head);
        if let Some(reply) = st
            .fault
            .as_ref()
            .and_then(|f| f.reply(rec.kind, head, self.opts.rate_limit_per_sec, rec.chain_id))
        {
            rec.outcome = "fault";
            return reply;
        }
        if let Some((contract, status)) = &st.failing_contract
            && [p.get("address"), p.get("contractaddress")]
                .into_iter()
                .flatten()
                .any(|a| a.eq_ignore_ascii_case(contract))
        {
            rec.outcome = "fault";
            return Reply::text(*status, "Internal Server Error");
        }
        if p.get("apikey") != Some(self.opts.api_key.as_str()) {
            rec.outcome = "error";
            return Reply::notok("Invalid API Key");
        }
        if !st.daily.take() {
            rec.outcome = "error";
            return Reply::notok(DAILY_CAP_REASON);
        }
        if let Some(limit) = self.opts.rate_limit_per_sec {
            while st
                .window
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
            {
                st.window.pop_front();
            }
            // Only calls that were served count: a client that backs off
            // gets through again after a second.
            if st.window.len() >= limit as usize {
                rec.outcome = "rate_limited";
                return Reply::notok(&rate_limit_reason(limit));
            }
            st.window.push_back(now);
        }
        let served = st.requests.len() + 1;
        let Some(chain) = rec.chain_id.and_then(|id| st.chains.get(&id)) else {
            rec.outcome = "error";
            return Reply::notok("Missing or unsupported chainid parameter");
        };
        let (reply, outcome) = api::dispatch(chain, p, &self.opts, served);
        rec.outcome = outcome;
        reply
    }

    pub(crate) fn advance_all(&self, blocks: u64) {
        for chain in self.lock().chains.values_mut() {
            chain.head = chain.head.saturating_add(blocks);
        }
    }
}

/// `GET /v2/api?...`
pub(crate) async fn api_route(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let (reply, delay) = shared.serve(req.query_string(), Instant::now());
    if let Some(d) = delay {
        actix_rt::time::sleep(d).await;
    }
    reply.into_response()
}

/// Anything else: the real host answers 404 too.
pub(crate) async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().body("Not Found")
}
