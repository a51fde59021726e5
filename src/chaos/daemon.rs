//! The real `usdt-monitor` binary as a child process: its configuration,
//! start, SIGKILL, SIGTERM, exit, and what `/proc` says about it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

/// The Telegram token and Etherscan key the campaign's simulators accept.
pub const TG_TOKEN: &str = "987654:chaos-token";
pub const ES_KEY: &str = "chaos-etherscan-key";
/// The admin who sends `/panic`.
pub const ADMIN: i64 = 1000;

/// The campaign's daemon configuration: the simulators' URLs, short
/// timeouts and backoffs (so faults come and go within seconds), panics
/// allowed, JSON logs (crashes are read back from them), and spam warnings
/// on for everyone so that every transfer is a message to check.
pub fn config_text(bot_url: &str, es_url: &str, db: &Path) -> String {
    format!(
        r#"
[telegram]
api_url = "{bot_url}"
admins = [{ADMIN}]
long_poll_timeout = "1s"
send_timeout = "2s"
command_limit = 60

[etherscan]
base_url = "{es_url}"
requests_per_second = 20
request_timeout = "2s"
daily_cap_probe_interval = "2s"
invalid_key_probe_interval = "2s"

# No fallback: the campaign injects Etherscan's faults as they are (and never
# reaches a public Blockscout instance).
[blockscout]
enabled = false

[monitor]
poll_interval = "500ms"
confirmations = 2
# The campaign's faults and checks are the whole-contract scan's.
scan_mode = "logs"

[database]
path = "{db}"

[supervisor]
backoff_min = "50ms"
backoff_max = "1s"
shutdown_timeout = "10s"
fault_injection = true

[log]
format = "json"
level = "info"

[spam]
default_mode = "on"
"#,
        db = db.display(),
    )
}

/// The daemon process, started as often as the campaign needs.
#[derive(Debug)]
pub struct Daemon {
    bin: PathBuf,
    dir: PathBuf,
    config: PathBuf,
    child: Option<Child>,
    runs: u32,
}

impl Daemon {
    /// `dir` holds the configuration file, the database and one log file
    /// per run.
    pub fn new(bin: PathBuf, dir: &Path, config_text: &str) -> std::io::Result<Daemon> {
        let config = dir.join("config.toml");
        std::fs::write(&config, config_text)?;
        Ok(Daemon {
            bin,
            dir: dir.to_path_buf(),
            config,
            child: None,
            runs: 0,
        })
    }

    /// The log (standard error) of run `n`, 1-based.
    pub fn log_path(&self, n: u32) -> PathBuf {
        self.dir.join(format!("daemon-{n}.log"))
    }

    pub fn runs(&self) -> u32 {
        self.runs
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Starts a new run (its own log file).
    pub fn start(&mut self) -> std::io::Result<()> {
        self.runs += 1;
        let stderr = std::fs::File::create(self.log_path(self.runs))?;
        let child = Command::new(&self.bin)
            .arg("run")
            .arg("--config")
            .arg(&self.config)
            .env("TELEGRAM_BOT_TOKEN", TG_TOKEN)
            .env("ETHERSCAN_API_KEY", ES_KEY)
            .env_remove("RUST_LOG")
            // A backtrace after each injected panic would load the debug
            // line tables (~125 MiB resident for the rest of the process)
            // and make the memory figure the symbolizer's, not the daemon's.
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()?;
        self.child = Some(child);
        Ok(())
    }

    /// SIGKILL, and reaps the process. False if it was not running.
    pub fn kill9(&mut self) -> bool {
        match self.child.take() {
            Some(mut child) => {
                let _ = child.kill();
                let _ = child.wait();
                true
            }
            None => false,
        }
    }

    /// Sends SIGTERM (the exit is noticed by [`Daemon::exited`]). False if
    /// it was not running or the signal could not be sent.
    pub fn term(&self) -> bool {
        let Some(pid) = self.pid() else { return false };
        Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The exit status, once, if the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        let status = self.child.as_mut()?.try_wait().ok()??;
        self.child = None;
        Some(status)
    }

    /// Open descriptors and resident memory (KiB) of the running process.
    pub fn sample(&self) -> Option<(usize, u64)> {
        let pid = self.pid()?;
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let rss = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())?;
        Some((fds, rss))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// How an exit status reads in a report: "exit 0", "signal 9".
pub fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(sig)) => format!("signal {sig}"),
        _ => "unknown".into(),
    }
}
