//! Who may change what a chat watches: in a private chat its user; in a
//! group or supergroup only its administrators (Telegram's
//! `getChatMember` status `creator` or `administrator`), and an anonymous
//! administrator, who writes as the group itself (`sender_chat` = the
//! group; [`Incoming::user_id`](super::commands::Incoming) is then the
//! group's id).
//!
//! Answers are cached for [`CACHE_FOR`] per (chat, user) in the actor, so
//! a burst of commands or button presses costs one `getChatMember`; a
//! demotion takes effect within that time. A failed lookup is not cached.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use teloxide_core::prelude::Requester;
use teloxide_core::types::{ChatId, UserId};

use super::Core;
use super::bot::TgError;

/// How long a `getChatMember` answer is trusted.
pub const CACHE_FOR: Duration = Duration::from_secs(60);
/// Entries kept before expired ones are dropped.
const MAX_ENTRIES: usize = 4096;

/// The verdict on one user changing one chat's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permission {
    Allowed,
    /// A group member who is not an administrator (or, in a private chat,
    /// anyone but the chat's own user).
    NotAdmin,
    /// Telegram could not say (the lookup failed): refused for now.
    Unknown(TgError),
}

impl Permission {
    /// Whether the change may go ahead.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Permission::Allowed)
    }
}

/// Recent `getChatMember` answers: (chat, user) → (administrator?, when).
#[derive(Debug, Default)]
pub struct AdminCache {
    entries: HashMap<(i64, i64), (bool, Instant)>,
}

impl AdminCache {
    /// The cached answer, if younger than [`CACHE_FOR`] at `now`.
    pub fn get(&self, chat: i64, user: i64, now: Instant) -> Option<bool> {
        let (admin, at) = self.entries.get(&(chat, user))?;
        (now.saturating_duration_since(*at) < CACHE_FOR).then_some(*admin)
    }

    pub fn put(&mut self, chat: i64, user: i64, admin: bool, now: Instant) {
        if self.entries.len() >= MAX_ENTRIES {
            self.entries
                .retain(|_, (_, at)| now.saturating_duration_since(*at) < CACHE_FOR);
        }
        self.entries.insert((chat, user), (admin, now));
    }
}

/// Whether `user` may change the settings of `chat` (`/add`, `/remove`,
/// `/spam` modes, `/set`, `/mute`, `/unmute`, the notification and `/list`
/// buttons). A private chat (positive id, the user's own id) belongs to its
/// user alone; in a group, see the module doc.
pub async fn may_change_settings(core: &Core, chat: i64, user: i64) -> Permission {
    if chat > 0 {
        return verdict(user == chat);
    }
    if user == chat {
        return Permission::Allowed;
    }
    let now = Instant::now();
    if let Some(admin) = core.admin_cache.borrow().get(chat, user, now) {
        return verdict(admin);
    }
    let Ok(user_id) = u64::try_from(user) else {
        return Permission::NotAdmin;
    };
    let answer = (core
        .bot
        .get_chat_member(ChatId(chat), UserId(user_id))
        .await)
        .map_err(TgError::from);
    let outcome = crate::instruments::outcome(&answer, TgError::outcome);
    (core.deps.instruments).provider_call("telegram", "getChatMember", outcome);
    match answer {
        Ok(member) => {
            let admin = member.kind.is_privileged();
            core.admin_cache
                .borrow_mut()
                .put(chat, user, admin, Instant::now());
            verdict(admin)
        }
        Err(e) => {
            tracing::warn!(actor = "telegram", chat, error = %e, "cannot check a group member's rights");
            Permission::Unknown(e)
        }
    }
}

fn verdict(admin: bool) -> Permission {
    if admin {
        Permission::Allowed
    } else {
        Permission::NotAdmin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_answers_expire() {
        let t0 = Instant::now();
        let mut cache = AdminCache::default();
        cache.put(-5, 7, true, t0);
        assert_eq!(cache.get(-5, 7, t0 + Duration::from_secs(59)), Some(true));
        assert_eq!(cache.get(-5, 7, t0 + CACHE_FOR), None);
        assert_eq!(cache.get(-5, 8, t0), None);
    }
}
