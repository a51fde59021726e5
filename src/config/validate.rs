//! Semantic checks that serde cannot express. Each failure names its key.

use std::time::Duration;

use super::Config;
use crate::domain::{Amount, Chain, TokenSymbol};

type Problem = (String, String);

fn bad(key: &str, problem: impl Into<String>) -> Problem {
    (key.to_string(), problem.into())
}

fn positive(key: &str, d: Duration) -> Result<(), Problem> {
    if d.is_zero() {
        return Err(bad(key, "must be longer than zero"));
    }
    Ok(())
}

fn at_least_one(key: &str, n: u64) -> Result<(), Problem> {
    if n == 0 {
        return Err(bad(key, "must be at least 1"));
    }
    Ok(())
}

fn url(key: &str, s: &str) -> Result<(), Problem> {
    if !(s.starts_with("http://") || s.starts_with("https://")) || s.len() < 10 {
        return Err(bad(key, "must be an http:// or https:// URL"));
    }
    Ok(())
}

pub(super) fn validate(c: &Config) -> Result<(), Problem> {
    let t = &c.telegram;
    url("telegram.api_url", &t.api_url)?;
    positive("telegram.long_poll_timeout", t.long_poll_timeout)?;
    if t.long_poll_timeout > Duration::from_secs(50) {
        return Err(bad("telegram.long_poll_timeout", "must be at most 50s"));
    }
    at_least_one("telegram.send_rate", t.send_rate.into())?;
    positive("telegram.per_chat_interval", t.per_chat_interval)?;
    at_least_one("telegram.command_limit", t.command_limit.into())?;
    positive("telegram.command_window", t.command_window)?;

    let e = &c.etherscan;
    url("etherscan.base_url", &e.base_url)?;
    at_least_one(
        "etherscan.requests_per_second",
        e.requests_per_second.into(),
    )?;
    at_least_one("etherscan.max_connections", e.max_connections as u64)?;
    positive("etherscan.request_timeout", e.request_timeout)?;
    at_least_one("etherscan.max_blocks_per_poll", e.max_blocks_per_poll)?;

    let m = &c.monitor;
    if m.chains.is_empty() {
        return Err(bad("monitor.chains", "must name at least one chain"));
    }
    for name in &m.chains {
        if Chain::by_name(name).is_none() {
            return Err(bad(
                "monitor.chains",
                format!(
                    "names an unknown chain {name:?} (known: {})",
                    Chain::names().join(", ")
                ),
            ));
        }
    }
    if m.tokens.is_empty() {
        return Err(bad("monitor.tokens", "must name at least one token"));
    }
    for name in &m.tokens {
        if TokenSymbol::parse(name).is_none() {
            return Err(bad(
                "monitor.tokens",
                format!("names an unknown token {name:?} (known: USDT, USDC)"),
            ));
        }
    }
    positive("monitor.poll_interval", m.poll_interval)?;
    at_least_one(
        "monitor.max_addresses_per_user",
        m.max_addresses_per_user.into(),
    )?;

    let d = &c.database;
    if d.path.as_os_str().is_empty() {
        return Err(bad("database.path", "must not be empty"));
    }
    at_least_one("database.workers", d.workers as u64)?;
    positive("database.busy_timeout", d.busy_timeout)?;

    let s = &c.supervisor;
    positive("supervisor.restart_window", s.restart_window)?;
    positive("supervisor.backoff_min", s.backoff_min)?;
    positive("supervisor.backoff_max", s.backoff_max)?;
    if s.backoff_max < s.backoff_min {
        return Err(bad(
            "supervisor.backoff_max",
            "must not be shorter than backoff_min",
        ));
    }
    positive("supervisor.shutdown_timeout", s.shutdown_timeout)?;

    let level_ok = |directive: &str| {
        let level = directive.rsplit('=').next().unwrap_or_default().trim();
        level
            .parse::<tracing_subscriber::filter::LevelFilter>()
            .is_ok()
    };
    if c.log.level.trim().is_empty()
        || !c.log.level.split(',').all(level_ok)
        || tracing_subscriber::EnvFilter::try_new(&c.log.level).is_err()
    {
        return Err(bad(
            "log.level",
            "is not a level or filter (try \"info\" or \"debug\")",
        ));
    }

    let sp = &c.spam;
    if sp.threshold > 100 {
        return Err(bad("spam.threshold", "must be between 0 and 100"));
    }
    if Amount::parse_units(&sp.dust_below, 6).is_err() {
        return Err(bad(
            "spam.dust_below",
            "must be a token amount such as \"0.1\" (at most 6 decimals)",
        ));
    }
    if !(1..=20).contains(&sp.lookalike_prefix) {
        return Err(bad("spam.lookalike_prefix", "must be between 1 and 20"));
    }
    if !(1..=20).contains(&sp.lookalike_suffix) {
        return Err(bad("spam.lookalike_suffix", "must be between 1 and 20"));
    }
    at_least_one("spam.burst_count", sp.burst_count.into())?;
    positive("spam.burst_window", sp.burst_window)?;

    if let Some(listen) = &c.http.listen
        && listen.parse::<std::net::SocketAddr>().is_err()
    {
        return Err(bad(
            "http.listen",
            "must be an IP address and port such as \"127.0.0.1:9108\"",
        ));
    }
    Ok(())
}
