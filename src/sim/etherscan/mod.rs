//! The simulated Etherscan API V2 (being written).
