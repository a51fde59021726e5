//! Redirects are never followed, by any provider client (issue 17): a 3xx
//! answer naming another host — a captured DNS name, a hostile proxy, a
//! misconfigured load balancer — must not carry a key there. Each provider
//! client (the real `awc` client the scanner uses, built by the one
//! builder) asks its simulator, which answers `307` with `Location` on a
//! second real HTTP server; that server must receive nothing, and the error
//! must be a clear kind without the key in it. The Bot API client (the bot
//! token is in its URL path) is held to the same rule.
//!
//! The other guard of the one HTTP client is here too: a body larger than
//! the client reads is a clear error, not a panic or an unbounded buffer.

use std::time::Duration;

use usdt_monitor::config::{Config, Secret};
use usdt_monitor::domain::{Chain, TokenSymbol};
use usdt_monitor::etherscan::EtherscanClient;
use usdt_monitor::etherscan::blockscout::BlockscoutClient;
use usdt_monitor::metrics::ProviderHandles;
use usdt_monitor::scanner::kind::{Classify, Kind};
use usdt_monitor::scanner::retry::RetryPolicy;
use usdt_monitor::sim::blockscout::{BlockscoutFault, SimBlockscout};
use usdt_monitor::sim::etherscan::{Fault, SimEtherscan, SimEtherscanOptions};
use usdt_monitor::sim::tron::{self, SimTronGrid, SimTronGridOptions};
use usdt_monitor::sim::webhook::SimReceiver;
use usdt_monitor::tron::TronClient;
use usdt_monitor::tron::scan::Window;

const ES_KEY: &str = "es-redirect-SECRET-4e1f";
const TRON_KEY: &str = "tron-redirect-SECRET-9b7c";

fn retry() -> RetryPolicy {
    RetryPolicy {
        transient_tries: 2,
        timeout_tries: 2,
        transient_backoff: Duration::from_millis(10),
        rate_limit_tries: 2,
        rate_limit_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
    }
}

/// The other host: a real HTTP server that records every request.
async fn other_host() -> SimReceiver {
    SimReceiver::start("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        .await
        .expect("the other host starts")
}

/// A redirect is a malformed answer (retried like one, never followed),
/// and its text names neither the key nor the `Location`.
fn assert_clear(error: &impl Classify, secret: &str) {
    assert_eq!(error.kind(), Kind::Malformed, "{error}");
    let text = error.to_string();
    assert!(text.contains("redirect (HTTP 307) not followed"), "{text}");
    assert!(
        !text.contains(secret) && !text.contains("127.0.0.1"),
        "{text}"
    );
}

#[actix_rt::test]
async fn etherscan_redirect_to_another_host_is_not_followed() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let other = other_host().await;
    let sim = SimEtherscan::start(SimEtherscanOptions {
        api_key: ES_KEY.into(),
        ..SimEtherscanOptions::default()
    })
    .await
    .unwrap();
    sim.set_fault(Some(Fault::Redirect(other.url().to_string())));
    let mut config = Config::default();
    config.etherscan.base_url = sim.base_url();
    let metrics = ProviderHandles::default();
    let client = EtherscanClient::new(
        &config.etherscan,
        Secret::new(ES_KEY),
        metrics.clone(),
        retry(),
    );
    let chain = Chain::by_id(1).unwrap();
    let usdt = &chain.token(TokenSymbol::Usdt).unwrap().contract;
    let head = client.block_number(&chain).await.unwrap_err();
    assert_clear(&head, ES_KEY);
    let logs = client
        .transfer_logs(&chain, usdt, 1, 10, 1, 1000)
        .await
        .unwrap_err();
    assert_clear(&logs, ES_KEY);
    assert!(sim.request_count() >= 2, "Etherscan itself was asked");
    assert!(
        other.received().is_empty(),
        "a request (with apikey) reached the other host"
    );
}

#[actix_rt::test]
async fn blockscout_redirect_to_another_host_is_not_followed() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let other = other_host().await;
    let sim = SimEtherscan::start(SimEtherscanOptions::default())
        .await
        .unwrap();
    let bs = SimBlockscout::start(&sim).await.unwrap();
    bs.set_fault(Some(BlockscoutFault::Redirect(other.url().to_string())));
    let mut config = Config::default();
    config
        .blockscout
        .urls
        .insert("ethereum".into(), bs.base_url(1));
    let chain = Chain::by_id(1).unwrap();
    let client = BlockscoutClient::new(
        &config.blockscout,
        &config.etherscan,
        std::slice::from_ref(&chain),
        ProviderHandles::default(),
        retry(),
    );
    let usdt = &chain.token(TokenSymbol::Usdt).unwrap().contract;
    assert_clear(
        &client.block_number(&chain).await.unwrap_err(),
        "hook-SECRET",
    );
    let logs = client.transfer_logs(&chain, usdt, 1, 10).await.unwrap_err();
    assert_clear(&logs, "hook-SECRET");
    assert!(bs.request_count() >= 2, "Blockscout itself was asked");
    assert!(
        other.received().is_empty(),
        "a request reached the other host"
    );
}

#[actix_rt::test]
async fn trongrid_redirect_to_another_host_is_not_followed() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let other = other_host().await;
    let sim = SimTronGrid::start(SimTronGridOptions {
        valid_keys: vec![TRON_KEY.into()],
        ..SimTronGridOptions::default()
    })
    .await
    .unwrap();
    sim.set_fault(Some(tron::Fault::Redirect(other.url().to_string())));
    let mut config = Config::default();
    config.tron.api_url = sim.base_url();
    let client = TronClient::new(
        &config.tron,
        Some(Secret::new(TRON_KEY)),
        ProviderHandles::default(),
        retry(),
        Duration::from_secs(30),
    );
    assert_clear(&client.solid_head().await.unwrap_err(), TRON_KEY);
    let window = Window {
        min_timestamp: 1,
        max_timestamp: 2,
    };
    let events = client
        .events("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", window, None)
        .await
        .unwrap_err();
    assert_clear(&events, TRON_KEY);
    assert!(!sim.requests().is_empty(), "TronGrid itself was asked");
    assert!(
        other.received().is_empty(),
        "a request (with TRON-PRO-API-KEY) reached the other host"
    );
}

/// The Bot API client never follows a redirect either: the bot token is
/// in the path of every request (`/bot<token>/<method>`), and the
/// simulated Bot API's `Location` repeats that path on the other host.
#[actix_rt::test]
async fn telegram_redirect_to_another_host_is_not_followed() {
    use teloxide_core::prelude::Requester;
    use teloxide_core::types::ChatId;
    use usdt_monitor::sim::botapi::{SimBotApi, SimBotOptions};
    use usdt_monitor::telegram::bot::{self, TgError};

    let _ = rustls::crypto::ring::default_provider().install_default();
    let other = other_host().await;
    let sim = SimBotApi::start(SimBotOptions::default()).await.unwrap();
    sim.set_redirect(Some(&format!("http://127.0.0.1:{}", other.port())));
    let mut config = Config::default();
    config.telegram.api_url = sim.api_url();
    let bots = bot::build(&config.telegram, sim.token()).unwrap();

    let me = TgError::from(bots.poller.get_me().await.unwrap_err());
    let sent = TgError::from(
        bots.sender
            .send_message(ChatId(42), "hello")
            .await
            .unwrap_err(),
    );
    // The 307's body is no Bot API answer: the sim was reached, and what
    // it said was not taken for one.
    for e in [&me, &sent] {
        assert_eq!(e, &TgError::AnswerLost("unparseable answer"));
        assert!(!e.to_string().contains(sim.token()), "{e}");
    }
    assert!(
        other.received().is_empty(),
        "a request (with the bot token in its path) reached the other host"
    );
}

/// A body larger than the client reads is a clear, malformed answer —
/// no panic, no unbounded buffer — retried like one, then returned.
#[actix_rt::test]
async fn an_oversized_etherscan_body_is_a_clear_error() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = SimEtherscan::start(SimEtherscanOptions {
        api_key: ES_KEY.into(),
        ..SimEtherscanOptions::default()
    })
    .await
    .unwrap();
    let max = usdt_monitor::etherscan::client::MAX_BODY;
    sim.set_fault(Some(Fault::HugeBody(max + 1)));
    let mut config = Config::default();
    config.etherscan.base_url = sim.base_url();
    let client = EtherscanClient::new(
        &config.etherscan,
        Secret::new(ES_KEY),
        ProviderHandles::default(),
        retry(),
    );
    let chain = Chain::by_id(1).unwrap();
    let e = client.block_number(&chain).await.unwrap_err();
    assert_eq!(e.kind(), Kind::Malformed, "{e}");
    assert!(
        e.to_string()
            .contains(&format!("body larger than {max} bytes")),
        "{e}"
    );
    assert_eq!(
        client.calls_sent(),
        2,
        "retried once, like any malformed answer"
    );

    // Without the fault the same client reads its answers again.
    sim.set_fault(None);
    assert!(client.block_number(&chain).await.is_ok());
}

#[actix_rt::test]
async fn an_oversized_trongrid_body_is_a_clear_error() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = SimTronGrid::start(SimTronGridOptions::default())
        .await
        .unwrap();
    let max = usdt_monitor::tron::client::MAX_BODY;
    sim.set_fault(Some(tron::Fault::HugeBody(max + 1)));
    let mut config = Config::default();
    config.tron.api_url = sim.base_url();
    let client = TronClient::new(
        &config.tron,
        None,
        ProviderHandles::default(),
        retry(),
        Duration::from_secs(30),
    );
    let e = client.solid_head().await.unwrap_err();
    assert_eq!(e.kind(), Kind::Malformed, "{e}");
    assert!(
        e.to_string()
            .contains(&format!("body larger than {max} bytes")),
        "{e}"
    );
    sim.set_fault(None);
    assert!(client.solid_head().await.is_ok());
}
