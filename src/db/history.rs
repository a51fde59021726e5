//! The part of a watched address's history that one poll's spam checks read.
//!
//! The checks ask three things about a counterparty of the watched address:
//! is it known (an unflagged transfer links them), which known counterparty
//! does it resemble (same first and last hex digits, see
//! [`CounterpartyIndex`](crate::spam::CounterpartyIndex)), and which
//! counterparties appeared for the first time within the burst window. None
//! of them needs the whole history: only the counterparties sharing the
//! leading digits of a counterparty in the batch (a range of one index), and
//! those seen at or after the start of the burst window (a range of
//! another). With the indexes of migration 9 — (chain, address,
//! counterparty, time, flagged) in both directions, and (chain, time) — an
//! address with 100 000 past transfers costs a few index lookups per
//! counterparty in the poll, plus the window's transfers, instead of a scan
//! of its history.

use std::collections::{HashMap, HashSet};

use rusqlite::{Transaction, params};

use super::DbError;
use crate::domain::Address;

/// What the history says about one counterparty (as stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// The block time (Unix seconds) of its first transfer with the watched
    /// address, flagged or not.
    pub first: u64,
    /// Whether any of those transfers was not flagged.
    pub unflagged: bool,
}

/// The counterparties (as stored, `0x` and lowercase hex) of `watched` on
/// `chain_id` that the checks of one poll can ask about, each with its whole
/// history ([`Seen`]), leaving out the transfer `exclude`:
///
/// * every counterparty whose first `prefix` hex digits equal those of an
///   address in `batch` (the look-alike check's bucket is a subset), and
/// * every counterparty with a transfer at or after `since` (Unix seconds),
///   which includes each one first seen then (the burst check).
///
/// Any other counterparty is left out; asking about it would be a bug.
pub fn relevant_counterparties(
    tx: &Transaction<'_>,
    chain_id: u64,
    watched: &Address,
    exclude: i64,
    batch: &[&Address],
    prefix: usize,
    since: u64,
) -> Result<HashMap<String, Seen>, DbError> {
    let mut out: HashMap<String, Seen> = HashMap::new();
    let chain = chain_id as i64;
    let w = watched.as_str();
    // Leading digits: "0x" and `prefix` hex digits; the range ends before
    // the next string of that length ('g' sorts after every hex digit).
    let mut ranges: Vec<&str> = batch
        .iter()
        .map(|a| &a.as_str()[..(2 + prefix).min(a.as_str().len())])
        .collect();
    ranges.sort_unstable();
    ranges.dedup();
    for sql in [
        "SELECT to_addr, timestamp, flagged FROM transfers
         WHERE chain_id = ?1 AND from_addr = ?2 AND to_addr >= ?3 AND to_addr < ?4 AND id <> ?5",
        "SELECT from_addr, timestamp, flagged FROM transfers
         WHERE chain_id = ?1 AND to_addr = ?2 AND from_addr >= ?3 AND from_addr < ?4 AND id <> ?5",
    ] {
        let mut stmt = tx.prepare_cached(sql)?;
        for lead in &ranges {
            let end = format!("{lead}g");
            let rows = stmt.query(params![chain, w, lead, end, exclude])?;
            add_rows(&mut out, rows)?;
        }
    }
    // Counterparties active since the window opened; their whole history
    // (a first appearance may be older) comes from the pair lookup below.
    // The window holds every watched address's transfers of the last
    // `burst_window`, not one address's history.
    let mut recent: HashSet<String> = HashSet::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT CASE WHEN from_addr = ?2 THEN to_addr ELSE from_addr END FROM transfers
             WHERE chain_id = ?1 AND timestamp >= ?3 AND id <> ?4
               AND (from_addr = ?2 OR to_addr = ?2)",
        )?;
        let since = i64::try_from(since).unwrap_or(i64::MAX);
        let mut rows = stmt.query(params![chain, w, since, exclude])?;
        while let Some(r) = rows.next()? {
            let cp: String = r.get(0)?;
            if !out.contains_key(&cp) {
                recent.insert(cp);
            }
        }
    }
    for sql in [
        "SELECT to_addr, timestamp, flagged FROM transfers
         WHERE chain_id = ?1 AND from_addr = ?2 AND to_addr = ?3 AND id <> ?4",
        "SELECT from_addr, timestamp, flagged FROM transfers
         WHERE chain_id = ?1 AND to_addr = ?2 AND from_addr = ?3 AND id <> ?4",
    ] {
        let mut stmt = tx.prepare_cached(sql)?;
        for cp in &recent {
            let rows = stmt.query(params![chain, w, cp, exclude])?;
            add_rows(&mut out, rows)?;
        }
    }
    Ok(out)
}

/// Folds rows of (counterparty, timestamp, flagged) into `out`.
fn add_rows(out: &mut HashMap<String, Seen>, mut rows: rusqlite::Rows<'_>) -> Result<(), DbError> {
    while let Some(r) = rows.next()? {
        let at = r.get::<_, i64>(1)?.max(0) as u64;
        let unflagged = r.get::<_, i64>(2)? == 0;
        let cp = r
            .get_ref(0)?
            .as_str()
            .map_err(|e| DbError::Corrupt(format!("stored address: {e}")))?;
        match out.get_mut(cp) {
            Some(seen) => {
                seen.first = seen.first.min(at);
                seen.unflagged |= unflagged;
            }
            None => {
                out.insert(
                    cp.to_owned(),
                    Seen {
                        first: at,
                        unflagged,
                    },
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::poll_result::RecordPollResult;
    use crate::db::tests::{exec, temp_db};
    use crate::db::{DbSettings, connection};
    use crate::domain::{Amount, TokenSymbol, Transfer};

    /// SplitMix64: deterministic test data.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn address(&mut self) -> Address {
            let (a, b, c) = (self.next(), self.next(), self.next() as u32);
            Address::parse(&format!("0x{a:016x}{b:016x}{c:08x}")).unwrap()
        }
    }

    fn transfer(n: u64, chain_id: u64, from: &Address, to: &Address, ts: u64) -> Transfer {
        Transfer {
            chain_id,
            tx_hash: format!("0x{n:064x}"),
            log_index: 0,
            block: n,
            timestamp: ts,
            token: TokenSymbol::Usdt,
            contract: Address::parse("0xdac17f958d2ee523a2206206994597c13d831ec7").unwrap(),
            decimals: 6,
            from: from.clone(),
            to: to.clone(),
            amount: Amount::from_u128(1_000_000),
        }
    }

    /// The straightforward answer: every counterparty of `watched` with its
    /// first appearance and whether an unflagged transfer links them, and
    /// those with a transfer at or after `since`.
    fn whole_history(
        s: &DbSettings,
        watched: &Address,
        exclude: i64,
        since: u64,
    ) -> (HashMap<String, Seen>, HashSet<String>) {
        connection::with_transaction(s, false, |tx| {
            let both = "SELECT to_addr AS cp, timestamp, flagged FROM transfers
                          WHERE chain_id = 1 AND from_addr = ?1 AND id <> ?2
                        UNION ALL
                        SELECT from_addr, timestamp, flagged FROM transfers
                          WHERE chain_id = 1 AND to_addr = ?1 AND id <> ?2";
            let mut stmt = tx.prepare(&format!(
                "SELECT cp, min(timestamp), max(flagged = 0) FROM ({both}) GROUP BY cp"
            ))?;
            let all = stmt
                .query_map(params![watched.as_str(), exclude], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        Seen {
                            first: r.get::<_, i64>(1)? as u64,
                            unflagged: r.get::<_, i64>(2)? == 1,
                        },
                    ))
                })?
                .collect::<Result<HashMap<_, _>, _>>()?;
            let mut stmt = tx.prepare(&format!(
                "SELECT DISTINCT cp FROM ({both}) WHERE timestamp >= ?3"
            ))?;
            let recent = stmt
                .query_map(params![watched.as_str(), exclude, since as i64], |r| {
                    r.get(0)
                })?
                .collect::<Result<HashSet<String>, _>>()?;
            Ok((all, recent))
        })
        .unwrap()
    }

    /// 6 000 transfers: a watched address with 1 500 counterparties (in both
    /// directions, some flagged, some of them also on another chain) among
    /// unrelated traffic. With two leading digits, every range holds several.
    /// The indexed answer holds exactly the counterparties the straightforward
    /// query says resemble a batch address or were active since `since`,
    /// with the same first appearance and flag, and leaves out the rest.
    #[test]
    fn relevant_counterparties_match_the_whole_history_on_a_large_database() {
        let (_dir, s) = temp_db();
        let mut rng = Rng(42);
        let watched = rng.address();
        let cps: Vec<Address> = (0..1_500).map(|_| rng.address()).collect();
        let mut history = Vec::new();
        for n in 0..6_000u64 {
            let ts = 1_700_000_000 + n * 60;
            let cp = &cps[(rng.next() % cps.len() as u64) as usize];
            let t = match rng.next() % 6 {
                0 => transfer(n, 1, &watched, cp, ts),
                1 => transfer(n, 2, cp, &watched, ts),
                2 => transfer(n, 1, cp, &rng.address(), ts),
                _ => transfer(n, 1, cp, &watched, ts),
            };
            history.push(t);
        }
        exec(
            &s,
            RecordPollResult::without_spam_checks(1, history, vec![]),
        );
        connection::with_transaction(&s, true, |tx| {
            Ok(tx.execute("UPDATE transfers SET flagged = 1 WHERE id % 7 = 0", [])?)
        })
        .unwrap();
        let exclude: i64 = connection::with_transaction(&s, false, |tx| {
            Ok(tx.query_row(
                "SELECT max(id) FROM transfers WHERE chain_id = 1 AND to_addr = ?1",
                [watched.as_str()],
                |r| r.get(0),
            )?)
        })
        .unwrap();
        // Known counterparties, strangers, and the watched address itself.
        let mut batch: Vec<Address> = (0..10).map(|i| cps[i * 7].clone()).collect();
        batch.extend((0..10).map(|_| rng.address()));
        batch.push(watched.clone());
        let batch: Vec<&Address> = batch.iter().collect();
        let since = 1_700_000_000 + 5_800 * 60;

        let got = connection::with_transaction(&s, false, |tx| {
            relevant_counterparties(tx, 1, &watched, exclude, &batch, 2, since)
        })
        .unwrap();

        let (all, recent) = whole_history(&s, &watched, exclude, since);
        let leads: HashSet<&str> = batch.iter().map(|a| &a.as_str()[..4]).collect();
        let expected: HashMap<String, Seen> = all
            .iter()
            .filter(|(cp, _)| leads.contains(&cp[..4]) || recent.contains(*cp))
            .map(|(cp, seen)| (cp.clone(), *seen))
            .collect();
        assert_eq!(got, expected);
        assert!(expected.values().any(|s| !s.unflagged), "some only flagged");
        assert!(
            !recent.is_empty() && expected.len() < all.len() / 2,
            "the test must leave counterparties out: {} of {}",
            expected.len(),
            all.len()
        );
    }
}
