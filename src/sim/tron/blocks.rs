//! The full node's block endpoints (see `shared/reference/tron.md`, section
//! (c)): `getnowblock` (with its transaction list) and `getblock` (header
//! only unless `detail` is true), on `/wallet` for the head and on
//! `/walletsolidity` for the solidified head.

use serde_json::{Value, json};

use super::chain::{TronChain, hex_words};
use crate::sim::etherscan::codec::hash_words;

const TAG_ROOT: u64 = 0x726f_6f74;

/// The full-node error shape: `{"Error":"…"}` over HTTP 200.
fn error(message: &str) -> Value {
    json!({ "Error": message })
}

/// A block as the full node renders it. Transactions carry only `txID` and
/// `ret` (enough to count them; the real ones hold the whole contract call).
pub(crate) fn render(chain: &TronChain, number: u64, detail: bool) -> Value {
    let parent = chain.block_id(number.saturating_sub(1));
    let root = hex_words([0, 1, 2, 3].map(|k| hash_words(&[number, TAG_ROOT, k])));
    let mut v = json!({
        "blockID": chain.block_id(number),
        "block_header": {
            "raw_data": {
                "number": number,
                "txTrieRoot": root,
                "witness_address": "41b487cdc02de90f15ac89a68c82f44cbfe3d915ea",
                "parentHash": parent,
                "version": 31,
                "timestamp": chain.timestamp(number),
            },
            "witness_signature": format!("{root}{parent}00"),
        },
    });
    let txids = chain.txids(number);
    // An empty repeated field is omitted, as protobuf's JSON mapping does.
    if detail
        && !txids.is_empty()
        && let Some(obj) = v.as_object_mut()
    {
        let txs: Vec<Value> = txids
            .iter()
            .map(|id| json!({"ret": [{"contractRet": "SUCCESS"}], "txID": id}))
            .collect();
        obj.insert("transactions".into(), txs.into());
    }
    v
}

/// `getblock`'s body or query: `{"id_or_num":"","detail":false}`. Empty
/// `id_or_num` is the latest block (`latest`); a number or a 64-hex block
/// id must be at or below `latest`, else the answer is `{}` as for an
/// unknown block.
pub(crate) fn get_block(
    chain: &TronChain,
    latest: u64,
    id_or_num: Option<&str>,
    detail: bool,
) -> Value {
    let id = id_or_num.unwrap_or_default().trim();
    let number = if id.is_empty() {
        latest
    } else if let Ok(n) = id.parse::<u64>() {
        n
    } else if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        match u64::from_str_radix(&id[..16], 16) {
            Ok(n) if chain.block_id(n) == id.to_ascii_lowercase() => n,
            _ => return json!({}),
        }
    } else {
        return error("id_or_num must be a block number or a block id");
    };
    if number > latest {
        return json!({});
    }
    render(chain, number, detail)
}

/// Reads `id_or_num` and `detail` from a JSON body (POST) or, when the body
/// is empty, from the query string (GET). `Err` is the error answer.
pub(crate) fn block_params(body: &[u8], query: &str) -> Result<(Option<String>, bool), Value> {
    let (id, detail) = if body.iter().all(u8::is_ascii_whitespace) {
        let pairs = actix_web::web::Query::<Vec<(String, String)>>::from_query(query)
            .map_err(|_| error("invalid query string"))?
            .into_inner();
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        (get("id_or_num"), get("detail").is_some_and(|d| d == "true"))
    } else {
        let v: Value =
            serde_json::from_slice(body).map_err(|e| error(&format!("invalid JSON body: {e}")))?;
        let id = match v.get("id_or_num") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => return Err(error("id_or_num must be a string")),
        };
        (
            id,
            v.get("detail").and_then(Value::as_bool).unwrap_or(false),
        )
    };
    Ok((id, detail))
}
