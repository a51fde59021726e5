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
//! * The address's form says its kind: `T…` is a Tron address (base58check,
//!   checksum checked), anything else is read as an EVM `0x…` address
//!   (EIP-55 checked). A chain named after it must be of the same kind:
//!   `/add 0x… tron` is refused (a Tron address is given in its `T…` form,
//!   the form wallets and tronscan show), as is `/add T… ethereum`.

use crate::config::SpamMode;
use crate::domain::{Address, AddressError, Chain, ChainAddressError, ChainKind};

/// The longest label, in characters.
pub const MAX_LABEL_CHARS: usize = 32;

/// The actors an admin may name in `/restart` and `/panic`.
pub const ACTORS: &[&str] = crate::app::CHILDREN;

/// Every command the bot knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Start,
    Help,
    Add,
    Remove,
    List,
    Spam,
    Status,
    Stats,
    Pause,
    Resume,
    Restart,
    Panic,
}

impl Kind {
    pub const ALL: [Kind; 12] = [
        Kind::Start,
        Kind::Help,
        Kind::Add,
        Kind::Remove,
        Kind::List,
        Kind::Spam,
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
            Kind::Remove => "/remove <address> [chain]",
            Kind::List => "/list",
            Kind::Spam => "/spam [n | on | off | digest]",
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
        address: Address,
        /// Told by the address's form: `T…` Tron, `0x…` EVM.
        kind: ChainKind,
        /// `None`: on every chain of that kind.
        chain: Option<&'static str>,
    },
    List,
    Spam(SpamArg),
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
            Command::Add {
                address,
                kind,
                chain,
                label: (!label.is_empty()).then_some(label),
            }
        }
        Kind::Remove => {
            let (address, kind) = address(words.next())?;
            let chain = match words.next() {
                None => None,
                Some(w) => Some(of_kind(chain(w)?, kind)?),
            };
            if words.next().is_some() {
                return Err("too many arguments".into());
            }
            Command::Remove {
                address,
                kind,
                chain,
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
                    address: addr(),
                    kind: ChainKind::Evm,
                    chain: None,
                }),
            ),
            (
                format!("/remove {A} ethereum"),
                Parsed::Command(Command::Remove {
                    address: addr(),
                    kind: ChainKind::Evm,
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
                address: t.clone(),
                kind: ChainKind::Tron,
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
