//! The admin-alert bus: raised by whoever meets something only a human can
//! fix, carried to every admin by the bot's alerts loop.

use std::sync::Mutex;

/// Something only a human can fix (an invalid API key, say), or that a
/// human must know (restart intensity near its limit). Raised once per
/// incident: raising an alert that is already active does nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub id: u64,
    /// Identifies the incident, e.g. "etherscan:invalid-key".
    pub key: String,
    pub text: String,
}

/// The active incidents, and the alerts not yet handed to the bot.
#[derive(Debug, Default)]
pub struct Alerts {
    book: Mutex<AlertBook>,
}

#[derive(Debug, Default)]
struct AlertBook {
    next_id: u64,
    active: Vec<Alert>,
    /// Alerts raised but not yet delivered to admins.
    undelivered: Vec<Alert>,
}

impl Alerts {
    /// Raises an alert unless one with the same key is active.
    pub fn raise(&self, key: &str, text: impl Into<String>) {
        let mut book = self.book.lock().unwrap_or_else(|e| e.into_inner());
        if book.active.iter().any(|a| a.key == key) {
            return;
        }
        book.next_id += 1;
        let alert = Alert {
            id: book.next_id,
            key: key.to_string(),
            text: text.into(),
        };
        tracing::warn!(alert = %alert.key, text = %alert.text, "alert raised");
        book.active.push(alert.clone());
        book.undelivered.push(alert);
    }

    /// Ends an incident: the next `raise` with this key alerts again.
    pub fn resolve(&self, key: &str) {
        let mut book = self.book.lock().unwrap_or_else(|e| e.into_inner());
        book.active.retain(|a| a.key != key);
    }

    /// Is the incident `key` active (raised and not resolved)?
    pub fn is_active(&self, key: &str) -> bool {
        let book = self.book.lock().unwrap_or_else(|e| e.into_inner());
        book.active.iter().any(|a| a.key == key)
    }

    /// The incidents not resolved yet, oldest first.
    pub fn active_alerts(&self) -> Vec<Alert> {
        let book = self.book.lock().unwrap_or_else(|e| e.into_inner());
        book.active.clone()
    }

    /// Alerts not yet handed to the bot; each is handed out once.
    pub fn take_undelivered(&self) -> Vec<Alert> {
        let mut book = self.book.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut book.undelivered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_is_raised_once_per_incident() {
        let m = Alerts::default();
        m.raise("etherscan:invalid-key", "Invalid API Key");
        m.raise("etherscan:invalid-key", "Invalid API Key");
        assert_eq!(m.take_undelivered().len(), 1);
        assert!(m.take_undelivered().is_empty());
        m.resolve("etherscan:invalid-key");
        m.raise("etherscan:invalid-key", "Invalid API Key");
        assert_eq!(m.take_undelivered().len(), 1);
    }
}
