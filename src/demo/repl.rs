//! `--keep-running`: the simulated world stays up and takes commands from
//! standard input, so that a person can experiment.

use std::time::Duration;

use crate::domain::{Address, Amount, Chain, TokenSymbol};
use crate::sim::etherscan::InjectedTransfer;

use super::show::Out;
use super::world::{ADMIN, World};

const HELP: &str = "\
commands:
  say <user id> <text>                  a Telegram user writes to the bot (admin is 1, alice is 42)
  send <USDT|USDC> <from> <to> <amount> a transfer in the next block (amount in tokens, e.g. 12.5)
  blocks <n>                            mine n blocks now
  status                                the admin asks /status
  help                                  this list
  quit                                  ordered shutdown";

pub async fn run(world: &World, out: Out) {
    out.title("The world keeps running (--keep-running)");
    out.note(&format!(
        "the daemon polls {} every {:?}; the bot is at {}",
        world.es.base_url(),
        world.shared.config.monitor.poll_interval,
        world.bot.api_url()
    ));
    for line in HELP.lines() {
        out.note(line);
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = world.sent().len();
    loop {
        tokio::select! {
            line = rx.recv() => {
                let Some(line) = line else { break };
                if !command(world, out, line.trim()) {
                    break;
                }
            }
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        let sent = world.sent();
        for m in &sent[seen.min(sent.len())..] {
            out.bot(&m.chat_id.to_string(), &m.text);
        }
        seen = sent.len();
    }
}

/// Runs one command; false means quit.
fn command(world: &World, out: Out, line: &str) -> bool {
    let mut words = line.split_whitespace();
    match words.next() {
        None => {}
        Some("quit" | "exit") => return false,
        Some("help") => HELP.lines().for_each(|l| out.note(l)),
        Some("status") => {
            world.bot.user_says(ADMIN, "/status");
        }
        Some("say") => {
            let user = words.next().and_then(|u| u.parse::<i64>().ok());
            let text = words.collect::<Vec<_>>().join(" ");
            match user {
                Some(user) if !text.is_empty() => {
                    out.user(&user.to_string(), &text);
                    world.bot.user_says(user, &text);
                }
                _ => out.error("usage: say <user id> <text>"),
            }
        }
        Some("blocks") => match words.next().and_then(|n| n.parse::<u64>().ok()) {
            Some(n) if n <= 10_000 => {
                world.es.advance(1, n);
                out.chain(&format!("head is now {}", world.es.head(1)));
            }
            _ => out.error("usage: blocks <n> (at most 10000)"),
        },
        Some("send") => match send(world, words.collect()) {
            Ok(what) => out.chain(&what),
            Err(e) => out.error(&e),
        },
        Some(other) => out.error(&format!("unknown command {other:?}; try help")),
    }
    true
}

fn send(world: &World, args: Vec<&str>) -> Result<String, String> {
    let [token, from, to, amount] = args[..] else {
        return Err("usage: send <USDT|USDC> <from> <to> <amount>".into());
    };
    let symbol = TokenSymbol::parse(token).ok_or("the token is USDT or USDC")?;
    let from = Address::parse(from).map_err(|e| format!("from: {e}"))?;
    let to = Address::parse(to).map_err(|e| format!("to: {e}"))?;
    let chain = Chain::by_id(1).ok_or("no ethereum in the registry")?;
    let token = chain.token(symbol).ok_or("token not registered")?;
    let raw = Amount::parse_units(amount, token.decimals).map_err(|e| format!("amount: {e}"))?;
    let (tx, _) = world.es.inject_transfer(
        1,
        InjectedTransfer {
            contract: token.contract.clone(),
            from,
            to,
            amount: raw,
            block: None,
        },
    );
    Ok(format!(
        "{amount} {} in the next block: {tx}",
        symbol.as_str()
    ))
}
