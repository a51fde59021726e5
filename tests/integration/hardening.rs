//! Hardening against outside input and an exposed host (issue 20): Tron
//! tokens whose `Transfer` names its parameters otherwise, no secret in a
//! trace log, a bounded `[http]` endpoint, symlinks refused, credentials
//! redacted, admin commands only in private, per-member command limits.
//! Each test drives the compiled daemon (or the CLI) against the simulators.

use std::time::Duration;

use crate::common::*;
use usdt_monitor::sim::tron::{EventShape, SimTronGrid};

const ALICE: i64 = 601;
const TRON_KEY: &str = "tron-SECRET-key-5b2d8e";
/// USDC on Tron: added by the operator under `[[monitor.contracts]]`.
const TRON_USDC: &str = "TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8";

/// Ethereum and Tron (with Tron USDC added as a contract), `more` appended
/// to the config, the daemon started.
async fn tron_world(more: &str) -> (World, SimTronGrid) {
    let usdc = format!(
        "[[monitor.contracts]]\nchain = \"tron\"\nsymbol = \"USDC\"\ncontract = \"{TRON_USDC}\"\n\
         decimals = 6\n{more}"
    );
    let (mut w, tron) = crate::common::tron_world(fast_tron(TRON_KEY), TRON_KEY, &usdc).await;
    w.start_daemon();
    (w, tron)
}

fn taddr(digit: char) -> String {
    addr(digit).to_tron()
}

async fn watch_tron(w: &World, address: &str) {
    w.say(ALICE, "/start").await;
    let reply = w.say(ALICE, &format!("/add {address} tron Wallet")).await;
    assert!(reply.contains(address), "{reply}");
}

/// A TRC-20 token whose `Transfer(address _from, address _to, uint256
/// _value)` used to be rejected event by event ("field `from` missing"):
/// decoded by position, by the signature's names, or by a known spelling.
#[actix_rt::test]
async fn a_tron_token_naming_its_transfer_parameters_otherwise_is_notified() {
    let (w, tron) = tron_world("").await;
    let (wallet, payer) = (taddr('a'), taddr('1'));
    watch_tron(&w, &wallet).await;

    tron.set_event_shape(TRON_USDC, EventShape::named(["_from", "_to", "_value"]));
    let first = tron.inject_token(TRON_USDC, &payer, &wallet, 3_000_000);
    let got = w.wait_messages(ALICE, &first.txid, 1).await;
    assert!(got[0].text.contains("3 USDC"), "{}", got[0].text);

    // Names only, from the signature (no positions).
    let mut shape = EventShape::named(["src", "dst", "wad"]);
    shape.positions = false;
    tron.set_event_shape(TRON_USDC, shape);
    let second = tron.inject_token(TRON_USDC, &payer, &wallet, 4_000_000);
    w.wait_messages(ALICE, &second.txid, 1).await;

    // Positions only, without a signature, under names nobody uses.
    let mut shape = EventShape::named(["a", "b", "c"]);
    shape.signature = false;
    tron.set_event_shape(TRON_USDC, shape);
    let third = tron.inject_token(TRON_USDC, &payer, &wallet, 5_000_000);
    w.wait_messages(ALICE, &third.txid, 1).await;
    w.assert_delivered_once(ALICE, [&first.txid, &second.txid, &third.txid]);
    assert!(
        w.bot
            .sent_to(ADMIN)
            .iter()
            .all(|m| !m.text.contains(TRON_USDC)),
        "no alert while events decode"
    );
}

/// A token whose every event is rejected is no longer silent: the admins
/// get one alert (not one per event or per poll), and the rest keeps working.
#[actix_rt::test]
async fn a_tron_token_whose_events_are_all_rejected_raises_one_admin_alert() {
    let (w, tron) = tron_world("").await;
    let (wallet, payer) = (taddr('a'), taddr('1'));
    watch_tron(&w, &wallet).await;
    // Neither positions, nor a signature, nor a name anybody knows.
    tron.set_event_shape(
        TRON_USDC,
        EventShape {
            names: ["p", "q", "r"].map(String::from),
            positions: false,
            signature: false,
        },
    );
    let lost = tron.inject_token(TRON_USDC, &payer, &wallet, 1_000_000);
    w.wait_messages(ADMIN, TRON_USDC, 1).await;
    // More rejected events in later polls; then a USDT transfer proves
    // that the scan went on past them.
    tron.advance(2);
    tron.inject_token(TRON_USDC, &payer, &wallet, 2_000_000);
    tron.advance(2);
    tron.inject_token(TRON_USDC, &payer, &wallet, 3_000_000);
    tron.advance(2);
    let usdt = tron.inject(&payer, &wallet, 6_000_000);
    w.wait_messages(ALICE, &usdt.txid, 1).await;
    let alerts: Vec<String> = (w.bot.sent_to(ADMIN).into_iter())
        .filter(|m| m.text.contains(TRON_USDC))
        .map(|m| m.text)
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert!(alerts[0].contains("rejected"), "{}", alerts[0]);
    assert!(
        w.bot
            .sent_to(ALICE)
            .iter()
            .all(|m| !m.text.contains(&lost.txid)),
        "an undecodable event is not guessed at"
    );
}

/// Runs the compiled binary's `check-config` on `body`; stdout + stderr.
fn check_config(body: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, body).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_usdt-monitor"))
        .args(["check-config", "--config"])
        .arg(&path)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    (o.status.code(), text)
}

/// Credentials placed in a provider URL (user:password@, a key in the
/// path or the query) used to be printed by `check-config` as written.
#[test]
fn check_config_redacts_credentials_in_every_url() {
    let (code, out) = check_config(
        "[telegram]\napi_url = \"https://tguser:tg-PASSWORD-1@tg.example/proxy\"\n\
         [etherscan]\nbase_url = \"https://es.example/v2/api?apikey=ES-QUERY-KEY-2\"\n\
         [tron]\napi_url = \"https://tron.example/TRONPATHKEY0123456789/\"\n\
         [monitor]\nchains = [\"ethereum\", \"tron\"]\n",
    );
    assert_eq!(code, Some(0), "{out}");
    for secret in [
        "tguser",
        "tg-PASSWORD-1",
        "ES-QUERY-KEY-2",
        "TRONPATHKEY0123456789",
    ] {
        assert!(!out.contains(secret), "{secret} printed:\n{out}");
    }
    // Still readable: hosts and the harmless path.
    assert!(out.contains("https://[redacted]@tg.example/proxy"), "{out}");
    assert!(
        out.contains("https://es.example/v2/api?apikey=[redacted]"),
        "{out}"
    );
    assert!(out.contains("https://tron.example/[redacted]/"), "{out}");
}

/// `database.path` through a symlink used to be followed (the target's
/// mode changed to 0600, the target written): refused, the target intact.
#[test]
fn a_symlinked_database_path_is_refused_and_its_target_left_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
    let db = dir.path().join("monitor.db");
    std::os::unix::fs::symlink(&victim, &db).unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[telegram]\napi_url = \"http://127.0.0.1:9\"\nlong_poll_timeout = \"1s\"\n\
             [etherscan]\nbase_url = \"http://127.0.0.1:9\"\n[database]\npath = \"{}\"\n",
            db.display()
        ),
    )
    .unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_usdt-monitor"))
        .args(["run", "--config"])
        .arg(&config)
        .env("TELEGRAM_BOT_TOKEN", "1:secret-token-value")
        .env("ETHERSCAN_API_KEY", "secret-key-value")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("symbolic link"), "{text}");
    assert!(text.contains(&db.display().to_string()), "{text}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    let mode = std::fs::metadata(&victim).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "the link's target was chmod'ed");
}

/// At `log.level = "trace"` the HTTP libraries used to log their
/// internals (over HTTP/2: the request headers, with the Etherscan and
/// TronGrid keys). Now no level prints a secret: the whole output of a
/// trace-level run holds no key, and the HTTP/TLS libraries log nothing
/// below info.
#[actix_rt::test]
async fn a_trace_level_run_prints_no_secret() {
    let (mut w, tron) = tron_world("").await;
    w.kill9();
    let text = std::fs::read_to_string(&w.config).unwrap();
    assert!(text.contains("level = \"debug\""));
    std::fs::write(
        &w.config,
        text.replace("level = \"debug\"", "level = \"trace\""),
    )
    .unwrap();
    w.start_daemon();
    let (wallet, payer) = (taddr('a'), taddr('1'));
    watch_tron(&w, &wallet).await;
    let (evm_wallet, evm_payer) = (addr('b'), addr('3'));
    w.say(ALICE, &format!("/add {evm_wallet}")).await;
    let tx = tron.inject(&payer, &wallet, 4_000_000);
    w.wait_messages(ALICE, &tx.txid, 1).await;
    let evm = w.transfer(
        usdt_monitor::domain::TokenSymbol::Usdt,
        &evm_payer,
        &evm_wallet,
        3_000_000,
    );
    w.wait_messages(ALICE, &evm, 1).await;
    let status = w.say(ADMIN, "/status").await;
    assert!(!status.is_empty());
    w.kill9();
    let out = w.logs(2) + &std::fs::read_to_string(w.stdout_path(2)).unwrap_or_default();
    let lines = json_lines(&out);
    assert!(
        lines.iter().any(|l| l["level"] == "TRACE"),
        "the run logged at trace"
    );
    let token_secret = TG_TOKEN.split(':').nth(1).unwrap();
    for secret in [ES_KEY, TRON_KEY, token_secret] {
        assert!(!out.contains(secret), "{secret} in the trace output");
    }
    let capped: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["level"] == "TRACE" || l["level"] == "DEBUG")
        .filter(|l| {
            let target = l["target"].as_str().unwrap_or_default();
            usdt_monitor::logging::CAPPED
                .iter()
                .any(|c| target.starts_with(c))
        })
        .collect();
    assert!(
        capped.is_empty(),
        "HTTP library lines below info: {:#?}",
        &capped[..capped.len().min(5)]
    );
}

/// Admin commands in a group used to be answered in the group, where every
/// member read `/status` (other chats' ids, failure texts).
#[actix_rt::test]
async fn admin_commands_are_answered_only_in_private() {
    const GROUP: i64 = -4242;
    let mut w = World::new(Tweaks::default()).await;
    w.start_daemon();
    w.bot.group_says(GROUP, ADMIN, "/status");
    let sent = w
        .bot
        .wait_for(WAIT, |all| all.iter().any(|m| m.chat_id == GROUP))
        .await
        .unwrap_or_else(|all| panic!("no reply in the group: {:#?}", texts(&all)));
    let reply: Vec<String> = (sent.into_iter())
        .filter(|m| m.chat_id == GROUP)
        .map(|m| m.text)
        .collect();
    assert_eq!(reply.len(), 1, "{reply:#?}");
    assert!(reply[0].contains("private chat"), "{}", reply[0]);
    assert!(
        !reply[0].contains("Etherscan"),
        "status shown: {}",
        reply[0]
    );
    // In private, the same admin gets the status.
    let private = w.say(ADMIN, "/status").await;
    assert!(!private.contains("private chat"), "{private}");
}

/// In a group, one member's commands used to use up the group's budget:
/// its administrator's command then went unanswered. Limited per member.
#[actix_rt::test]
async fn one_members_flood_does_not_silence_a_group_administrator() {
    const GROUP: i64 = -5151;
    const FLOODER: i64 = 700;
    const OWNER: i64 = 701;
    let mut w = World::new(Tweaks {
        telegram: "command_limit = 3\ncommand_window = \"10m\"".into(),
        ..Tweaks::default()
    })
    .await;
    w.start_daemon();
    w.bot.set_member(GROUP, OWNER, "administrator");
    let in_group = |all: &[usdt_monitor::sim::botapi::SentMessage]| {
        all.iter().filter(|m| m.chat_id == GROUP).count()
    };
    // Three answered, the fourth told to wait, the rest ignored.
    for _ in 0..6 {
        w.bot.group_says(GROUP, FLOODER, "/help");
    }
    w.bot
        .wait_for(WAIT, |all| {
            all.iter()
                .any(|m| m.chat_id == GROUP && m.text.contains("Easy there"))
        })
        .await
        .unwrap_or_else(|all| panic!("no refusal: {:#?}", texts(&all)));
    let before = in_group(&w.bot.sent_to(GROUP));
    w.bot.group_says(GROUP, OWNER, "/list");
    let sent = w
        .bot
        .wait_for(WAIT, |all| in_group(all) > before)
        .await
        .unwrap_or_else(|all| panic!("the administrator got no answer: {:#?}", texts(&all)));
    let answer = &sent
        .iter()
        .filter(|m| m.chat_id == GROUP)
        .nth(before)
        .unwrap()
        .text;
    assert!(!answer.contains("Easy there"), "{answer}");
}

/// Idle connections to `[http] listen` used to take every descriptor
/// (343 idle ones exhausted a 256 limit; polling, commands and the outbox
/// failed with "Too many open files"). With 96 descriptors and 200 idle
/// connections the daemon keeps working, and the endpoint answers again
/// once they are gone.
#[actix_rt::test]
async fn idle_http_connections_never_starve_the_daemon() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut w = World::new(Tweaks {
        extra: format!("\n[http]\nlisten = \"127.0.0.1:{port}\"\n"),
        ..Tweaks::default()
    })
    .await;
    w.start_daemon_with(Some("ulimit -n 96;"));
    let healthz = format!("http://127.0.0.1:{port}/healthz");
    let answers = || async {
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(3))
            .finish();
        client.get(healthz.as_str()).send().await.is_ok()
    };
    let deadline = std::time::Instant::now() + WAIT;
    while !answers().await {
        assert!(
            std::time::Instant::now() < deadline,
            "the endpoint never answered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (wallet, payer) = (addr('c'), addr('4'));
    w.say(ALICE, "/start").await;
    w.say(ALICE, &format!("/add {wallet}")).await;

    let target: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut idle = Vec::new();
    for _ in 0..200 {
        if let Ok(s) = std::net::TcpStream::connect_timeout(&target, Duration::from_millis(100)) {
            idle.push(s);
        }
    }
    // Commands, polling and the outbox go on meanwhile.
    let mut peak = 0;
    let tx = w.transfer(
        usdt_monitor::domain::TokenSymbol::Usdt,
        &payer,
        &wallet,
        2_000_000,
    );
    let deadline = std::time::Instant::now() + WAIT;
    while !w.bot.sent_to(ALICE).iter().any(|m| m.text.contains(&tx)) {
        peak = peak.max(descriptors_of(w.pid()).unwrap_or(0));
        assert!(
            std::time::Instant::now() < deadline,
            "never notified:\n{}",
            w.logs(1)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let list = w.say(ALICE, "/list").await;
    assert!(list.to_lowercase().contains("cccc"), "{list}");
    peak = peak.max(descriptors_of(w.pid()).unwrap_or(0));
    assert!(peak < 90, "descriptors peaked at {peak} of 96");
    assert!(!w.logs(1).contains("Too many open files"), "{}", w.logs(1));
    drop(idle);
    let deadline = std::time::Instant::now() + WAIT;
    while !answers().await {
        assert!(
            std::time::Instant::now() < deadline,
            "the endpoint never recovered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
