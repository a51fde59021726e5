//! Splitting a long HTML message into parts Telegram accepts.
//!
//! `sendMessage` refuses text longer than 4 096 characters *after entity
//! parsing*, counted in UTF-16 code units, with 400 "Bad Request: message is
//! too long". [`split`] cuts a Telegram-HTML text into parts of at most
//! `limit` UTF-16 code units of *source* (tags and entities included, so
//! the parsed text is shorter still: conservative without parsing like the
//! server does):
//!
//! * at line boundaries (the `\n` between two parts is dropped), packing
//!   as many whole lines into a part as fit;
//! * a single line longer than a part is cut between words, or, failing
//!   that, between any two characters — never inside a tag (`<…>`) or an
//!   entity (`&…;`);
//! * tags stay balanced: a tag open at a cut is closed at the end of the
//!   part and opened again (with its attributes) at the start of the next;
//! * parts whose text would be blank are left out (Telegram refuses an
//!   empty message).
//!
//! The limit holds as long as the tags open at any one point take less
//! than half of it (they are repeated in every part); the daemon's texts
//! nest two or three short tags at most.

/// Telegram's limit on one message's text, in UTF-16 code units after
/// entity parsing (Bot API, `sendMessage`).
pub const MAX_MESSAGE_UNITS: usize = 4096;

/// One piece of the source: a tag, an entity, or one character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Atom<'a> {
    /// `<name …>`: the whole source, and the lower-cased name.
    Open(&'a str, &'a str),
    /// `</name>`: the whole source, and the name.
    Close(&'a str, &'a str),
    /// An entity (`&amp;`) or one character.
    Text(&'a str),
}

impl<'a> Atom<'a> {
    fn source(&self) -> &'a str {
        match self {
            Atom::Open(s, _) | Atom::Close(s, _) | Atom::Text(s) => s,
        }
    }
}

/// UTF-16 code units of `s`, as Telegram counts.
pub fn units(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Cuts `text` into the atoms above. Malformed markup (a `<` without `>`,
/// an `&` without `;` nearby) is taken as plain characters.
fn atoms(text: &str) -> Vec<Atom<'_>> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(c) = text[i..].chars().next() {
        let rest = &text[i..];
        let len = match c {
            '<' => rest.find('>').map(|end| {
                let source = &rest[..=end];
                let inner = &source[1..source.len() - 1];
                match inner.strip_prefix('/') {
                    Some(name) => out.push(Atom::Close(source, name.trim())),
                    None => {
                        let name = inner.split(char::is_whitespace).next().unwrap_or("");
                        out.push(Atom::Open(source, name));
                    }
                }
                source.len()
            }),
            // Entities are short (`&quot;`, `&#128512;`): look a little ahead.
            '&' => rest[1..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
                .map(|e| e + 1)
                .filter(|&e| (2..=10).contains(&e) && rest[e..].starts_with(';'))
                .map(|e| {
                    out.push(Atom::Text(&rest[..=e]));
                    e + 1
                }),
            _ => None,
        };
        let len = len.unwrap_or_else(|| {
            out.push(Atom::Text(&rest[..c.len_utf8()]));
            c.len_utf8()
        });
        i += len;
    }
    out
}

/// The tags open at some point, outermost first.
#[derive(Debug, Clone, Default)]
struct Open<'a> {
    tags: Vec<(&'a str, &'a str)>,
}

impl<'a> Open<'a> {
    fn apply(&mut self, atom: &Atom<'a>) {
        match *atom {
            Atom::Open(source, name) => self.tags.push((source, name)),
            Atom::Close(_, name) => {
                // Pop the innermost tag of that name (and anything left
                // open inside it); a stray closing tag changes nothing.
                if let Some(at) = self
                    .tags
                    .iter()
                    .rposition(|(_, n)| n.eq_ignore_ascii_case(name))
                {
                    self.tags.truncate(at);
                }
            }
            Atom::Text(_) => {}
        }
    }

    /// The opening tags, to start a part with.
    fn reopen(&self) -> String {
        self.tags.iter().map(|(source, _)| *source).collect()
    }

    /// The closing tags, to end a part with.
    fn close(&self) -> String {
        self.tags
            .iter()
            .rev()
            .map(|(_, name)| format!("</{name}>"))
            .collect()
    }

    fn close_units(&self) -> usize {
        self.tags.iter().map(|(_, name)| units(name) + 3).sum()
    }
}

/// A part being filled.
struct Part<'a> {
    text: String,
    units: usize,
    open: Open<'a>,
    /// True once anything beyond the reopened tags was added.
    has_content: bool,
}

impl<'a> Part<'a> {
    fn new(open: &Open<'a>) -> Self {
        let text = open.reopen();
        Part {
            units: units(&text),
            text,
            open: open.clone(),
            has_content: false,
        }
    }

    /// Units this part would have with `extra` more units and then closed.
    fn would_be(&self, extra: usize, after: &Open<'_>) -> usize {
        self.units + extra + after.close_units()
    }

    fn push(&mut self, atom: &Atom<'a>) {
        let s = atom.source();
        self.text.push_str(s);
        self.units += units(s);
        self.open.apply(atom);
        self.has_content = true;
    }

    /// Closes the part; returns it (unless blank) and the tags to reopen.
    fn finish(mut self, out: &mut Vec<String>) -> Open<'a> {
        self.text.push_str(&self.open.close());
        if self.has_content && !visible_is_blank(&self.text) {
            out.push(self.text);
        }
        self.open
    }
}

/// Whether a part's text, tags removed, is only whitespace.
fn visible_is_blank(text: &str) -> bool {
    atoms(text).iter().all(|a| match a {
        Atom::Text(s) => s.trim().is_empty(),
        _ => true,
    })
}

/// Splits `text` (Telegram HTML) into parts of at most `limit` UTF-16
/// code units each, as described in the module documentation. A text that
/// fits is returned whole, unchanged. A text that is blank gives no part.
pub fn split(text: &str, limit: usize) -> Vec<String> {
    if units(text) <= limit {
        return if visible_is_blank(text) {
            Vec::new()
        } else {
            vec![text.to_owned()]
        };
    }
    let mut out = Vec::new();
    let mut part = Part::new(&Open::default());
    for (n, line) in text.split('\n').enumerate() {
        let line_atoms = atoms(line);
        let mut after = part.open.clone();
        for a in &line_atoms {
            after.apply(a);
        }
        let newline = usize::from(n > 0 && part.has_content);
        if part.would_be(newline + units(line), &after) <= limit {
            if newline == 1 {
                part.text.push('\n');
                part.units += 1;
            }
            for a in &line_atoms {
                part.push(a);
            }
            continue;
        }
        // The line does not fit in this part: start a new one, and cut the
        // line itself if it does not fit in a fresh part either.
        if part.has_content {
            let open = part.finish(&mut out);
            part = Part::new(&open);
        }
        let mut fresh_after = part.open.clone();
        for a in &line_atoms {
            fresh_after.apply(a);
        }
        if part.would_be(units(line), &fresh_after) <= limit {
            for a in &line_atoms {
                part.push(a);
            }
        } else {
            part = cut_line(part, &line_atoms, limit, &mut out);
        }
    }
    part.finish(&mut out);
    out
}

/// Fills `part` with `line`, starting new parts where it overflows,
/// preferring to cut after whitespace. Returns the last, unfinished part.
fn cut_line<'a>(
    mut part: Part<'a>,
    line: &[Atom<'a>],
    limit: usize,
    out: &mut Vec<String>,
) -> Part<'a> {
    let mut i = 0;
    while i < line.len() {
        // How many atoms from `i` fit; remember the last whitespace.
        let mut open = part.open.clone();
        let mut used = 0;
        let mut fit = 0;
        let mut after_space = None;
        for (k, a) in line[i..].iter().enumerate() {
            let mut next = open.clone();
            next.apply(a);
            let extra = used + units(a.source());
            if part.would_be(extra, &next) > limit {
                break;
            }
            open = next;
            used = extra;
            fit = k + 1;
            if matches!(a, Atom::Text(s) if s.trim().is_empty()) {
                after_space = Some(k + 1);
            }
        }
        let end = if i + fit == line.len() {
            fit
        } else {
            after_space.unwrap_or(fit)
        };
        // Nothing fits a fresh part (its reopened tags fill it): take one
        // atom anyway rather than loop forever.
        let end = if end == 0 && !part.has_content {
            1
        } else {
            end
        };
        for a in &line[i..i + end] {
            part.push(a);
        }
        i += end;
        if i < line.len() {
            let open = part.finish(out);
            part = Part::new(&open);
        }
    }
    part
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The tags open after `text`; `None` if a closing tag does not match.
    fn balance(text: &str) -> Option<Vec<String>> {
        let mut stack: Vec<String> = Vec::new();
        for a in atoms(text) {
            match a {
                Atom::Open(_, name) => stack.push(name.to_ascii_lowercase()),
                Atom::Close(_, name) => {
                    if stack.pop()? != name.to_ascii_lowercase() {
                        return None;
                    }
                }
                Atom::Text(_) => {}
            }
        }
        Some(stack)
    }

    /// The text without tags and without whitespace.
    fn content(text: &str) -> String {
        atoms(text)
            .iter()
            .filter_map(|a| match a {
                Atom::Text(s) => Some(*s),
                _ => None,
            })
            .collect::<String>()
            .split_whitespace()
            .collect()
    }

    #[test]
    fn short_text_is_kept_whole() {
        assert_eq!(split("<b>hi</b>\nthere", 100), vec!["<b>hi</b>\nthere"]);
        assert!(split(" \n ", 100).is_empty());
    }

    #[test]
    fn lines_are_packed_and_the_cut_newline_dropped() {
        let text = "aaaa\nbbbb\ncccc\ndddd";
        assert_eq!(split(text, 9), vec!["aaaa\nbbbb", "cccc\ndddd"]);
        assert_eq!(split(text, 4), vec!["aaaa", "bbbb", "cccc", "dddd"]);
    }

    #[test]
    fn tags_open_at_a_cut_are_closed_and_reopened() {
        let text = "<b>title</b>\n<a href=\"https://x.io\">one\ntwo</a> end";
        let parts = split(text, 30);
        assert_eq!(
            parts,
            vec![
                "<b>title</b>",
                "<a href=\"https://x.io\">one</a>",
                "<a href=\"https://x.io\">two</a>",
                " end"
            ]
        );
    }

    #[test]
    fn a_long_line_is_cut_between_words_never_in_an_entity() {
        let text = "alpha beta &amp;&amp;&amp; gamma";
        let parts = split(text, 12);
        for p in &parts {
            assert!(units(p) <= 12, "{p:?}");
            assert!(!p.ends_with('&') && !p.starts_with(';'), "{p:?}");
        }
        assert_eq!(parts[0], "alpha beta ");
        assert_eq!(content(&parts.concat()), content(text));
    }

    #[test]
    fn counts_utf16_units_like_telegram() {
        // An emoji outside the BMP is two units.
        assert_eq!(units("😀"), 2);
        assert_eq!(units("é"), 1);
        let text = "😀😀\n😀😀";
        assert_eq!(split(text, 4), vec!["😀😀", "😀😀"]);
    }

    /// At the real limit: a surrogate pair (an emoji) or an entity that
    /// straddles the 4 096th unit of a line without spaces moves whole to
    /// the next part.
    #[test]
    fn a_surrogate_pair_or_entity_at_the_limit_is_not_cut() {
        let limit = MAX_MESSAGE_UNITS;
        let text = format!("{}😀tail", "a".repeat(limit - 1));
        assert_eq!(
            split(&text, limit),
            vec!["a".repeat(limit - 1), "😀tail".to_string()]
        );
        let text = format!("{}&amp;tail", "a".repeat(limit - 3));
        assert_eq!(
            split(&text, limit),
            vec!["a".repeat(limit - 3), "&amp;tail".to_string()]
        );
        // The same in bold: the reopened and closing tags count too.
        let text = format!("<b>{}😀😀</b>", "é".repeat(limit - 9));
        let parts = split(&text, limit);
        assert_eq!(parts.len(), 2, "{parts:?}");
        for p in &parts {
            assert!(units(p) <= limit, "{}", units(p));
            assert!(p.starts_with("<b>") && p.ends_with("</b>"), "{p:?}");
        }
        assert_eq!(parts[1], "<b>😀</b>");
    }

    /// A single line over the limit, inside nested tags, full of labels
    /// with entities and emoji: every part fits, keeps the nesting and
    /// nothing is lost.
    #[test]
    fn a_line_longer_than_a_message_in_nested_tags_is_cut_cleanly() {
        let word = "Savings&amp;Co 😀🇺🇸 &lt;cold&gt; ";
        let text = format!(
            "<b>Head</b>\n<blockquote><i>{}</i> end</blockquote>",
            word.repeat(400)
        );
        assert!(units(&text) > 3 * MAX_MESSAGE_UNITS);
        let parts = split(&text, MAX_MESSAGE_UNITS);
        assert!(parts.len() >= 4, "{}", parts.len());
        for p in &parts[1..] {
            assert!(units(p) <= MAX_MESSAGE_UNITS, "{}", units(p));
            assert_eq!(balance(p), Some(vec![]), "{p:?}");
            assert!(p.starts_with("<blockquote>"), "{p:?}");
        }
        // Cut between words: every part but the last ends after a space.
        for p in &parts[1..parts.len() - 1] {
            assert!(p.ends_with(" </i></blockquote>"), "{p:?}");
        }
        assert_eq!(content(&parts.concat()), content(&text));
    }

    /// 60 lines of 32-character labels with entities and emoji, all in one
    /// `<blockquote>`: parts are cut at line ends, every one reopens the
    /// quote, and the lines come out unchanged.
    #[test]
    fn many_labelled_lines_in_one_quote_split_at_line_ends() {
        let lines: Vec<String> = (0..60)
            .map(|i| {
                format!(
                    "{i}. <b>Cold &amp; hot wallet 😀 №{i:04} &lt;x&gt;</b> <code>0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed</code> on Ethereum, since 2025-11-28 02:30 UTC"
                )
            })
            .collect();
        let text = format!("<blockquote>{}</blockquote>", lines.join("\n"));
        let parts = split(&text, MAX_MESSAGE_UNITS);
        assert!(parts.len() >= 2);
        let mut back = Vec::new();
        for p in &parts {
            assert!(units(p) <= MAX_MESSAGE_UNITS);
            let inner = p
                .strip_prefix("<blockquote>")
                .and_then(|p| p.strip_suffix("</blockquote>"))
                .unwrap_or_else(|| panic!("{p:?}"));
            back.extend(inner.split('\n').map(str::to_owned));
        }
        assert_eq!(back, lines);
    }

    fn line() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[a-zA-Z0-9 ]{1,12}",
            "[é😀ж ]{1,4}",
            Just("&amp;".to_string()),
            Just("&lt;".to_string()),
            "[a-z]{1,6}".prop_map(|s| format!("<b>{s}</b>")),
            "[a-z ]{1,6}".prop_map(|s| format!("<i>{s} <u>x</u></i>")),
            "[a-z]{1,8}".prop_map(|s| format!("<a href=\"https://e.io/{s}\">{s}</a>")),
            "[a-z]{1,8}".prop_map(|s| format!("<code>{s}</code>")),
        ];
        prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
    }

    /// Lines, some of them wrapped in a tag that spans several lines.
    fn document() -> impl Strategy<Value = String> {
        prop::collection::vec((line(), 0..4u8), 1..40).prop_map(|lines| {
            let mut s = String::new();
            let mut open: Option<&str> = None;
            for (i, (l, action)) in lines.into_iter().enumerate() {
                if i > 0 {
                    s.push('\n');
                }
                match (action, open) {
                    (0, None) => {
                        s.push_str("<blockquote>");
                        open = Some("</blockquote>");
                    }
                    (1, None) => {
                        s.push_str("<pre>");
                        open = Some("</pre>");
                    }
                    _ => {}
                }
                s.push_str(&l);
                if action == 3
                    && let Some(close) = open.take()
                {
                    s.push_str(close);
                }
            }
            if let Some(close) = open {
                s.push_str(close);
            }
            s
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn every_part_fits_is_balanced_and_nothing_is_lost(
            text in document(),
            limit in 80usize..400,
        ) {
            prop_assume!(balance(&text).is_some_and(|s| s.is_empty()));
            let parts = split(&text, limit);
            for p in &parts {
                prop_assert!(units(p) <= limit, "{} > {limit}: {p:?}", units(p));
                prop_assert_eq!(balance(p), Some(vec![]), "unbalanced: {:?}", p);
                prop_assert!(!visible_is_blank(p));
            }
            prop_assert_eq!(content(&parts.concat()), content(&text));
        }

        #[test]
        fn a_text_that_fits_is_one_part(text in document()) {
            let parts = split(&text, 1_000_000);
            if visible_is_blank(&text) {
                prop_assert!(parts.is_empty());
            } else {
                prop_assert_eq!(parts, vec![text]);
            }
        }
    }
}
