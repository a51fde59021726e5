//! JSON-RPC endpoints ("bring your own node", issue 18) through the real
//! daemon: the compiled binary against the simulated JSON-RPC endpoint
//! (`sim::rpc`), the simulated Etherscan behind it in the pool and the
//! simulated Bot API. Every wait is for a condition, never for a time.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::common::*;
use usdt_monitor::domain::{Address, Amount, Chain, TokenSymbol};
use usdt_monitor::sim::etherscan::RequestKind;
use usdt_monitor::sim::rpc::{RangeProfile, RpcFault, SimRpc, SimRpcOptions};

const ALICE: i64 = 701;
/// The key in a keyed endpoint's path: never in a log line, `/status` or `/metrics`.
const URL_KEY: &str = "Rk3yS3cr3tPathT0ken0123456789";

fn usdt() -> Address {
    Chain::by_id(1)
        .unwrap()
        .token(TokenSymbol::Usdt)
        .unwrap()
        .contract
        .clone()
}

/// Polls `cond` until it holds (at most [`WAIT`]).
async fn until<F, Fut>(what: &str, cond: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + WAIT;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// `[rpc.ethereum]` reading `vars` (in order) from the environment.
fn rpc_section(vars: &[&str], more: &str) -> String {
    let urls: Vec<String> = vars.iter().map(|v| format!("\"env:{v}\"")).collect();
    format!(
        "\n[rpc.ethereum]\nurls = [{}]\nrequests_per_second = 50\n{more}\n",
        urls.join(", ")
    )
}

/// A world reading Ethereum from `sims` (in order, through `env:` URLs
/// with a key in their path) and `more` config.
async fn world(sims: &[&SimRpc], more: &str, unset_key: bool) -> World {
    let vars: Vec<String> = (0..sims.len())
        .map(|i| format!("TEST_RPC_URL_{i}"))
        .collect();
    let names: Vec<&str> = vars.iter().map(String::as_str).collect();
    let env = sims
        .iter()
        .zip(&vars)
        .map(|(s, v)| (v.clone(), format!("{}v2/{URL_KEY}", s.url())))
        .collect();
    World::new(Tweaks {
        extra: rpc_section(&names, more),
        env,
        unset: if unset_key {
            vec!["ETHERSCAN_API_KEY"]
        } else {
            Vec::new()
        },
        ..Tweaks::default()
    })
    .await
}

/// Starts the daemon, watches `watched` for ALICE and waits until `sim`
/// was asked for its head (the cursors start at the safe head then).
async fn start_watching(w: &mut World, sim: &SimRpc, watched: &Address) {
    w.start_daemon();
    w.say(ALICE, "/start").await;
    w.say(ALICE, &format!("/add {watched}")).await;
    until("a head read on the endpoint", || async {
        sim.methods().iter().any(|m| m == "eth_blockNumber")
    })
    .await;
}

/// Waits until `sim` served `n` more `eth_getLogs` than now (more polls).
async fn more_polls(sim: &SimRpc, n: usize) {
    let before = sim.logs_requests().len();
    until("more polls", || async {
        sim.logs_requests().len() >= before + n
    })
    .await;
}

fn fast() -> SimRpcOptions {
    SimRpcOptions {
        block_time: Some(Duration::from_millis(200)),
        ..SimRpcOptions::default()
    }
}

#[actix_rt::test]
async fn a_transfer_is_notified_once_with_its_exact_amount_and_link() {
    let sim = SimRpc::start(fast()).await.unwrap();
    let mut w = world(&[&sim], "", false).await;
    let (watched, payer) = (addr('a'), addr('1'));
    start_watching(&mut w, &sim, &watched).await;

    let tx = sim.transfer(&usdt(), &payer, &watched, Amount::from_u128(1_250_500_000));
    let got = w.wait_messages(ALICE, &tx, 1).await;
    assert!(got[0].text.contains("1,250.5 USDT"), "{}", got[0].text);
    assert!(got[0].text.contains("Incoming"), "{}", got[0].text);
    assert!(
        got[0].text.contains(&format!("etherscan.io/tx/{tx}")),
        "{}",
        got[0].text
    );
    // More polls (the deep pass included) do not notify it again.
    more_polls(&sim, 6).await;
    w.assert_delivered_once(ALICE, [&tx]);
    // The endpoint served: Etherscan was asked for no logs.
    assert!(
        w.es.requests()
            .iter()
            .all(|r| r.kind != RequestKind::GetLogs),
        "Etherscan scanned although the endpoint answered"
    );
}

/// Transfers in blocks spread over a range wider than the endpoint takes,
/// all made before one poll: every one arrives, once; the refused range
/// was narrowed to the endpoint's width and the accepted ranges cover
/// every block without a gap.
async fn range_is_learned(profile: RangeProfile, cap: u64, want_cap: u64) {
    let sim = SimRpc::start(SimRpcOptions {
        block_time: None,
        max_range: Some((cap, profile)),
        ..fast()
    })
    .await
    .unwrap();
    let mut w = world(&[&sim], "", false).await;
    let (watched, payer) = (addr('b'), addr('2'));
    w.start_daemon();
    w.say(ALICE, "/start").await;
    w.say(ALICE, &format!("/add {watched}")).await;
    sim.mine(1);
    until("a head read", || async {
        sim.methods().iter().any(|m| m == "eth_blockNumber")
    })
    .await;
    let mut txs = Vec::new();
    for i in 0..6u128 {
        txs.push(sim.transfer(&usdt(), &payer, &watched, Amount::from_u128(1_000_000 + i)));
        sim.mine(4 * cap);
    }
    sim.mine(5);
    for tx in &txs {
        w.wait_messages(ALICE, tx, 1).await;
    }
    // Blocks are made by hand here: more polls need new blocks.
    sim.mine(3);
    more_polls(&sim, 2).await;
    w.assert_delivered_once(ALICE, &txs);

    let requests = sim.logs_requests();
    assert!(requests.iter().any(|r| r.refused), "no range was refused");
    let first_refusal = requests.iter().position(|r| r.refused).unwrap();
    // After the first refusal of each token, nothing wider than learned.
    let accepted: Vec<_> = requests.iter().filter(|r| !r.refused).collect();
    for r in &requests[first_refusal..] {
        if !r.refused {
            assert!(r.to - r.from < want_cap, "{r:?} wider than {want_cap}");
        }
    }
    assert!(accepted.iter().all(|r| r.to - r.from < cap), "{accepted:?}");
    // /status shows the learned range of the endpoint.
    let status = w.say(ADMIN, "/status").await;
    assert!(
        status.contains(&format!("getLogs range ≤ {want_cap} blocks")),
        "{status}"
    );
}

#[actix_rt::test]
async fn an_alchemy_style_range_refusal_is_learned_and_nothing_is_skipped() {
    range_is_learned(RangeProfile::Alchemy, 10, 10).await;
}

#[actix_rt::test]
async fn a_quicknode_style_413_range_refusal_is_learned_and_nothing_is_skipped() {
    range_is_learned(RangeProfile::QuickNode, 8, 8).await;
}

#[actix_rt::test]
async fn a_lagging_endpoint_is_never_asked_past_its_head_and_nothing_is_lost() {
    let sim = SimRpc::start(fast()).await.unwrap();
    sim.set_lag(6);
    let mut w = world(&[&sim], "", false).await;
    let (watched, payer) = (addr('c'), addr('3'));
    start_watching(&mut w, &sim, &watched).await;
    let mut txs = Vec::new();
    for i in 0..3u128 {
        txs.push(sim.transfer(&usdt(), &payer, &watched, Amount::from_u128(7_000_000 + i)));
        more_polls(&sim, 2).await;
    }
    for tx in &txs {
        w.wait_messages(ALICE, tx, 1).await;
    }
    more_polls(&sim, 4).await;
    w.assert_delivered_once(ALICE, &txs);
    assert_eq!(sim.asked_past_head(), 0, "{:?}", sim.logs_requests());
}

#[actix_rt::test]
async fn a_failing_endpoint_rotates_to_the_next() {
    let broken = SimRpc::start(fast()).await.unwrap();
    broken.set_fault(Some(RpcFault::Http(503)));
    let good = SimRpc::start(fast()).await.unwrap();
    let mut w = world(&[&broken, &good], "", false).await;
    let (watched, payer) = (addr('d'), addr('4'));
    start_watching(&mut w, &good, &watched).await;
    let tx = good.transfer(&usdt(), &payer, &watched, Amount::from_u128(3_000_000));
    let got = w.wait_messages(ALICE, &tx, 1).await;
    assert!(got[0].text.contains("3 USDT"), "{}", got[0].text);
    let status = w.say(ADMIN, "/status").await;
    assert!(
        status.contains(&format!("{}: serving", good.host())),
        "{status}"
    );
    assert!(status.contains(&broken.host()), "{status}");
    // A wrong chain id is refused the same way.
    let wrong = SimRpc::start(fast()).await.unwrap();
    wrong.set_fault(Some(RpcFault::WrongChainId(56)));
    let good2 = SimRpc::start(fast()).await.unwrap();
    let mut w2 = world(&[&wrong, &good2], "", false).await;
    start_watching(&mut w2, &good2, &watched).await;
    let tx = good2.transfer(&usdt(), &payer, &watched, Amount::from_u128(4_000_000));
    w2.wait_messages(ALICE, &tx, 1).await;
    assert!(
        !wrong.methods().iter().any(|m| m == "eth_getLogs"),
        "the endpoint of another chain was scanned"
    );
    w2.kill9();
    let log = w2.logs(1);
    assert!(
        log.contains("serves chain id 56, not 1"),
        "no chain-id error logged"
    );
}

#[actix_rt::test]
async fn a_url_from_the_environment_never_appears_in_logs_status_or_metrics() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sim = SimRpc::start(fast()).await.unwrap();
    let mut w = world(
        &[&sim],
        &format!("\n[http]\nlisten = \"127.0.0.1:{port}\"\n"),
        false,
    )
    .await;
    let (watched, payer) = (addr('e'), addr('5'));
    start_watching(&mut w, &sim, &watched).await;
    // An error that echoes the whole URL back.
    sim.set_fault(Some(RpcFault::Envelope {
        code: -32000,
        message: format!("bad request to {}v2/{URL_KEY}", sim.url()),
    }));
    until("calls failing", || async {
        w.logs(1).contains("bad request to")
    })
    .await;
    sim.set_fault(None);
    let tx = sim.transfer(&usdt(), &payer, &watched, Amount::from_u128(5_000_000));
    w.wait_messages(ALICE, &tx, 1).await;
    let status = w.say(ADMIN, "/status").await;
    assert!(status.contains(&sim.host()), "{status}");
    let client = awc::Client::default();
    let metrics = {
        let mut resp = client
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
            .unwrap();
        String::from_utf8_lossy(&resp.body().await.unwrap()).into_owned()
    };
    assert!(metrics.contains("usdt_monitor_source_calls"), "{metrics}");
    w.kill9();
    let logs = w.logs(1);
    for (what, text) in [("log", &logs), ("/status", &status), ("/metrics", &metrics)] {
        assert!(!text.contains(URL_KEY), "the URL's key is in the {what}");
        assert!(
            !text.contains("v2/Rk3y"),
            "part of the URL's key is in the {what}"
        );
    }
    assert!(
        logs.contains(&sim.host()),
        "the host is not named in the log"
    );
}

#[test]
fn check_config_refuses_a_literal_url_with_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let key = "0123456789abcdef0123456789abcdef";
    std::fs::write(
        &path,
        format!(
            "[monitor]\nchains = [\"ethereum\"]\n\n[rpc.ethereum]\nurls = [\"https://mainnet.infura.io/v3/{key}\"]\n"
        ),
    )
    .unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_usdt-monitor"))
        .args(["check-config", "--config"])
        .arg(&path)
        .env("TELEGRAM_BOT_TOKEN", "111:x")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_ne!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("rpc.ethereum.urls"), "{text}");
    assert!(text.contains("move it to the environment"), "{text}");
    assert!(text.contains("mainnet.infura.io"), "{text}");
    assert!(!text.contains(key), "{text}");
}

#[actix_rt::test]
async fn a_chain_with_only_rpc_endpoints_runs_without_an_etherscan_key() {
    let sim = SimRpc::start(fast()).await.unwrap();
    let mut w = world(&[&sim], "", true).await;
    let (watched, payer) = (addr('f'), addr('6'));
    start_watching(&mut w, &sim, &watched).await;
    let tx = sim.transfer(&usdt(), &payer, &watched, Amount::from_u128(42_000_000));
    let got = w.wait_messages(ALICE, &tx, 1).await;
    assert!(got[0].text.contains("42 USDT"), "{}", got[0].text);
    assert_eq!(
        w.es.request_count(),
        0,
        "Etherscan was called without a key"
    );
    let status = w.say(ADMIN, "/status").await;
    assert!(!status.contains("Etherscan:"), "{status}");
}
