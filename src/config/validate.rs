//! Semantic checks that serde cannot express. Each failure names its key.

use std::time::Duration;

use super::Config;
use crate::domain::{Address, Amount, Chain, TokenSymbol};

type Problem = (String, String);

/// The smallest `database.max_size` accepted.
const MIN_DATABASE_SIZE: u64 = 64 * 1024;
/// Bounds of `telegram.max_pending_per_chat`: below, a busy but normal
/// address would be folded; above, one chat's backlog is not bounded in
/// any useful sense.
const MIN_PENDING_PER_CHAT: u32 = 10;
const MAX_PENDING_PER_CHAT: u32 = 100_000;
/// The most `telegram.max_chats` and `monitor.max_subscriptions` accept:
/// far beyond what one SQLite file and one bot serve well.
const MAX_CHATS: u32 = 10_000_000;
const MAX_SUBSCRIPTIONS: u32 = 100_000_000;

/// `telegram.registration`, `telegram.allowed`, `telegram.max_chats`: a
/// mode somebody can use, ids that can be Telegram ids, a sane cap.
fn registration(c: &Config) -> Result<(), Problem> {
    use super::Registration;
    let t = &c.telegram;
    if let Some(id) = t.admins.iter().find(|&&id| id <= 0) {
        return Err(bad(
            "telegram.admins",
            format!(
                "{id} is not a Telegram user id (user ids are positive; a group's is negative): \
                 an admin must be a person who can press Approve in a private chat"
            ),
        ));
    }
    if t.allowed.contains(&0) {
        return Err(bad(
            "telegram.allowed",
            "0 is not a Telegram user or chat id",
        ));
    }
    match t.registration {
        Registration::Allowlist if t.allowed.is_empty() && t.admins.is_empty() => {
            return Err(bad(
                "telegram.allowed",
                "is empty and telegram.admins too: registration = \"allowlist\" would let nobody use the bot",
            ));
        }
        Registration::Approval if t.admins.is_empty() => {
            return Err(bad(
                "telegram.admins",
                "must name at least one admin with registration = \"approval\" (nobody could approve a chat)",
            ));
        }
        Registration::Open | Registration::Approval if !t.allowed.is_empty() => {
            return Err(bad(
                "telegram.allowed",
                format!(
                    "is only read with registration = \"allowlist\" (it is {:?}): remove it or change the mode",
                    t.registration.as_str()
                ),
            ));
        }
        _ => {}
    }
    if !(1..=MAX_CHATS).contains(&t.max_chats) {
        return Err(bad(
            "telegram.max_chats",
            format!("must be between 1 and {MAX_CHATS}"),
        ));
    }
    Ok(())
}

fn bad(key: &str, problem: impl Into<String>) -> Problem {
    (key.to_string(), problem.into())
}

/// The longest duration any key accepts: far beyond any sensible setting,
/// and far from overflowing an `Instant` when timers add it.
pub(super) const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The most database worker threads.
pub(super) const MAX_WORKERS: usize = 64;

/// Every duration key: longer than zero (a zero interval spins) and at most
/// [`MAX_DURATION`].
fn positive(key: &str, d: Duration) -> Result<(), Problem> {
    if d.is_zero() {
        return Err(bad(key, "must be longer than zero"));
    }
    if d > MAX_DURATION {
        return Err(bad(key, "must be at most 100 years"));
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

/// `[[monitor.contracts]]`: each entry on a scanned chain, with a known
/// symbol that `monitor.tokens` scans, a well-formed contract that neither
/// the registry nor another entry already has on that chain, and sane decimals.
fn contracts(c: &Config) -> Result<(), Problem> {
    let m = &c.monitor;
    let mut seen: Vec<(u64, Address)> = Vec::new();
    for (i, entry) in m.contracts.iter().enumerate() {
        let key = |field: &str| format!("monitor.contracts[{i}].{field}");
        let Some(chain) = Chain::by_name(&entry.chain) else {
            return Err(bad(
                &key("chain"),
                format!(
                    "names an unknown chain {:?} (known: {})",
                    entry.chain,
                    Chain::names().join(", ")
                ),
            ));
        };
        if !m.chains.iter().any(|n| n.eq_ignore_ascii_case(chain.name)) {
            return Err(bad(
                &key("chain"),
                format!(
                    "{:?} is not in monitor.chains, so it would never be scanned",
                    entry.chain
                ),
            ));
        }
        let Some(symbol) = TokenSymbol::parse(&entry.symbol) else {
            return Err(bad(
                &key("symbol"),
                format!(
                    "names an unknown token {:?} (known: USDT, USDC)",
                    entry.symbol
                ),
            ));
        };
        if !m
            .tokens
            .iter()
            .any(|t| TokenSymbol::parse(t) == Some(symbol))
        {
            return Err(bad(
                &key("symbol"),
                format!(
                    "{} is not in monitor.tokens, so it would never be scanned",
                    symbol.as_str()
                ),
            ));
        }
        let contract = chain.kind.parse_address(&entry.contract).map_err(|e| {
            bad(
                &key("contract"),
                format!("is not a contract address on {} ({e})", chain.display),
            )
        })?;
        if chain.token_by_contract(&contract).is_some()
            || seen.contains(&(chain.id, contract.clone()))
        {
            return Err(bad(
                &key("contract"),
                format!(
                    "{} is already registered on {}",
                    chain.show_address(&contract),
                    chain.name
                ),
            ));
        }
        if entry.decimals > 36 {
            return Err(bad(&key("decimals"), "must be between 0 and 36"));
        }
        seen.push((chain.id, contract));
    }
    Ok(())
}

/// `[blockscout]`: a positive rate and threshold, a probe interval, and
/// per chain a known chain name with an http(s) URL (empty: no fallback).
fn blockscout(c: &Config) -> Result<(), Problem> {
    let b = &c.blockscout;
    at_least_one(
        "blockscout.requests_per_second",
        b.requests_per_second.into(),
    )?;
    at_least_one("blockscout.failure_threshold", b.failure_threshold.into())?;
    positive("blockscout.probe_interval", b.probe_interval)?;
    for (name, u) in &b.urls {
        let key = format!("blockscout.urls.{name}");
        if Chain::by_name(name).is_none() {
            return Err(bad(
                &key,
                format!(
                    "names an unknown chain (known: {})",
                    Chain::names().join(", ")
                ),
            ));
        }
        if !u.is_empty() {
            url(&key, u)?;
            if u.contains('?') || u.contains('#') || u.chars().any(char::is_whitespace) {
                return Err(bad(
                    &key,
                    "must be a plain URL without query, fragment or spaces",
                ));
            }
            // `user:key@host`: a credential that check-config would print.
            let authority = u.split("://").nth(1).and_then(|r| r.split('/').next());
            if authority.is_some_and(|a| a.contains('@')) {
                return Err(bad(
                    &key,
                    "must not carry credentials (user:key@): Blockscout is keyless here",
                ));
            }
        }
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
    positive("telegram.send_timeout", t.send_timeout)?;
    if t.send_timeout > Duration::from_secs(120) {
        return Err(bad("telegram.send_timeout", "must be at most 120s"));
    }
    at_least_one("telegram.send_rate", t.send_rate.into())?;
    positive("telegram.per_chat_interval", t.per_chat_interval)?;
    at_least_one("telegram.command_limit", t.command_limit.into())?;
    positive("telegram.command_window", t.command_window)?;
    at_least_one("telegram.group_per_minute", t.group_per_minute.into())?;
    if t.combine_after == 1 {
        return Err(bad(
            "telegram.combine_after",
            "must be 0 (never combine) or at least 2",
        ));
    }
    if t.combine_window > Duration::from_secs(60) {
        return Err(bad("telegram.combine_window", "must be at most 60s"));
    }
    if !(MIN_PENDING_PER_CHAT..=MAX_PENDING_PER_CHAT).contains(&t.max_pending_per_chat) {
        return Err(bad(
            "telegram.max_pending_per_chat",
            format!("must be between {MIN_PENDING_PER_CHAT} and {MAX_PENDING_PER_CHAT}"),
        ));
    }

    registration(c)?;

    let e = &c.etherscan;
    url("etherscan.base_url", &e.base_url)?;
    at_least_one(
        "etherscan.requests_per_second",
        e.requests_per_second.into(),
    )?;
    at_least_one("etherscan.max_connections", e.max_connections as u64)?;
    positive("etherscan.request_timeout", e.request_timeout)?;
    at_least_one("etherscan.max_blocks_per_poll", e.max_blocks_per_poll)?;
    positive(
        "etherscan.daily_cap_probe_interval",
        e.daily_cap_probe_interval,
    )?;
    positive(
        "etherscan.invalid_key_probe_interval",
        e.invalid_key_probe_interval,
    )?;
    at_least_one("etherscan.daily_limit", e.daily_limit)?;
    blockscout(c)?;
    super::rpc::validate(&c.rpc)?;

    let t = &c.tron;
    url("tron.api_url", &t.api_url)?;
    at_least_one("tron.requests_per_second", t.requests_per_second.into())?;
    at_least_one("tron.max_connections", t.max_connections as u64)?;
    positive("tron.request_timeout", t.request_timeout)?;

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
    for (name, depth) in &m.rescan_depth {
        let key = format!("monitor.rescan_depth.{name}");
        if Chain::by_name(name).is_none() {
            return Err(bad(&key, "names an unknown chain"));
        }
        if *depth > 100_000 {
            return Err(bad(&key, "must be at most 100000 blocks"));
        }
    }
    contracts(c)?;
    positive("monitor.poll_interval", m.poll_interval)?;
    positive("monitor.scan_mode_recheck", m.scan_mode_recheck)?;
    at_least_one(
        "monitor.max_addresses_per_user",
        m.max_addresses_per_user.into(),
    )?;
    if !(m.max_addresses_per_user..=MAX_SUBSCRIPTIONS).contains(&m.max_subscriptions) {
        return Err(bad(
            "monitor.max_subscriptions",
            format!(
                "must be between monitor.max_addresses_per_user ({}) and {MAX_SUBSCRIPTIONS}",
                m.max_addresses_per_user
            ),
        ));
    }

    let d = &c.database;
    if d.path.as_os_str().is_empty() {
        return Err(bad("database.path", "must not be empty"));
    }
    at_least_one("database.workers", d.workers as u64)?;
    if d.workers > MAX_WORKERS {
        return Err(bad(
            "database.workers",
            format!("must be at most {MAX_WORKERS}"),
        ));
    }
    positive("database.busy_timeout", d.busy_timeout)?;
    if let Some(size) = d.max_size
        && size.0 < MIN_DATABASE_SIZE
    {
        return Err(bad(
            "database.max_size",
            "must be at least 64KiB (an empty database takes about 100KiB)",
        ));
    }
    positive("database.keep_delivered", d.keep_delivered)?;
    positive("database.keep_transfers", d.keep_transfers)?;
    positive("database.prune_interval", d.prune_interval)?;
    if d.keep_transfers < Duration::from_secs(2 * 24 * 3600) {
        return Err(bad(
            "database.keep_transfers",
            "must be at least 2d (held-back transfers wait up to a day for the daily digest)",
        ));
    }
    if d.keep_transfers < c.spam.burst_window {
        return Err(bad(
            "database.keep_transfers",
            "must not be shorter than spam.burst_window (the burst check reads that much history)",
        ));
    }

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
    if !(2..=20).contains(&sp.lookalike_prefix_tron) {
        return Err(bad(
            "spam.lookalike_prefix_tron",
            "must be between 2 and 20 (the T counts)",
        ));
    }
    if !(1..=20).contains(&sp.lookalike_suffix_tron) {
        return Err(bad(
            "spam.lookalike_suffix_tron",
            "must be between 1 and 20",
        ));
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
    super::webhook::validate(&c.webhooks)
}
