//! The names of the tree's children, in start order and in stop order: the
//! one list that `app` builds the tree from and that an admin may name in
//! `/restart` and `/panic`. Names only, so that a child can know them
//! without knowing the application.

/// The children, in start order; `webhook` only when `[[webhook]]` sinks
/// are configured, `http` only when `[http] listen` is set (it starts
/// last). Shutdown order is different (see [`SHUTDOWN_ORDER`]).
pub const CHILDREN: &[&str] = &[
    "db",
    "etherscan",
    "tron",
    "telegram",
    "ticker",
    "webhook",
    "http",
];

/// Stop the HTTP endpoint first (a daemon going away is not scraped as
/// healthy), then the ticker (no new polls), then the scanners (an
/// in-flight poll finishes and is persisted), then the webhook sink (a POST
/// on the wire finishes and is marked), then the bot (in-flight sends
/// finish; the rest stays queued in the outbox), and the database last,
/// because everyone before it may still be writing. The supervisor skips
/// names of children that are not configured.
pub const SHUTDOWN_ORDER: [&str; 7] = [
    "http",
    "ticker",
    "etherscan",
    "tron",
    "webhook",
    "telegram",
    "db",
];
