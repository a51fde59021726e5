//! A deliberately simple check of Telegram's HTML parse mode.
//!
//! Real Telegram rejects a message whose HTML it cannot parse with
//! `400 Bad Request: can't parse entities: ...`. The usual cause is untrusted
//! text (a wallet label, a username) pasted into a reply without escaping
//! `<`, `>` and `&`. This checker is stricter than Telegram in one respect:
//! every `&` must start one of the entities the Bot API documents, so a
//! forgotten escape is caught even where Telegram would let it through.

/// Tags the Bot API accepts in HTML parse mode.
const ALLOWED_TAGS: &[&str] = &[
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "span",
    "blockquote",
];

/// Named entities the Bot API supports.
const NAMED_ENTITIES: &[&str] = &["lt", "gt", "amp", "quot"];
/// What each of `NAMED_ENTITIES` stands for.
const NAMED_CHARS: &[char] = &['<', '>', '&', '"'];

fn parse_error(detail: String) -> String {
    format!("Bad Request: can't parse entities: {detail}")
}

/// Parses `text` as Telegram HTML; returns the visible text (tags removed,
/// entities decoded), which is what Telegram's 4096-character limit applies
/// to and what it echoes back in the sent `Message`, or the description of
/// a 400 answer.
pub(crate) fn parse_html(text: &str) -> Result<String, String> {
    let mut open: Vec<String> = Vec::new();
    let mut visible = String::with_capacity(text.len());
    let mut i = 0usize;
    while let Some(c) = text[i..].chars().next() {
        match c {
            '<' => {
                let Some(end) = text[i..].find('>') else {
                    return Err(parse_error(format!(
                        "Unclosed start tag at byte offset {i}"
                    )));
                };
                let inner = &text[i + 1..i + end];
                if let Some(closing) = inner.strip_prefix('/') {
                    let name = closing.trim().to_ascii_lowercase();
                    match open.pop() {
                        Some(top) if top == name => {}
                        Some(top) => {
                            return Err(parse_error(format!(
                                "Can't find end tag corresponding to start tag \"{top}\""
                            )));
                        }
                        None => {
                            return Err(parse_error(format!(
                                "Unexpected end tag at byte offset {i}"
                            )));
                        }
                    }
                } else {
                    let name = inner
                        .split(char::is_whitespace)
                        .next()
                        .unwrap_or_default()
                        .to_ascii_lowercase();
                    if !ALLOWED_TAGS.contains(&name.as_str()) {
                        return Err(parse_error(format!(
                            "Unsupported start tag \"{name}\" at byte offset {i}"
                        )));
                    }
                    open.push(name);
                }
                i += end + 1;
            }
            '&' => {
                let (decoded, entity_len) = entity_at(&text[i..]).ok_or_else(|| {
                    parse_error(format!(
                        "Character '&' must start an entity (&lt; &gt; &amp; &quot; &#NN;) at byte offset {i}"
                    ))
                })?;
                visible.push(decoded);
                i += entity_len;
            }
            other => {
                visible.push(other);
                i += other.len_utf8();
            }
        }
    }
    match open.pop() {
        Some(top) => Err(parse_error(format!(
            "Can't find end tag corresponding to start tag \"{top}\""
        ))),
        None => Ok(visible),
    }
}

/// If `s` (starting with `&`) begins with a supported entity, the character
/// it stands for and its byte length.
fn entity_at(s: &str) -> Option<(char, usize)> {
    // The longest supported entity is short; don't scan the whole text.
    let (semi, _) = s.char_indices().take(12).find(|&(_, c)| c == ';')?;
    let body = &s[1..semi];
    let decoded = if let Some(num) = body.strip_prefix('#') {
        let (digits, radix) = match num.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16),
            None => (num, 10),
        };
        char::from_u32(u32::from_str_radix(digits, radix).ok()?)?
    } else {
        let index = NAMED_ENTITIES.iter().position(|name| *name == body)?;
        NAMED_CHARS[index]
    };
    Some((decoded, semi + 1))
}

#[cfg(test)]
mod html_tests {
    use super::parse_html;

    fn ok(s: &str) -> Result<String, String> {
        Ok(s.to_owned())
    }

    #[test]
    fn accepts_well_formed() {
        assert_eq!(parse_html("plain"), ok("plain"));
        assert_eq!(parse_html("<b>bold</b> &amp; <i>x</i>"), ok("bold & x"));
        assert_eq!(
            parse_html("<a href=\"https://e.org/?a=1&amp;b=2\">link</a> &#36;&#x41;&lt;"),
            ok("link $A<")
        );
        assert_eq!(
            parse_html("<pre><code class=\"language-rust\">x</code></pre>"),
            ok("x")
        );
        assert_eq!(
            parse_html("<tg-spoiler>s</tg-spoiler> a > b"),
            ok("s a > b")
        );
        assert_eq!(parse_html("<B>é</B>"), ok("é"));
    }

    #[test]
    fn rejects_bad_markup() {
        for bad in [
            "<b>open",
            "close</b>",
            "<b><i>x</b></i>",
            "<script>x</script>",
            "1 < 2",
            "a <foo> b",
            "Tom & Jerry",
            "&nbsp;",
            "&#;",
            "&amp",
            "&#xD800;",
        ] {
            let err = parse_html(bad).expect_err(bad);
            assert!(
                err.starts_with("Bad Request: can't parse entities"),
                "{err}"
            );
        }
    }
}
