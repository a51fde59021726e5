//! The world an end-to-end test runs in: the simulated Etherscan and Bot
//! API in this process, and the real `usdt-monitor` binary as a child
//! process pointed at them. Tests drive it only through Telegram updates and
//! Etherscan data, and observe only what the simulators record, its exit
//! code and its logs.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use usdt_monitor::domain::{Address, Amount, TokenSymbol};
use usdt_monitor::sim::botapi::{SentMessage, SimBotApi, SimBotOptions};
use usdt_monitor::sim::etherscan::{SimEtherscan, SimEtherscanOptions};
use usdt_monitor::sim::tron::{SimTronGrid, SimTronGridOptions};

pub const ES_KEY: &str = "es-SECRET-key-7f3a9c";
pub const TG_TOKEN: &str = "987654:tg-SECRET-token-c4f1e2";
pub const ADMIN: i64 = 1000;
pub const WAIT: Duration = Duration::from_secs(30);

pub struct World {
    pub es: SimEtherscan,
    pub bot: SimBotApi,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub daemon: Option<Child>,
    runs: u32,
    env: Vec<(String, String)>,
    unset: Vec<&'static str>,
}

/// Extra lines appended to the test configuration (e.g. "[telegram]\nsend_rate = 50").
#[derive(Default, Clone)]
pub struct Tweaks {
    pub extra: String,
    /// Extra lines for the `[telegram]` table (e.g. "command_limit = 100").
    pub telegram: String,
    pub poll_interval: Option<&'static str>,
    /// `monitor.chains` (TOML array text, e.g. `["ethereum", "tron"]`); default: ethereum.
    pub chains: Option<&'static str>,
    /// Extra environment variables for the daemon (e.g. a webhook secret).
    pub env: Vec<(String, String)>,
    /// Environment variables the daemon runs without (e.g. `ETHERSCAN_API_KEY`).
    pub unset: Vec<&'static str>,
}

impl World {
    pub async fn new(tweaks: Tweaks) -> World {
        let es = SimEtherscan::start(SimEtherscanOptions {
            api_key: ES_KEY.into(),
            chains: vec![1],
            start_block: 5_000_000,
            block_time: Some(Duration::from_millis(250)),
            noise_per_block: 5,
            rate_limit_per_sec: Some(20),
            query_timeout_above: None,
            seed: 7,
        })
        .await
        .expect("simulated Etherscan starts");
        let bot = SimBotApi::start(SimBotOptions {
            token: TG_TOKEN.into(),
            ..Default::default()
        })
        .await
        .expect("simulated Bot API starts");
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        let text = format!(
            r#"
[telegram]
api_url = "{bot}"
admins = [{ADMIN}]
long_poll_timeout = "1s"
{telegram}

[etherscan]
base_url = "{es}"
requests_per_second = 20
request_timeout = "2s"
# A paused Etherscan (daily cap, revoked key) is probed within a test's wait.
daily_cap_probe_interval = "1s"
invalid_key_probe_interval = "1s"

# No fallback: these tests see Etherscan's faults as they are (and never
# reach a public Blockscout instance).
[blockscout]
enabled = false

[monitor]
poll_interval = "{poll}"
confirmations = 2
chains = {chains}
# These tests exercise the whole-contract scan (scan modes: tests/scan_mode.rs).
scan_mode = "logs"

[database]
path = "{db}"

[supervisor]
backoff_min = "50ms"
backoff_max = "1s"
shutdown_timeout = "5s"
fault_injection = true

[log]
format = "json"
level = "debug"
{extra}
"#,
            bot = bot.api_url(),
            es = es.base_url(),
            poll = tweaks.poll_interval.unwrap_or("500ms"),
            chains = tweaks.chains.unwrap_or(r#"["ethereum"]"#),
            db = dir.path().join("data/monitor.db").display(),
            extra = tweaks.extra,
            telegram = tweaks.telegram,
        );
        std::fs::write(&config, text).unwrap();
        World {
            es,
            bot,
            dir,
            config,
            daemon: None,
            runs: 0,
            env: tweaks.env,
            unset: tweaks.unset,
        }
    }

    /// The log file of run `n` (1-based).
    pub fn log_path(&self, n: u32) -> PathBuf {
        self.dir.path().join(format!("daemon-{n}.log"))
    }

    pub fn stdout_path(&self, n: u32) -> PathBuf {
        self.dir.path().join(format!("daemon-{n}.out"))
    }

    /// Starts the daemon (optionally under a shell prefix such as `ulimit -n 64;`).
    pub fn start_daemon_with(&mut self, shell_prefix: Option<&str>) {
        self.runs += 1;
        let stderr = std::fs::File::create(self.log_path(self.runs)).unwrap();
        let stdout = std::fs::File::create(self.stdout_path(self.runs)).unwrap();
        let bin = env!("CARGO_BIN_EXE_usdt-monitor");
        let mut cmd = match shell_prefix {
            Some(prefix) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("{prefix} exec \"$0\" run --config \"$1\""))
                    .arg(bin)
                    .arg(&self.config);
                c
            }
            None => {
                let mut c = Command::new(bin);
                c.arg("run").arg("--config").arg(&self.config);
                c
            }
        };
        cmd.env("TELEGRAM_BOT_TOKEN", TG_TOKEN)
            .env("ETHERSCAN_API_KEY", ES_KEY)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env_remove("RUST_LOG");
        for var in &self.unset {
            cmd.env_remove(var);
        }
        cmd.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
        self.daemon = Some(cmd.spawn().expect("the daemon starts"));
    }

    pub fn start_daemon(&mut self) {
        self.start_daemon_with(None)
    }

    pub fn pid(&self) -> u32 {
        self.daemon.as_ref().expect("daemon running").id()
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Waits for the daemon to exit (at most `within`).
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let child = self.daemon.as_mut().expect("daemon running");
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.daemon = None;
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the daemon did not exit within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn kill9(&mut self) {
        if let Some(mut child) = self.daemon.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn logs(&self, n: u32) -> String {
        std::fs::read_to_string(self.log_path(n)).unwrap_or_default()
    }

    /// A user says something; waits for the bot's reply to it.
    pub async fn say(&self, user: i64, text: &str) -> String {
        let before = self.bot.sent_to(user).len();
        self.bot.user_says(user, text);
        let sent = self
            .bot
            .wait_for(WAIT, |all| {
                all.iter().filter(|m| m.chat_id == user).count() > before
            })
            .await
            .unwrap_or_else(|all| panic!("no reply to {text:?}; sent so far: {:#?}", texts(&all)));
        sent.into_iter()
            .filter(|m| m.chat_id == user)
            .nth(before)
            .unwrap()
            .text
    }

    /// Waits until `user` has received `n` messages containing `needle`.
    pub async fn wait_messages(&self, user: i64, needle: &str, n: usize) -> Vec<SentMessage> {
        let matching = |all: &[SentMessage]| {
            all.iter()
                .filter(|m| m.chat_id == user && m.text.contains(needle))
                .count()
        };
        match self.bot.wait_for(WAIT, |all| matching(all) >= n).await {
            Ok(all) => all
                .into_iter()
                .filter(|m| m.chat_id == user && m.text.contains(needle))
                .collect(),
            Err(all) => panic!(
                "user {user} did not get {n} × {needle:?}; got {:#?}",
                texts(&all)
            ),
        }
    }

    /// Each transaction reached `user` exactly once.
    pub fn assert_delivered_once<'a>(&self, user: i64, txs: impl IntoIterator<Item = &'a String>) {
        let sent = self.bot.sent_to(user);
        for tx in txs {
            let n = sent.iter().filter(|m| m.text.contains(tx.as_str())).count();
            assert_eq!(n, 1, "transfer {tx} delivered {n} times");
        }
    }

    /// A transfer of `raw` units of a registered token on Ethereum, in the next block.
    pub fn transfer(&self, token: TokenSymbol, from: &Address, to: &Address, raw: u128) -> String {
        self.es.transfer(1, token, from, to, Amount::from_u128(raw))
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn texts(all: &[SentMessage]) -> Vec<(i64, String)> {
    all.iter().map(|m| (m.chat_id, m.text.clone())).collect()
}

/// A deterministic address: `0x` + the hex digit repeated.
pub fn addr(digit: char) -> Address {
    Address::parse(&format!("0x{}", digit.to_string().repeat(40))).unwrap()
}

/// Parses the JSON log lines of a run.
pub fn json_lines(log: &str) -> Vec<serde_json::Value> {
    log.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The actors a run's log says were stopped, in order.
pub fn stopped_actors(log: &str) -> Vec<String> {
    json_lines(log)
        .iter()
        .filter(|l| l["message"] == "actor stopped")
        .filter_map(|l| l["actor"].as_str().map(String::from))
        .collect()
}

/// Open descriptors of another process.
pub fn descriptors_of(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// The simulated TronGrid of the Tron tests: a block every 200 ms, solid
/// blocks 3 behind, `key` its only valid key.
pub fn fast_tron(key: &str) -> SimTronGridOptions {
    SimTronGridOptions {
        valid_keys: vec![key.into()],
        block_time: Some(Duration::from_millis(200)),
        solid_lag: 3,
        ..SimTronGridOptions::default()
    }
}

/// A world watching Ethereum and Tron through a simulated TronGrid started
/// with `sim`, the daemon (not started yet) given `key` as
/// TRONGRID_API_KEY and `more` appended to its config.
pub async fn tron_world(sim: SimTronGridOptions, key: &str, more: &str) -> (World, SimTronGrid) {
    let tron = SimTronGrid::start(sim)
        .await
        .expect("simulated TronGrid starts");
    let w = World::new(Tweaks {
        chains: Some(r#"["ethereum", "tron"]"#),
        extra: format!(
            "\n[tron]\napi_url = \"{}\"\nrequests_per_second = 50\nrequest_timeout = \"2s\"\n{more}",
            tron.base_url()
        ),
        env: vec![("TRONGRID_API_KEY".into(), key.into())],
        ..Tweaks::default()
    })
    .await;
    (w, tron)
}
