//! The simulator through its HTTP interface, with the same `awc` client the
//! daemon uses. Each test starts its own server on a free port.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::*;
use crate::domain::Chain;

const USDT: &str = "0xdac17f958d2ee523a2206206994597c13d831ec7";
const USDC: &str = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";
const ALICE: &str = "0x1111111111111111111111111111111111111111";
const BOB: &str = "0x2222222222222222222222222222222222222222";

fn addr(s: &str) -> Address {
    Address::parse(s).expect("test address")
}

async fn sim(opts: SimEtherscanOptions) -> SimEtherscan {
    SimEtherscan::start(opts).await.expect("simulator starts")
}

/// (HTTP status, body) of `GET base_url?query`.
async fn get(sim: &SimEtherscan, query: &str) -> (u16, String) {
    let url = format!("{}?{}", sim.base_url(), query);
    let mut resp = awc::Client::default()
        .get(url)
        .send()
        .await
        .expect("request");
    let body = resp.body().limit(64 << 20).await.expect("body");
    (
        resp.status().as_u16(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

async fn json(sim: &SimEtherscan, query: &str) -> Value {
    let (status, body) = get(sim, query).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("JSON body")
}

fn logs_query(contract: &str, from: u64, to: u64, extra: &str) -> String {
    format!(
        "chainid=1&module=logs&action=getLogs&fromBlock={from}&toBlock={to}&address={contract}\
         &topic0={TRANSFER_TOPIC}&apikey=sim-key{extra}"
    )
}

fn notok(v: &Value) -> &str {
    assert_eq!(v["status"], "0", "{v}");
    assert_eq!(v["message"], "NOTOK", "{v}");
    v["result"].as_str().unwrap_or_default()
}

fn transfer(to: &str, units: u128, block: Option<u64>) -> InjectedTransfer {
    InjectedTransfer {
        contract: addr(USDT),
        from: addr(ALICE),
        to: addr(to),
        amount: Amount::from_u128(units),
        block,
    }
}

#[actix_rt::test]
async fn block_number_is_bare_json_rpc() {
    let s = sim(SimEtherscanOptions::default()).await;
    let v = json(
        &s,
        "chainid=1&module=proxy&action=eth_blockNumber&apikey=sim-key",
    )
    .await;
    assert_eq!(v["jsonrpc"], "2.0");
    assert_eq!(v["id"], 83);
    assert_eq!(v["result"], "0xf4240"); // 1 000 000
    s.advance(1, 16);
    let v = json(
        &s,
        "chainid=1&module=proxy&action=eth_blockNumber&apikey=sim-key",
    )
    .await;
    assert_eq!(v["result"], "0xf4250");
    let r = s.requests();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].kind, RequestKind::BlockNumber);
    assert_eq!((r[0].chain_id, r[0].outcome), (Some(1), "ok"));
    s.stop().await;
}

/// The starting head is dated at the wall-clock time the simulator started
/// and earlier blocks 12 s apart before it: a demo shows today's times.
#[actix_rt::test]
async fn blocks_are_dated_from_the_wall_clock_at_start() {
    let unix = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let before = unix();
    let s = sim(SimEtherscanOptions::default()).await;
    let after = unix();
    let head = s.head(1);
    let at_head = s.block_timestamp(1, head);
    assert!(
        (before..=after).contains(&at_head),
        "{before} {at_head} {after}"
    );
    assert_eq!(s.block_timestamp(1, head - 10), at_head - 120);
    s.stop().await;
}

#[actix_rt::test]
async fn injected_transfer_has_the_v2_log_shape() {
    let s = sim(SimEtherscanOptions::default()).await;
    let (tx, index) = s.inject_transfer(1, transfer(BOB, 1_500_000, None));
    assert_eq!(index, 0);
    // In the next block: invisible until the head gets there.
    let q = logs_query(USDT, 1_000_000, 1_000_001, "");
    assert_eq!(json(&s, &q).await["message"], "No records found");
    assert_eq!(s.requests()[0].outcome, "empty");
    s.advance(1, 1);
    let v = json(&s, &q).await;
    assert_eq!(
        (v["status"].as_str(), v["message"].as_str()),
        (Some("1"), Some("OK"))
    );
    let log = &v["result"][0];
    assert_eq!(log["address"], USDT);
    assert_eq!(log["topics"][0], TRANSFER_TOPIC);
    assert_eq!(log["topics"][1], format!("0x{:0>64}", &ALICE[2..]));
    assert_eq!(log["topics"][2], format!("0x{:0>64}", &BOB[2..]));
    assert_eq!(log["data"], format!("0x{:064x}", 1_500_000));
    assert_eq!(log["blockNumber"], "0xf4241");
    assert_eq!(
        log["timeStamp"],
        format!("0x{:x}", s.block_timestamp(1, 1_000_001))
    );
    assert_eq!(log["logIndex"], "0x", "zero is written 0x");
    assert_eq!(log["transactionIndex"], "0x");
    assert_eq!(log["transactionHash"], tx.as_str());
    for key in ["blockHash", "transactionHash"] {
        let h = log[key].as_str().unwrap_or_default();
        assert!(codec::is_word(h), "{key}: {h}");
    }
    for key in ["gasPrice", "gasUsed"] {
        assert!(
            log[key].as_str().is_some_and(|h| h.starts_with("0x")),
            "{key}"
        );
    }
    // Mixed-case (checksummed) address in the query still matches.
    let q = logs_query(&addr(USDT).checksummed(), 1_000_001, 1_000_001, "");
    assert_eq!(
        json(&s, &q).await["result"].as_array().map(Vec::len),
        Some(1)
    );
    // The other token has nothing.
    let q = logs_query(USDC, 1_000_001, 1_000_001, "");
    assert_eq!(json(&s, &q).await["message"], "No records found");
    s.stop().await;
}

#[actix_rt::test]
async fn pages_through_more_than_a_thousand_logs_in_order() {
    let opts = SimEtherscanOptions {
        noise_per_block: 100,
        ..Default::default()
    };
    let s = sim(opts).await;
    s.inject_transfer(1, transfer(BOB, 7, Some(999_995)));
    // 15 blocks × 100 noise + 1 injected = 1501 USDT logs.
    let base = logs_query(USDT, 999_986, 1_000_000, "&offset=1000");
    let p1 = json(&s, &format!("{base}&page=1")).await;
    let p2 = json(&s, &format!("{base}&page=2")).await;
    let p1 = p1["result"].as_array().cloned().unwrap_or_default();
    let p2 = p2["result"].as_array().cloned().unwrap_or_default();
    assert_eq!((p1.len(), p2.len()), (1000, 501));
    let all: Vec<&Value> = p1.iter().chain(&p2).collect();
    let key = |v: &Value| {
        let n = |k: &str| {
            u64::from_str_radix(v[k].as_str().unwrap_or("0x")[2..].trim(), 16).unwrap_or(0)
        };
        (n("blockNumber"), n("logIndex"))
    };
    let keys: Vec<(u64, u64)> = all.iter().map(|v| key(v)).collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "sorted by (block, logIndex)"
    );
    assert_eq!(keys[0], (999_986, 0));
    // USDT noise takes indexes 0..100, USDC 100..200, injected logs follow.
    assert_eq!(keys.iter().rfind(|k| k.0 == 999_995), Some(&(999_995, 200)));
    let hashes: std::collections::HashSet<&str> = all
        .iter()
        .filter_map(|v| v["transactionHash"].as_str())
        .collect();
    assert_eq!(hashes.len(), 1501, "one unique hash per log");
    let page3 = json(&s, &format!("{base}&page=3")).await;
    assert_eq!(page3["message"], "No records found");

    let r = s.requests();
    assert_eq!(r.len(), 3);
    assert_eq!(
        (r[1].from_block, r[1].to_block, r[1].page),
        (Some(999_986), Some(1_000_000), Some(2))
    );
    s.stop().await;
}

#[actix_rt::test]
async fn limits_offset_and_result_window() {
    let s = sim(SimEtherscanOptions::default()).await;
    let base = logs_query(USDT, 1, 1_000_000, "");
    let v = json(&s, &format!("{base}&page=11&offset=1000")).await;
    assert!(notok(&v).starts_with("Result window is too large"));
    let v = json(&s, &format!("{base}&page=10&offset=1000")).await;
    assert_eq!(v["message"], "No records found");
    let v = json(&s, &format!("{base}&page=1&offset=1001")).await;
    assert!(notok(&v).contains("1000"));
    let v = json(&s, &format!("{base}&page=99999999999&offset=99999999999")).await;
    notok(&v);
    assert_eq!(s.requests()[0].outcome, "error");
    s.stop().await;
}

#[actix_rt::test]
async fn wide_ranges_time_out_when_configured() {
    let opts = SimEtherscanOptions {
        query_timeout_above: Some(100),
        ..Default::default()
    };
    let s = sim(opts).await;
    let v = json(&s, &logs_query(USDT, 999_900, 1_000_000, "")).await;
    assert!(notok(&v).starts_with("Query Timeout occured"));
    let v = json(&s, &logs_query(USDT, 999_901, 1_000_000, "")).await;
    assert_eq!(v["message"], "No records found");
    let q = logs_query(USDT, 0, 0, "").replace("toBlock=0", "toBlock=latest");
    assert!(notok(&json(&s, &q).await).starts_with("Query Timeout"));
    s.stop().await;
}

#[actix_rt::test]
async fn own_rate_limit_answers_notok_over_200() {
    let opts = SimEtherscanOptions {
        rate_limit_per_sec: Some(3),
        ..Default::default()
    };
    let s = sim(opts).await;
    let q = "chainid=1&module=proxy&action=eth_blockNumber&apikey=sim-key";
    let mut answers = Vec::new();
    for _ in 0..5 {
        answers.push(json(&s, q).await);
    }
    assert!(answers[..3].iter().all(|v| v["result"] == "0xf4240"));
    for v in &answers[3..] {
        assert_eq!(notok(v), "Max calls per sec rate limit reached (3/sec)");
    }
    let outcomes: Vec<&str> = s.requests().iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, ["ok", "ok", "ok", "rate_limited", "rate_limited"]);
    assert_eq!(
        max_requests_in_any_window(&s.requests(), Duration::from_secs(1)),
        5
    );
    s.stop().await;
}

#[actix_rt::test]
async fn checks_the_key_and_the_chain() {
    let s = sim(SimEtherscanOptions::default()).await;
    let v = json(
        &s,
        "chainid=1&module=proxy&action=eth_blockNumber&apikey=wrong",
    )
    .await;
    assert_eq!(notok(&v), "Invalid API Key");
    let v = json(&s, "chainid=1&module=proxy&action=eth_blockNumber").await;
    assert_eq!(notok(&v), "Invalid API Key");
    let v = json(
        &s,
        "chainid=137&module=proxy&action=eth_blockNumber&apikey=sim-key",
    )
    .await;
    assert_eq!(notok(&v), "Missing or unsupported chainid parameter");
    let v = json(&s, "module=proxy&action=eth_blockNumber&apikey=sim-key").await;
    assert_eq!(notok(&v), "Missing or unsupported chainid parameter");
    let v = json(&s, "chainid=1&module=nope&action=x&apikey=sim-key").await;
    assert!(notok(&v).contains("Module"));
    assert!(s.requests().iter().all(|r| r.outcome == "error"));
    let (status, _) = get(&s, "").await;
    assert_eq!(status, 200);
    let url = sim_url_path(&s, "/v1/api");
    let resp = awc::Client::default()
        .get(url)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 404);
    s.stop().await;
}

fn sim_url_path(s: &SimEtherscan, path: &str) -> String {
    s.base_url().replace("/v2/api", path)
}

#[actix_rt::test]
async fn every_fault_and_its_recovery() {
    let s = sim(SimEtherscanOptions::default()).await;
    let q = "chainid=1&module=proxy&action=eth_blockNumber&apikey=sim-key";

    s.set_fault(Some(Fault::Http500));
    assert_eq!(get(&s, q).await.0, 500);
    s.set_fault(Some(Fault::Http429));
    assert_eq!(get(&s, q).await.0, 429);
    s.set_fault(Some(Fault::RateLimitStorm));
    assert!(notok(&json(&s, q).await).starts_with("Max calls per sec rate limit reached"));
    s.set_fault(Some(Fault::InvalidKey));
    assert_eq!(notok(&json(&s, q).await), "Invalid API Key");
    s.set_fault(Some(Fault::MalformedJson));
    let (status, body) = get(&s, q).await;
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&body).is_err(), "{body}");
    assert!(s.requests().iter().all(|r| r.outcome == "fault"));

    s.set_fault(Some(Fault::Slow(Duration::from_millis(150))));
    let t = Instant::now();
    assert_eq!(json(&s, q).await["result"], "0xf4240");
    assert!(t.elapsed() >= Duration::from_millis(150));
    assert_eq!(s.requests().last().map(|r| r.outcome), Some("ok"));

    s.set_fault(None);
    assert_eq!(json(&s, q).await["result"], "0xf4240");
    assert_eq!(s.request_count(), 7);
    s.reset_requests();
    assert_eq!(s.request_count(), 0);
    s.stop().await;
}

#[actix_rt::test]
async fn noise_is_deterministic_and_seeded() {
    let opts = |seed| SimEtherscanOptions {
        noise_per_block: 20,
        seed,
        ..Default::default()
    };
    let a = sim(opts(7)).await;
    let b = sim(opts(7)).await;
    let c = sim(opts(8)).await;
    let q = logs_query(USDC, 999_990, 1_000_000, "&page=2&offset=50");
    let (_, first) = get(&a, &q).await;
    assert_eq!(get(&a, &q).await.1, first);
    assert_eq!(get(&b, &q).await.1, first);
    assert_ne!(get(&c, &q).await.1, first);
    let v: Value = serde_json::from_str(&first).expect("JSON");
    let items = v["result"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 50);
    for item in &items {
        let from = item["topics"][1]
            .as_str()
            .and_then(Address::from_topic)
            .expect("from");
        assert!(
            !from.as_str().starts_with("0x000000"),
            "random-looking: {from}"
        );
        assert_ne!(item["topics"][1], item["topics"][2]);
        assert_eq!(item["address"], USDC);
    }
    for s in [a, b, c] {
        s.stop().await;
    }
}

#[actix_rt::test]
async fn topic_filters_and_operators() {
    let opts = SimEtherscanOptions {
        noise_per_block: 30,
        ..Default::default()
    };
    let s = sim(opts).await;
    s.inject_transfer(1, transfer(BOB, 5, Some(999_999)));
    let bob = format!("0x{:0>64}", &BOB[2..]);
    let alice = format!("0x{:0>64}", &ALICE[2..]);
    let count = |v: Value| v["result"].as_array().map_or(0, Vec::len);

    let to_bob = json(
        &s,
        &logs_query(USDT, 999_000, 1_000_000, &format!("&topic2={bob}")),
    )
    .await;
    assert_eq!(count(to_bob), 1);
    let q = format!("&topic1={bob}&topic0_1_opr=and");
    assert_eq!(
        json(&s, &logs_query(USDT, 999_000, 1_000_000, &q)).await["message"],
        "No records found"
    );
    let q = format!("&topic1={alice}&topic2={bob}&topic1_2_opr=and");
    assert_eq!(
        count(json(&s, &logs_query(USDT, 999_000, 1_000_000, &q)).await),
        1
    );
    // topic0 OR topic1: every Transfer in block 999 999 (30 noise + 1).
    let q = format!("&topic1={bob}&topic0_1_opr=or");
    assert_eq!(
        count(json(&s, &logs_query(USDT, 999_999, 999_999, &q)).await),
        31
    );
    // A noise address filters to the noise it took part in.
    let v = json(&s, &logs_query(USDT, 999_999, 999_999, "")).await;
    let noisy = v["result"][0]["topics"][1]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let q = format!("&topic1={noisy}");
    let v = json(&s, &logs_query(USDT, 999_900, 999_999, &q)).await;
    let hits = v["result"].as_array().cloned().unwrap_or_default();
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|h| h["topics"][1] == noisy.as_str()));
    // Generating noise one by one over a huge range is refused, not endured.
    let v = json(&s, &logs_query(USDT, 0, 1_000_000, &q)).await;
    assert!(notok(&v).starts_with("Query Timeout"));
    // No address: both tokens, USDT's indexes first.
    let q = format!(
        "chainid=1&module=logs&action=getLogs&fromBlock=999999&toBlock=999999&topic0={TRANSFER_TOPIC}&apikey=sim-key"
    );
    let v = json(&s, &q).await;
    assert_eq!(count(v.clone()), 61);
    assert_eq!(v["result"][30]["address"], USDC);
    s.stop().await;
}

#[actix_rt::test]
async fn raw_logs_and_tokentx() {
    let s = sim(SimEtherscanOptions {
        noise_per_block: 10,
        ..Default::default()
    })
    .await;
    let (tx, index) = s.inject_transfer(1, transfer(BOB, 2_500_000, Some(999_990)));
    assert_eq!(index, 20);
    // An ERC-721 Transfer shares topic0 but has a 4th topic (the token id).
    let nft = addr("0x3333333333333333333333333333333333333333");
    let topics = vec![
        TRANSFER_TOPIC.to_string(),
        format!("0x{:0>64}", &ALICE[2..]),
        format!("0x{:0>64}", &BOB[2..]),
        format!("0x{:064x}", 42),
    ];
    let (_, nft_index) = s.inject_raw_log(1, 999_990, &nft, topics, "0x".into());
    assert_eq!(nft_index, 21);
    let v = json(&s, &logs_query(nft.as_str(), 999_990, 999_990, "")).await;
    assert_eq!(v["result"][0]["topics"].as_array().map(Vec::len), Some(4));
    assert_eq!(v["result"][0]["logIndex"], "0x15");

    // Raw logs may hold anything; the answer stays valid JSON.
    let odd = addr("0x5555555555555555555555555555555555555555");
    s.inject_raw_log(
        1,
        999_990,
        &odd,
        vec!["not \"hex\" \\".into()],
        "x\ny".into(),
    );
    let v = json(
        &s,
        &logs_query(odd.as_str(), 999_990, 999_990, "").replace("&topic0=", "&x="),
    )
    .await;
    assert_eq!(v["result"][0]["topics"][0], "not \"hex\" \\");
    assert_eq!(v["result"][0]["data"], "x\ny");

    let q = format!(
        "chainid=1&module=account&action=tokentx&address={BOB}&startblock=0&endblock=99999999&page=1&offset=100&sort=asc&apikey=sim-key"
    );
    let v = json(&s, &q).await;
    assert_eq!(
        (v["status"].as_str(), v["message"].as_str()),
        (Some("1"), Some("OK"))
    );
    let rows = v["result"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        rows.len(),
        1,
        "the ERC-721 log is not a token transfer: {rows:?}"
    );
    let row = &rows[0];
    assert_eq!(row["blockNumber"], "999990");
    assert_eq!(row["timeStamp"], s.block_timestamp(1, 999_990).to_string());
    assert_eq!(row["hash"], tx.as_str());
    assert_eq!(
        (row["from"].as_str(), row["to"].as_str()),
        (Some(ALICE), Some(BOB))
    );
    assert_eq!(row["contractAddress"], USDT);
    assert_eq!(row["value"], "2500000");
    assert_eq!(
        (row["tokenSymbol"].as_str(), row["tokenDecimal"].as_str()),
        (Some("USDT"), Some("6"))
    );
    assert_eq!(row["confirmations"], "11");
    assert!(row.get("logIndex").is_none());
    for key in [
        "nonce",
        "transactionIndex",
        "gas",
        "gasPrice",
        "gasUsed",
        "cumulativeGasUsed",
    ] {
        assert!(
            row[key].as_str().is_some_and(|d| d.parse::<u64>().is_ok()),
            "{key}"
        );
    }
    assert_eq!(s.requests()[2].kind, RequestKind::TokenTx);

    let q = q.replace(BOB, "0x4444444444444444444444444444444444444444");
    assert_eq!(json(&s, &q).await["message"], "No transactions found");
    s.stop().await;
}

#[actix_rt::test]
async fn hostile_queries_get_notok_not_a_panic() {
    let s = sim(SimEtherscanOptions::default()).await;
    let logs = "chainid=1&module=logs&action=getLogs&apikey=sim-key";
    for bad in [
        "&fromBlock=abc",
        "&toBlock=-1",
        "&fromBlock=0x10",
        "&page=-1",
        "&offset=1e3",
        "&address=0xzz",
        "&address=0x1234",
        "&topic0=0x1234",
        "&topic1=%3Cscript%3E",
        "&topic0_1_opr=xor",
        "&fromBlock=99999999999999999999999",
    ] {
        let v = json(&s, &format!("{logs}{bad}")).await;
        assert!(!notok(&v).is_empty(), "{bad}");
    }
    let v = json(&s, "chainid=1&module=account&action=tokentx&apikey=sim-key").await;
    notok(&v);
    let v = json(
        &s,
        "chainid=18446744073709551616&module=proxy&action=eth_blockNumber&apikey=sim-key",
    )
    .await;
    notok(&v);
    let v = json(&s, "chainid=%ff%fe&apikey=%00").await;
    notok(&v);
    let v = json(
        &s,
        "&&==&chainid&module=logs&action=getLogs&apikey=sim-key&chainid=1",
    )
    .await;
    notok(&v);
    // Still serving.
    let v = json(
        &s,
        "chainid=1&module=proxy&action=eth_blockNumber&apikey=sim-key",
    )
    .await;
    assert_eq!(v["result"], "0xf4240");
    s.stop().await;
}

#[actix_rt::test]
async fn block_timer_moves_the_head() {
    let s = sim(SimEtherscanOptions {
        block_time: Some(Duration::from_millis(20)),
        chains: vec![1, 137],
        ..Default::default()
    })
    .await;
    actix_rt::time::sleep(Duration::from_millis(130)).await;
    let (h1, h137) = (s.head(1), s.head(137));
    assert!((1_000_003..1_000_010).contains(&h1), "{h1}");
    assert!(h137 >= 1_000_003);
    s.set_head(137, 5);
    assert!(s.head(137) < 10);
    s.stop().await;
    let stopped = s.head(1);
    actix_rt::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(s.head(1), stopped, "the timer stops with the server");
}

#[actix_rt::test]
async fn polygon_serves_its_own_contracts() {
    let s = sim(SimEtherscanOptions {
        chains: vec![137],
        noise_per_block: 3,
        ..Default::default()
    })
    .await;
    let polygon = Chain::by_id(137).expect("polygon");
    let usdt = polygon.tokens[0].contract.as_str().to_string();
    let q = logs_query(&usdt, 1_000_000, 1_000_000, "").replace("chainid=1&", "chainid=137&");
    assert_eq!(
        json(&s, &q).await["result"].as_array().map(Vec::len),
        Some(3)
    );
    let q = logs_query(USDT, 1_000_000, 1_000_000, "").replace("chainid=1&", "chainid=137&");
    assert_eq!(json(&s, &q).await["message"], "No records found");
    s.stop().await;
}

/// A page of 1000 noise logs deep in a 10 000-block range is computed by
/// counting, not by generating everything before it.
#[actix_rt::test]
async fn big_pages_are_cheap() {
    let s = sim(SimEtherscanOptions {
        noise_per_block: 100,
        ..Default::default()
    })
    .await;
    let q = logs_query(USDT, 990_001, 1_000_000, "&page=10&offset=1000");
    let v = json(&s, &q).await;
    assert_eq!(v["result"].as_array().map(Vec::len), Some(1000));
    assert_eq!(
        v["result"][0]["blockNumber"],
        format!("0x{:x}", 990_001 + 90)
    );

    // The server's share of that request (what the daemon waits for, minus
    // loopback and its own parsing). About 2 ms in release, 12 ms in debug; the bound is
    // loose for debug builds on busy shared cores.
    let t = Instant::now();
    let (reply, _) = s.inner.shared.serve(&q, Instant::now());
    let took = t.elapsed();
    assert!(reply.body.len() > 500_000);
    assert!(took < Duration::from_millis(250), "{took:?}");

    // The engine alone, 9000 records deep into a 1 000 000-block range.
    let took = {
        let st = s.inner.shared.lock();
        let chain = st.chains.get(&1).expect("chain 1");
        let f = filter::LogFilter::topics(
            Some(addr(USDT)),
            Default::default(),
            [[filter::Op::And; 4]; 4],
        );
        let t = Instant::now();
        let page = chain.query(0, 1_000_000, &f, 9_000, 1000).expect("cheap");
        assert_eq!((page.len(), page[0].block), (1000, 90));
        t.elapsed()
    };
    assert!(took < Duration::from_millis(100), "{took:?}");
    s.stop().await;
}

#[test]
fn window_counting() {
    let t0 = Instant::now();
    let rec = |ms| RequestRecord {
        at: t0 + Duration::from_millis(ms),
        chain_id: Some(1),
        kind: RequestKind::GetLogs,
        from_block: None,
        to_block: None,
        page: None,
        outcome: "ok",
        bytes: 0,
    };
    let r: Vec<RequestRecord> = [0, 100, 999, 1000, 1001, 1500, 1998].map(rec).into();
    assert_eq!(max_requests_in_any_window(&r, Duration::from_secs(1)), 5);
    assert_eq!(max_requests_in_any_window(&[], Duration::from_secs(1)), 0);
}

#[test]
fn handle_is_shareable_across_threads() {
    fn assert_traits<T: Send + Sync + Clone + 'static>() {}
    assert_traits::<SimEtherscan>();
    assert_traits::<RequestRecord>();
}

/// Works under a hand-made System too (as the demo and benches run it).
#[test]
fn runs_inside_a_plain_actix_system() {
    actix_rt::System::new().block_on(async {
        let s = sim(SimEtherscanOptions::default()).await;
        let v = json(
            &s,
            "chainid=1&module=proxy&action=eth_blockNumber&apikey=sim-key",
        )
        .await;
        assert_eq!(v["result"], "0xf4240");
        s.stop().await;
    });
}

#[actix_rt::test]
async fn an_index_lag_hides_recent_logs_and_raw_items_are_served_verbatim() {
    let s = sim(SimEtherscanOptions::default()).await;
    let b = s.head(1) + 1;
    s.inject_transfer(1, transfer(BOB, 7, Some(b)));
    let raw = serde_json::json!({"address": USDT, "topics": ["0xZZ"], "data": "0x1", "blockNumber": "0x"});
    s.inject_raw_json(1, b, raw.clone());
    s.inject_raw_json(
        1,
        b,
        serde_json::json!({"address": USDC, "data": "other contract"}),
    );
    s.set_index_lag(1, 3);
    s.advance(1, 2);
    let head = json(
        &s,
        "chainid=1&module=proxy&action=eth_blockNumber&apikey=sim-key",
    )
    .await;
    assert_eq!(
        head["result"],
        format!("0x{:x}", b + 1),
        "the head is not lagged"
    );
    let v = json(&s, &logs_query(USDT, b, b + 1, "")).await;
    assert_eq!(v["message"], "No records found", "not indexed yet: {v}");
    s.advance(1, 2);
    let v = json(&s, &logs_query(USDT, b, b, "")).await;
    let items = v["result"].as_array().expect("a list");
    assert_eq!(items.len(), 2, "{v}");
    assert_eq!(
        items[1], raw,
        "served verbatim, only to its contract's query"
    );
}

#[actix_rt::test]
async fn head_faults_touch_only_eth_block_number() {
    let s = sim(SimEtherscanOptions::default()).await;
    let q = "chainid=1&module=proxy&action=eth_blockNumber&apikey=sim-key";
    let cases: [(Fault, Value); 4] = [
        (Fault::EmptyHead, Value::from("0x")),
        (Fault::NullHead, Value::Null),
        (
            Fault::HeadBehind(16),
            Value::from(format!("0x{:x}", 1_000_000 - 16)),
        ),
        (Fault::ErrorHead, Value::Null),
    ];
    for (fault, result) in cases {
        s.set_fault(Some(fault.clone()));
        let v = json(&s, q).await;
        assert_eq!(v["result"], result, "{fault:?}: {v}");
        let logs = json(&s, &logs_query(USDT, 1, 2, "")).await;
        assert_eq!(
            logs["message"], "No records found",
            "{fault:?}: getLogs is normal"
        );
    }
    assert_eq!(json(&s, q).await["error"]["code"], -32000);
    s.set_fault(Some(Fault::DailyCap));
    let v = json(&s, q).await;
    assert!(notok(&v).starts_with("Max daily rate limit reached"), "{v}");
}

/// The kind `html_page`: a proxy's error page over HTTP 200, not JSON, for
/// every call; cleared, the answers are normal again.
#[actix_rt::test]
async fn html_page_answers_200_with_an_html_body() {
    let s = sim(SimEtherscanOptions::default()).await;
    let q = "chainid=1&module=proxy&action=eth_blockNumber&apikey=sim-key";
    s.set_fault(Some(Fault::HtmlPage));
    let (status, body) = get(&s, q).await;
    assert_eq!(status, 200);
    assert!(body.starts_with("<!DOCTYPE html>"), "{body}");
    assert!(serde_json::from_str::<Value>(&body).is_err(), "{body}");
    s.set_fault(None);
    assert!(json(&s, q).await["result"].is_string());
}
