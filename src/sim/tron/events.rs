//! `GET /v1/contracts/{contract}/events` in TronGrid's shapes (see
//! `shared/reference/tron.md`, section (a)): the filters, the ordering, the
//! `limit` clamp and the opaque `fingerprint` cursor bound to the other
//! parameters. Every parameter is outside input: anything malformed gets
//! the 400 error body, never a panic.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::address::{self, AccountId};
use super::chain::{Event, TronChain};
use super::server::Reply;

/// `limit` when none is given.
pub const DEFAULT_LIMIT: usize = 20;
/// The largest page; larger limits are clamped to it.
pub const MAX_LIMIT: usize = 200;

const FINGERPRINT_MISMATCH: &str =
    "Invalid query filter(s)!: [fingerprint does not match current set of params]";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Confirmation {
    Any,
    Confirmed,
    Unconfirmed,
}

/// A parsed events query.
pub(crate) struct EventQuery {
    contract: AccountId,
    /// The contract as the path spelt it (for `links.next`).
    contract_path: String,
    event_name: Option<String>,
    confirmation: Confirmation,
    min_ts: Option<u64>,
    max_ts: Option<u64>,
    ascending: bool,
    pub(crate) limit: usize,
    block_number: Option<u64>,
    /// (block, position in block) of the last item of the previous page.
    cursor: Option<(u64, u64)>,
    /// Binds a fingerprint to every other parameter.
    params_hash: u64,
    /// The raw query without the `fingerprint` pair.
    query_without_cursor: String,
}

/// `only_confirmed`, `onlyConfirmed` and `ONLY_CONFIRMED` are one key.
fn norm(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The 400 body of the v1 API.
pub(crate) fn bad_request(error: &str) -> Reply {
    let body = json!({"success": false, "error": error, "statusCode": 400});
    Reply::json(400, body.to_string())
}

fn flag(v: &str, key: &str) -> Result<bool, Reply> {
    match v {
        "true" | "TRUE" | "True" => Ok(true),
        "false" | "FALSE" | "False" | "" => Ok(false),
        _ => Err(bad_request(&format!(
            "Invalid {key}: expected true or false"
        ))),
    }
}

fn number(v: &str, key: &str) -> Result<u64, Reply> {
    v.parse()
        .map_err(|_| bad_request(&format!("Invalid {key}: expected a non-negative integer")))
}

impl EventQuery {
    /// Reads the path's contract and the raw query string.
    pub(crate) fn parse(contract_path: &str, query: &str) -> Result<EventQuery, Reply> {
        let contract = address::parse(contract_path)
            .ok_or_else(|| bad_request("A valid contract address is required."))?;
        let pairs = actix_web::web::Query::<Vec<(String, String)>>::from_query(query)
            .map_err(|_| bad_request("Invalid query string."))?
            .into_inner();
        let mut q = EventQuery {
            contract,
            contract_path: contract_path.to_string(),
            event_name: None,
            confirmation: Confirmation::Any,
            min_ts: None,
            max_ts: None,
            ascending: false,
            limit: DEFAULT_LIMIT,
            block_number: None,
            cursor: None,
            params_hash: 0,
            query_without_cursor: query
                .split('&')
                .filter(|kv| norm(kv.split('=').next().unwrap_or_default()) != "fingerprint")
                .filter(|kv| !kv.is_empty())
                .collect::<Vec<_>>()
                .join("&"),
        };
        let (mut confirmed, mut unconfirmed) = (false, false);
        let mut fingerprint = None;
        let mut bound: Vec<(String, &str)> = vec![("contract".into(), contract_path)];
        for (k, v) in &pairs {
            let key = norm(k);
            match key.as_str() {
                "eventname" => q.event_name = Some(v.clone()).filter(|v| !v.is_empty()),
                "onlyconfirmed" => confirmed = flag(v, k)?,
                "onlyunconfirmed" => unconfirmed = flag(v, k)?,
                "minblocktimestamp" | "mintimestamp" => q.min_ts = Some(number(v, k)?),
                "maxblocktimestamp" | "maxtimestamp" => q.max_ts = Some(number(v, k)?),
                "orderby" => {
                    q.ascending = match v.as_str() {
                        "block_timestamp,desc" | "" => false,
                        "block_timestamp,asc" => true,
                        _ => return Err(bad_request(&format!("Invalid {k}: {v}"))),
                    }
                }
                "limit" => {
                    q.limit = match number(v, k)? {
                        0 => DEFAULT_LIMIT,
                        n => usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT),
                    }
                }
                "blocknumber" => q.block_number = Some(number(v, k)?),
                "fingerprint" => {
                    fingerprint = Some(v.as_str());
                    continue;
                }
                _ => {}
            }
            bound.push((key, v.as_str()));
        }
        q.confirmation = match (confirmed, unconfirmed) {
            (true, true) => {
                return Err(bad_request(
                    "only_confirmed and only_unconfirmed cannot both be true",
                ));
            }
            (true, false) => Confirmation::Confirmed,
            (false, true) => Confirmation::Unconfirmed,
            (false, false) => Confirmation::Any,
        };
        bound.sort();
        q.params_hash = hash_params(&bound);
        if let Some(fp) = fingerprint.filter(|f| !f.is_empty()) {
            let (hash, block, pos) =
                decode_fingerprint(fp).ok_or_else(|| bad_request(FINGERPRINT_MISMATCH))?;
            if hash != q.params_hash {
                return Err(bad_request(FINGERPRINT_MISMATCH));
            }
            q.cursor = Some((block, pos));
        }
        Ok(q)
    }

    /// The inclusive block range the filters allow on `chain` now.
    fn block_range(&self, chain: &TronChain) -> Option<(u64, u64)> {
        let mut hi = match self.confirmation {
            Confirmation::Confirmed => chain.solid_head(),
            _ => chain.head,
        };
        // With an index lag, the index serves nothing it has not indexed yet.
        if chain.index_lag > 0 {
            hi = hi.min(chain.indexed_head()?);
        }
        let mut lo = match self.confirmation {
            Confirmation::Unconfirmed => chain.solid_head().checked_add(1)?,
            _ => 0,
        };
        if let Some(ms) = self.min_ts {
            lo = lo.max(chain.first_block_at(ms));
        }
        if let Some(ms) = self.max_ts {
            hi = hi.min(chain.last_block_at(ms)?);
        }
        if let Some(b) = self.block_number {
            lo = lo.max(b);
            hi = hi.min(b);
        }
        (lo <= hi).then_some((lo, hi))
    }

    /// Up to `limit + 1` events after the cursor, with their (block,
    /// position) for the next cursor.
    fn select(&self, chain: &TronChain) -> Vec<((u64, u64), Event)> {
        let mut out = Vec::new();
        if self
            .event_name
            .as_deref()
            .is_some_and(|n| !n.eq_ignore_ascii_case("Transfer"))
        {
            return out;
        }
        let Some((mut lo, mut hi)) = self.block_range(chain) else {
            return out;
        };
        if let Some((b, _)) = self.cursor {
            if self.ascending {
                lo = lo.max(b);
            } else {
                hi = hi.min(b);
            }
        }
        let want = self.limit + 1;
        for block in chain.candidate_blocks(&self.contract, lo, hi, self.ascending) {
            let events = chain.events(&self.contract, block);
            let mut positioned: Vec<(u64, Event)> = (0u64..).zip(events).collect();
            if !self.ascending {
                positioned.reverse();
            }
            for (pos, e) in positioned {
                let after_cursor = match self.cursor {
                    Some((b, p)) if b == block => {
                        if self.ascending {
                            pos > p
                        } else {
                            pos < p
                        }
                    }
                    _ => true,
                };
                if after_cursor {
                    out.push(((block, pos), e));
                    if out.len() >= want {
                        return out;
                    }
                }
            }
        }
        out
    }

    /// The success envelope of one page. `drop_fingerprint` is the
    /// documented bug: a full page comes without its cursor.
    pub(crate) fn answer(
        &self,
        chain: &TronChain,
        now_ms: u64,
        base_url: &str,
        drop_fingerprint: bool,
    ) -> Reply {
        let mut selected = self.select(chain);
        let more = selected.len() > self.limit;
        selected.truncate(self.limit);
        let solid = chain.solid_head();
        let data: Vec<Value> = selected
            .iter()
            .map(|(_, e)| item(chain, e, e.block > solid))
            .collect();
        let mut meta = Map::new();
        meta.insert("at".into(), now_ms.into());
        let full = selected.len() == self.limit;
        if let Some(((block, pos), _)) = selected.last().filter(|_| more)
            && !(drop_fingerprint && full)
        {
            let fp = encode_fingerprint(self.params_hash, *block, *pos);
            let sep = if self.query_without_cursor.is_empty() {
                ""
            } else {
                "&"
            };
            let next = format!(
                "{base_url}/v1/contracts/{}/events?{}{sep}fingerprint={fp}",
                self.contract_path, self.query_without_cursor
            );
            meta.insert("fingerprint".into(), fp.into());
            meta.insert("links".into(), json!({ "next": next }));
        }
        meta.insert("page_size".into(), data.len().into());
        let body = json!({"data": data, "success": true, "meta": meta});
        Reply::json(200, body.to_string())
    }
}

/// How a contract writes its `Transfer` event: the ABI's parameter names
/// and which of TronGrid's fields carry them. The default is USDT's
/// (`from`, `to`, `value`, by position and by name, with the signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventShape {
    /// The parameter names: sender, recipient, amount (`_from`, `_to`,
    /// `_value` in many TRC-20 contracts).
    pub names: [String; 3],
    /// `result` carries the values by position too (`"0"`, `"1"`, `"2"`),
    /// as TronGrid does.
    pub positions: bool,
    /// The item has `event` (the ABI signature) and `result_type`.
    pub signature: bool,
}

impl Default for EventShape {
    fn default() -> Self {
        EventShape::named(["from", "to", "value"])
    }
}

impl EventShape {
    /// TronGrid's full shape with these parameter names.
    pub fn named(names: [&str; 3]) -> Self {
        EventShape {
            names: names.map(String::from),
            positions: true,
            signature: true,
        }
    }
}

/// One item, field for field as the reference's captured answer, with the
/// contract's [`EventShape`].
fn item(chain: &TronChain, e: &Event, unconfirmed: bool) -> Value {
    let contract = address::to_base58(&e.contract);
    let (from, to, value) = (
        address::to_0x(&e.from),
        address::to_0x(&e.to),
        e.value.to_string(),
    );
    let shape = chain.shape(&e.contract);
    let [n_from, n_to, n_value] = &shape.names;
    let mut result = Map::new();
    if shape.positions {
        result.insert("0".into(), from.clone().into());
        result.insert("1".into(), to.clone().into());
        result.insert("2".into(), value.clone().into());
    }
    result.insert(n_from.clone(), from.into());
    result.insert(n_to.clone(), to.into());
    result.insert(n_value.clone(), value.into());
    let mut v = json!({
        "block_number": e.block,
        "block_timestamp": chain.timestamp(e.block),
        "caller_contract_address": contract,
        "contract_address": contract,
        "event_index": e.event_index,
        "event_name": "Transfer",
        "result": result,
        "transaction_id": e.txid,
    });
    if let Some(obj) = v.as_object_mut() {
        if shape.signature {
            obj.insert(
                "result_type".into(),
                json!({ n_from: "address", n_to: "address", n_value: "uint256" }),
            );
            obj.insert(
                "event".into(),
                format!(
                    "Transfer(address indexed {n_from}, address indexed {n_to}, uint256 {n_value})"
                )
                .into(),
            );
        }
        if unconfirmed {
            obj.insert("_unconfirmed".into(), true.into());
        }
    }
    v
}

fn hash_params(bound: &[(String, &str)]) -> u64 {
    let mut h = Sha256::new();
    for (k, v) in bound {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    let mut w = [0u8; 8];
    w.copy_from_slice(&d[..8]);
    u64::from_be_bytes(w)
}

/// Opaque to clients: base58 of (params hash, block, position).
fn encode_fingerprint(hash: u64, block: u64, pos: u64) -> String {
    let mut bytes = Vec::with_capacity(24);
    for w in [hash, block, pos] {
        bytes.extend_from_slice(&w.to_be_bytes());
    }
    bs58::encode(bytes).with_check().into_string()
}

fn decode_fingerprint(fp: &str) -> Option<(u64, u64, u64)> {
    let bytes = bs58::decode(fp).with_check(None).into_vec().ok()?;
    if bytes.len() != 24 {
        return None;
    }
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[8 * i..8 * i + 8]);
        u64::from_be_bytes(w)
    };
    Some((word(0), word(1), word(2)))
}
