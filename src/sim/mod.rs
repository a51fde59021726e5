//! Simulated peers for tests, benchmarks and the demo: a local Etherscan
//! API V2, a local Telegram Bot API and a webhook receiver, all real HTTP
//! servers on 127.0.0.1.
//! The daemon talks to them with its real clients; nothing is mocked.

pub mod blockscout;
pub mod botapi;
pub mod etherscan;
pub mod webhook;
