//! Operability of the compiled daemon against the simulators: the
//! `/healthz` and `/metrics` endpoint scraped over loopback, and the online
//! backup of a running daemon's database.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;
use usdt_monitor::domain::TokenSymbol;
use usdt_monitor::sim::etherscan::Fault;

/// A chat id that cannot appear in a metric by accident.
const CAROL: i64 = 424_242_427;

/// A free loopback port (nothing listens on it once returned).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A world whose daemon serves `[http]` on a free loopback port.
async fn world_with_http() -> (World, String) {
    world_with_http_and(String::new(), Vec::new()).await
}

/// [`world_with_http`] with more config and environment.
async fn world_with_http_and(extra: String, env: Vec<(String, String)>) -> (World, String) {
    let port = free_port();
    let w = World::new(Tweaks {
        extra: format!("\n[http]\nlisten = \"127.0.0.1:{port}\"\n{extra}"),
        env,
        ..Tweaks::default()
    })
    .await;
    (w, format!("http://127.0.0.1:{port}"))
}

/// A token in a webhook URL's query: must never reach a metric.
const HOOK_TOKEN: &str = "hook-SECRET-token-5d1b";

/// GET `url`: status and body, or `None` while nothing listens.
async fn get(url: &str) -> Option<(u16, String)> {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(5))
        .finish();
    let mut resp = client.get(url).send().await.ok()?;
    let body = resp.body().await.ok()?;
    Some((
        resp.status().as_u16(),
        String::from_utf8_lossy(&body).into(),
    ))
}

/// Polls `url` until `done(status, body)` holds; returns the last answer.
async fn wait_for(url: &str, what: &str, done: impl Fn(u16, &str) -> bool) -> (u16, String) {
    let deadline = Instant::now() + WAIT;
    let mut last = None;
    loop {
        if let Some((status, body)) = get(url).await {
            if done(status, &body) {
                return (status, body);
            }
            last = Some((status, body));
        }
        assert!(
            Instant::now() < deadline,
            "{url}: never {what}; last answer: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The samples of a text exposition: `name{labels}` → value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            Some((key.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// `# TYPE <family> <type>` lines: family → type.
fn families(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| {
            let (name, kind) = l.split_once(' ')?;
            Some((name.to_string(), kind.to_string()))
        })
        .collect()
}

fn assert_families(text: &str, expected: &[(&str, &str)]) {
    let f = families(text);
    for (family, kind) in expected {
        assert_eq!(
            f.get(*family).map(String::as_str),
            Some(*kind),
            "{family}:\n{text}"
        );
    }
}

fn sample(text: &str, key: &str) -> f64 {
    samples(text).get(key).copied().unwrap_or(0.0)
}

#[actix_rt::test]
async fn metrics_are_prometheus_text_and_a_transfer_moves_the_counters() {
    // A webhook sink nobody listens on: its deliveries stay pending.
    let hook = format!("127.0.0.1:{}", free_port());
    let extra = format!(
        "\n[[webhook]]\nurl = \"http://{hook}/hook?token={HOOK_TOKEN}\"\n\
         secret_env = \"USDT_MONITOR_TEST_WEBHOOK_SECRET\"\n"
    );
    let secret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let env = vec![("USDT_MONITOR_TEST_WEBHOOK_SECRET".into(), secret.into())];
    let (mut w, base) = world_with_http_and(extra, env).await;
    w.start_daemon();
    let url = format!("{base}/metrics");
    let (_, text) = wait_for(&url, "served metrics after a poll", |s, b| {
        s == 200 && b.contains("usdt_monitor_chain_head_block{chain=\"ethereum\"}")
    })
    .await;
    assert_families(
        &text,
        &[
            ("usdt_monitor_provider_calls", "counter"),
            ("usdt_monitor_poll_duration_seconds", "histogram"),
            ("usdt_monitor_actor_up", "gauge"),
            ("usdt_monitor_chain_head_block", "gauge"),
            ("usdt_monitor_chain_cursor_block", "gauge"),
            ("usdt_monitor_chain_lag_blocks", "gauge"),
            (
                "usdt_monitor_chain_last_successful_poll_timestamp_seconds",
                "gauge",
            ),
            ("usdt_monitor_outbox_depth", "gauge"),
            ("usdt_monitor_outbox_oldest_pending_age_seconds", "gauge"),
            ("usdt_monitor_outbox_uncertain", "gauge"),
            ("usdt_monitor_logs_rejected", "counter"),
            ("usdt_monitor_webhook_pending", "gauge"),
            ("usdt_monitor_webhook_dead_letters", "gauge"),
            ("process_open_fds", "gauge"),
            ("process_resident_memory_bytes", "gauge"),
        ],
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert_eq!(sample(&text, "usdt_monitor_actor_up{actor=\"http\"}"), 1.0);
    assert!(
        sample(
            &text,
            "usdt_monitor_provider_calls_total{provider=\"etherscan\",action=\"eth_blockNumber\",outcome=\"ok\"}"
        ) >= 1.0,
        "{text}"
    );
    assert!(sample(&text, "process_open_fds") > 0.0);
    let hook_pending = format!("usdt_monitor_webhook_pending{{sink=\"{hook}\"}}");
    let hook_dead = format!("usdt_monitor_webhook_dead_letters{{sink=\"{hook}\"}}");
    assert_eq!(samples(&text).get(&hook_pending), Some(&0.0), "{text}");
    assert_eq!(samples(&text).get(&hook_dead), Some(&0.0), "{text}");
    assert_eq!(sample(&text, "usdt_monitor_outbox_uncertain"), 0.0);
    assert_eq!(sample(&text, "usdt_monitor_logs_rejected_total"), 0.0);

    // A transfer to a watched address is recorded and delivered once.
    let (watched, payer) = (addr('c'), addr('4'));
    w.say(CAROL, "/start").await;
    w.say(CAROL, &format!("/add {watched}")).await;
    let tx = w.transfer(TokenSymbol::Usdt, &payer, &watched, 7_000_000);
    w.wait_messages(CAROL, &tx, 1).await;
    let recorded = "usdt_monitor_transfers_recorded_total{chain=\"ethereum\"}";
    let queued = "usdt_monitor_notifications_queued_total{chain=\"ethereum\"}";
    let stored = "usdt_monitor_transfers_stored{chain=\"ethereum\",token=\"USDT\"}";
    let sent =
        "usdt_monitor_notifications_stored{chain=\"ethereum\",token=\"USDT\",outcome=\"sent\"}";
    let (_, text) = wait_for(&url, "counted the transfer", |_, b| {
        sample(b, recorded) == 1.0
            && sample(b, queued) == 1.0
            && sample(b, stored) == 1.0
            && sample(b, sent) == 1.0
            && sample(b, &hook_pending) == 1.0
    })
    .await;
    assert!(
        sample(
            &text,
            "usdt_monitor_provider_calls_total{provider=\"telegram\",action=\"sendMessage\",outcome=\"ok\"}"
        ) >= 1.0,
        "{text}"
    );

    // The endpoint is a child like any other: a panic restarts it, it
    // serves again on the same port and counts its own restart.
    w.bot.user_says(ADMIN, "/panic http");
    let restarts = "usdt_monitor_actor_restarts_total{actor=\"http\",cause=\"panicked\"}";
    let (_, text) = wait_for(&url, "counted the restart", |_, b| {
        sample(b, restarts) == 1.0
    })
    .await;
    // Families with samples only once something happened.
    assert_families(
        &text,
        &[
            ("usdt_monitor_transfers_recorded", "counter"),
            ("usdt_monitor_notifications_queued", "counter"),
            ("usdt_monitor_transfers_stored", "gauge"),
            ("usdt_monitor_notifications_stored", "gauge"),
            ("usdt_monitor_actor_restarts", "counter"),
        ],
    );

    // Nothing private is exposed.
    for private in [
        ES_KEY.to_string(),
        TG_TOKEN.to_string(),
        watched.as_str().to_string(),
        watched.hex().to_string(),
        payer.hex().to_string(),
        CAROL.to_string(),
        ADMIN.to_string(),
        HOOK_TOKEN.to_string(),
        "/hook".to_string(),
    ] {
        assert!(!text.contains(&private), "{private} exposed:\n{text}");
    }
    let (_, health) = wait_for(&format!("{base}/healthz"), "healthy", |s, _| s == 200).await;
    assert!(!health.contains(&CAROL.to_string()), "{health}");
    // Etherscan's daily cap pauses the provider: the gauge says why.
    w.es.set_fault(Some(Fault::DailyCap));
    let paused =
        "usdt_monitor_provider_paused{provider=\"etherscan\",reason=\"daily cap reached\"}";
    let (_, text) = wait_for(&url, "exported the pause", |_, b| sample(b, paused) == 1.0).await;
    assert_families(&text, &[("usdt_monitor_provider_paused", "gauge")]);
}

#[actix_rt::test]
async fn healthz_goes_503_while_etherscan_is_down_and_back_to_200() {
    let (mut w, base) = world_with_http().await;
    w.start_daemon();
    let url = format!("{base}/healthz");
    let (_, body) = wait_for(&url, "healthy", |s, _| s == 200).await;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        serde_json::json!({"status": "ok", "failed": []})
    );
    // A load balancer's HEAD probe is answered; other methods get 405, an
    // unknown path 404, and the endpoint keeps serving.
    let client = awc::Client::default();
    for path in ["/healthz", "/metrics"] {
        let head = client.head(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(head.status().as_u16(), 200, "HEAD {path}");
        let post = client.post(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(post.status().as_u16(), 405, "POST {path}");
        assert_eq!(post.headers().get("allow").unwrap(), "GET, HEAD");
    }
    let other = client
        .get(format!("{base}/metrics/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 404);
    // Down for more than 3 polls (500 ms each): unhealthy, naming the chain.
    w.es.set_fault(Some(Fault::Http500));
    let (_, body) = wait_for(&url, "unhealthy", |s, _| s == 503).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "unhealthy", "{body}");
    let failed = v["failed"].to_string();
    assert!(failed.contains("chain ethereum"), "{body}");
    // Back: healthy again after a successful poll.
    w.es.set_fault(None);
    wait_for(&url, "healthy again", |s, _| s == 200).await;
    // SIGTERM stops the endpoint first, and the daemon exits cleanly.
    w.signal("TERM");
    assert_eq!(w.wait_exit(WAIT).await.code(), Some(0));
    let stops: Vec<String> = json_lines(&w.logs(1))
        .into_iter()
        .filter(|l| l["message"] == "actor stopped")
        .filter_map(|l| l["actor"].as_str().map(String::from))
        .collect();
    assert_eq!(stops.first().map(String::as_str), Some("http"), "{stops:?}");
}

/// Runs `usdt-monitor backup` on a thread (the simulators keep serving).
async fn backup(config: &std::path::Path, out: &std::path::Path) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_usdt-monitor"));
    cmd.arg("backup").arg("--config").arg(config).arg(out);
    let job = std::thread::spawn(move || cmd.output().unwrap());
    while !job.is_finished() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    job.join().unwrap()
}

#[actix_rt::test]
async fn backup_copies_the_live_database_while_the_daemon_runs() {
    let mut w = World::new(Tweaks::default()).await;
    w.start_daemon();
    let (watched, payer) = (addr('d'), addr('5'));
    w.say(CAROL, "/start").await;
    w.say(CAROL, &format!("/add {watched}")).await;
    let tx = w.transfer(TokenSymbol::Usdc, &payer, &watched, 3_000_000);
    w.wait_messages(CAROL, &tx, 1).await;

    let out = w.dir.path().join("backup.db");
    let o = backup(&w.config, &out).await;
    let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("integrity_check ok"), "{text}");
    // The daemon kept running: it still answers.
    assert!(w.say(CAROL, "/list").await.contains(&watched.checksummed()));

    let copy = rusqlite::Connection::open(&out).unwrap();
    let txs: i64 = copy
        .query_row(
            "SELECT count(*) FROM transfers WHERE tx_hash = ?1",
            [&tx],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(txs, 1);
    let chats: i64 = copy
        .query_row(
            "SELECT count(*) FROM chats WHERE chat_id = ?1",
            [CAROL],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(chats, 1);
    drop(copy);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the copy holds chat ids: owner only");

    // An existing file is never overwritten.
    let o = backup(&w.config, &out).await;
    let text = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("already exists") && text.contains("backup.db"),
        "{text}"
    );
}

#[actix_rt::test]
async fn backup_without_a_database_exits_1_naming_the_path() {
    let w = World::new(Tweaks::default()).await;
    let out = w.dir.path().join("backup.db");
    let o = backup(&w.config, &out).await;
    let text = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("data/monitor.db") && text.contains("database.path"),
        "{text}"
    );
    assert!(!out.exists());
}
