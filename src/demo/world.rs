//! The simulated world the demo runs in.

use crate::app::Shared;
use crate::config::{Config, Secret, Secrets};
use crate::domain::{Address, Amount, TokenSymbol};
use crate::sim::botapi::{SentMessage, SimBotApi, SimBotOptions};
use crate::sim::etherscan::{InjectedTransfer, SimEtherscan, SimEtherscanOptions};
use crate::sim::tron::{SimTronGrid, SimTronGridOptions};

use super::Pace;

pub const API_KEY: &str = "demo-etherscan-key";
pub const BOT_TOKEN: &str = "424242:demo-bot-token";
pub const ADMIN: i64 = 1;
pub const ALICE: i64 = 42;

pub struct World {
    pub es: SimEtherscan,
    /// The simulated TronGrid (keyless: the demo has no TRONGRID_API_KEY).
    pub tron: SimTronGrid,
    pub bot: SimBotApi,
    pub shared: Shared,
    /// Holds the temporary database; removed when the demo ends.
    _dir: tempfile::TempDir,
}

impl World {
    pub async fn start(pace: Pace) -> std::io::Result<World> {
        let es = SimEtherscan::start(SimEtherscanOptions {
            api_key: API_KEY.into(),
            chains: vec![1],
            // The simulator dates the starting head at the wall-clock time it
            // started (12 s a block before it): the demo shows today's times.
            start_block: 8_000_000,
            block_time: Some(pace.block_time),
            noise_per_block: 40,
            rate_limit_per_sec: Some(5),
            query_timeout_above: Some(5_000),
            seed: 2026,
        })
        .await?;
        let tron = SimTronGrid::start(SimTronGridOptions {
            valid_keys: Vec::new(),
            block_time: Some(pace.block_time),
            // Solidified 3 blocks behind the head (19 on the real chain).
            solid_lag: 3,
            noise_per_block: 20,
            seed: 2026,
            ..SimTronGridOptions::default()
        })
        .await?;
        let bot = SimBotApi::start(SimBotOptions {
            token: BOT_TOKEN.into(),
            ..Default::default()
        })
        .await?;
        let dir = tempfile::tempdir()?;
        let mut config = Config::default();
        config.telegram.api_url = bot.api_url();
        config.telegram.admins = vec![ADMIN];
        config.telegram.long_poll_timeout = std::time::Duration::from_secs(1);
        config.etherscan.base_url = es.base_url();
        // The demo has no Blockscout: its story stays on the simulated chain.
        config.blockscout.enabled = false;
        config.etherscan.requests_per_second = 5;
        config.etherscan.request_timeout = std::time::Duration::from_secs(3);
        config.monitor.chains = vec!["ethereum".into(), "tron".into()];
        config.tron.api_url = tron.base_url();
        config.tron.requests_per_second = 5;
        config.tron.request_timeout = std::time::Duration::from_secs(3);
        config.monitor.poll_interval = pace.poll_interval;
        config.monitor.confirmations = 2;
        // The demo shows the whole-contract scan and its rejections.
        config.monitor.scan_mode = crate::config::ScanMode::Logs;
        config.database.path = dir.path().join("demo.db");
        config.supervisor.fault_injection = true;
        config.supervisor.backoff_min = std::time::Duration::from_millis(200);
        config.supervisor.backoff_max = std::time::Duration::from_secs(2);
        config.supervisor.shutdown_timeout = std::time::Duration::from_secs(5);
        let secrets = Secrets {
            telegram_token: Secret::new(BOT_TOKEN),
            etherscan_key: Some(Secret::new(API_KEY)),
            tron_key: None,
        };
        Ok(World {
            es,
            tron,
            bot,
            shared: Shared::new(config, secrets).map_err(std::io::Error::other)?,
            _dir: dir,
        })
    }

    /// Puts a transfer of a registered token in the next block.
    pub fn transfer(&self, token: TokenSymbol, from: &Address, to: &Address, raw: u128) -> String {
        self.es.transfer(1, token, from, to, Amount::from_u128(raw))
    }

    /// Puts a transfer of any contract in the next block.
    pub fn transfer_of(
        &self,
        contract: Address,
        from: &Address,
        to: &Address,
        raw: u128,
    ) -> String {
        self.es
            .inject_transfer(
                1,
                InjectedTransfer {
                    contract,
                    from: from.clone(),
                    to: to.clone(),
                    amount: Amount::from_u128(raw),
                    block: None,
                },
            )
            .0
    }

    pub fn sent(&self) -> Vec<SentMessage> {
        self.bot.sent()
    }
}
