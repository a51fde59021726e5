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
