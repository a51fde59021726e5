//! Spam protection in the database: each chat's mode, the `/spam` report,
//! and the daily digest.
//!
//! Flagged transfers are written by [`super::poll_result`], which runs the
//! checks of [`crate::spam`] while recording a poll; this module reads them
//! back. Columns (migration 2): `outbox.flagged`, `outbox.spam_score`,
//! `outbox.spam_reasons` (JSON array of the flags), `outbox.digested_at`,
//! `transfers.flagged`, `chats.spam_mode` (NULL = the configured default).

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{OptionalExtension, Row, Transaction, params};
use serde::{Deserialize, Serialize};

use super::{DbError, DbRequest, chats, now_secs, subscriptions::parse_stored};
use crate::config::{SpamConfig, SpamMode};
use crate::domain::{Address, Amount, Contracts};
use crate::spam::render::{
    self, DigestReport, FlagSummary, FlaggedItem, FlaggedReport, MAX_LISTED,
};
use crate::spam::{Flag, SpamRules, SpamRulesError};

/// The validated spam settings the database needs: the rules for the checks
/// and the mode of chats that never chose one. Built once at start-up and
/// shared (`Arc`) by every poll.
#[derive(Debug, Clone)]
pub struct SpamPolicy {
    pub rules: SpamRules,
    pub default_mode: SpamMode,
}

impl SpamPolicy {
    pub fn from_config(config: &SpamConfig) -> Result<Self, SpamRulesError> {
        Ok(SpamPolicy {
            rules: SpamRules::from_config(config)?,
            default_mode: config.default_mode,
        })
    }
}

pub(crate) fn mode_str(mode: SpamMode) -> &'static str {
    match mode {
        SpamMode::Off => "off",
        SpamMode::On => "on",
        SpamMode::Digest => "digest",
    }
}

/// A stored `chats.spam_mode`; NULL is the default.
pub(crate) fn parse_mode(stored: Option<&str>, default: SpamMode) -> Result<SpamMode, DbError> {
    match stored {
        None => Ok(default),
        Some("off") => Ok(SpamMode::Off),
        Some("on") => Ok(SpamMode::On),
        Some("digest") => Ok(SpamMode::Digest),
        Some(other) => Err(DbError::Corrupt(format!("spam mode {other:?}"))),
    }
}

/// A flag as stored in `outbox.spam_reasons`: plain strings, so that the
/// column stays readable with the sqlite3 shell and a renamed check does not
/// make old rows unreadable.
#[derive(Serialize, Deserialize)]
struct StoredFlag {
    check: String,
    weight: u8,
    reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    imitates: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lookalike: Option<String>,
}

/// The JSON for `outbox.spam_reasons`; `None` when no check fired.
pub(crate) fn encode_flags(flags: &[Flag]) -> Result<Option<String>, DbError> {
    if flags.is_empty() {
        return Ok(None);
    }
    let stored: Vec<StoredFlag> = flags
        .iter()
        .map(|f| StoredFlag {
            check: f.check.to_string(),
            weight: f.weight,
            reason: f.reason.clone(),
            imitates: f.imitates.as_ref().map(|a| a.as_str().to_string()),
            lookalike: f.lookalike.as_ref().map(|a| a.as_str().to_string()),
        })
        .collect();
    serde_json::to_string(&stored)
        .map(Some)
        .map_err(|e| DbError::Corrupt(format!("cannot encode spam flags: {e}")))
}

fn decode_flags(json: Option<&str>) -> Result<Vec<FlagSummary>, DbError> {
    let Some(json) = json else {
        return Ok(Vec::new());
    };
    let stored: Vec<StoredFlag> = serde_json::from_str(json)
        .map_err(|e| DbError::Corrupt(format!("outbox.spam_reasons: {e}")))?;
    let parse = |a: Option<String>| a.as_deref().map(parse_stored).transpose();
    stored
        .into_iter()
        .map(|f| {
            Ok(FlagSummary {
                imitates: parse(f.imitates)?,
                lookalike: parse(f.lookalike)?,
                check: f.check,
                weight: f.weight,
                reason: f.reason,
            })
        })
        .collect()
}

/// `/spam on|off|digest`: sets a chat's mode.
pub struct SetSpamMode {
    pub chat_id: i64,
    pub mode: SpamMode,
}

impl DbRequest for SetSpamMode {
    type Output = ();
    fn run(self, tx: &Transaction<'_>) -> Result<(), DbError> {
        chats::ensure(tx, self.chat_id)?;
        tx.execute(
            "UPDATE chats SET spam_mode = ?2 WHERE chat_id = ?1",
            params![self.chat_id, mode_str(self.mode)],
        )?;
        Ok(())
    }
}

/// A chat's effective mode: its own choice, else `default_mode`
/// (`spam.default_mode`). An unknown chat has the default too.
pub struct GetSpamMode {
    pub chat_id: i64,
    pub default_mode: SpamMode,
}

impl DbRequest for GetSpamMode {
    type Output = SpamMode;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<SpamMode, DbError> {
        let stored: Option<String> = tx
            .query_row(
                "SELECT spam_mode FROM chats WHERE chat_id = ?1",
                [self.chat_id],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        parse_mode(stored.as_deref(), self.default_mode)
    }
}

/// `/spam [n]`: a chat's most recent flagged transfers (at most
/// [`MAX_LISTED`]; `limit` 0 counts as 1) and its totals.
pub struct FlaggedTransfers {
    pub chat_id: i64,
    pub limit: usize,
    /// Where each transfer's token (symbol, decimals) is looked up.
    pub contracts: Arc<Contracts>,
}

/// The outbox and transfer columns a [`FlaggedItem`] is built from, in
/// this order; see [`item_from_row`].
const ITEM_COLUMNS: &str = "t.chain_id, t.token, t.from_addr, t.to_addr, t.amount, \
     o.spam_score, o.spam_reasons, t.timestamp, t.tx_hash, o.state";

impl DbRequest for FlaggedTransfers {
    type Output = FlaggedReport;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<FlaggedReport, DbError> {
        let limit = self.limit.clamp(1, MAX_LISTED);
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT {ITEM_COLUMNS} FROM outbox o JOIN transfers t ON t.id = o.transfer_id
             WHERE o.chat_id = ?1 AND o.flagged = 1
             ORDER BY o.id DESC LIMIT ?2"
        ))?;
        let items = collect_items(
            stmt.query(params![self.chat_id, limit as i64])?,
            &self.contracts,
        )?;
        let (flagged, held): (i64, i64) = tx.query_row(
            "SELECT count(*), coalesce(sum(state = 'held'), 0) FROM outbox
             WHERE chat_id = ?1 AND flagged = 1",
            [self.chat_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(FlaggedReport {
            items,
            held: held as u64,
            flagged: flagged as u64,
        })
    }
}

fn collect_items(
    mut rows: rusqlite::Rows<'_>,
    contracts: &Contracts,
) -> Result<Vec<FlaggedItem>, DbError> {
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(item_from_row(row, 0, contracts)?);
    }
    Ok(out)
}

/// Builds an item from [`ITEM_COLUMNS`], starting at column `at`. Symbol and
/// decimals come from the active `contracts` (registry and operator-added)
/// by contract address (a token is its contract, never its name).
fn item_from_row(r: &Row<'_>, at: usize, contracts: &Contracts) -> Result<FlaggedItem, DbError> {
    let chain_id = r.get::<_, i64>(at)? as u64;
    let contract = parse_stored(&r.get::<_, String>(at + 1)?)?;
    let token = contracts.token(chain_id, &contract);
    let amount: String = r.get(at + 4)?;
    let reasons: Option<String> = r.get(at + 6)?;
    Ok(FlaggedItem {
        chain_id,
        token: token.as_ref().map(|t| t.symbol),
        decimals: token.as_ref().map(|t| t.decimals),
        contract,
        from: parse_stored(&r.get::<_, String>(at + 2)?)?,
        to: parse_stored(&r.get::<_, String>(at + 3)?)?,
        amount: Amount::from_dec(&amount)
            .map_err(|e| DbError::Corrupt(format!("stored amount: {e}")))?,
        score: u8::try_from(r.get::<_, i64>(at + 5)?.clamp(0, 100)).unwrap_or(100),
        flags: decode_flags(reasons.as_deref())?,
        timestamp: r.get::<_, i64>(at + 7)?.max(0) as u64,
        tx_hash: r.get(at + 8)?,
        held: r.get::<_, String>(at + 9)? == "held",
    })
}

/// The daily digest: collects the held, not yet digested flagged transfers
/// recorded since `since` (Unix seconds), marks them digested and queues one
/// digest message per chat in the outbox — all in one transaction.
///
/// Queuing here rather than returning text for the caller to send is
/// deliberate: the prior bot marked its work done before delivering it, and
/// a failed send was lost for good. A digest in the outbox is retried like
/// any notification. The returned reports are what was queued (for logs and
/// tests); do not send them again. A chat with nothing to report gets no
/// message.
///
/// `chat_id: None` digests every active chat whose effective mode is
/// `digest` (`default_mode` decides for chats that never chose);
/// `Some(chat)` digests that one chat whatever its mode.
pub struct TakeDigest {
    pub chat_id: Option<i64>,
    pub since: u64,
    pub default_mode: SpamMode,
    /// Where each transfer's token (symbol, decimals) is looked up.
    pub contracts: Arc<Contracts>,
}

/// How many transfers a digest lists by name; the rest are counted.
const DIGEST_LATEST: usize = 5;

impl DbRequest for TakeDigest {
    type Output = Vec<DigestReport>;
    fn run(self, tx: &Transaction<'_>) -> Result<Vec<DigestReport>, DbError> {
        let chats: Vec<i64> = match self.chat_id {
            Some(chat) => vec![chat],
            None => {
                let default_is_digest = self.default_mode == SpamMode::Digest;
                let mut stmt = tx.prepare(
                    "SELECT chat_id FROM chats WHERE active = 1
                     AND (spam_mode = 'digest' OR (spam_mode IS NULL AND ?1))
                     ORDER BY chat_id",
                )?;
                let rows = stmt.query_map([default_is_digest], |r| r.get(0))?;
                rows.collect::<Result<_, _>>()?
            }
        };
        let now = now_secs();
        let since = i64::try_from(self.since).unwrap_or(i64::MAX);
        let mut out = Vec::new();
        for chat_id in chats {
            let (ids, items) = {
                let mut stmt = tx.prepare_cached(&format!(
                    "SELECT o.id, {ITEM_COLUMNS} FROM outbox o
                     JOIN transfers t ON t.id = o.transfer_id
                     WHERE o.chat_id = ?1 AND o.state = 'held' AND o.digested_at IS NULL
                       AND o.flagged = 1 AND o.created_at >= ?2
                     ORDER BY o.id DESC"
                ))?;
                let mut rows = stmt.query(params![chat_id, since])?;
                let (mut ids, mut items) = (Vec::new(), Vec::new());
                while let Some(row) = rows.next()? {
                    ids.push(row.get::<_, i64>(0)?);
                    items.push(item_from_row(row, 1, &self.contracts)?);
                }
                (ids, items)
            };
            if ids.is_empty() {
                continue;
            }
            let mut counts: HashMap<String, u64> = HashMap::new();
            for flag in items.iter().flat_map(|i| &i.flags) {
                *counts.entry(flag.check.clone()).or_default() += 1;
            }
            let mut by_check: Vec<(String, u64)> = counts.into_iter().collect();
            by_check.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let report = DigestReport {
                chat_id,
                since: self.since,
                count: ids.len() as u64,
                by_check,
                latest: items.into_iter().take(DIGEST_LATEST).collect(),
            };
            let mut mark = tx.prepare_cached("UPDATE outbox SET digested_at = ?2 WHERE id = ?1")?;
            for id in &ids {
                mark.execute(params![id, now])?;
            }
            tx.execute(
                "INSERT INTO outbox (chat_id, transfer_id, text, state, next_attempt_at, created_at)
                 VALUES (?1, NULL, ?2, 'pending', ?3, ?3)",
                params![chat_id, render::digest(&report), now],
            )?;
            out.push(report);
        }
        Ok(out)
    }
}

/// The known counterparties of `watched` on a chain, as the checks see them,
/// for diagnostics and tests: counterparties of its recorded transfers that
/// were not flagged. (The recording path builds the same set in bulk.)
pub fn known_counterparties(
    tx: &Transaction<'_>,
    chain_id: u64,
    watched: &Address,
) -> Result<Vec<Address>, DbError> {
    let mut stmt = tx.prepare_cached(
        "SELECT to_addr FROM transfers WHERE chain_id = ?1 AND from_addr = ?2 AND flagged = 0
         UNION
         SELECT from_addr FROM transfers WHERE chain_id = ?1 AND to_addr = ?2 AND flagged = 0",
    )?;
    let rows = stmt.query_map(params![chain_id as i64, watched.as_str()], |r| {
        r.get::<_, String>(0)
    })?;
    let mut out = Vec::new();
    for row in rows {
        let a = parse_stored(&row?)?;
        if &a != watched {
            out.push(a);
        }
    }
    out.sort();
    Ok(out)
}
