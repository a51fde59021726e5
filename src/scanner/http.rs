//! The one HTTP client builder and the one request exchange of every
//! provider client (Etherscan, Blockscout, TronGrid, and whatever comes
//! next).
//!
//! - **Bounded**: at most `max_connections` pooled keep-alive connections,
//!   a connect timeout, a timeout per request covering the whole exchange
//!   (headers and body), and a bounded body (`max_body` bytes).
//! - **Redirects are never followed.** A provider's keys travel in the query
//!   string (Etherscan's `apikey`) or in a header (TronGrid's
//!   `TRON-PRO-API-KEY`); a client that follows a 3xx sends them to whatever
//!   host the `Location` names, plain `http://` included. A 3xx answer is a
//!   [`Transport::Redirect`], whose `Location` is never read, logged or
//!   requested.
//! - **No secret in an error.** `awc` errors can quote the URL (and its
//!   key): they are mapped to [`Transport`] variants without their text;
//!   an answer echoing the key has it [scrubbed](scrub) before it is parsed.
//!
//! `awc::Client` is `!Send`: a client is built on the Arbiter of the actor
//! that uses it and never leaves it.

use std::time::Duration;

use awc::error::{PayloadError, SendRequestError};

use super::kind::{Cause, Kind};

/// Builds a provider client: at most `max_connections` connections,
/// `timeout` per request, redirects not followed.
pub fn client(timeout: Duration, max_connections: usize) -> awc::Client {
    // rustls picks no crypto provider by itself and `Connector::new` panics
    // without one. The app installs ring at start-up; doing it here too (a
    // no-op when one is installed) keeps a test or tool that forgot from
    // crashing the actor on every restart.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let connector = awc::Connector::new()
        .limit(max_connections.max(1))
        .timeout(timeout.min(Duration::from_secs(10)))
        .conn_keep_alive(Duration::from_secs(30))
        .conn_lifetime(Duration::from_secs(300));
    awc::Client::builder()
        .connector(connector)
        .timeout(timeout)
        .disable_redirects()
        .add_default_header((
            "User-Agent",
            concat!("usdt-monitor/", env!("CARGO_PKG_VERSION")),
        ))
        .finish()
}

/// Why an exchange brought no answer to parse. Never holds a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Transport {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("connection failed ({0})")]
    Connection(&'static str),
    /// A 3xx answer: not followed (its `Location` is never read).
    #[error("redirect (HTTP {0}) not followed")]
    Redirect(u16),
    #[error("body larger than {0} bytes")]
    BodyTooLarge(usize),
    #[error("unparseable HTTP response")]
    Unparseable,
}

impl Transport {
    /// Its kind, for providers that map it as it is.
    pub fn kind(&self) -> Kind {
        match self {
            Transport::Timeout(_) => Kind::Transient(Cause::Timeout),
            Transport::Connection(_) => Kind::Transient(Cause::Connection),
            Transport::Redirect(_) | Transport::BodyTooLarge(_) | Transport::Unparseable => {
                Kind::Malformed
            }
        }
    }
}

/// What a request sends besides its URL, query and headers.
pub enum Body<'a> {
    Empty,
    Json(&'a serde_json::Value),
}

/// Sends `req` (with `body`) and reads the status and at most `max_body`
/// bytes of body, all within `timeout`. A 3xx status is
/// [`Transport::Redirect`], its body unread.
pub async fn exchange(
    req: awc::ClientRequest,
    body: Body<'_>,
    timeout: Duration,
    max_body: usize,
) -> Result<(u16, Vec<u8>), Transport> {
    let exchange = async {
        let sent = match body {
            Body::Empty => req.send().await,
            Body::Json(v) => req.send_json(v).await,
        };
        let mut resp = sent.map_err(|e| map_send_error(e, timeout))?;
        let status = resp.status().as_u16();
        if (300..400).contains(&status) {
            return Err(Transport::Redirect(status));
        }
        let body = resp
            .body()
            .limit(max_body)
            .await
            .map_err(|e| map_payload_error(e, timeout, max_body))?;
        Ok((status, body.to_vec()))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(r) => r,
        Err(_) => Err(Transport::Timeout(timeout)),
    }
}

/// Maps a transport error to our own, dropping its text (it may quote the URL).
fn map_send_error(e: SendRequestError, timeout: Duration) -> Transport {
    match e {
        SendRequestError::Timeout => Transport::Timeout(timeout),
        SendRequestError::Connect(_) => Transport::Connection("connect"),
        SendRequestError::Send(_) | SendRequestError::Body(_) => Transport::Connection("send"),
        SendRequestError::Response(_) => Transport::Unparseable,
        SendRequestError::Url(_) => Transport::Connection("invalid URL"),
        _ => Transport::Connection("http"),
    }
}

fn map_payload_error(e: PayloadError, timeout: Duration, max_body: usize) -> Transport {
    match e {
        PayloadError::Overflow => Transport::BodyTooLarge(max_body),
        PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            Transport::Timeout(timeout)
        }
        PayloadError::Incomplete(_) => Transport::Connection("body cut off"),
        _ => Transport::Connection("reading the body"),
    }
}

/// The shortest run of a key's characters that [`scrub`] removes: any 8
/// consecutive characters of the key (or the whole key, if shorter).
pub const SCRUB_RUN: usize = 8;

/// `body` with every run of at least [`SCRUB_RUN`] characters that appears
/// in `secret` replaced by `[redacted]`, or `None` when it holds none. An
/// answer may echo the request — a proxy's error page or a NOTOK reason
/// quoting the URL (Etherscan's `apikey`), a debug page listing the request
/// headers (TronGrid's `TRON-PRO-API-KEY`) — whole, or clipped ("apikey=
/// ABCDEF1234…"), or with the middle elided; the parsers quote answers in
/// their errors. [`Caller`](super::retry::Caller) builds every error from a
/// scrubbed answer, so no error, log line, `/status` or alert carries a key
/// or a recognisable part of one.
///
/// Cost: about `body.len() × secret.len()` byte comparisons; it runs only
/// for an answer that failed to parse.
pub fn scrub(body: &[u8], secret: &[u8]) -> Option<Vec<u8>> {
    const MARK: &[u8] = b"[redacted]";
    let min = secret.len().min(SCRUB_RUN);
    if min == 0 || body.len() < min {
        return None;
    }
    // The longest run at `body[i..]` that appears in `secret`.
    let run = |i: usize| {
        (0..secret.len())
            .map(|p| {
                (body[i..].iter())
                    .zip(&secret[p..])
                    .take_while(|(a, b)| a == b)
                    .count()
            })
            .max()
            .unwrap_or(0)
    };
    let mut out = Vec::with_capacity(body.len());
    let (mut i, mut found) = (0, false);
    while i < body.len() {
        match run(i) {
            n if n >= min => {
                out.extend_from_slice(MARK);
                (i, found) = (i + n, true);
            }
            _ => {
                out.push(body[i]);
                i += 1;
            }
        }
    }
    found.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_errors_lose_their_text() {
        let e = map_send_error(SendRequestError::Timeout, Duration::from_secs(2));
        assert_eq!(e, Transport::Timeout(Duration::from_secs(2)));
        let e = map_send_error(
            SendRequestError::Send(std::io::Error::other("http://x/?apikey=SECRET")),
            Duration::from_secs(2),
        );
        assert!(!e.to_string().contains("SECRET"));
        assert_eq!(Transport::Redirect(307).kind(), Kind::Malformed);
    }

    /// A key echoed whole, clipped at the end ("…"), cut at the front or
    /// with its middle elided loses every run of 8 of its characters; text
    /// that shares fewer with it stays.
    #[test]
    fn a_key_echoed_whole_or_in_part_is_scrubbed() {
        let key = b"ABCDEF1234567890SECRETKEY1234567890X";
        let cases: [(&[u8], &[u8]); 5] = [
            (
                b"apikey=ABCDEF1234567890SECRETKEY1234567890X&x",
                b"apikey=[redacted]&x",
            ),
            (
                b"apikey=ABCDEF1234567890SECRETKEY1234...",
                b"apikey=[redacted]...",
            ),
            (b"...567890SECRETKEY1234567890X done", b"...[redacted] done"),
            (
                b"key ABCDEF1234\xe2\x80\xa67890X",
                b"key [redacted]\xe2\x80\xa67890X",
            ),
            (b"a: ABCDEF1 b: ABCDEF12", b"a: ABCDEF1 b: [redacted]"),
        ];
        for (body, want) in cases {
            let got = scrub(body, key).expect("a run of the key");
            assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
        }
        assert_eq!(scrub(b"ABCDEF1 1234567 SECRETK", key), None);
        // A key shorter than the run is matched whole.
        assert_eq!(scrub(b"k=abc;", b"abc").unwrap(), b"k=[redacted];".to_vec());
        assert_eq!(scrub(b"k=ab;", b"abc"), None);
    }
}
