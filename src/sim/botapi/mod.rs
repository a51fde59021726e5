//! The simulated Telegram Bot API (being written).
