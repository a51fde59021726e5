//! The command line as a user meets it: help, check-config, and the errors
//! that stop `run` before it starts.

use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_usdt-monitor"));
    c.env_remove("TELEGRAM_BOT_TOKEN")
        .env_remove("ETHERSCAN_API_KEY")
        .env_remove("RUST_LOG");
    c
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr)
}

fn write_config(dir: &tempfile::TempDir, body: &str) -> std::path::PathBuf {
    let path = dir.path().join("config.toml");
    std::fs::write(&path, body).unwrap();
    path
}

#[test]
fn help_lists_the_commands_and_exit_codes() {
    let o = bin().arg("--help").output().unwrap();
    assert!(o.status.success());
    let t = text(&o);
    for word in [
        "run",
        "check-config",
        "demo",
        "Exit codes",
        "TELEGRAM_BOT_TOKEN",
    ] {
        assert!(t.contains(word), "--help lacks {word}:\n{t}");
    }
}

#[test]
fn check_config_accepts_the_shipped_example_and_redacts_secrets() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml");
    let o = bin()
        .args(["check-config", "--config", example])
        .env("TELEGRAM_BOT_TOKEN", "111:very-secret-token")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("poll_interval = \"15s\""), "{t}");
    assert!(t.contains("TELEGRAM_BOT_TOKEN: set"), "{t}");
    assert!(!t.contains("very-secret-token"), "{t}");
}

#[test]
fn a_typo_in_the_config_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(&dir, "[monitor]\npol_interval = \"5s\"\n");
    let o = bin()
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("pol_interval"), "{}", text(&o));
}

#[test]
fn a_zero_interval_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(&dir, "[monitor]\npoll_interval = \"0s\"\n");
    let o = bin().args(["run", "--config"]).arg(&path).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("monitor.poll_interval"), "{}", text(&o));
}

#[test]
fn a_missing_config_file_exits_2_naming_it() {
    let o = bin()
        .args(["check-config", "--config", "/nonexistent/usdt.toml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("/nonexistent/usdt.toml"), "{}", text(&o));
}

#[test]
fn run_without_a_secret_exits_2_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(&dir, "");
    let o = bin().args(["run", "--config"]).arg(&path).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("TELEGRAM_BOT_TOKEN"), "{}", text(&o));

    let o = bin()
        .args(["run", "--config"])
        .arg(&path)
        .env("TELEGRAM_BOT_TOKEN", "1:x")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("ETHERSCAN_API_KEY"), "{}", text(&o));
}

#[test]
fn an_unusable_database_path_exits_1_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let body = format!("[database]\npath = \"{}/db.sqlite\"\n", blocker.display());
    let path = write_config(&dir, &body);
    let o = bin()
        .args(["run", "--config"])
        .arg(&path)
        .env("TELEGRAM_BOT_TOKEN", "1:secret-token-value")
        .env("ETHERSCAN_API_KEY", "secret-key-value")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("database"), "{t}");
    assert!(!t.contains("secret-token-value") && !t.contains("secret-key-value"));
}

const HOOK: &str = "[[webhook]]\nurl = \"https://hooks.example.com/usdt?token=query-SECRET-77\"\nsecret_env = \"USDT_MONITOR_CLI_HOOK_SECRET\"\ntokens = [\"USDT\"]\nmin_amount = \"1000\"\n";

#[test]
fn a_missing_or_bad_webhook_secret_exits_2_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(&dir, HOOK);
    let run = |secret: Option<&str>| {
        let mut c = bin();
        c.args(["run", "--config"])
            .arg(&path)
            .env("TELEGRAM_BOT_TOKEN", "1:x")
            .env("ETHERSCAN_API_KEY", "k")
            .env_remove("USDT_MONITOR_CLI_HOOK_SECRET");
        if let Some(s) = secret {
            c.env("USDT_MONITOR_CLI_HOOK_SECRET", s);
        }
        c.output().unwrap()
    };
    for secret in [
        None,
        Some("whsec_%%not-base64-SECRET%%"),
        Some("short-SECRET"),
    ] {
        let o = run(secret);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{t}");
        assert!(t.contains("USDT_MONITOR_CLI_HOOK_SECRET"), "{t}");
        assert!(
            !t.contains("SECRET%%") && !t.contains("short-SECRET"),
            "{t}"
        );
    }
}

#[test]
fn check_config_lists_webhook_sinks_by_host_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(&dir, HOOK);
    let o = bin()
        .args(["check-config", "--config"])
        .arg(&path)
        .env(
            "USDT_MONITOR_CLI_HOOK_SECRET",
            "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("webhook[0]: host hooks.example.com"), "{t}");
    assert!(t.contains("tokens USDT, min_amount 1000"), "{t}");
    assert!(t.contains("USDT_MONITOR_CLI_HOOK_SECRET: set"), "{t}");
    assert!(
        !t.contains("query-SECRET") && !t.contains("AAECAwQF"),
        "{t}"
    );
}

#[test]
fn a_bad_webhook_key_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for (body, key) in [
        ("url = \"ftp://x\"\nsecret_env = \"S\"\n", "webhook[0].url"),
        (
            "url = \"https://h\"\nsecret_env = \"whsec_abc\"\n",
            "webhook[0].secret_env",
        ),
        (
            "url = \"https://h\"\nsecret_env = \"S\"\nmin_amount = \"1e3\"\n",
            "webhook[0].min_amount",
        ),
        (
            "url = \"https://h\"\nsecret_env = \"S\"\nbackoff_min = \"0s\"\n",
            "webhook[0].backoff_min",
        ),
        (
            "url = \"https://h\"\nsecret_env = \"S\"\nchains = [\"solana\"]\n",
            "webhook[0].chains",
        ),
        (
            "url = \"https://h\"\nsecret_env = \"S\"\nretries = 3\n",
            "retries",
        ),
        // Credentials in the URL are never sent: refused, never quoted.
        (
            "url = \"https://bob:pw-SECRET-1@h/x\"\nsecret_env = \"S\"\n",
            "webhook[0].url",
        ),
        (
            "url = \"https://bob:pw/SECRET-2@h/x\"\nsecret_env = \"S\"\n",
            "webhook[0].url",
        ),
        (
            "url = \"https://h\"\nsecret_env = \"S\"\nmin_amount = \"1.0000001\"\n",
            "webhook[0].min_amount",
        ),
        (
            "url = \"https://h\"\nsecret_env = \"S\"\nmin_amount = \"-5\"\n",
            "webhook[0].min_amount",
        ),
        (
            "url = \"https://h\"\nsecret_env = \"S\"\nmin_amount = \"100000000000000000000000000000000000000000000000000000000000000000000000000000000\"\n",
            "webhook[0].min_amount",
        ),
        (
            "url = \"https://h\"\nsecret_env = \"S\"\ntokens = [\"DAI\"]\n",
            "webhook[0].tokens",
        ),
        (
            "url = \"https://h\"\nsecret_env = \"S\"\nchains = [\"ethreum\"]\n",
            "webhook[0].chains",
        ),
        // The secret pasted into the file by mistake: the error names the
        // key and its line but never echoes the line.
        (
            "url = \"https://h/?token=q-SECRET-3\"\nsecret_env = \"S\"\nsecret = \"whsec_SECRET-4\"\n",
            "at line 4, column 1 (`secret`): unknown field `secret`",
        ),
    ] {
        let path = write_config(&dir, &format!("[[webhook]]\n{body}"));
        let o = bin()
            .args(["check-config", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{body}");
        assert!(text(&o).contains(key), "{key}: {}", text(&o));
        assert!(!text(&o).contains("SECRET"), "{}", text(&o));
    }
}

// ---- start-up database faults: a clear error naming the file, exit 1 ----

/// A configuration whose database is `db` and whose services are
/// unreachable (start-up fails before any of them is called).
fn db_config(dir: &tempfile::TempDir, db: &std::path::Path) -> std::path::PathBuf {
    let body = format!(
        "[telegram]\napi_url = \"http://127.0.0.1:9\"\nlong_poll_timeout = \"1s\"\n\
         [etherscan]\nbase_url = \"http://127.0.0.1:9\"\n\
         [database]\npath = \"{}\"\n",
        db.display()
    );
    write_config(dir, &body)
}

fn run_daemon(config: &std::path::Path) -> Command {
    let mut c = bin();
    c.args(["run", "--config"])
        .arg(config)
        .env("TELEGRAM_BOT_TOKEN", "1:secret-token-value")
        .env("ETHERSCAN_API_KEY", "secret-key-value");
    c
}

/// A database with the current schema and enough rows to span many pages.
fn real_database(path: &std::path::Path) {
    use usdt_monitor::db::{DbSettings, connection};
    let settings = DbSettings {
        path: path.to_owned(),
        busy_timeout: std::time::Duration::from_secs(5),
        max_size: None,
    };
    connection::prepare(&settings).unwrap();
    connection::with_transaction(&settings, true, |tx| {
        for i in 0..2000 {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                (format!("filler-{i}"), "x".repeat(100)),
            )?;
        }
        Ok(())
    })
    .unwrap();
    connection::checkpoint(&settings).unwrap();
}

fn assert_exit_1_naming(o: &Output, file: &std::path::Path, words: &[&str]) {
    let t = text(o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains(&file.display().to_string()),
        "no file name in: {t}"
    );
    for w in words {
        assert!(t.contains(w), "no {w:?} in: {t}");
    }
    assert!(!t.contains("panicked"), "{t}");
    assert!(!t.contains("secret-token-value") && !t.contains("secret-key-value"));
}

#[test]
fn db_fault_read_only_file_exits_1_naming_the_file() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/monitor.db");
    real_database(&db);
    let ro = |p: &std::path::Path, mode| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    ro(&db, 0o444);
    ro(db.parent().unwrap(), 0o555);
    ro(dir.path(), 0o755);
    let config = db_config(&dir, &db);
    let mut cmd = run_daemon(&config);
    // Permission bits do not stop root: run as an ordinary user then.
    if std::fs::OpenOptions::new().append(true).open(&db).is_ok() {
        cmd.uid(65534).gid(65534);
    }
    let o = cmd.output().unwrap();
    assert_exit_1_naming(&o, &db, &["not writable"]);
}

#[test]
fn db_fault_garbage_file_exits_1_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("monitor.db");
    let garbage: Vec<u8> = (0..16_384u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&db, garbage).unwrap();
    let o = run_daemon(&db_config(&dir, &db)).output().unwrap();
    assert_exit_1_naming(&o, &db, &["damaged", "backup"]);
}

#[test]
fn db_fault_truncated_file_exits_1_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("monitor.db");
    real_database(&db);
    let len = std::fs::metadata(&db).unwrap().len();
    assert!(len > 64 * 1024, "the database is {len} bytes");
    let file = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    file.set_len(len / 2).unwrap();
    drop(file);
    let o = run_daemon(&db_config(&dir, &db)).output().unwrap();
    assert_exit_1_naming(&o, &db, &["damaged"]);
}

/// The decision for a missing directory: create it (mode 0700 is the
/// umask's business; the file itself is 0600), and start.
#[test]
fn db_fault_missing_directory_is_created_and_the_daemon_starts() {
    let dir = tempfile::tempdir().unwrap();
    assert_starts_and_migrates(&dir, &dir.path().join("not/yet/there/monitor.db"));
}

/// A zero-length file (`touch monitor.db`) is what SQLite calls an empty
/// database: the daemon fills it with the schema and starts.
#[test]
fn db_fault_zero_length_file_is_an_empty_database_and_the_daemon_starts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("monitor.db");
    std::fs::write(&db, b"").unwrap();
    assert_starts_and_migrates(&dir, &db);
}

#[test]
fn db_fault_a_directory_at_the_database_path_exits_1_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("monitor.db");
    std::fs::create_dir(&db).unwrap();
    let o = run_daemon(&db_config(&dir, &db)).output().unwrap();
    assert_exit_1_naming(&o, &db, &["directory"]);
}

/// A lock file left by a process that is gone (its pid still written in
/// it) holds no lock: the kernel released it, and the daemon starts.
#[test]
fn a_stale_lock_file_with_a_dead_pid_does_not_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("monitor.db");
    let lock = usdt_monitor::lockfile::lock_path(&db);
    std::fs::write(&lock, "4194303\n").unwrap();
    assert_starts_and_migrates(&dir, &db);
}

/// Starts `run` on `db`, waits (30 s at most) until the schema is in place
/// with the file mode 0600, then stops it with SIGTERM: exit 0.
fn assert_starts_and_migrates(dir: &tempfile::TempDir, db: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let db = db.to_owned();
    let mut child = run_daemon(&db_config(dir, &db))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let migrated = || {
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)))
            .unwrap_or(0)
            == usdt_monitor::db::schema::VERSION
    };
    while !migrated() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the daemon exited ({status}) instead of creating {}",
                db.display()
            );
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no database at {}",
            db.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

// ---- Start-up checks against the simulators, and the instance lock ----

use crate::common;

use std::time::{Duration, Instant};

use crate::common::{ES_KEY, TG_TOKEN, Tweaks, World};
use usdt_monitor::sim::etherscan::Fault;

/// Runs the binary with `args` and the given secrets on a thread, so that
/// the simulators in this runtime keep answering; at most 60 s.
async fn run_bin(args: &[&str], config: &std::path::Path, token: &str, key: &str) -> Output {
    let mut cmd = bin();
    cmd.args(args)
        .arg("--config")
        .arg(config)
        .env("TELEGRAM_BOT_TOKEN", token)
        .env("ETHERSCAN_API_KEY", key);
    let job = std::thread::spawn(move || cmd.output().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !job.is_finished() {
        assert!(Instant::now() < deadline, "{args:?} did not finish in 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    job.join().unwrap()
}

fn assert_no_secret(t: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!t.contains(s), "a secret leaked into the output:\n{t}");
    }
}

#[actix_rt::test]
async fn a_bot_token_rejected_by_telegram_exits_2_naming_the_variable() {
    let w = World::new(Tweaks::default()).await;
    // 401 for a well-formed token Telegram does not know, 404 for one that
    // is not a token at all (a pasted chat id, a truncated paste).
    let cases = [
        (["run"].as_slice(), "987654:wrong-SECRET-token-000"),
        (
            ["check-config", "--online"].as_slice(),
            "987654:wrong-SECRET-token-000",
        ),
        (["run"].as_slice(), "not-a-token-SECRET-000"),
        (
            ["check-config", "--online"].as_slice(),
            "not-a-token-SECRET-000",
        ),
    ];
    for (args, wrong) in cases {
        let o = run_bin(args, &w.config, wrong, ES_KEY).await;
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {t}");
        assert!(t.contains("TELEGRAM_BOT_TOKEN"), "{t}");
        assert!(t.contains("rejected by Telegram"), "{t}");
        assert_no_secret(&t, &[wrong, ES_KEY]);
    }
    // The daemon never got as far as long polling.
    assert_eq!(w.bot.calls("getupdates"), 0);
}

#[actix_rt::test]
async fn an_invalid_key_exits_2_naming_etherscan_api_key() {
    let w = World::new(Tweaks::default()).await;
    w.es.set_fault(Some(Fault::InvalidKey));
    for args in [&["run"][..], &["check-config", "--online"][..]] {
        let o = run_bin(args, &w.config, TG_TOKEN, ES_KEY).await;
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {t}");
        assert!(t.contains("ETHERSCAN_API_KEY"), "{t}");
        assert!(t.contains("Invalid API Key"), "{t}");
        assert_no_secret(&t, &[TG_TOKEN, ES_KEY]);
    }
    // One cheap call per run, not a poll loop.
    assert!(w.es.request_count() <= 2, "{:?}", w.es.requests());
}

#[actix_rt::test]
async fn a_paid_chain_exits_2_naming_the_chain_and_monitor_chains() {
    let w = World::new(Tweaks {
        chains: Some(r#"["ethereum", "polygon"]"#),
        ..Tweaks::default()
    })
    .await;
    w.es.set_fault(Some(Fault::PaidChain(137)));
    let o = run_bin(&["run"], &w.config, TG_TOKEN, ES_KEY).await;
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("polygon") && t.contains("monitor.chains"), "{t}");
    assert!(t.contains("Free API access is not supported"), "{t}");
    assert_no_secret(&t, &[TG_TOKEN, ES_KEY]);
}

/// Waits until the run's log contains `needle`.
async fn wait_log(w: &World, run: u32, needle: &str) {
    let deadline = Instant::now() + common::WAIT;
    while !w.logs(run).contains(needle) {
        assert!(
            Instant::now() < deadline,
            "run {run} never logged {needle:?}:\n{}",
            w.logs(run)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_rt::test]
async fn an_http_500_at_start_is_logged_and_the_daemon_starts_anyway() {
    let mut w = World::new(Tweaks::default()).await;
    w.es.set_fault(Some(Fault::Http500));
    w.start_daemon();
    wait_log(&w, 1, "start-up check failed; starting anyway").await;
    // Up: the bot answers while Etherscan is still down.
    assert!(w.say(777, "/start").await.contains("/add"));
    w.signal("TERM");
    assert_eq!(w.wait_exit(common::WAIT).await.code(), Some(0));
    assert_no_secret(&w.logs(1), &[TG_TOKEN, ES_KEY]);
}

/// Answers that are not a verdict on the key (a body that is not JSON, as a
/// proxy's error page; a JSON-RPC error object; an empty head) are an
/// outage, not a configuration error: the daemon starts, it never exits 2.
#[actix_rt::test]
async fn an_unreadable_etherscan_answer_at_start_is_logged_and_the_daemon_starts_anyway() {
    for fault in [Fault::MalformedJson, Fault::ErrorHead, Fault::NullHead] {
        let mut w = World::new(Tweaks::default()).await;
        w.es.set_fault(Some(fault.clone()));
        w.start_daemon();
        wait_log(&w, 1, "start-up check failed; starting anyway").await;
        assert!(w.say(778, "/start").await.contains("/add"), "{fault:?}");
        w.signal("TERM");
        assert_eq!(w.wait_exit(common::WAIT).await.code(), Some(0), "{fault:?}");
        assert_no_secret(&w.logs(1), &[TG_TOKEN, ES_KEY]);
    }
}

#[actix_rt::test]
async fn a_telegram_5xx_at_start_is_logged_and_the_daemon_starts_anyway() {
    let mut w = World::new(Tweaks::default()).await;
    // getMe is the first Bot API call: it gets 502 Bad Gateway.
    w.bot.set_server_errors(1);
    w.start_daemon();
    wait_log(&w, 1, "start-up check failed; starting anyway").await;
    assert!(w.logs(1).contains("Bad Gateway"), "{}", w.logs(1));
    assert!(w.say(779, "/start").await.contains("/add"));
    w.signal("TERM");
    assert_eq!(w.wait_exit(common::WAIT).await.code(), Some(0));
    assert_no_secret(&w.logs(1), &[TG_TOKEN, ES_KEY]);
}

#[actix_rt::test]
async fn a_second_run_on_the_same_database_exits_1_naming_the_lock_and_its_pid() {
    let mut w = World::new(Tweaks::default()).await;
    w.start_daemon();
    let first = w.pid();
    wait_log(&w, 1, "actor started").await;
    let o = run_bin(&["run"], &w.config, TG_TOKEN, ES_KEY).await;
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("monitor.db.lock"), "{t}");
    assert!(t.contains(&format!("pid {first}")), "{t}");
    assert_no_secret(&t, &[TG_TOKEN, ES_KEY]);

    // kill -9 leaves no stale lock: the next run starts and answers.
    w.kill9();
    w.start_daemon();
    wait_log(&w, 2, "actor started").await;
    assert!(w.say(778, "/start").await.contains("/add"));
}

#[actix_rt::test]
async fn check_config_online_reports_accepted_secrets() {
    let w = World::new(Tweaks::default()).await;
    let o = run_bin(&["check-config", "--online"], &w.config, TG_TOKEN, ES_KEY).await;
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("Telegram and Etherscan accept the secrets"),
        "{t}"
    );
    assert_no_secret(&t, &[TG_TOKEN, ES_KEY]);
}

#[actix_rt::test]
async fn an_http_port_in_use_exits_1_naming_http_listen() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let w = World::new(Tweaks {
        extra: format!("\n[http]\nlisten = \"127.0.0.1:{port}\"\n"),
        ..Tweaks::default()
    })
    .await;
    let o = run_bin(&["run"], &w.config, TG_TOKEN, ES_KEY).await;
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("http.listen") && t.contains(&port.to_string()),
        "{t}"
    );
}
