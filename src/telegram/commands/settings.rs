//! `/set`, `/mute`, `/unmute`: per-address settings, and how they read in
//! replies and in `/list`.

use super::parse::{Command, Setting};
use super::{Incoming, db_failed};
use crate::db::now_secs;
use crate::db::settings::{
    Change, ChangeSettings, Changed, MIN_SCALE, MUTED_FOREVER, Settings, Unresolved, Watched,
};
use crate::domain::Chain;
use crate::notification::{escape_html, utc};
use crate::telegram::{Core, replies};

/// Handles `/set`, `/mute` and `/unmute` (other commands: the hint). The
/// sender's right to change the chat's settings was checked by the caller
/// ([`super::in_group`]; a private chat is its user's own).
pub async fn handle(core: &Core, msg: &Incoming, command: &Command) -> String {
    let (target, change) = match command {
        Command::Set { target, setting } => (
            target,
            match setting {
                Setting::Min(min) => Change::Min {
                    min: min.map(|m| m.raw),
                    places: min.map_or(0, |m| m.places),
                },
                Setting::Direction(d) => Change::Direction(*d),
            },
        ),
        Command::Mute { target, secs } => (
            target,
            Change::Mute {
                until: secs.map_or(MUTED_FOREVER, |s| {
                    now_secs().saturating_add(i64::try_from(s).unwrap_or(i64::MAX))
                }),
            },
        ),
        Command::Unmute { target } => (target, Change::Unmute),
        _ => return replies::hint(),
    };
    let request = ChangeSettings {
        chat_id: msg.chat_id,
        target: target.clone(),
        change: change.clone(),
    };
    match core.deps.db.exec(request).await {
        Ok(Changed::Done {
            watched,
            label,
            settings,
        }) => changed(&watched, label.as_deref(), &change, &settings),
        Ok(Changed::Unresolved(u)) => unresolved(&u),
        Ok(Changed::TooPrecise { chain_id, decimals }) => format!(
            "⚠️ Tokens on {} have {decimals} decimal places; give the minimum with at most \
             {decimals}. Nothing was changed.",
            Chain::by_id(chain_id).map_or("this chain", |c| c.display)
        ),
        Err(e) => db_failed(command, &e),
    }
}

/// A refusal of a settings change.
pub fn refused() -> String {
    "🚫 Only the owner of this chat (in a group: its administrators) may change its alerts. \
     Nothing was changed."
        .into()
}

/// Why a command's address or label names nothing (or several things).
pub fn unresolved(u: &Unresolved) -> String {
    match u {
        Unresolved::NotWatching(w) => replies::not_watching(w.kind, &w.address),
        Unresolved::UnknownLabel(l) => format!(
            "ℹ️ None of your addresses is labelled <b>{}</b>. /list shows your labels. \
             Nothing was changed.",
            escape_html(l)
        ),
        Unresolved::Ambiguous(l, addresses) => {
            let list: Vec<String> = addresses
                .iter()
                .map(|w| format!("<code>{}</code>", w.kind.show(&w.address)))
                .collect();
            format!(
                "⚠️ More than one address is labelled <b>{}</b>: {}. Name it by its address. \
                 Nothing was changed.",
                escape_html(l),
                list.join(", ")
            )
        }
    }
}

fn changed(watched: &Watched, label: Option<&str>, change: &Change, s: &Settings) -> String {
    let name = replies::named(watched.kind, &watched.address, label);
    let what = match change {
        Change::Min { min: None, .. } => format!("✅ No minimum for {name} any more."),
        Change::Min { .. } => format!(
            "✅ {name}: transfers below {} are recorded but not notified.",
            min_text(s)
        ),
        Change::Direction(_) => format!("✅ {name}: {}.", direction_text(s)),
        Change::Mute { .. } => format!(
            "🔕 {name} is {}. /unmute to hear it again; what happens meanwhile is not sent later.",
            mute_text(s, now_secs())
        ),
        Change::Unmute => format!("🔔 {name} is not muted any more."),
    };
    format!("{what}\n{}", describe(s, now_secs()))
}

fn min_text(s: &Settings) -> String {
    s.min
        .map_or_else(|| "none".into(), |m| m.format_units(MIN_SCALE))
}

fn direction_text(s: &Settings) -> &'static str {
    use crate::db::settings::DirectionFilter;
    match s.direction {
        DirectionFilter::In => "incoming transfers only",
        DirectionFilter::Out => "outgoing transfers only",
        DirectionFilter::Both => "incoming and outgoing transfers",
    }
}

fn mute_text(s: &Settings, now: i64) -> String {
    match s.muted_until {
        Some(MUTED_FOREVER) => "muted until /unmute".into(),
        Some(until) if until > now => format!("muted until {}", utc(until as u64)),
        _ => "not muted".into(),
    }
}

/// One line with all of an address's settings (HTML-safe: no user text).
pub fn describe(s: &Settings, now: i64) -> String {
    format!(
        "min: {} · {} · {}",
        min_text(s),
        direction_text(s),
        mute_text(s, now)
    )
}
