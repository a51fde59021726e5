//! Who may use the bot: a chat's access state (`chats.access`), the gate a
//! new chat passes (`telegram.registration`, `telegram.max_chats`) and an
//! admin's decision on a chat waiting for approval.
//!
//! Facts only: the words (the request the admins read, the notice the
//! requester gets) are made by the bot and handed in.

use rusqlite::{OptionalExtension, Transaction, params};

use super::chats::{self, ChatKind};
use super::{DbError, DbRequest, now_secs};

/// A chat's access state, as `chats.access` stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// May use the bot and gets notifications.
    Approved,
    /// Asked; waits for an admin (`registration = "approval"`).
    Pending,
    /// An admin said no.
    Denied,
}

impl Access {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Approved => "approved",
            Access::Pending => "pending",
            Access::Denied => "denied",
        }
    }

    fn parse(s: &str) -> Result<Access, DbError> {
        match s {
            "approved" => Ok(Access::Approved),
            "pending" => Ok(Access::Pending),
            "denied" => Ok(Access::Denied),
            other => Err(DbError::Corrupt(format!("unknown chat access {other:?}"))),
        }
    }
}

/// SQL condition: chat `c` (a `chats` row) is sent notifications. It must
/// be approved, and while `telegram.registration = "allowlist"` (meta
/// `registration`, written at start by [`StorePolicy`]) listed (or the
/// group it was before it became a supergroup is), owned by a listed user,
/// or watching an address a listed user added there: switching to the
/// allowlist stops the notifications of a chat approved before that has
/// none of these, whose commands the gate now refuses (it could not even
/// `/remove`). Switching back restores them.
pub const NOTIFIED: &str = "(c.access = 'approved' AND (
        NOT EXISTS (SELECT 1 FROM meta WHERE key = 'registration' AND value = 'allowlist')
        OR c.chat_id IN (SELECT id FROM allowlist)
        OR c.owner IN (SELECT id FROM allowlist)
        OR EXISTS (SELECT 1 FROM chats o
                   WHERE o.migrated_to = c.chat_id AND o.chat_id IN (SELECT id FROM allowlist))
        OR EXISTS (SELECT 1 FROM subscriptions a
                   WHERE a.chat_id = c.chat_id AND a.added_by IN (SELECT id FROM allowlist))))";

/// The ids a chat had before (a group's id, for the supergroup it became):
/// an allowlist entry names the chat under any of them.
pub struct FormerIds(pub i64);

impl DbRequest for FormerIds {
    type Output = Vec<i64>;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<Vec<i64>, DbError> {
        let mut stmt = tx.prepare("SELECT chat_id FROM chats WHERE migrated_to = ?1")?;
        let ids = stmt.query_map([self.0], |r| r.get(0))?;
        Ok(ids.collect::<Result<_, _>>()?)
    }
}

/// The access policy the database applies to notifications ([`NOTIFIED`]):
/// `Some(ids)` with `telegram.registration = "allowlist"` (the ids of
/// `telegram.allowed` and `telegram.admins`), `None` otherwise. Written at
/// every start, before any child runs.
pub struct StorePolicy {
    pub allowlist: Option<Vec<i64>>,
}

impl DbRequest for StorePolicy {
    type Output = ();
    fn run(self, tx: &Transaction<'_>) -> Result<(), DbError> {
        tx.execute("DELETE FROM allowlist", [])?;
        match self.allowlist {
            Some(ids) => {
                super::meta::set(tx, "registration", "allowlist")?;
                let mut insert = tx.prepare("INSERT OR IGNORE INTO allowlist (id) VALUES (?1)")?;
                for id in ids {
                    insert.execute([id])?;
                }
            }
            None => {
                tx.execute("DELETE FROM meta WHERE key = 'registration'", [])?;
            }
        }
        Ok(())
    }
}

/// Requests one user may have waiting for a decision at once: more are
/// refused ([`Admission::TooManyRequests`]), so that one account cannot
/// fill `telegram.max_chats` with groups it asks for.
pub const MAX_PENDING_PER_USER: i64 = 3;

/// The chat a chat id names now: itself, or the supergroup it became
/// (`chats.migrated_to`, followed a few hops at most).
fn current_id(tx: &Transaction<'_>, chat_id: i64) -> Result<i64, DbError> {
    let mut chat = chat_id;
    for _ in 0..4 {
        let next: Option<i64> = tx
            .query_row(
                "SELECT migrated_to FROM chats WHERE chat_id = ?1",
                [chat],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        match next {
            Some(next) if next != chat => chat = next,
            _ => break,
        }
    }
    Ok(chat)
}

/// A chat's stored access, `None` for a chat the bot does not know.
pub fn access_of(tx: &Transaction<'_>, chat_id: i64) -> Result<Option<Access>, DbError> {
    let stored: Option<String> = tx
        .query_row(
            "SELECT access FROM chats WHERE chat_id = ?1",
            [chat_id],
            |r| r.get(0),
        )
        .optional()?;
    stored.as_deref().map(Access::parse).transpose()
}

/// Reads one chat's access (`None`: unknown chat).
pub struct ChatAccess(pub i64);

impl DbRequest for ChatAccess {
    type Output = Option<Access>;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<Option<Access>, DbError> {
        access_of(tx, self.0)
    }
}

/// What a new chat asking for approval leaves behind: one message with
/// Approve / Deny buttons for each admin, queued in the outbox like an
/// admin alert (durable: a restart loses none).
#[derive(Debug, Clone)]
pub struct ApprovalRequest {
    pub admins: Vec<i64>,
    /// The message's HTML text.
    pub text: String,
    /// Its inline keyboard (`reply_markup` JSON).
    pub markup: String,
}

/// The chat whose command (or whose adding the bot) is being admitted.
#[derive(Debug, Clone)]
pub struct Applicant {
    pub chat_id: i64,
    /// The user asking (in a group: who sent the command or added the bot).
    pub user_id: i64,
    pub kind: ChatKind,
    pub title: Option<String>,
    pub username: Option<String>,
    pub first_name: Option<String>,
}

/// The gate a chat passes before a command is handled (admins, and with
/// `registration = "allowlist"` the ids not listed, are decided by the
/// bot before this). A known chat gets its stored state (a chat still
/// waiting from an earlier `approval` mode is approved when approval is no
/// longer needed); a chat the bot does not know yet is refused past
/// `max_chats` (denied chats, and a group's old id after it became a
/// supergroup, do not count), registered approved in the same transaction
/// when no approval is needed, and with `approval` registered as pending
/// with the admins' request queued in the same transaction — only when
/// `request` is given (a `/start`, the bot added to a group); otherwise
/// nothing is stored. Its owner is the person asking (none for an
/// anonymous administrator).
pub struct Admit {
    pub who: Applicant,
    pub max_chats: u32,
    /// `Some` with `registration = "approval"`.
    pub approval: Option<Option<ApprovalRequest>>,
}

/// The gate's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// May use the bot; `new`: a chat the bot did not know (there was
    /// room for it under `telegram.max_chats`).
    Admitted { new: bool },
    /// Waits for an admin; `new`: the request was queued just now.
    Pending { new: bool },
    /// An admin said no.
    Denied,
    /// Approval needed and not asked for (no `/start` yet): nothing stored.
    NotRequested,
    /// `telegram.max_chats` reached: nothing stored.
    Full,
    /// The user asking has [`MAX_PENDING_PER_USER`] requests waiting
    /// already: nothing stored.
    TooManyRequests,
}

impl DbRequest for Admit {
    type Output = Admission;
    fn run(self, tx: &Transaction<'_>) -> Result<Admission, DbError> {
        let who = &self.who;
        match access_of(tx, who.chat_id)? {
            Some(Access::Approved) => return Ok(Admission::Admitted { new: false }),
            // Asked under "approval", and the bot needs no approval any
            // more ("open", or "allowlist" and the gate found it listed):
            // it is in, like any chat now.
            Some(Access::Pending) if self.approval.is_none() => {
                tx.execute(
                    "UPDATE chats SET access = 'approved' WHERE chat_id = ?1",
                    [who.chat_id],
                )?;
                return Ok(Admission::Admitted { new: false });
            }
            Some(Access::Pending) => return Ok(Admission::Pending { new: false }),
            Some(Access::Denied) => return Ok(Admission::Denied),
            None => {}
        }
        // A group that became a supergroup is one chat, counted once.
        let chats: i64 = tx.query_row(
            "SELECT count(*) FROM chats WHERE access <> 'denied' AND migrated_to IS NULL",
            [],
            |r| r.get(0),
        )?;
        if chats >= i64::from(self.max_chats) {
            return Ok(Admission::Full);
        }
        let (access, request) = match self.approval {
            None => (Access::Approved, None),
            Some(None) => return Ok(Admission::NotRequested),
            Some(Some(request)) => (Access::Pending, Some(request)),
        };
        // A person asks; an anonymous administrator (the group itself) is
        // nobody in particular.
        let owner = (who.user_id != who.chat_id).then_some(who.user_id);
        if request.is_some() {
            let waiting: i64 = tx.query_row(
                "SELECT count(*) FROM chats
                 WHERE access = 'pending' AND owner = ?1 AND migrated_to IS NULL",
                [who.user_id],
                |r| r.get(0),
            )?;
            if waiting >= MAX_PENDING_PER_USER {
                return Ok(Admission::TooManyRequests);
            }
        }
        // Stored here, in the transaction that counted: chats arriving
        // together (one batch of updates is handled concurrently) cannot
        // all pass the count before any of them is stored.
        let now = now_secs();
        let kind = (who.kind != ChatKind::Private).then_some(who.kind.as_str());
        tx.execute(
            "INSERT INTO chats (chat_id, username, first_name, active, created_at, kind, title,
                 access, owner)
             VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7, ?8)",
            params![
                who.chat_id,
                who.username,
                who.first_name,
                now,
                kind,
                who.title,
                access.as_str(),
                owner
            ],
        )?;
        let Some(request) = request else {
            return Ok(Admission::Admitted { new: true });
        };
        for admin in request.admins {
            chats::ensure(tx, admin)?;
            tx.execute(
                "INSERT INTO outbox (chat_id, transfer_id, text, state, next_attempt_at,
                     created_at, kind, reply_markup)
                 VALUES (?1, NULL, ?2, 'pending', ?3, ?3, 'alert', ?4)",
                params![admin, request.text, now, request.markup],
            )?;
        }
        Ok(Admission::Pending { new: true })
    }
}

/// An admin's Approve or Deny on a pending chat (a group that became a
/// supergroup since it asked: the supergroup). Only a pending chat is
/// decided (a second press, another admin's copy of the request, a forged
/// chat id change nothing); the requester's `notice` is queued in the
/// outbox in the same transaction (durable, and delivered to a denied chat
/// too: it is the one message such a chat gets).
pub struct DecideAccess {
    pub chat_id: i64,
    pub approve: bool,
    /// The admin deciding.
    pub by: i64,
    /// The HTML message for the chat that asked.
    pub notice: String,
}

/// What became of a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Decided now.
    Decided,
    /// Decided before (by this or another admin): nothing changed.
    Already(Access),
    /// No such chat: nothing changed.
    Unknown,
}

impl DbRequest for DecideAccess {
    type Output = Decision;
    fn run(self, tx: &Transaction<'_>) -> Result<Decision, DbError> {
        let access = if self.approve {
            Access::Approved
        } else {
            Access::Denied
        };
        let now = now_secs();
        let chat_id = current_id(tx, self.chat_id)?;
        let changed = tx.execute(
            "UPDATE chats SET access = ?2, access_by = ?3, access_at = ?4
             WHERE chat_id = ?1 AND access = 'pending'",
            params![chat_id, access.as_str(), self.by, now],
        )?;
        if changed == 0 {
            return Ok(match access_of(tx, chat_id)? {
                Some(a) => Decision::Already(a),
                None => Decision::Unknown,
            });
        }
        tx.execute(
            "INSERT INTO outbox (chat_id, transfer_id, text, state, next_attempt_at, created_at,
                 kind)
             VALUES (?1, NULL, ?2, 'pending', ?3, ?3, 'alert')",
            params![chat_id, self.notice, now],
        )?;
        Ok(Decision::Decided)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{DbSettings, connection};

    fn db() -> (tempfile::TempDir, DbSettings) {
        let dir = tempfile::tempdir().unwrap();
        let settings = DbSettings {
            path: dir.path().join("a.db"),
            busy_timeout: std::time::Duration::from_secs(5),
            max_size: None,
        };
        connection::prepare(&settings).unwrap();
        (dir, settings)
    }

    fn run<R: DbRequest>(settings: &DbSettings, r: R) -> R::Output {
        connection::with_transaction(settings, true, |tx| r.run(tx)).unwrap()
    }

    fn who(chat_id: i64) -> Applicant {
        Applicant {
            chat_id,
            user_id: 5,
            kind: ChatKind::Group,
            title: Some("T".into()),
            username: None,
            first_name: None,
        }
    }

    fn request() -> ApprovalRequest {
        ApprovalRequest {
            admins: vec![1, 2],
            text: "asks".into(),
            markup: "{}".into(),
        }
    }

    fn outbox(settings: &DbSettings) -> Vec<(i64, String)> {
        connection::with_transaction(settings, false, |tx| {
            Ok(tx
                .prepare("SELECT chat_id, text FROM outbox ORDER BY id")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?)
        })
        .unwrap()
    }

    #[test]
    fn a_new_chat_asks_once_and_is_decided_once() {
        let (_dir, s) = db();
        let admit = |approval| Admit {
            who: who(-9),
            max_chats: 10,
            approval,
        };
        assert_eq!(run(&s, admit(Some(None))), Admission::NotRequested);
        assert_eq!(run(&s, ChatAccess(-9)), None, "nothing stored");
        assert_eq!(
            run(&s, admit(Some(Some(request())))),
            Admission::Pending { new: true }
        );
        assert_eq!(
            run(&s, admit(Some(Some(request())))),
            Admission::Pending { new: false }
        );
        assert_eq!(outbox(&s), vec![(1, "asks".into()), (2, "asks".into())]);
        let decide = |chat_id, approve| DecideAccess {
            chat_id,
            approve,
            by: 1,
            notice: "ok".into(),
        };
        assert_eq!(run(&s, decide(-10, true)), Decision::Unknown);
        assert_eq!(run(&s, decide(-9, false)), Decision::Decided);
        assert_eq!(run(&s, decide(-9, true)), Decision::Already(Access::Denied));
        assert_eq!(run(&s, ChatAccess(-9)), Some(Access::Denied));
        assert_eq!(outbox(&s).len(), 3, "one notice");
        assert_eq!(run(&s, admit(None)), Admission::Denied);
    }

    #[test]
    fn a_user_has_at_most_three_requests_waiting() {
        let (_dir, s) = db();
        let admit = |chat_id| Admit {
            who: who(chat_id),
            max_chats: 100,
            approval: Some(Some(request())),
        };
        for chat in [-1, -2, -3] {
            assert_eq!(run(&s, admit(chat)), Admission::Pending { new: true });
        }
        assert_eq!(run(&s, admit(-4)), Admission::TooManyRequests);
        assert_eq!(run(&s, ChatAccess(-4)), None, "nothing stored");
        // One decided: room for another.
        let decide = DecideAccess {
            chat_id: -1,
            approve: false,
            by: 1,
            notice: "no".into(),
        };
        assert_eq!(run(&s, decide), Decision::Decided);
        assert_eq!(run(&s, admit(-4)), Admission::Pending { new: true });
    }

    #[test]
    fn a_decision_follows_the_group_to_its_supergroup() {
        let (_dir, s) = db();
        let admit = Admit {
            who: who(-9),
            max_chats: 10,
            approval: Some(Some(request())),
        };
        assert_eq!(run(&s, admit), Admission::Pending { new: true });
        let moved = super::super::chats::MigrateChat {
            from: -9,
            to: -1009,
        };
        run(&s, moved);
        assert_eq!(run(&s, ChatAccess(-1009)), Some(Access::Pending));
        let decide = |approve| DecideAccess {
            chat_id: -9,
            approve,
            by: 1,
            notice: "ok".into(),
        };
        assert_eq!(run(&s, decide(true)), Decision::Decided);
        assert_eq!(run(&s, ChatAccess(-1009)), Some(Access::Approved));
        assert_eq!(run(&s, decide(false)), Decision::Already(Access::Approved));
        assert_eq!(outbox(&s).last(), Some(&(-1009, "ok".to_string())));
    }

    /// Which chats [`NOTIFIED`] lets through, per stored policy.
    #[test]
    fn the_allowlist_in_force_decides_who_is_notified() {
        let (_dir, s) = db();
        connection::with_transaction(&s, true, |tx| {
            tx.execute_batch(
                "INSERT INTO chats (chat_id, active, created_at, access, owner) VALUES
                     (10, 1, 0, 'approved', 10), (11, 1, 0, 'approved', 11),
                     (-12, 1, 0, 'approved', 10), (-13, 1, 0, 'approved', 11),
                     (14, 1, 0, 'pending', 14)",
            )?;
            Ok(())
        })
        .unwrap();
        let notified = |s: &DbSettings| -> Vec<i64> {
            connection::with_transaction(s, false, |tx| {
                Ok(tx
                    .prepare(&format!(
                        "SELECT chat_id FROM chats c WHERE {NOTIFIED} ORDER BY chat_id"
                    ))?
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?)
            })
            .unwrap()
        };
        assert_eq!(notified(&s), vec![-13, -12, 10, 11], "no policy: approved");
        run(
            &s,
            StorePolicy {
                allowlist: Some(vec![10, 14]),
            },
        );
        assert_eq!(
            notified(&s),
            vec![-12, 10],
            "listed, or owned by a listed user"
        );
        run(
            &s,
            StorePolicy {
                allowlist: Some(vec![]),
            },
        );
        assert_eq!(notified(&s), Vec::<i64>::new());
        run(&s, StorePolicy { allowlist: None });
        assert_eq!(notified(&s), vec![-13, -12, 10, 11], "switched back");
    }

    #[test]
    fn past_max_chats_a_new_chat_is_refused_and_nothing_stored() {
        let (_dir, s) = db();
        run(
            &s,
            super::super::chats::UpsertChat {
                chat_id: 3,
                username: None,
                first_name: None,
            },
        );
        let admit = Admit {
            who: who(-9),
            max_chats: 1,
            approval: Some(Some(request())),
        };
        assert_eq!(run(&s, admit), Admission::Full);
        assert_eq!(run(&s, ChatAccess(-9)), None);
        assert!(outbox(&s).is_empty());
        // A known chat is not counted against itself.
        let known = Admit {
            who: who(3),
            max_chats: 1,
            approval: None,
        };
        assert_eq!(run(&s, known), Admission::Admitted { new: false });
    }
}
