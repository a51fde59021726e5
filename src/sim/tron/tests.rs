//! The simulator through its HTTP interface, with the same `awc` client the
//! daemon uses. Each test starts its own server on a free port.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::*;

const KEY: &str = "sim-tron-key";
const USDT_T: &str = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
const ALICE: &str = "0x1111111111111111111111111111111111111111";
const BOB: &str = "0x2222222222222222222222222222222222222222";

/// The reference's captured events answer (`shared/reference/tron.md`,
/// section (a)), with the placeholders filled in.
const REFERENCE_EVENTS: &str = r#"{"data":[{"block_number":85919983,"block_timestamp":1788431625000,
  "caller_contract_address":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
  "contract_address":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","event_index":0,"event_name":"Transfer",
  "result":{"0":"0x1111111111111111111111111111111111111111","1":"0x2222222222222222222222222222222222222222",
            "2":"1399000000","from":"0x1111111111111111111111111111111111111111",
            "to":"0x2222222222222222222222222222222222222222","value":"1399000000"},
  "result_type":{"from":"address","to":"address","value":"uint256"},
  "event":"Transfer(address indexed from, address indexed to, uint256 value)",
  "transaction_id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}],
 "success":true,
 "meta":{"at":1788431685775,"fingerprint":"7dveEb1D",
  "links":{"next":"https://api.trongrid.io/v1/contracts/TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t/events?event_name=Transfer&limit=2&only_confirmed=true&fingerprint=7dveEb1D"},
  "page_size":2}}"#;

/// A chain that moves only when the test says so.
fn still() -> SimTronGridOptions {
    SimTronGridOptions {
        block_time: None,
        ..SimTronGridOptions::default()
    }
}

/// A still chain with `n` noise transfers per block.
fn noisy(n: u32) -> SimTronGridOptions {
    SimTronGridOptions {
        noise_per_block: n,
        ..still()
    }
}

async fn sim(opts: SimTronGridOptions) -> SimTronGrid {
    SimTronGrid::start(opts).await.expect("simulator starts")
}

/// (status, body) of `GET path_and_query`, with the key header if given.
async fn get(s: &SimTronGrid, path_and_query: &str, key: Option<&str>) -> (u16, String) {
    let mut req = awc::Client::default().get(format!("{}{path_and_query}", s.base_url()));
    if let Some(k) = key {
        req = req.insert_header((API_KEY_HEADER, k));
    }
    let mut resp = req.send().await.expect("request");
    let body = resp.body().limit(64 << 20).await.expect("body");
    (
        resp.status().as_u16(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

async fn post(s: &SimTronGrid, path: &str, body: &str) -> (u16, String) {
    let mut resp = awc::Client::default()
        .post(format!("{}{path}", s.base_url()))
        .insert_header((API_KEY_HEADER, KEY))
        .insert_header(("content-type", "application/json"))
        .send_body(body.to_string())
        .await
        .expect("request");
    let body = resp.body().limit(64 << 20).await.expect("body");
    (
        resp.status().as_u16(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

async fn json(s: &SimTronGrid, path_and_query: &str) -> Value {
    let (status, body) = get(s, path_and_query, Some(KEY)).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("JSON body")
}

fn events_path(query: &str) -> String {
    format!("/v1/contracts/{USDT_T}/events?{query}")
}

/// The part of `links.next` after the host, to follow it on the simulator.
fn next_path(page: &Value) -> Option<String> {
    let next = page["meta"]["links"]["next"].as_str()?;
    let at = next.find("/v1/")?;
    Some(next[at..].to_string())
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    k.sort();
    k
}

/// Follows `links.next` from `first` to the last page; returns every
/// item's (transaction_id, event_index) and the number of pages.
async fn walk(s: &SimTronGrid, first: &str) -> (Vec<(String, u64)>, usize) {
    let mut items = Vec::new();
    let mut path = Some(first.to_string());
    let mut pages = 0;
    while let Some(p) = path {
        let page = json(s, &p).await;
        pages += 1;
        for item in page["data"].as_array().expect("data") {
            items.push((
                item["transaction_id"].as_str().expect("txid").to_string(),
                item["event_index"].as_u64().expect("event_index"),
            ));
        }
        path = next_path(&page);
        assert_eq!(
            path.is_some(),
            page["meta"]["fingerprint"].is_string(),
            "links.next comes with meta.fingerprint"
        );
    }
    (items, pages)
}

#[test]
fn addresses_match_the_reference_vectors() {
    let vectors = [
        (USDT_T, "a614f803b6fd780986a42c78ec9c7f77e6ded13c"),
        (
            "TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8",
            "3487b63d30b5b2c87fb7ffa8bcfade38eaac1abe",
        ),
        (
            "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb",
            "0000000000000000000000000000000000000000",
        ),
    ];
    for (t, hex) in vectors {
        let id = parse_address(t).expect("a valid T address");
        assert_eq!(to_0x(&id), format!("0x{hex}"));
        assert_eq!(to_base58(&id), t);
        assert_eq!(parse_address(&format!("41{hex}")), Some(id));
    }
    assert_eq!(to_base58(&USDT_CONTRACT), USDT_T);
    assert_eq!(parse_address("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u"), None);
    assert_eq!(parse_address("0x12"), None);
}

#[actix_rt::test]
async fn head_endpoints_have_the_documented_shape() {
    let before = server::now_ms();
    let s = sim(still()).await;
    let head = s.head();
    for (path, number) in [
        ("/wallet/getnowblock", head),
        ("/walletsolidity/getnowblock", head - 19),
    ] {
        for v in [
            json(&s, path).await,
            serde_json::from_str(&post(&s, path, "").await.1).expect("JSON"),
        ] {
            let raw = &v["block_header"]["raw_data"];
            assert_eq!(raw["number"], number, "{path}: {v}");
            let id = v["blockID"].as_str().expect("blockID");
            assert_eq!(id.len(), 64);
            assert_eq!(u64::from_str_radix(&id[..16], 16).ok(), Some(number));
            assert!(raw["timestamp"].is_u64());
        }
    }
    // Stamped from the wall clock at start.
    let stamp = s.block_timestamp(head);
    assert!(stamp >= before && stamp <= server::now_ms(), "{stamp}");
    assert_eq!(s.block_timestamp(head + 1) - stamp, 3000);

    s.advance(5);
    for (path, number) in [
        ("/wallet/getblock", head + 5),
        ("/walletsolidity/getblock", head + 5 - 19),
    ] {
        let (status, body) = post(&s, path, r#"{"id_or_num":"","detail":false}"#).await;
        assert_eq!(status, 200);
        let v: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(v["block_header"]["raw_data"]["number"], number, "{v}");
        assert!(v.get("transactions").is_none(), "header only: {v}");
    }
    let (_, body) = post(
        &s,
        "/wallet/getblock",
        &format!(r#"{{"id_or_num":"{}"}}"#, head - 3),
    )
    .await;
    let v: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(v["block_header"]["raw_data"]["number"], head - 3);
    // A block past the solidified head is unknown to /walletsolidity.
    let (_, body) = post(
        &s,
        "/walletsolidity/getblock",
        &format!(r#"{{"id_or_num":"{}"}}"#, head),
    )
    .await;
    assert_eq!(body, "{}");
}

#[actix_rt::test]
async fn event_items_match_the_reference_shape() {
    let s = sim(still()).await;
    let confirmed = s.inject(ALICE, BOB, 1_399_000_000);
    s.advance(20);
    let fresh = s.inject(BOB, ALICE, 5);
    s.advance(1);
    let reference: Value = serde_json::from_str(REFERENCE_EVENTS).expect("reference JSON");
    let ref_item = &reference["data"][0];

    let page = json(&s, &events_path("event_name=Transfer&limit=2")).await;
    assert_eq!(keys(&page), keys(&reference));
    assert_eq!(page["success"], true);
    let data = page["data"].as_array().expect("data");
    assert_eq!(data.len(), 2, "{page}");
    // Newest first; the unsolidified one is flagged.
    assert_eq!(data[0]["transaction_id"], fresh.txid.as_str());
    assert_eq!(data[0]["_unconfirmed"], true);
    let item = &data[1];
    assert_eq!(keys(item), keys(ref_item));
    assert_eq!(keys(&item["result"]), keys(&ref_item["result"]));
    for field in [
        "caller_contract_address",
        "contract_address",
        "event_name",
        "event",
        "result_type",
    ] {
        assert_eq!(item[field], ref_item[field], "{field}");
    }
    assert_eq!(item["result"], ref_item["result"]);
    assert_eq!(item["transaction_id"], confirmed.txid.as_str());
    assert_eq!(item["event_index"], 0);
    assert_eq!(item["block_number"], confirmed.block);
    assert_eq!(item["block_timestamp"], s.block_timestamp(confirmed.block));
    let txid = item["transaction_id"].as_str().expect("txid");
    assert!(txid.len() == 64 && txid.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    // Only two events exist: this is the last page.
    assert_eq!(keys(&page["meta"]), ["at", "page_size"]);
    assert_eq!(page["meta"]["page_size"], 2);

    let confirmed_only = json(&s, &events_path("only_confirmed=true")).await;
    assert_eq!(confirmed_only["data"].as_array().map(Vec::len), Some(1));
    assert!(confirmed_only["data"][0].get("_unconfirmed").is_none());
    let unconfirmed_only = json(&s, &events_path("onlyUnconfirmed=true")).await;
    assert_eq!(
        unconfirmed_only["data"][0]["transaction_id"],
        fresh.txid.as_str()
    );
    assert_eq!(unconfirmed_only["data"].as_array().map(Vec::len), Some(1));

    let empty = json(&s, &events_path("event_name=Approval")).await;
    assert_eq!(empty["data"], serde_json::json!([]));
    assert_eq!(keys(&empty["meta"]), ["at", "page_size"]);
    assert_eq!(empty["meta"]["page_size"], 0);
}

#[actix_rt::test]
async fn paging_reaches_every_event_exactly_once() {
    let s = sim(noisy(7)).await;
    let start = s.head();
    // One relay transaction with three Transfers, in a solidified block.
    let t = |to: &str, value| Transfer {
        contract: USDT_CONTRACT,
        from: parse_address(ALICE).expect("address"),
        to: parse_address(to).expect("address"),
        value,
    };
    let relay = s.inject_tx(Some(start - 25), &[t(BOB, 1), t(ALICE, 2), t(BOB, 3)]);
    assert_eq!(
        relay.iter().map(|i| i.event_index).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    let min = s.block_timestamp(start - 30);
    let blocks = s.solid_head() - (start - 30) + 1;
    let expected = blocks as usize * 7 + 3;
    for order in ["block_timestamp,asc", "block_timestamp,desc"] {
        let first = events_path(&format!(
            "event_name=Transfer&only_confirmed=true&min_block_timestamp={min}&order_by={order}&limit=20"
        ));
        let (items, pages) = walk(&s, &first).await;
        let distinct: HashSet<_> = items.iter().cloned().collect();
        assert_eq!(distinct.len(), items.len(), "{order}: no event twice");
        assert_eq!(items.len(), expected, "{order}: every event");
        assert_eq!(pages, expected.div_ceil(20));
        for r in &relay {
            assert!(distinct.contains(&(r.txid.clone(), u64::from(r.event_index))));
        }
    }
    // Newer blocks solidify between pages: an ascending walk picks them up.
    let first = events_path(&format!(
        "only_confirmed=true&min_timestamp={min}&order_by=block_timestamp,asc&limit=20"
    ));
    let page = json(&s, &first).await;
    s.advance(2);
    let (rest, _) = walk(&s, &next_path(&page).expect("a next page")).await;
    assert_eq!(20 + rest.len(), expected + 14);
}

#[actix_rt::test]
async fn fingerprint_reused_with_other_params_is_rejected() {
    let s = sim(noisy(5)).await;
    let page = json(&s, &events_path("only_confirmed=true&limit=3")).await;
    let fp = page["meta"]["fingerprint"].as_str().expect("fingerprint");
    assert_eq!(
        page["meta"]["links"]["next"],
        format!(
            "{}/v1/contracts/{USDT_T}/events?only_confirmed=true&limit=3&fingerprint={fp}",
            s.base_url()
        )
    );
    for query in [
        format!("only_confirmed=true&limit=4&fingerprint={fp}"),
        format!("limit=3&fingerprint={fp}"),
        "only_confirmed=true&limit=3&fingerprint=garbage".to_string(),
    ] {
        let (status, body) = get(&s, &events_path(&query), Some(KEY)).await;
        assert_eq!(status, 400, "{query}");
        let v: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(
            v,
            serde_json::json!({"success": false, "statusCode": 400,
                "error": "Invalid query filter(s)!: [fingerprint does not match current set of params]"})
        );
    }
    // camelCase spelling of the same params is the same query.
    let v = json(
        &s,
        &events_path(&format!("onlyConfirmed=true&limit=3&fingerprint={fp}")),
    )
    .await;
    assert_eq!(v["data"].as_array().map(Vec::len), Some(3));
}

#[actix_rt::test]
async fn limit_is_clamped_and_filters_are_checked() {
    let s = sim(noisy(90)).await;
    let page = json(&s, &events_path("limit=1000")).await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(MAX_LIMIT));
    assert_eq!(page["meta"]["page_size"], 200);
    let page = json(&s, &events_path("")).await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(DEFAULT_LIMIT));

    let b = s.head() - 40;
    let page = json(&s, &events_path(&format!("block_number={b}&limit=200"))).await;
    let data = page["data"].as_array().expect("data");
    assert_eq!(data.len(), 90);
    assert!(data.iter().all(|i| i["block_number"] == b));
    let (lo, hi) = (s.block_timestamp(b - 1), s.block_timestamp(b + 1));
    let page = json(
        &s,
        &events_path(&format!(
            "min_block_timestamp={lo}&max_block_timestamp={hi}&limit=200&order_by=block_timestamp,asc"
        )),
    )
    .await;
    let data = page["data"].as_array().expect("data");
    assert_eq!(data.len(), 200);
    assert_eq!(data[0]["block_number"], b - 1);
    assert_eq!(data[199]["block_number"], b + 1);

    for bad in [
        "only_confirmed=true&only_unconfirmed=true",
        "limit=many",
        "order_by=size",
    ] {
        let (status, body) = get(&s, &events_path(bad), Some(KEY)).await;
        assert_eq!(status, 400, "{bad}");
        let v: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(v["success"], false);
        assert_eq!(v["statusCode"], 400);
    }
    let (status, _) = get(&s, "/v1/contracts/Tnotanaddress/events", Some(KEY)).await;
    assert_eq!(status, 400);
}

#[actix_rt::test]
async fn the_chain_makes_blocks_on_its_own() {
    let s = sim(SimTronGridOptions {
        block_time: Some(Duration::from_millis(10)),
        ..SimTronGridOptions::default()
    })
    .await;
    let start = s.head();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = json(&s, "/wallet/getnowblock").await;
        if v["block_header"]["raw_data"]["number"].as_u64() >= Some(start + 3) {
            break;
        }
        assert!(Instant::now() < deadline, "the head never moved");
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
}

#[actix_rt::test]
async fn keys_travel_in_the_header_and_unknown_ones_get_401() {
    let s = sim(still()).await;
    let (status, _) = get(&s, "/wallet/getnowblock", None).await;
    assert_eq!(status, 200, "keyless calls are served");
    let (status, body) = get(&s, &events_path("limit=1"), Some("wrong")).await;
    assert_eq!(status, 401);
    assert_eq!(body, r#"{"Error":"ApiKey not exists"}"#);
    let recorded: Vec<Option<String>> = s.requests().into_iter().map(|r| r.api_key).collect();
    assert_eq!(recorded, [None, Some("wrong".to_string())]);
    assert!(s.requests().iter().all(|r| !r.query.contains("wrong")));
}

#[actix_rt::test]
async fn counters_count_calls_per_endpoint_and_bytes() {
    let s = sim(still()).await;
    json(&s, "/wallet/getnowblock").await;
    json(&s, "/wallet/getnowblock").await;
    let (_, body) = get(&s, &events_path("limit=5"), Some(KEY)).await;
    let (status, _) = get(&s, "/v1/nothing", Some(KEY)).await;
    assert_eq!(status, 404);
    assert_eq!(s.calls(Endpoint::NowBlock), 2);
    assert_eq!(s.calls(Endpoint::Events), 1);
    assert_eq!(s.calls(Endpoint::Other), 1);
    assert_eq!(s.calls(Endpoint::GetBlock), 0);
    let total: usize = s.requests().iter().map(|r| r.bytes).sum();
    assert_eq!(s.bytes_served(), total as u64);
    assert!(total > body.len());
    s.reset_requests();
    assert_eq!((s.calls(Endpoint::NowBlock), s.bytes_served()), (0, 0));
}

/// The kind `missing_fingerprint`: a full page without its cursor.
#[actix_rt::test]
async fn missing_fingerprint_truncates_a_full_page() {
    let s = sim(noisy(10)).await;
    let min = s.block_timestamp(s.head() - 30);
    let path = events_path(&format!(
        "only_confirmed=true&order_by=block_timestamp,asc&min_block_timestamp={min}&limit=25"
    ));
    s.fault_for_calls(Fault::MissingFingerprint, 1);
    // A head call does not use the fault up.
    json(&s, "/wallet/getnowblock").await;
    let page = json(&s, &path).await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(25));
    assert!(
        page["meta"].get("fingerprint").is_none(),
        "{}",
        page["meta"]
    );
    assert!(page["meta"].get("links").is_none());
    assert_eq!(page["meta"]["page_size"], 25);
    // Used up: the same page comes with its cursor again.
    let page = json(&s, &path).await;
    assert!(page["meta"]["fingerprint"].is_string());
    // The other documented case: one block holding more than `limit` events.
    s.set_fault(Some(Fault::MissingFingerprint));
    let block = s.head() - 40;
    let one_block = json(&s, &events_path(&format!("block_number={block}&limit=4"))).await;
    assert_eq!(one_block["data"].as_array().map(Vec::len), Some(4));
    assert!(one_block["meta"].get("fingerprint").is_none());
    // A short page is left alone (it has no cursor to lose).
    let all = json(&s, &events_path(&format!("block_number={block}&limit=200"))).await;
    assert_eq!(all["data"].as_array().map(Vec::len), Some(10));
}

/// The kind `index_lag`: a block's events are served only once the solid
/// head is `n` blocks past it; before that the block reads as empty.
#[actix_rt::test]
async fn index_lag_serves_a_block_only_n_blocks_behind_the_solid_head() {
    let s = sim(still()).await;
    s.set_index_lag(3);
    let tx = s.inject(ALICE, BOB, 5);
    let path = events_path(&format!("only_confirmed=true&block_number={}", tx.block));
    let count = |v: Value| v["data"].as_array().map(Vec::len);
    while s.solid_head() < tx.block + 2 {
        s.advance(1);
        assert_eq!(count(json(&s, &path).await), Some(0), "not indexed yet");
    }
    s.advance(1);
    assert_eq!(s.solid_head(), tx.block + 3);
    assert_eq!(count(json(&s, &path).await), Some(1), "indexed now");
}

/// The kind `rate_limited`: 403 and a suspension that outlives the fault.
#[actix_rt::test]
async fn rate_limited_suspends_the_key_for_its_window() {
    let suspension = Duration::from_millis(300);
    let s = sim(SimTronGridOptions {
        suspension,
        ..still()
    })
    .await;
    s.fault_for_calls(Fault::RateLimited { status: 403 }, 1);
    let started = Instant::now();
    let (status, body) = get(&s, &events_path("limit=1"), Some(KEY)).await;
    assert_eq!(status, 403);
    let v: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(v["success"], false);
    assert_eq!(v["statusCode"], 403);
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.contains("frequency limit"))
    );
    // The fault is used up, the suspension is not: the full node says so too.
    let (status, body) = get(&s, "/wallet/getnowblock", Some(KEY)).await;
    if started.elapsed() < suspension {
        assert_eq!(status, 403, "{body}");
        assert!(body.starts_with(r#"{"Error":"The key exceeds the frequency limit"#));
    }
    // Keyless calls are another caller.
    assert_eq!(get(&s, "/wallet/getnowblock", None).await.0, 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(&s, "/wallet/getnowblock", Some(KEY)).await.0 != 200 {
        assert!(Instant::now() < deadline, "the suspension never ended");
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(started.elapsed() >= suspension, "it lasts its window");
}

/// The kinds `rate_limited` with 429 and 503: the same suspension.
#[actix_rt::test]
async fn rate_limited_429_and_503_keep_their_status() {
    for status in [429, 503] {
        let s = sim(still()).await;
        s.fault_for_calls(Fault::RateLimited { status }, 1);
        assert_eq!(get(&s, &events_path(""), Some(KEY)).await.0, status);
        let (again, body) = get(&s, &events_path(""), Some(KEY)).await;
        assert_eq!(again, status, "suspended for 30 s: {body}");
    }
}

/// Calling faster than the configured rate suspends the caller.
#[actix_rt::test]
async fn frequency_limit_suspends_a_fast_caller() {
    let s = sim(SimTronGridOptions {
        keyless_rate_per_sec: Some(2),
        ..still()
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(get(&s, "/wallet/getnowblock", None).await.0);
    }
    // Within one second the third call is over the limit (unless the
    // machine took a second for two calls, then the window moved on).
    let first_three_fast =
        s.requests()[2].at.duration_since(s.requests()[0].at) < Duration::from_secs(1);
    if first_three_fast {
        assert_eq!(statuses, [200, 200, 403, 403]);
    }
    assert_eq!(get(&s, "/wallet/getnowblock", Some(KEY)).await.0, 200);
    // Every call counts toward the client's rate, refused ones too.
    assert_eq!(s.max_calls_in_any_window(Duration::from_secs(3600)), 5);
}

/// The kind `server_error`.
#[actix_rt::test]
async fn server_error_answers_its_status() {
    let s = sim(still()).await;
    s.fault_for_calls(Fault::ServerError(502), 2);
    assert_eq!(get(&s, &events_path(""), Some(KEY)).await.0, 502);
    assert_eq!(get(&s, "/wallet/getnowblock", Some(KEY)).await.0, 502);
    assert_eq!(get(&s, "/wallet/getnowblock", Some(KEY)).await.0, 200);
}

/// The kind `html_page`, over 502 and over 200.
#[actix_rt::test]
async fn html_page_is_not_json() {
    let s = sim(still()).await;
    for status in [502, 200] {
        s.set_fault(Some(Fault::HtmlPage(status)));
        let (got, body) = get(&s, &events_path(""), Some(KEY)).await;
        assert_eq!(got, status);
        assert!(body.starts_with("<!DOCTYPE html>"));
        assert!(serde_json::from_str::<Value>(&body).is_err());
    }
}

/// The kind `truncated`: HTTP 200, invalid JSON.
#[actix_rt::test]
async fn truncated_body_is_cut_off() {
    let s = sim(still()).await;
    s.fault_for(Fault::Truncated, Duration::from_secs(60));
    let (status, body) = get(&s, "/wallet/getnowblock", Some(KEY)).await;
    assert_eq!(status, 200);
    assert!(body.starts_with(r#"{"#));
    assert!(serde_json::from_str::<Value>(&body).is_err(), "{body}");
}

/// The kind `slow`: the normal answer, late.
#[actix_rt::test]
async fn slow_answers_after_the_delay() {
    let s = sim(still()).await;
    s.set_fault(Some(Fault::Slow(Duration::from_millis(200))));
    let started = Instant::now();
    json(&s, "/wallet/getnowblock").await;
    assert!(started.elapsed() >= Duration::from_millis(200));
}

/// The kind `invalid_key`: even a configured key is refused.
#[actix_rt::test]
async fn invalid_key_answers_401() {
    let s = sim(still()).await;
    s.set_fault(Some(Fault::InvalidKey));
    let (status, body) = get(&s, &events_path(""), Some(KEY)).await;
    assert_eq!(
        (status, body.as_str()),
        (401, r#"{"Error":"ApiKey not exists"}"#)
    );
    s.set_fault(None);
    assert_eq!(get(&s, &events_path(""), Some(KEY)).await.0, 200);
}
