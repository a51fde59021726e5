//! Which chats fill the database: `/status` shows the database's size and
//! the chats whose rows grew most over the last day ([`ChatVolumes`]), and
//! this loop tells the admins, once per incident (through
//! [`Alerts`](crate::metrics::Alerts), key `storage:dominant:<chat>`),
//! when one chat's rows are most of the day's: more than
//! [`DOMINANT_SHARE`] percent of them, and at least [`DOMINANT_MIN_ROWS`].
//! The incident ends when the chat no longer dominates. Checked every
//! `database.prune_interval`, the first time at start.

use std::collections::BTreeSet;
use std::rc::Rc;

use super::Core;
use crate::db::now_secs;
use crate::db::volume::{ChatVolumes, Volumes};
use crate::metrics::Alerts;
use crate::notification::escape_html;

/// The window the volumes are counted over.
pub const WINDOW_SECS: i64 = 24 * 3600;
/// A chat with more than this share (percent) of the window's rows
/// dominates...
pub const DOMINANT_SHARE: u64 = 50;
/// ...when it has at least this many rows (about 1.3 MB at 1.3 KB a row).
pub const DOMINANT_MIN_ROWS: u64 = 1000;
/// Chats `/status` lists.
pub const TOP_CHATS: usize = 3;

/// The chat that dominates the window's rows, if one does.
pub fn dominant(v: &Volumes) -> Option<(i64, u64)> {
    let &(chat, rows, _) = v.top.first()?;
    (rows >= DOMINANT_MIN_ROWS && rows * 100 > v.total * DOMINANT_SHARE).then_some((chat, rows))
}

fn alert_key(chat: i64) -> String {
    format!("storage:dominant:{chat}")
}

/// The alert's text.
fn alert_text(chat: i64, rows: u64, total: u64) -> String {
    format!(
        "Chat {chat} makes most of the database's growth: {rows} of the last 24 hours' {total} notification rows (about 1.3 KB each, kept database.keep_delivered). See /status; consider whether it should watch that much."
    )
}

/// The storage watch (see the module doc); returns when the actor is
/// asked to stop.
pub async fn watch(core: Rc<Core>) {
    let every = core.deps.config.database.prune_interval;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut raised: BTreeSet<i64> = BTreeSet::new();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = core.stopped() => return,
        }
        let request = ChatVolumes {
            since: now_secs() - WINDOW_SECS,
            top: 1,
        };
        let volumes = match core.deps.db.exec(request).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(actor = "telegram", error = %e, "cannot count the chats' rows; will retry");
                continue;
            }
        };
        check(&core.deps.alerts, &mut raised, &volumes);
    }
}

/// One check: raises the dominating chat's alert (told once: raising an
/// active alert does nothing), ends those of chats that stopped dominating.
/// `raised`: the chats whose alert this loop raised.
fn check(alerts: &Alerts, raised: &mut BTreeSet<i64>, volumes: &Volumes) {
    let now = dominant(volumes);
    raised.retain(|&chat| {
        let still = now.map(|(c, _)| c) == Some(chat);
        if !still {
            alerts.resolve(&alert_key(chat));
        }
        still
    });
    if let Some((chat, rows)) = now {
        alerts.raise(&alert_key(chat), alert_text(chat, rows, volumes.total));
        raised.insert(chat);
    }
}

/// `/status`'s storage line: the database's size and the chats whose rows
/// grew most over the last day.
pub fn status_line(bytes: Option<u64>, volumes: Option<&Volumes>) -> String {
    let size = bytes.map_or_else(
        || "size unknown".to_string(),
        |b| {
            format!(
                "{:.1} MiB on disk (with its WAL)",
                b as f64 / (1024.0 * 1024.0)
            )
        },
    );
    let mut s = format!("<b>Storage</b>: database {size}");
    match volumes {
        None => s += "; rows per chat <i>unavailable</i>",
        Some(v) if v.top.is_empty() => s += "; no notification rows in the last 24 h",
        Some(v) => {
            let top: Vec<String> = v
                .top
                .iter()
                .map(|(chat, rows, title)| {
                    let name = title
                        .as_deref()
                        .map(|t| format!(" {}", escape_html(t)))
                        .unwrap_or_default();
                    let share = (rows * 100).checked_div(v.total).unwrap_or(0);
                    format!("<code>{chat}</code>{name}: {rows} ({share} %)")
                })
                .collect();
            s += &format!(
                "; {} notification rows in the last 24 h, fastest-growing chats: {}",
                v.total,
                top.join(", ")
            );
        }
    }
    s += "\n";
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volumes(total: u64, top: &[(i64, u64)]) -> Volumes {
        Volumes {
            total,
            top: top.iter().map(|&(c, r)| (c, r, None)).collect(),
        }
    }

    #[test]
    fn a_chat_dominates_past_half_and_the_minimum() {
        assert_eq!(dominant(&volumes(0, &[])), None);
        assert_eq!(dominant(&volumes(1500, &[(7, 1000)])), Some((7, 1000)));
        assert_eq!(
            dominant(&volumes(2000, &[(7, 1000)])),
            None,
            "half is not more"
        );
        assert_eq!(dominant(&volumes(900, &[(7, 900)])), None, "too few rows");
    }

    /// The loop checks every `prune_interval`: a chat that keeps
    /// dominating is told once, a new incident (it stopped, then dominates
    /// again) once more, and another chat's incident is its own.
    #[test]
    fn a_dominating_chat_is_told_once_per_incident() {
        let alerts = Alerts::default();
        let mut raised = BTreeSet::new();
        let told = |alerts: &Alerts| alerts.take_undelivered().len();
        for rows in [1000, 1200, 5000] {
            check(&alerts, &mut raised, &volumes(rows + 100, &[(7, rows)]));
        }
        assert_eq!(told(&alerts), 1, "told once while it dominates");
        check(&alerts, &mut raised, &volumes(5000, &[(7, 2000)]));
        assert!(!alerts.is_active(&alert_key(7)), "ended");
        assert_eq!(told(&alerts), 0);
        check(&alerts, &mut raised, &volumes(5000, &[(7, 4000)]));
        check(&alerts, &mut raised, &volumes(9000, &[(-5, 8000)]));
        assert_eq!(told(&alerts), 2, "7 again, then -5");
        assert!(!alerts.is_active(&alert_key(7)));
        assert!(alerts.is_active(&alert_key(-5)));
        assert_eq!(raised, BTreeSet::from([-5]));
    }

    #[test]
    fn the_status_line_names_size_and_top_chats() {
        let v = Volumes {
            total: 10,
            top: vec![(7, 6, None), (-5, 4, Some("<Team>".into()))],
        };
        let s = status_line(Some(3 * 1024 * 1024), Some(&v));
        assert!(s.contains("3.0 MiB"), "{s}");
        assert!(s.contains("<code>7</code>: 6 (60 %)"), "{s}");
        assert!(s.contains("&lt;Team&gt;: 4 (40 %)"), "{s}");
        assert!(status_line(None, None).contains("unavailable"));
    }
}
