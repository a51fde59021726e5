//! The HTTP side: actix-web wiring, the state behind the handle, and the
//! checks every request goes through before it reaches an endpoint (faults,
//! API key, suspension, frequency limit).
//!
//! A request is answered under one short lock as a plain [`Reply`]; only a
//! `Slow` fault's delay is awaited, after the lock is released, so requests
//! are recorded in the order they arrived.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::blocks;
use super::chain::TronChain;
use super::events::EventQuery;
use super::faults::{ActiveFault, Fault, frequency_limited, invalid_key};
use super::{Endpoint, RequestRecord, SimTronGridOptions};

/// The header TronGrid reads the API key from.
pub const API_KEY_HEADER: &str = "TRON-PRO-API-KEY";

/// An answer, independent of actix so the logic stays plain data.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: String,
    content_type: &'static str,
    /// `Location` of a 3xx answer.
    location: Option<String>,
}

impl Reply {
    pub(crate) fn json(status: u16, body: String) -> Reply {
        Reply {
            status,
            body,
            content_type: "application/json; charset=utf-8",
            location: None,
        }
    }

    pub(crate) fn text(status: u16, body: &str) -> Reply {
        Reply {
            status,
            body: body.to_string(),
            content_type: "text/plain; charset=utf-8",
            location: None,
        }
    }

    pub(crate) fn html(status: u16, body: &str) -> Reply {
        Reply {
            status,
            body: body.to_string(),
            content_type: "text/html; charset=utf-8",
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

    fn into_response(self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = HttpResponse::build(status);
        if let Some(url) = self.location {
            resp.insert_header(("Location", url));
        }
        resp.content_type(self.content_type).body(self.body)
    }
}

/// Who is calling: a key, or `None` for keyless calls.
type Caller = Option<String>;

pub(crate) struct State {
    pub(crate) chain: TronChain,
    pub(crate) fault: Option<ActiveFault>,
    pub(crate) requests: Vec<RequestRecord>,
    pub(crate) calls: HashMap<Endpoint, u64>,
    pub(crate) bytes_served: u64,
    /// Arrival times of each caller's calls in the last second.
    windows: HashMap<Caller, VecDeque<Instant>>,
    /// Suspended callers: until when, and with which status.
    suspended: HashMap<Caller, (Instant, u16)>,
    /// One token contract (base58 `T…`) whose events calls answer this
    /// HTTP status ([`SimTronGrid::fail_contract`](super::SimTronGrid::fail_contract)).
    pub(crate) failing_contract: Option<(String, u16)>,
}

/// What the handle and the HTTP workers share.
pub(crate) struct Shared {
    pub(crate) opts: SimTronGridOptions,
    state: Mutex<State>,
}

/// The parts of a request the simulator looks at.
pub(crate) struct Call<'a> {
    pub(crate) endpoint: Endpoint,
    pub(crate) path: &'a str,
    pub(crate) query: &'a str,
    pub(crate) body: &'a [u8],
    pub(crate) api_key: Option<String>,
    /// `http://host:port`, for `links.next`.
    pub(crate) base_url: String,
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Shared {
    pub(crate) fn new(opts: SimTronGridOptions) -> Self {
        let chain = TronChain::new(
            opts.start_block,
            opts.start_time_ms.unwrap_or_else(now_ms),
            opts.solid_lag,
            opts.noise_per_block,
            opts.seed,
        );
        Shared {
            opts,
            state: Mutex::new(State {
                chain,
                fault: None,
                requests: Vec::new(),
                calls: HashMap::new(),
                bytes_served: 0,
                windows: HashMap::new(),
                suspended: HashMap::new(),
                failing_contract: None,
            }),
        }
    }

    /// A panic elsewhere must not wedge the simulator: take the state anyway.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answers one call; returns the reply and how long to wait before
    /// sending it.
    pub(crate) fn serve(&self, call: &Call<'_>, now: Instant) -> (Reply, Option<Duration>) {
        let mut st = self.lock();
        let fault = match st.fault.as_mut() {
            Some(active) => {
                let (fault, expired) = active.take(call.endpoint, now);
                if expired {
                    st.fault = None;
                }
                fault
            }
            None => None,
        };
        let mut reply = self.decide(&mut st, call, fault.as_ref(), now);
        if fault == Some(Fault::Truncated) && reply.status == 200 {
            let mut cut = reply.body.len() / 2;
            while !reply.body.is_char_boundary(cut) {
                cut -= 1;
            }
            reply.body.truncate(cut);
        }
        let delay = match fault {
            Some(Fault::Slow(d)) => Some(d),
            _ => None,
        };
        *st.calls.entry(call.endpoint).or_default() += 1;
        st.bytes_served += reply.body.len() as u64;
        st.requests.push(RequestRecord {
            at: now,
            endpoint: call.endpoint,
            path: call.path.to_string(),
            query: call.query.to_string(),
            api_key: call.api_key.clone(),
            status: reply.status,
            bytes: reply.body.len(),
            fault,
        });
        (reply, delay)
    }

    fn decide(
        &self,
        st: &mut State,
        call: &Call<'_>,
        fault: Option<&Fault>,
        now: Instant,
    ) -> Reply {
        if let Some(reply) = fault.and_then(Fault::reply) {
            return reply;
        }
        if let Some((contract, status)) = &st.failing_contract
            && call.endpoint == Endpoint::Events
            && call.path.contains(contract.as_str())
        {
            return Reply::text(*status, "Internal Server Error");
        }
        let caller: Caller = call.api_key.clone();
        if let Some(key) = &caller
            && !self.opts.valid_keys.iter().any(|k| k == key)
        {
            return invalid_key();
        }
        if let Some(Fault::RateLimited { status }) = fault {
            st.suspended
                .insert(caller.clone(), (now + self.opts.suspension, *status));
        }
        if let Some((until, status)) = st.suspended.get(&caller).copied() {
            if now < until {
                return frequency_limited(call.endpoint, status, self.opts.suspension);
            }
            st.suspended.remove(&caller);
        }
        let limit = if caller.is_some() {
            self.opts.key_rate_per_sec
        } else {
            self.opts.keyless_rate_per_sec
        };
        if let Some(limit) = limit {
            let window = st.windows.entry(caller.clone()).or_default();
            while window
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
            {
                window.pop_front();
            }
            if window.len() >= limit as usize {
                window.clear();
                st.suspended
                    .insert(caller, (now + self.opts.suspension, 403));
                return frequency_limited(call.endpoint, 403, self.opts.suspension);
            }
            window.push_back(now);
        }
        self.dispatch(&st.chain, call, fault == Some(&Fault::MissingFingerprint))
    }

    fn dispatch(&self, chain: &TronChain, call: &Call<'_>, drop_fingerprint: bool) -> Reply {
        let ok = |v: serde_json::Value| Reply::json(200, v.to_string());
        match call.endpoint {
            Endpoint::NowBlock => ok(blocks::render(chain, chain.head, true)),
            Endpoint::SolidNowBlock => ok(blocks::render(chain, chain.solid_head(), true)),
            Endpoint::GetBlock | Endpoint::SolidGetBlock => {
                let latest = if call.endpoint == Endpoint::GetBlock {
                    chain.head
                } else {
                    chain.solid_head()
                };
                match blocks::block_params(call.body, call.query) {
                    Ok((id, detail)) => ok(blocks::get_block(chain, latest, id.as_deref(), detail)),
                    Err(e) => ok(e),
                }
            }
            Endpoint::Events => {
                let contract = call
                    .path
                    .strip_prefix("/v1/contracts/")
                    .and_then(|rest| rest.strip_suffix("/events"))
                    .unwrap_or_default();
                match EventQuery::parse(contract, call.query) {
                    Ok(q) => q.answer(chain, now_ms(), &call.base_url, drop_fingerprint),
                    Err(reply) => reply,
                }
            }
            Endpoint::Other => Reply::text(404, "Not Found"),
        }
    }

    pub(crate) fn advance(&self, blocks: u64) {
        let mut st = self.lock();
        st.chain.head = st.chain.head.saturating_add(blocks);
    }
}

async fn serve(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
    endpoint: Endpoint,
) -> HttpResponse {
    let api_key = req
        .headers()
        .get(API_KEY_HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let base_url = {
        let info = req.connection_info();
        format!("{}://{}", info.scheme(), info.host())
    };
    let call = Call {
        endpoint,
        path: req.path(),
        query: req.query_string(),
        body: &body,
        api_key,
        base_url,
    };
    let (reply, delay) = shared.serve(&call, Instant::now());
    if let Some(d) = delay {
        actix_rt::time::sleep(d).await;
    }
    reply.into_response()
}

/// Registers every endpoint on the app.
pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    macro_rules! endpoint {
        ($path:literal, $endpoint:expr, [$($method:ident),+]) => {
            cfg.service(web::resource($path)
                $(.route(web::$method().to(
                    |req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>| {
                        serve(req, body, shared, $endpoint)
                    },
                )))+);
        };
    }
    endpoint!("/wallet/getnowblock", Endpoint::NowBlock, [get, post]);
    endpoint!(
        "/walletsolidity/getnowblock",
        Endpoint::SolidNowBlock,
        [get, post]
    );
    endpoint!("/wallet/getblock", Endpoint::GetBlock, [get, post]);
    endpoint!(
        "/walletsolidity/getblock",
        Endpoint::SolidGetBlock,
        [get, post]
    );
    endpoint!("/v1/contracts/{contract}/events", Endpoint::Events, [get]);
    cfg.default_service(web::to(
        |req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>| {
            serve(req, body, shared, Endpoint::Other)
        },
    ));
}
