//! Command text → [`Parsed`]: a pure function, table-tested.
//!
//! Knows the syntax of every command and nothing of the configuration,
//! the database or the caller's rights: what is *allowed* is decided by
//! the handlers. A malformed command becomes [`Parsed::Invalid`] carrying
//! what was wrong; the reply adds the correct usage from [`Kind::usage`].
//!
//! Syntax decisions:
//! * `/cmd@anybot` is accepted: in a private chat every command is for us.
//! * Command names are case-insensitive; arguments are separated by
//!   whitespace.
//! * Separators are Unicode whitespace (so a non-breaking space separates)
//!   and the zero-width space U+200B, which some pages put between words
//!   and which a user cannot see. Other invisible characters inside an
//!   address are named in the error (`U+2060`), and a label may not carry
//!   bidirectional overrides (they would reorder how `/list` reads).
//! * `/add <address> [chain] [label]`: the word after the address is a
//!   chain when it names a chain of the registry (`ethereum`, `polygon`,
//!   …); everything after is the label. So a label cannot begin with a
//!   chain name.
//! * Wherever an address is expected (`/remove`, `/set`, `/mute`,
//!   `/unmute`), a label may stand instead: a first word starting with `0x`
//!   (or a 34-character `T…`) is an address, anything else a label (matched case-insensitively).
//! * `/set <address|label> min <amount>` and `… direction in|out|both`: the
//!   last two words are the setting, everything before is the target.
//!   Amounts are exact decimals in token units (`100`, `0.5`; `0` clears).
//! * `/mute <address|label> [duration]`: a last word that starts with a
//!   digit is the duration (`30m`, `8h`, `2d`, `1w`, up to 365 days); so a
//!   label whose last word starts with a digit cannot be muted by label
//!   without a duration.

//! * The address's form says its kind: `T…` is a Tron address (base58check,
//!   checksum checked), anything else is read as an EVM `0x…` address
//!   (EIP-55 checked). A chain named after it must be of the same kind:
//!   `/add 0x… tron` is refused (a Tron address is given in its `T…` form,
//!   the form wallets and tronscan show), as is `/add T… ethereum`.

use crate::config::SpamMode;
use crate::db::settings::{DirectionFilter, MIN_SCALE, Target};
use crate::domain::{Address, AddressError, Amount, Chain, ChainAddressError, ChainKind};

/// The longest label, in characters.
pub const MAX_LABEL_CHARS: usize = 32;

/// The most integer digits a minimum may have (below a trillion tokens).
pub const MAX_MIN_DIGITS: usize = 12;

/// The longest mute with an end, in seconds (365 days).
pub const MAX_MUTE_SECS: u64 = 365 * 24 * 3600;

/// The actors an admin may name in `/restart` and `/panic`.
pub const ACTORS: &[&str] = crate::children::CHILDREN;

/// Every command the bot knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Start,
    Help,
    Add,
    Remove,
    List,
    Spam,
    Set,
    Mute,
    Unmute,
    Status,
    Stats,
    Pause,
    Resume,
    Restart,
    Panic,
}

impl Kind {
    pub const ALL: [Kind; 15] = [
        Kind::Start,
        Kind::Help,
        Kind::Add,
        Kind::Remove,
        Kind::List,
        Kind::Spam,
        Kind::Set,
        Kind::Mute,
        Kind::Unmute,
        Kind::Status,
        Kind::Stats,
        Kind::Pause,
        Kind::Resume,
        Kind::Restart,
        Kind::Panic,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Start => "start",
            Kind::Help => "help",
            Kind::Add => "add",
            Kind::Remove => "remove",
            Kind::List => "list",
            Kind::Spam => "spam",
            Kind::Set => "set",
            Kind::Mute => "mute",
            Kind::Unmute => "unmute",
            Kind::Status => "status",
            Kind::Stats => "stats",
            Kind::Pause => "pause",
            Kind::Resume => "resume",
            Kind::Restart => "restart",
            Kind::Panic => "panic",
        }
    }

    /// Only for user ids in `telegram.admins`.
    pub fn is_admin(self) -> bool {
        matches!(
            self,
            Kind::Status | Kind::Stats | Kind::Pause | Kind::Resume | Kind::Restart | Kind::Panic
        )
    }

    /// The usage line (plain text: the reply escapes it).
    pub fn usage(self) -> &'static str {
        match self {
            Kind::Start => "/start",
            Kind::Help => "/help",
            Kind::Add => "/add <address> [chain] [label]",
            Kind::Remove => "/remove <address|label> [chain]",
            Kind::List => "/list",
            Kind::Spam => "/spam [n | on | off | digest]",
            Kind::Set => "/set <address|label> min <amount> | direction <in|out|both>",
            Kind::Mute => "/mute <address|label> [30m | 8h | 2d | 1w]",
            Kind::Unmute => "/unmute <address|label>",
            Kind::Status => "/status",
            Kind::Stats => "/stats",
            Kind::Pause => "/pause",
            Kind::Resume => "/resume",
            Kind::Restart => "/restart <db|etherscan|telegram|ticker|webhook|http>",
            Kind::Panic => "/panic <db|etherscan|telegram|ticker|webhook|http>",
        }
    }

    /// The one-line description for the command menu.
    pub fn description(self) -> &'static str {
        match self {
            Kind::Start => "Start receiving notifications",
            Kind::Help => "What this bot does and how to use it",
            Kind::Add => "Watch an address: /add <address> [chain] [label]",
            Kind::Remove => "Stop watching an address",
            Kind::List => "Your watched addresses",
            Kind::Spam => "Transfers held back as suspected spam",
            Kind::Set => "Per address: minimum amount or direction",
            Kind::Mute => "Silence an address for a while, or until /unmute",
            Kind::Unmute => "Hear about a muted address again",
            Kind::Status => "Admin: health of every actor and chain",
            Kind::Stats => "Admin: counters",
            Kind::Pause => "Admin: pause polling",
            Kind::Resume => "Admin: resume polling",
            Kind::Restart => "Admin: restart an actor",
            Kind::Panic => "Admin: make an actor panic (fault injection)",
        }
    }

    pub fn by_name(name: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
    }
}

/// A well-formed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Start,
    Help,
    Add {
        address: Address,
        /// Told by the address's form: `T…` Tron, `0x…` EVM.
        kind: ChainKind,
        /// A registry chain name (lowercase) of that kind; `None`: every
        /// configured chain of that kind.
        chain: Option<&'static str>,
        label: Option<String>,
    },
    Remove {
        /// An address carries its kind, told by its form (`T…` Tron, `0x…`
        /// EVM).
        target: Target,
        /// `None`: on every chain of the target's kind.
        chain: Option<&'static str>,
    },
    List,
    Spam(SpamArg),
    Set {
        target: Target,
        setting: Setting,
    },
    Mute {
        target: Target,
        /// `None`: until `/unmute`.
        secs: Option<u64>,
    },
    Unmute {
        target: Target,
    },
    Status,
    Stats,
    Pause,
    Resume,
    Restart(&'static str),
    Panic(&'static str),
}

impl Command {
    pub fn kind(&self) -> Kind {
        match self {
            Command::Start => Kind::Start,
            Command::Help => Kind::Help,
            Command::Add { .. } => Kind::Add,
            Command::Remove { .. } => Kind::Remove,
            Command::List => Kind::List,
            Command::Spam(_) => Kind::Spam,
            Command::Set { .. } => Kind::Set,
            Command::Mute { .. } => Kind::Mute,
            Command::Unmute { .. } => Kind::Unmute,
            Command::Status => Kind::Status,
            Command::Stats => Kind::Stats,
            Command::Pause => Kind::Pause,
            Command::Resume => Kind::Resume,
            Command::Restart(_) => Kind::Restart,
            Command::Panic(_) => Kind::Panic,
        }
    }
}

/// `/spam`: list the flagged transfers, or choose how to hear about them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpamArg {
    /// Show the latest `n` flagged transfers.
    List(usize),
    Mode(SpamMode),
}

/// `/set`: one setting of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// `None`: clear the minimum (`min 0`).
    Min(Option<MinAmount>),
    Direction(DirectionFilter),
}

/// A minimum amount as typed, exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinAmount {
    /// In units of 10^-[`MIN_SCALE`] token.
    pub raw: Amount,
    /// Decimal places typed, trailing zeros aside (`0.50` has 1).
    pub places: u8,
}

/// What a message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Command(Command),
    /// A known command with malformed arguments; `problem` is plain text.
    Invalid {
        kind: Kind,
        problem: String,
    },
    /// Not a command, or not one we know.
    Unknown,
}

/// Parses one message text.
pub fn parse(text: &str) -> Parsed {
    let text = text.trim_matches(is_separator);
    let Some(rest) = text.strip_prefix('/') else {
        return Parsed::Unknown;
    };
    let (head, args) = match rest.find(is_separator) {
        Some(i) => (&rest[..i], rest[i..].trim_matches(is_separator)),
        None => (rest, ""),
    };
    // `/add@sim_bot`: drop the bot name.
    let name = head.split('@').next().unwrap_or_default();
    let Some(kind) = Kind::by_name(name) else {
        return Parsed::Unknown;
    };
    match parse_args(kind, args) {
        Ok(command) => Parsed::Command(command),
        Err(problem) => Parsed::Invalid { kind, problem },
    }
}

/// What separates words: whitespace, and the invisible zero-width space.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || c == '\u{200B}'
}

/// Characters that change how text reads without being seen: bidirectional
/// embeddings, overrides and isolates.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// Characters a user cannot see: controls, format characters (zero-width
/// joiners, word joiner, byte-order mark, bidi controls), other spaces.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || is_bidi_control(c)
        || matches!(c, '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}'
            | '\u{17B4}' | '\u{17B5}' | '\u{180E}' | '\u{200B}'..='\u{200D}'
            | '\u{2060}'..='\u{2064}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
            | '\u{FFA0}' | '\u{E0000}'..='\u{E007F}')
}

fn parse_args(kind: Kind, args: &str) -> Result<Command, String> {
    let mut words = args.split(is_separator).filter(|w| !w.is_empty());
    Ok(match kind {
        // Extra words after argument-less commands are ignored (`/start`
        // carries a deep-link payload, for one).
        Kind::Start => Command::Start,
        Kind::Help => Command::Help,
        Kind::List => Command::List,
        Kind::Spam => Command::Spam(match words.next() {
            None => SpamArg::List(crate::spam::render::DEFAULT_LISTED),
            Some(w) => match w.to_ascii_lowercase().as_str() {
                "on" => SpamArg::Mode(SpamMode::On),
                "off" => SpamArg::Mode(SpamMode::Off),
                "digest" => SpamArg::Mode(SpamMode::Digest),
                n => match n.parse::<usize>() {
                    Ok(n) if (1..=crate::spam::render::MAX_LISTED).contains(&n) => SpamArg::List(n),
                    _ => {
                        return Err(format!(
                            "say how many to show (1 to {}), or on, off or digest",
                            crate::spam::render::MAX_LISTED
                        ));
                    }
                },
            },
        }),
        Kind::Status => Command::Status,
        Kind::Stats => Command::Stats,
        Kind::Pause => Command::Pause,
        Kind::Resume => Command::Resume,
        Kind::Add => {
            let (address, kind) = address(words.next())?;
            let mut rest: Vec<&str> = words.collect();
            let chain = match rest.first().and_then(|w| Chain::by_name(w)) {
                Some(c) => {
                    rest.remove(0);
                    Some(of_kind(c, kind)?)
                }
                None => None,
            };
            let label = rest.join(" ");
            check_label(&label)?;
            Command::Add {
                address,
                kind,
                chain,
                label: (!label.is_empty()).then_some(label),
            }
        }
        Kind::Remove => {
            let all: Vec<&str> = words.collect();
            match all.first() {
                Some(first) if looks_like_address(first) => {
                    let (address, kind) = address(Some(first))?;
                    let chain = match all.get(1) {
                        None => None,
                        Some(w) => Some(of_kind(chain(w)?, kind)?),
                    };
                    if all.len() > 2 {
                        return Err("too many arguments".into());
                    }
                    Command::Remove {
                        target: Target::Address(address, kind),
                        chain,
                    }
                }
                _ => Command::Remove {
                    target: target(&all)?,
                    chain: None,
                },
            }
        }
        Kind::Set => {
            let all: Vec<&str> = words.collect();
            let [head @ .., key, value] = all.as_slice() else {
                return Err(
                    "say which address, then min <amount> or direction in, out or both".into(),
                );
            };
            if head.is_empty() {
                return Err("say which address (or label) first".into());
            }
            let setting = match key.to_ascii_lowercase().as_str() {
                "min" => Setting::Min(min_amount(value)?),
                "direction" => {
                    Setting::Direction(DirectionFilter::parse(value).ok_or_else(|| {
                        format!(
                            "\"{}\" is not a direction: say in, out or both",
                            clip(value)
                        )
                    })?)
                }
                _ => {
                    return Err(format!(
                        "\"{}\" is not a setting: say min or direction",
                        clip(key)
                    ));
                }
            };
            Command::Set {
                target: target(head)?,
                setting,
            }
        }
        Kind::Mute => {
            let mut all: Vec<&str> = words.collect();
            let secs = match all.last() {
                Some(last) if all.len() > 1 && last.starts_with(|c: char| c.is_ascii_digit()) => {
                    let secs = duration(last)?;
                    all.pop();
                    Some(secs)
                }
                _ => None,
            };
            Command::Mute {
                target: target(&all)?,
                secs,
            }
        }
        Kind::Unmute => {
            let all: Vec<&str> = words.collect();
            Command::Unmute {
                target: target(&all)?,
            }
        }
        Kind::Restart | Kind::Panic => {
            let actor = words.next().ok_or("name the actor")?;
            let actor = ACTORS
                .iter()
                .copied()
                .find(|a| a.eq_ignore_ascii_case(actor))
                .ok_or_else(|| format!("there is no actor named \"{}\"", clip(actor)))?;
            if words.next().is_some() {
                return Err("too many arguments".into());
            }
            if kind == Kind::Restart {
                Command::Restart(actor)
            } else {
                Command::Panic(actor)
            }
        }
    })
}

/// The address and its kind, told by its form: `T…` is Tron, anything else
/// is read as an EVM `0x…` address.
fn address(word: Option<&str>) -> Result<(Address, ChainKind), String> {
    let word = word.ok_or("the address is missing")?;
    if let Some(c) = word.chars().find(|&c| is_invisible(c)) {
        return Err(format!(
            "\"{}\" is not a valid address: it contains the invisible character U+{:04X}; \
             type or paste the address again",
            clip(word),
            c as u32
        ));
    }
    let kind = if word.starts_with('T') {
        ChainKind::Tron
    } else {
        ChainKind::Evm
    };
    kind.parse_address(word)
        .map(|a| (a, kind))
        .map_err(|e| match e {
            ChainAddressError::Evm(AddressError::MissingPrefix) => format!(
                "\"{}\" is not a valid address: an address starts with 0x (EVM chains) or T (Tron)",
                clip(word)
            ),
            ChainAddressError::Tron(e) => {
                format!("\"{}\" is not a valid Tron address: {e}", clip(word))
            }
            e => format!("\"{}\" is not a valid address: {e}", clip(word)),
        })
}

/// A label's rules, for `/add` and wherever a label names an address.
fn check_label(label: &str) -> Result<(), String> {
    let count = label.chars().count();
    if count > MAX_LABEL_CHARS {
        return Err(format!(
            "the label is {count} characters long; at most {MAX_LABEL_CHARS} are allowed"
        ));
    }
    if label.chars().any(char::is_control) {
        return Err("the label contains control characters".into());
    }
    if let Some(c) = label.chars().find(|&c| is_bidi_control(c)) {
        return Err(format!(
            "the label contains the invisible direction mark U+{:04X}; type the label again",
            c as u32
        ));
    }
    Ok(())
}

/// `0x…` (EVM) or a 34-character `T…` (Tron): an address, not a label.
fn looks_like_address(word: &str) -> bool {
    word.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("0x"))
        || (word.starts_with('T') && word.chars().count() == 34)
}

/// An address (a first word starting with `0x`) or a label (all the words).
fn target(words: &[&str]) -> Result<Target, String> {
    match words {
        [] => Err("the address (or label) is missing".into()),
        [one] if looks_like_address(one) => {
            let (address, kind) = address(Some(one))?;
            Ok(Target::Address(address, kind))
        }
        [first, ..] if looks_like_address(first) => Err("too many arguments".into()),
        _ => {
            let label = words.join(" ");
            check_label(&label)?;
            Ok(Target::Label(label))
        }
    }
}

/// `min <amount>`: digits, optionally `.` and more digits; `0` clears.
fn min_amount(word: &str) -> Result<Option<MinAmount>, String> {
    let bad = || {
        format!(
            "\"{}\" is not an amount: write it like 100 or 0.5 (no sign, no thousands separator)",
            clip(word)
        )
    };
    let (int, frac) = word.split_once('.').unwrap_or((word, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || (word.contains('.') && frac.is_empty()) {
        return Err(bad());
    }
    if int.trim_start_matches('0').len() > MAX_MIN_DIGITS {
        return Err(format!(
            "{} is too large for a minimum (at most {MAX_MIN_DIGITS} digits before the point)",
            clip(word)
        ));
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > MIN_SCALE as usize {
        return Err(format!(
            "{} has more than {MIN_SCALE} decimal places",
            clip(word)
        ));
    }
    let int = int.trim_start_matches('0');
    let raw = Amount::parse_units(
        &format!("{}.{frac}", if int.is_empty() { "0" } else { int }),
        MIN_SCALE,
    )
    .map_err(|_| bad())?;
    Ok((!raw.is_zero()).then_some(MinAmount {
        raw,
        places: frac.len() as u8,
    }))
}

/// `30m`, `8h`, `2d`, `1w`: a positive whole number and a unit, at most
/// [`MAX_MUTE_SECS`]. Returns seconds.
fn duration(word: &str) -> Result<u64, String> {
    let unknown = || {
        format!(
            "\"{}\" is not a duration: write a number and m, h, d or w, like 30m, 8h or 2d",
            clip(word)
        )
    };
    let split = word
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(unknown)?;
    let (n, unit) = word.split_at(split);
    let unit_secs: u64 = match unit.to_ascii_lowercase().as_str() {
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 24 * 3600,
        "w" => 7 * 24 * 3600,
        _ => return Err(unknown()),
    };
    let too_long = || format!("{} is too long: at most 365 days", clip(word));
    let n: u64 = n.parse().map_err(|_| too_long())?;
    if n == 0 {
        return Err("a mute of zero does nothing; give a duration like 8h".into());
    }
    let secs = n.checked_mul(unit_secs).ok_or_else(too_long)?;
    if secs > MAX_MUTE_SECS {
        return Err(too_long());
    }
    Ok(secs)
}

/// `chain`'s name, if an address of `kind` can be watched on it.
fn of_kind(chain: Chain, kind: ChainKind) -> Result<&'static str, String> {
    match (kind, chain.kind) {
        (ChainKind::Evm, ChainKind::Tron) => Err(format!(
            "on {} give the address in its T… form (34 characters); a 0x… address is watched on EVM chains",
            chain.display
        )),
        (ChainKind::Tron, ChainKind::Evm) => Err(format!(
            "a T… address is a Tron address; {} takes 0x… addresses",
            chain.display
        )),
        _ => Ok(chain.name),
    }
}

fn chain(word: &str) -> Result<Chain, String> {
    Chain::by_name(word).ok_or_else(|| {
        format!(
            "\"{}\" is not a chain (known: {})",
            clip(word),
            Chain::names().join(", ")
        )
    })
}

/// User input echoed in an error is cut short, and what cannot be seen
/// is shown as its code point (`U+200D`).
fn clip(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().take(48) {
        if is_invisible(c) {
            out += &format!("U+{:04X}", c as u32);
        } else {
            out.push(c);
        }
    }
    if s.chars().nth(48).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
    const A_LOWER: &str = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";

    fn addr() -> Address {
        Address::parse(A).unwrap()
    }

    fn add(chain: Option<&'static str>, label: Option<&str>) -> Parsed {
        Parsed::Command(Command::Add {
            address: addr(),
            kind: ChainKind::Evm,
            chain,
            label: label.map(String::from),
        })
    }

    fn invalid(kind: Kind, needle: &str) -> impl Fn(&Parsed) -> bool {
        let needle = needle.to_string();
        move |p| matches!(p, Parsed::Invalid { kind: k, problem } if *k == kind && problem.contains(&needle))
    }

    #[test]
    fn well_formed_commands() {
        let table: Vec<(String, Parsed)> = vec![
            ("/start".into(), Parsed::Command(Command::Start)),
            (
                "/start deep-link-payload".into(),
                Parsed::Command(Command::Start),
            ),
            ("/help".into(), Parsed::Command(Command::Help)),
            ("  /HELP  ".into(), Parsed::Command(Command::Help)),
            ("/help@sim_bot".into(), Parsed::Command(Command::Help)),
            ("/list".into(), Parsed::Command(Command::List)),
            (
                "/spam".into(),
                Parsed::Command(Command::Spam(SpamArg::List(10))),
            ),
            (
                "/spam 25".into(),
                Parsed::Command(Command::Spam(SpamArg::List(25))),
            ),
            (
                "/spam ON".into(),
                Parsed::Command(Command::Spam(SpamArg::Mode(SpamMode::On))),
            ),
            (
                "/spam digest".into(),
                Parsed::Command(Command::Spam(SpamArg::Mode(SpamMode::Digest))),
            ),
            (format!("/add {A}"), add(None, None)),
            (format!("/add@sim_bot {A}"), add(None, None)),
            (format!("/add {A_LOWER}"), add(None, None)),
            (format!("/add {A} Savings"), add(None, Some("Savings"))),
            (
                format!("/add {A}   My   cold wallet "),
                add(None, Some("My cold wallet")),
            ),
            (format!("/add {A} polygon"), add(Some("polygon"), None)),
            (
                format!("/add {A} Polygon Hot wallet"),
                add(Some("polygon"), Some("Hot wallet")),
            ),
            (format!("/add {A} <b>x</b>"), add(None, Some("<b>x</b>"))),
            (
                format!("/add {A} {}", "x".repeat(32)),
                add(None, Some(&"x".repeat(32))),
            ),
            (
                format!("/remove {A}"),
                Parsed::Command(Command::Remove {
                    target: Target::Address(addr(), ChainKind::Evm),
                    chain: None,
                }),
            ),
            (
                format!("/remove {A} ethereum"),
                Parsed::Command(Command::Remove {
                    target: Target::Address(addr(), ChainKind::Evm),
                    chain: Some("ethereum"),
                }),
            ),
            ("/status".into(), Parsed::Command(Command::Status)),
            ("/stats".into(), Parsed::Command(Command::Stats)),
            ("/pause".into(), Parsed::Command(Command::Pause)),
            ("/resume".into(), Parsed::Command(Command::Resume)),
            (
                "/restart db".into(),
                Parsed::Command(Command::Restart("db")),
            ),
            (
                "/restart Telegram".into(),
                Parsed::Command(Command::Restart("telegram")),
            ),
            (
                "/panic ticker".into(),
                Parsed::Command(Command::Panic("ticker")),
            ),
        ];
        for (text, expected) in table {
            assert_eq!(parse(&text), expected, "{text}");
        }
    }

    #[test]
    fn unknown_things() {
        for text in [
            "hello",
            "",
            "/",
            "/foo",
            "/addd 0x1",
            "0x5aaeb605",
            "/@bot",
            "add",
        ] {
            assert_eq!(parse(text), Parsed::Unknown, "{text:?}");
        }
    }

    #[test]
    fn malformed_arguments_say_what_is_wrong() {
        let bad_checksum = "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
        type Check = Box<dyn Fn(&Parsed) -> bool>;
        let table: Vec<(String, Check)> = vec![
            ("/add".into(), Box::new(invalid(Kind::Add, "missing"))),
            ("/spam 0".into(), Box::new(invalid(Kind::Spam, "how many"))),
            ("/spam 51".into(), Box::new(invalid(Kind::Spam, "1 to 50"))),
            (
                "/spam lots".into(),
                Box::new(invalid(Kind::Spam, "on, off or digest")),
            ),
            (
                "/add 0x1234".into(),
                Box::new(invalid(Kind::Add, "40 hex digits")),
            ),
            (
                "/add hello".into(),
                Box::new(invalid(Kind::Add, "starts with 0x")),
            ),
            (
                format!("/add {bad_checksum}"),
                Box::new(invalid(Kind::Add, "checksum")),
            ),
            ("/add 0x<b>".into(), Box::new(invalid(Kind::Add, "<b>"))),
            (
                format!("/add {A} {}", "x".repeat(33)),
                Box::new(invalid(Kind::Add, "at most 32")),
            ),
            ("/remove".into(), Box::new(invalid(Kind::Remove, "missing"))),
            (
                format!("/remove {A} mars"),
                Box::new(invalid(Kind::Remove, "not a chain")),
            ),
            (
                format!("/remove {A} ethereum x"),
                Box::new(invalid(Kind::Remove, "too many")),
            ),
            (
                "/restart".into(),
                Box::new(invalid(Kind::Restart, "name the actor")),
            ),
            (
                "/restart kernel".into(),
                Box::new(invalid(Kind::Restart, "no actor named")),
            ),
            (
                "/panic".into(),
                Box::new(invalid(Kind::Panic, "name the actor")),
            ),
            (
                "/panic db now".into(),
                Box::new(invalid(Kind::Panic, "too many")),
            ),
        ];
        for (text, check) in table {
            let parsed = parse(&text);
            assert!(check(&parsed), "{text}: {parsed:?}");
        }
    }

    fn label(l: &str) -> Target {
        Target::Label(l.into())
    }

    fn min(s: &str, places: u8) -> Setting {
        Setting::Min(Some(MinAmount {
            raw: Amount::parse_units(s, MIN_SCALE).unwrap(),
            places,
        }))
    }

    #[test]
    fn settings_commands() {
        let set = |target, setting| Parsed::Command(Command::Set { target, setting });
        let mute = |target, secs| Parsed::Command(Command::Mute { target, secs });
        let a = || Target::Address(addr(), ChainKind::Evm);
        let table: Vec<(String, Parsed)> = vec![
            (format!("/set {A} min 100"), set(a(), min("100", 0))),
            (format!("/set {A} MIN 0.5"), set(a(), min("0.5", 1))),
            (format!("/set {A} min 0.50"), set(a(), min("0.5", 1))),
            (format!("/set {A} min 007.250"), set(a(), min("7.25", 2))),
            (
                format!("/set {A} min 0.000000000000000001"),
                set(a(), min("0.000000000000000001", 18)),
            ),
            (
                format!("/set {A} min 999999999999"),
                set(a(), min("999999999999", 0)),
            ),
            (format!("/set {A} min 0"), set(a(), Setting::Min(None))),
            (format!("/set {A} min 0.000"), set(a(), Setting::Min(None))),
            (
                format!("/set {A} direction in"),
                set(a(), Setting::Direction(DirectionFilter::In)),
            ),
            (
                "/set My cold wallet direction OUT".into(),
                set(
                    label("My cold wallet"),
                    Setting::Direction(DirectionFilter::Out),
                ),
            ),
            (
                "/set Savings\u{200B}min\u{00A0}5".into(),
                set(label("Savings"), min("5", 0)),
            ),
            (
                "/set <b>x</b> min 1".into(),
                set(label("<b>x</b>"), min("1", 0)),
            ),
            (format!("/mute {A}"), mute(a(), None)),
            (format!("/mute {A} 8h"), mute(a(), Some(8 * 3600))),
            (format!("/mute {A} 30m"), mute(a(), Some(1800))),
            (format!("/mute {A} 2d"), mute(a(), Some(2 * 86_400))),
            (format!("/mute {A} 1W"), mute(a(), Some(7 * 86_400))),
            (format!("/mute {A} 365d"), mute(a(), Some(365 * 86_400))),
            (
                "/mute Hot wallet 8h".into(),
                mute(label("Hot wallet"), Some(8 * 3600)),
            ),
            ("/mute Hot wallet".into(), mute(label("Hot wallet"), None)),
            ("/mute 8h".into(), mute(label("8h"), None)),
            (
                format!("/unmute {A}"),
                Parsed::Command(Command::Unmute { target: a() }),
            ),
            (
                "/unmute Savings".into(),
                Parsed::Command(Command::Unmute {
                    target: label("Savings"),
                }),
            ),
            (
                "/remove Hot wallet".into(),
                Parsed::Command(Command::Remove {
                    target: label("Hot wallet"),
                    chain: None,
                }),
            ),
        ];
        for (text, expected) in table {
            assert_eq!(parse(&text), expected, "{text}");
        }
    }

    #[test]
    fn hostile_settings_arguments_say_what_is_wrong() {
        type Check = Box<dyn Fn(&Parsed) -> bool>;
        let table: Vec<(String, Check)> = vec![
            (
                "/set".into(),
                Box::new(invalid(Kind::Set, "say which address")),
            ),
            (
                format!("/set {A}"),
                Box::new(invalid(Kind::Set, "say which address")),
            ),
            (
                "/set min 5".into(),
                Box::new(invalid(Kind::Set, "which address (or label) first")),
            ),
            (
                format!("/set {A} min -5"),
                Box::new(invalid(Kind::Set, "not an amount")),
            ),
            (
                format!("/set {A} min +5"),
                Box::new(invalid(Kind::Set, "not an amount")),
            ),
            (
                format!("/set {A} min 1e6"),
                Box::new(invalid(Kind::Set, "not an amount")),
            ),
            (
                format!("/set {A} min 1,000"),
                Box::new(invalid(Kind::Set, "not an amount")),
            ),
            (
                format!("/set {A} min .5"),
                Box::new(invalid(Kind::Set, "not an amount")),
            ),
            (
                format!("/set {A} min 5."),
                Box::new(invalid(Kind::Set, "not an amount")),
            ),
            (
                format!("/set {A} min 1.2.3"),
                Box::new(invalid(Kind::Set, "not an amount")),
            ),
            (
                format!("/set {A} min NaN"),
                Box::new(invalid(Kind::Set, "not an amount")),
            ),
            (
                format!("/set {A} min ５"),
                Box::new(invalid(Kind::Set, "not an amount")),
            ),
            (
                format!("/set {A} min 5\u{2060}"),
                Box::new(invalid(Kind::Set, "U+2060")),
            ),
            (
                format!("/set {A} min 1000000000000"),
                Box::new(invalid(Kind::Set, "too large")),
            ),
            (
                format!("/set {A} min {}", "9".repeat(100)),
                Box::new(invalid(Kind::Set, "too large")),
            ),
            (
                format!("/set {A} min 0.{}1", "0".repeat(18)),
                Box::new(invalid(Kind::Set, "more than 18 decimal places")),
            ),
            (
                format!("/set {A} direction sideways"),
                Box::new(invalid(Kind::Set, "not a direction")),
            ),
            (
                format!("/set {A} colour <b>red</b>"),
                Box::new(invalid(Kind::Set, "\"colour\" is not a setting")),
            ),
            (
                "/set 0x1234 min 5".into(),
                Box::new(invalid(Kind::Set, "40 hex digits")),
            ),
            (
                "/set Sav\u{202E}ings min 5".into(),
                Box::new(invalid(Kind::Set, "U+202E")),
            ),
            (
                format!("/set {} min 5", "x".repeat(33)),
                Box::new(invalid(Kind::Set, "at most 32")),
            ),
            ("/mute".into(), Box::new(invalid(Kind::Mute, "missing"))),
            (
                format!("/mute {A} 5y"),
                Box::new(invalid(Kind::Mute, "not a duration")),
            ),
            (
                format!("/mute {A} 8"),
                Box::new(invalid(Kind::Mute, "not a duration")),
            ),
            (
                format!("/mute {A} 8h30m"),
                Box::new(invalid(Kind::Mute, "not a duration")),
            ),
            (
                format!("/mute {A} 1.5h"),
                Box::new(invalid(Kind::Mute, "not a duration")),
            ),
            (
                format!("/mute {A} 0h"),
                Box::new(invalid(Kind::Mute, "zero")),
            ),
            (
                format!("/mute {A} 366d"),
                Box::new(invalid(Kind::Mute, "at most 365 days")),
            ),
            (
                format!("/mute {A} 53w"),
                Box::new(invalid(Kind::Mute, "at most 365 days")),
            ),
            (
                format!("/mute {A} 99999999999999999999999h"),
                Box::new(invalid(Kind::Mute, "at most 365 days")),
            ),
            (
                format!("/mute {A} 9999999999999999h"),
                Box::new(invalid(Kind::Mute, "at most 365 days")),
            ),
            (
                format!("/mute {A} {A}"),
                Box::new(invalid(Kind::Mute, "not a duration")),
            ),
            (
                format!("/mute {A} x"),
                Box::new(invalid(Kind::Mute, "too many")),
            ),
            ("/unmute".into(), Box::new(invalid(Kind::Unmute, "missing"))),
            (
                format!("/unmute {A} now"),
                Box::new(invalid(Kind::Unmute, "too many")),
            ),
        ];
        for (text, check) in table {
            let parsed = parse(&text);
            assert!(check(&parsed), "{text}: {parsed:?}");
        }
    }

    const USDT_TRON: &str = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";

    /// `/add T…` is recognised by its form, with or without `tron`, with a
    /// label; `/remove T…` too. The stored form is the 20-byte id.
    #[test]
    fn a_tron_address_is_recognised_by_its_form() {
        let t = Address::parse_tron(USDT_TRON).unwrap();
        let add = |chain, label: Option<&str>| {
            Parsed::Command(Command::Add {
                address: t.clone(),
                kind: ChainKind::Tron,
                chain,
                label: label.map(String::from),
            })
        };
        assert_eq!(parse(&format!("/add {USDT_TRON}")), add(None, None));
        assert_eq!(
            parse(&format!("/add {USDT_TRON} tron Shop till")),
            add(Some("tron"), Some("Shop till"))
        );
        assert_eq!(
            parse(&format!("/add {USDT_TRON} Shop")),
            add(None, Some("Shop"))
        );
        assert_eq!(
            parse(&format!("/remove {USDT_TRON} TRON")),
            Parsed::Command(Command::Remove {
                target: Target::Address(t.clone(), ChainKind::Tron),
                chain: Some("tron"),
            })
        );
    }

    /// The kind `tron_typo`: a mistyped Tron address is told why, and a
    /// chain of the other kind is refused; nothing is parsed into a command.
    #[test]
    fn a_tron_typo_or_a_chain_of_the_other_kind_is_refused() {
        let typo = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u";
        let table: [(String, Kind, &str); 7] = [
            (format!("/add {typo}"), Kind::Add, "checksum does not match"),
            (
                format!("/add {}", &USDT_TRON[..33]),
                Kind::Add,
                "34 characters, this one has 33",
            ),
            (
                "/add TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj60".into(),
                Kind::Add,
                "'0' is not a base58 character",
            ),
            (
                format!("/add {USDT_TRON} ethereum"),
                Kind::Add,
                "Ethereum takes 0x",
            ),
            (
                format!("/add {A} tron"),
                Kind::Add,
                "on Tron give the address in its T… form",
            ),
            (format!("/remove {A} tron"), Kind::Remove, "T… form"),
            ("/add hello".into(), Kind::Add, "or T (Tron)"),
        ];
        for (text, kind, needle) in table {
            let parsed = parse(&text);
            assert!(invalid(kind, needle)(&parsed), "{text}: {parsed:?}");
        }
    }

    #[test]
    fn every_kind_has_a_menu_entry_that_telegram_accepts() {
        for k in Kind::ALL {
            assert!(k.name().bytes().all(|b| b.is_ascii_lowercase()));
            assert!((3..=256).contains(&k.description().len()));
            assert!(k.usage().starts_with(&format!("/{}", k.name())));
        }
    }
}

#[cfg(test)]
#[path = "parse_props.rs"]
mod props;
