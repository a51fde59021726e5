//! Log output: human-readable or JSON lines, on standard error.
//!
//! Whatever the level (`log.level`, or `RUST_LOG`, even `trace` or
//! `h2=trace`), the HTTP and TLS libraries in [`CAPPED`] log at `info` at
//! most: below that they print request headers (over HTTP/2 the Etherscan
//! and TronGrid keys travel in them) and URLs (the Bot API's holds the bot
//! token). Our own lines never carry a secret at any level.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{FilterExt, LevelFilter, Targets};
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogConfig, LogFormat};

/// Log targets (crates, and `log` records of crates, by their prefix) that
/// never log below `info`: they print headers, URLs or bodies there.
pub const CAPPED: [&str; 12] = [
    "h2",
    "hyper",
    "hyper_util",
    "reqwest",
    "awc",
    "actix_http",
    "actix_web",
    "actix_server",
    "rustls",
    "teloxide_core",
    "tower",
    "tokio_util",
];

/// The cap on [`CAPPED`]: everything else passes through to the level filter.
pub fn cap() -> Targets {
    CAPPED.iter().fold(
        Targets::new().with_default(LevelFilter::TRACE),
        |t, target| t.with_target(*target, LevelFilter::INFO),
    )
}

/// Installs the global subscriber. `RUST_LOG`, when set, overrides
/// `log.level`; the libraries of [`CAPPED`] stay at `info` at most.
pub fn init(config: &LogConfig) {
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(&config.level));
    let filter = level.and(cap());
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let result = match config.format {
        LogFormat::Pretty => tracing_subscriber::registry()
            .with(fmt.with_target(false).with_filter(filter))
            .try_init(),
        LogFormat::Json => tracing_subscriber::registry()
            .with(fmt.json().flatten_event(true).with_filter(filter))
            .try_init(),
    };
    // Already installed (tests, the demo): keep the first one.
    let _ = result;
}
