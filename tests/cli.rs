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
            "url = \"https://h\"\nsecret_env = \"S\"\nchains = [\"tron\"]\n",
            "webhook[0].chains",
        ),
        (
            "url = \"https://h\"\nsecret_env = \"S\"\nretries = 3\n",
            "retries",
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
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("not/yet/there/monitor.db");
    let mut child = run_daemon(&db_config(&dir, &db))
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
