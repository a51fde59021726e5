//! usdt-monitor: a supervised actor daemon that watches EVM chains for USDT
//! and USDC transfers and tells Telegram subscribers about them.
pub mod config;
pub mod domain;
pub mod sim;
pub mod spam;
pub mod supervisor;
pub mod db;
pub mod notification;
pub mod ticker;
pub mod metrics;
pub mod app;
pub mod etherscan;
pub mod logging;
pub mod telegram;
pub mod demo;
