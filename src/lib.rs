//! usdt-monitor: a supervised actor daemon that watches EVM chains for USDT
//! and USDC transfers and tells Telegram subscribers about them.
pub mod app;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod etherscan;
pub mod logging;
pub mod metrics;
pub mod notification;
pub mod sim;
pub mod spam;
pub mod supervisor;
pub mod telegram;
pub mod ticker;
