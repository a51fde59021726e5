//! Throughput of the spam pipeline against a large history.
//!
//! Builds a [`CounterpartyIndex`] of 100 000 known counterparties for one
//! watched address, then assesses 10 000 transfers (a mix of payments from
//! known wallets, first payments from strangers, zero-value look-alikes and
//! dust) several times over and prints checks per second.
//!
//! `cargo run --release --example spam_bench`

use std::hint::black_box;
use std::time::Instant;

use usdt_monitor::config::SpamConfig;
use usdt_monitor::domain::{Address, Amount, ChainKind, Direction, TokenSymbol, Transfer};
use usdt_monitor::spam::{CounterpartyIndex, History, SpamRules, Subject, assess};

const KNOWN: usize = 100_000;
const TRANSFERS: usize = 10_000;
const PASSES: usize = 20;

/// SplitMix64: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn address(&mut self) -> Result<Address, Box<dyn std::error::Error>> {
        let (a, b, c) = (self.next(), self.next(), self.next() as u32);
        Ok(Address::parse(&format!("0x{a:016x}{b:016x}{c:08x}"))?)
    }
}

/// An address with `real`'s first 4 and last 4 hex digits and random middle.
fn lookalike(real: &Address, rng: &mut Rng) -> Result<Address, Box<dyn std::error::Error>> {
    let hex = real.hex();
    let middle = format!("{:016x}{:016x}", rng.next(), rng.next());
    Ok(Address::parse(&format!(
        "0x{}{}{}",
        &hex[..4],
        &middle,
        &hex[36..]
    ))?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rules = SpamRules::from_config(&SpamConfig::default())?;
    let mut rng = Rng(0x5eed);
    let watched = rng.address()?;

    let started = Instant::now();
    let known: Vec<Address> = (0..KNOWN)
        .map(|_| rng.address())
        .collect::<Result<_, _>>()?;
    let mut index = CounterpartyIndex::with_capacity(&rules, ChainKind::Evm, KNOWN);
    for a in &known {
        index.insert(a.clone());
    }
    let build = started.elapsed();

    let mut transfers = Vec::with_capacity(TRANSFERS);
    for i in 0..TRANSFERS {
        let roll = rng.next() % 100;
        let pick = &known[(rng.next() % KNOWN as u64) as usize];
        let (from, raw) = match roll {
            0..=69 => (pick.clone(), 250_000_000),      // repeat payer
            70..=89 => (rng.address()?, 1_000_000_000), // first payment from a stranger
            90..=94 => (lookalike(pick, &mut rng)?, 0), // classic poisoning
            _ => (rng.address()?, 5_000),               // dust
        };
        transfers.push(Transfer {
            chain_id: 1,
            tx_hash: format!("0x{i:064x}"),
            log_index: 0,
            block: 20_000_000 + i as u64,
            timestamp: 1_700_000_000 + i as u64 * 12,
            token: TokenSymbol::Usdt,
            contract: Address::parse("0xdac17f958d2ee523a2206206994597c13d831ec7")?,
            decimals: 6,
            from,
            to: watched.clone(),
            amount: Amount::from_u128(raw),
        });
    }
    // A handful of recent new counterparties, as the monitor would pass.
    let recent: Vec<(Address, u64)> = (0..16)
        .map(|i| Ok((rng.address()?, 1_700_000_000 + i * 60)))
        .collect::<Result<_, Box<dyn std::error::Error>>>()?;

    let history = History {
        known: &index,
        recent_new: &recent,
    };
    let mut suspicious = 0usize;
    let started = Instant::now();
    for _ in 0..PASSES {
        for t in &transfers {
            let subject = Subject {
                transfer: t,
                watched: &watched,
                direction: Direction::Incoming,
            };
            let verdict = assess(&rules, &subject, black_box(&history));
            suspicious += usize::from(black_box(verdict).is_suspicious());
        }
    }
    let elapsed = started.elapsed();
    let checks = (PASSES * TRANSFERS) as f64;

    println!(
        "index: {} known counterparties built in {:.1} ms",
        index.len(),
        build.as_secs_f64() * 1e3
    );
    println!(
        "assessed {} transfers x {PASSES} passes in {:.1} ms: {:.0} checks/s ({:.0} ns/check)",
        TRANSFERS,
        elapsed.as_secs_f64() * 1e3,
        checks / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e9 / checks
    );
    println!(
        "suspicious per pass: {} of {TRANSFERS}",
        suspicious / PASSES
    );
    Ok(())
}
