//! The `callback_data` of the bot's inline buttons: a short, versioned,
//! ASCII format, parsed like any outside input (a client can send any
//! bytes as `callback_data`, including data for buttons the bot never
//! made).
//!
//! `<op>1:<subscription id>[:<arg>]`, at most [`MAX_LEN`] bytes (Telegram
//! allows 64):
//!
//! | data            | button                    | does                        |
//! |-----------------|---------------------------|-----------------------------|
//! | `m1:<id>:24h`   | `🔕 Mute 24h`             | mutes the address for 24 h  |
//! | `r1:<id>`       | `Remove` (in `/list`)     | asks for a confirmation     |
//! | `y1:<id>`       | `Yes, remove`             | removes the address         |
//! | `n1:<id>`       | `Cancel`                  | keeps it                    |
//! | `ok1:<chat>`    | `✅ Approve` (admins)     | lets a waiting chat in      |
//! | `no1:<chat>`    | `❌ Deny` (admins)        | refuses it                  |
//!
//! A `<chat>` is a chat id: a group's is negative (`-` then digits, no
//! leading zero, never 0).
//!
//! The `1` is the format version: a later format gets a new digit, and old
//! buttons still in chats are answered as out of date.

/// The longest `callback_data` accepted (and produced), in bytes.
pub const MAX_LEN: usize = 40;

/// The only mute a button offers, in seconds (`24h`).
pub const BUTTON_MUTE_SECS: i64 = 24 * 3600;

/// What a button press asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Mute the subscription's address for [`BUTTON_MUTE_SECS`].
    Mute24h(i64),
    /// Ask whether to remove the subscription's address.
    AskRemove(i64),
    /// Remove it (the confirmation).
    Remove(i64),
    /// Keep it.
    Cancel(i64),
    /// An admin lets the chat (a chat id) waiting for approval in.
    Approve(i64),
    /// An admin refuses it.
    Deny(i64),
}

impl Action {
    /// The `callback_data` for this action.
    pub fn encode(self) -> String {
        match self {
            Action::Mute24h(id) => format!("m1:{id}:24h"),
            Action::AskRemove(id) => format!("r1:{id}"),
            Action::Remove(id) => format!("y1:{id}"),
            Action::Cancel(id) => format!("n1:{id}"),
            Action::Approve(chat) => format!("ok1:{chat}"),
            Action::Deny(chat) => format!("no1:{chat}"),
        }
    }

    /// Parses `callback_data`; `None` for anything this build does not
    /// produce (unknown, forged, from an older format, too long, not ASCII).
    pub fn decode(data: &str) -> Option<Action> {
        if data.is_empty() || data.len() > MAX_LEN || !data.is_ascii() {
            return None;
        }
        let mut parts = data.split(':');
        let op = parts.next()?;
        let id = parts.next()?;
        if matches!(op, "ok1" | "no1") {
            let chat = chat_id(id)?;
            if parts.next().is_some() {
                return None;
            }
            return Some(if op == "ok1" {
                Action::Approve(chat)
            } else {
                Action::Deny(chat)
            });
        }
        // Digits only: no sign, no `+`, no leading zero, fits an i64, > 0.
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || id.starts_with('0') {
            return None;
        }
        let id: i64 = id.parse().ok()?;
        let arg = parts.next();
        if parts.next().is_some() {
            return None;
        }
        match (op, arg) {
            ("m1", Some("24h")) => Some(Action::Mute24h(id)),
            ("r1", None) => Some(Action::AskRemove(id)),
            ("y1", None) => Some(Action::Remove(id)),
            ("n1", None) => Some(Action::Cancel(id)),
            _ => None,
        }
    }
}

/// A chat id as a button carries it: an optional `-`, then digits without
/// a leading zero, not 0, fitting an i64.
fn chat_id(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_round_trips_within_telegrams_limit() {
        for id in [1, 42, i64::MAX] {
            for a in [
                Action::Mute24h(id),
                Action::AskRemove(id),
                Action::Remove(id),
                Action::Cancel(id),
                Action::Approve(id),
                Action::Approve(-id),
                Action::Deny(id),
                Action::Deny(-id),
            ] {
                let data = a.encode();
                assert!(data.len() <= MAX_LEN && data.len() <= 64, "{data}");
                assert_eq!(Action::decode(&data), Some(a), "{data}");
            }
        }
    }

    #[test]
    fn forged_or_stale_data_is_refused() {
        for data in [
            "",
            "m1",
            "m1:",
            "m1:7",
            "m1:7:8h",
            "m1:7:24h:x",
            "m2:7:24h",
            "m1:-7:24h",
            "m1:+7:24h",
            "m1:07:24h",
            "m1:0:24h",
            "m1:99999999999999999999:24h",
            "r1:7:24h",
            "x1:7",
            "m1:７:24h",
            "m1:7\u{200B}:24h",
            "<b>m1:7:24h</b>",
            &"m1:1".repeat(20),
            "ok1",
            "ok1:",
            "ok1:-",
            "ok1:0",
            "ok1:-0",
            "ok1:--5",
            "ok1:+5",
            "ok1:05",
            "ok1:-05",
            "ok1:5:x",
            "ok1:5:",
            "ok2:5",
            "no1:5 ",
            "no1:-99999999999999999999",
            "no1:1e3",
            "OK1:5",
        ] {
            assert_eq!(Action::decode(data), None, "{data:?}");
        }
    }
}
