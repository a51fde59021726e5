//! Property tests of the command parser: whatever a user sends — any
//! unicode, invisible and non-breaking spaces, very long text, HTML — it
//! never panics, and every refusal is a short, visible, plain message.
//! Longer runs: `PROPTEST_CASES=100000 cargo test --release prop_`.
//! Each finding is a named regression test below the properties.

use proptest::prelude::*;

use super::*;

const A: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
/// Tether's Tron contract, a valid Tron address.
const T: &str = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
/// The base58 alphabet (Bitcoin's): what a typo in a `T…` address is made of.
const BASE58: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Separators a user (or a web page) may put between words.
const SPACES: [&str; 9] = [
    " ", "\u{00A0}", "\u{200B}", "\u{2003}", "\u{3000}", "\t", "\n", "\u{202F}", "  ",
];

/// Words that mean something to the parser, and some that look like it.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(A.to_string()),
        Just(A.to_lowercase()),
        Just(A.to_uppercase().replacen("0X", "0x", 1)),
        Just(format!("{A}\u{200D}")),
        Just(format!("\u{FEFF}{A}")),
        Just(A[..41].to_string()),
        Just(T.to_string()),
        Just(T.to_lowercase()),
        Just(T[..33].to_string()),
        Just(format!("{T}\u{200D}")),
        Just("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u".to_string()),
        "T[1-9A-HJ-NP-Za-km-z]{33}",
        prop::sample::select(Chain::names().to_vec()).prop_map(String::from),
        prop::sample::select(ACTORS.to_vec()).prop_map(String::from),
        prop::sample::select(vec!["on", "OFF", "digest", "0", "1", "50", "51", "-1"])
            .prop_map(String::from),
        Just("18446744073709551616".to_string()),
        prop::sample::select(vec![
            "<b>",
            "</b>",
            "&amp;",
            "&",
            "<a href=\"x\">",
            "\"",
            "'"
        ])
        .prop_map(String::from),
        Just("\u{202E}evil".to_string()),
        Just("👨\u{200D}👩\u{200D}👧".to_string()),
        "\\PC{0,40}",
        any::<String>(),
    ]
}

/// A command name as a user may type it.
fn head() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(Kind::ALL.to_vec()).prop_map(|k| k.name().to_string()),
        prop::sample::select(Kind::ALL.to_vec()).prop_map(|k| k.name().to_uppercase()),
        prop::sample::select(Kind::ALL.to_vec()).prop_map(|k| format!("{}@some_bot", k.name())),
        "\\PC{0,12}",
    ]
}

/// A message that looks like a command: `/`, a name, words and separators.
fn command_text() -> impl Strategy<Value = String> {
    (
        head(),
        prop::collection::vec((prop::sample::select(SPACES.to_vec()), word()), 0..6),
        prop::sample::select(SPACES.to_vec()),
    )
        .prop_map(|(head, words, tail)| {
            let mut s = format!("/{head}");
            for (space, w) in words {
                s += space;
                s += &w;
            }
            s + tail
        })
}

/// What every outcome must satisfy.
fn check(text: &str) -> Result<(), TestCaseError> {
    match parse(text) {
        Parsed::Invalid { problem, .. } => {
            prop_assert!(!problem.is_empty());
            // Short: at most the 48 echoed characters (each invisible one
            // written as U+XXXX) plus the explanation.
            prop_assert!(problem.chars().count() <= 48 * 6 + 200, "{problem:?}");
            prop_assert!(
                !problem.chars().any(is_invisible),
                "an invisible character in {problem:?}"
            );
        }
        Parsed::Command(Command::Add { label: Some(l), .. }) => {
            prop_assert!(!l.is_empty() && l.chars().count() <= MAX_LABEL_CHARS);
            prop_assert!(!l.chars().any(|c| c.is_control() || is_bidi_control(c)));
            prop_assert!(!l.starts_with(is_separator) && !l.ends_with(is_separator));
        }
        Parsed::Command(Command::Spam(SpamArg::List(n))) => {
            prop_assert!((1..=crate::spam::render::MAX_LISTED).contains(&n));
        }
        _ => {}
    }
    Ok(())
}

proptest! {
    #[test]
    fn prop_parse_any_text(text in any::<String>()) {
        check(&text)?;
    }

    #[test]
    fn prop_parse_command_like_text(text in command_text()) {
        check(&text)?;
    }

    #[test]
    fn prop_parse_very_long_text(text in command_text(), repeat in 1usize..200) {
        let long = text.repeat(repeat);
        check(&long)?;
        check(&format!("/add {A} {long}"))?;
    }

    /// Any separator between the words parses like a plain space.
    #[test]
    fn prop_separators_are_interchangeable(
        space in prop::sample::select(SPACES.to_vec()),
        chain in prop::sample::select(Chain::names().to_vec()),
    ) {
        let plain = parse(&format!("/add {A} {chain} My label"));
        let spaced = parse(&format!("/add{space}{A}{space}{chain}{space}My label{space}"));
        prop_assert_eq!(spaced, plain);
    }
}

proptest! {
    /// Every Tron address, in its `T…` form, is recognised by the form and
    /// stored as its 20-byte id, with or without `tron`, label kept.
    #[test]
    fn prop_any_tron_address_is_added_on_tron(id in any::<[u8; 20]>(), named in any::<bool>()) {
        let a = Address::from_id_bytes(&id);
        let chain = if named { " tron" } else { "" };
        let p = parse(&format!("/add {}{chain} My label", a.to_tron()));
        prop_assert_eq!(p, Parsed::Command(Command::Add {
            address: a,
            kind: ChainKind::Tron,
            chain: named.then_some("tron"),
            label: Some("My label".into()),
        }));
    }

    /// A one-character typo in a Tron address is refused (the checksum, or
    /// the alphabet, catches it): nothing would be stored.
    #[test]
    fn prop_a_tron_typo_is_refused(
        id in any::<[u8; 20]>(),
        at in 1usize..34,
        with in prop::sample::select(BASE58.chars().collect::<Vec<_>>()),
    ) {
        let t = Address::from_id_bytes(&id).to_tron();
        prop_assume!(t.chars().nth(at) != Some(with));
        let typo: String = t
            .chars()
            .enumerate()
            .map(|(i, c)| if i == at { with } else { c })
            .collect();
        let p = parse(&format!("/add {typo}"));
        prop_assert!(
            matches!(&p, Parsed::Invalid { kind: Kind::Add, .. }),
            "{typo}: {p:?}"
        );
    }
}

// ---- regression tests: one per finding ----

/// Finding: a zero-width space after the address (copied from a web page)
/// made the address "not valid" with an error that showed nothing wrong.
/// A zero-width space now separates words like a space.
#[test]
fn prop_finding_zero_width_space_separates_words() {
    let expected = parse(&format!("/add {A} Savings"));
    assert!(matches!(expected, Parsed::Command(Command::Add { .. })));
    assert_eq!(parse(&format!("/add {A}\u{200B}Savings")), expected);
    assert_eq!(parse(&format!("/add\u{200B}{A} Savings\u{200B}")), expected);
}

/// Finding: any other invisible character inside an address produced
/// "'' is not a hex digit", naming a character nobody can see. The error
/// now names its code point.
#[test]
fn prop_finding_invisible_character_in_an_address_is_named() {
    for c in ['\u{200D}', '\u{2060}', '\u{FEFF}', '\u{00AD}'] {
        let p = parse(&format!("/add {}{c}{}", &A[..10], &A[10..]));
        let Parsed::Invalid { problem, .. } = p else {
            panic!("accepted an address with U+{:04X}", c as u32)
        };
        let code = format!("U+{:04X}", c as u32);
        assert!(problem.contains(&code), "{problem}");
        assert!(!problem.contains(c), "{problem:?}");
    }
}

/// Finding: a label could carry a right-to-left override, which reverses
/// how the rest of the line reads in `/list`.
#[test]
fn prop_finding_bidi_override_in_a_label_is_refused() {
    let p = parse(&format!("/add {A} \u{202E}gnivas"));
    assert!(
        matches!(&p, Parsed::Invalid { kind: Kind::Add, problem } if problem.contains("U+202E")),
        "{p:?}"
    );
    // An emoji joined with zero-width joiners is an ordinary label.
    let p = parse(&format!("/add {A} 👨\u{200D}👩\u{200D}👧 family"));
    assert!(
        matches!(p, Parsed::Command(Command::Add { label: Some(_), .. })),
        "{p:?}"
    );
}
