//! Printing the scenario as a conversation, with colour on a terminal.

use std::io::{IsTerminal, Write};

#[derive(Debug, Clone, Copy)]
pub struct Out {
    color: bool,
    tty: bool,
}

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const CYAN: &str = "\x1b[36m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const MAGENTA: &str = "\x1b[35m";

impl Out {
    pub fn new(no_color: bool) -> Out {
        let tty = std::io::stdout().is_terminal();
        let color = tty && !no_color && std::env::var_os("NO_COLOR").is_none();
        Out { color, tty }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("{code}{s}{RESET}")
        } else {
            s.to_string()
        }
    }

    fn line(&self, s: &str) {
        self.clear_progress();
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{s}");
    }

    pub fn title(&self, s: &str) {
        self.line("");
        self.line(&self.paint(BOLD, &format!("── {s} ")));
    }

    pub fn note(&self, s: &str) {
        self.line(&self.paint(DIM, &format!("   {s}")));
    }

    pub fn user(&self, name: &str, text: &str) {
        self.line(&format!(
            "{} {}",
            self.paint(CYAN, &format!("👤 {name:>7} ›")),
            text
        ));
    }

    /// A message from the bot, HTML rendered for the terminal.
    pub fn bot(&self, to: &str, html: &str) {
        let text = self.render_html(html);
        let mut lines = text.lines();
        let first = lines.next().unwrap_or_default();
        self.line(&format!(
            "{} {first}",
            self.paint(GREEN, &format!("🤖 → {to:>5} ›"))
        ));
        for l in lines {
            self.line(&format!("              {l}"));
        }
    }

    pub fn event(&self, s: &str) {
        self.line(&self.paint(MAGENTA, &format!("   ⚙  {s}")));
    }

    pub fn chain(&self, s: &str) {
        self.line(&self.paint(YELLOW, &format!("   ⛓  {s}")));
    }

    pub fn ok(&self, s: &str) {
        self.line(&self.paint(GREEN, &format!("   ✔ {s}")));
    }

    pub fn error(&self, s: &str) {
        self.clear_progress();
        eprintln!("{}", self.paint(RED, &format!("error: {s}")));
    }

    /// A transient status line (on a terminal only).
    pub fn progress(&self, s: &str) {
        if self.tty {
            let mut stdout = std::io::stdout().lock();
            let _ = write!(
                stdout,
                "\r\x1b[2K{}",
                self.paint(DIM, &format!("   ⏳ {s}"))
            );
            let _ = stdout.flush();
        }
    }

    fn clear_progress(&self) {
        if self.tty {
            let mut stdout = std::io::stdout().lock();
            let _ = write!(stdout, "\r\x1b[2K");
        }
    }

    /// Telegram HTML to terminal text: tags become bold / underline or
    /// vanish, entities are decoded, links show their target.
    pub fn render_html(&self, html: &str) -> String {
        let mut out = String::new();
        let mut rest = html;
        while let Some(start) = rest.find('<') {
            out.push_str(&unescape(&rest[..start]));
            let Some(end) = rest[start..].find('>') else {
                out.push_str(&unescape(&rest[start..]));
                return out;
            };
            let tag = &rest[start + 1..start + end];
            match tag {
                "b" | "strong" if self.color => out.push_str(BOLD),
                "/b" | "/strong" | "/code" if self.color => out.push_str(RESET),
                "code" if self.color => out.push_str(CYAN),
                t if t.starts_with("a href=\"") => {
                    let href = t.trim_start_matches("a href=\"").trim_end_matches('"');
                    out.push_str(&format!("[{}] ", unescape(href)));
                }
                _ => {}
            }
            rest = &rest[start + end + 1..];
        }
        out.push_str(&unescape(rest));
        out
    }
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_plain_text() {
        let out = Out {
            color: false,
            tty: false,
        };
        assert_eq!(
            out.render_html(
                "<b>Hi &lt;you&gt;</b> <code>0x1</code> <a href=\"https://x/tx/1\">View</a>"
            ),
            "Hi <you> 0x1 [https://x/tx/1] View"
        );
    }
}
