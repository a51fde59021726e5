//! Simulated peers for tests, benchmarks and the demo: a local Etherscan
//! API V2, a local Telegram Bot API and a webhook receiver, all real HTTP
//! servers on 127.0.0.1.
//! The daemon talks to them with its real clients; nothing is mocked.

pub mod blockscout;
pub mod botapi;
pub mod etherscan;
pub mod rpc;
mod running;
pub mod tron;
pub mod webhook;

use std::time::{Duration, Instant};

/// The largest number of `times` within any window of length `window`
/// (half-open: two calls exactly `window` apart are in different windows).
/// For checking a client's own rate limiting against a simulator's records.
pub fn max_in_any_window(times: impl IntoIterator<Item = Instant>, window: Duration) -> usize {
    let mut times: Vec<Instant> = times.into_iter().collect();
    times.sort();
    let mut best = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while times[end].duration_since(times[start]) >= window {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}
