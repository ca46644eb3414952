//! Text that came from outside (Spotify's error strings, a display name, a callback's
//! `error_description`) made safe to print to a terminal and to store: control
//! characters, which could move the cursor, recolour or retitle a terminal, become
//! U+FFFD, and an answer cannot fill a screen.

/// The most characters of outside text Spotoken keeps.
pub const MAX_CHARS: usize = 1000;

/// `s` with every control character (C0, DEL, C1) replaced by U+FFFD, line breaks and
/// tabs by a space, and cut to [`MAX_CHARS`].
pub fn clean(s: &str) -> String {
    clean_to(s, MAX_CHARS)
}

/// [`clean`], cut to `max` characters: for a whole line of ours that holds outside text
/// (the command line's output is made safe once, a line at a time).
pub fn clean_to(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max)
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_are_neutralised() {
        let hostile = "Invalid\u{1b}[2J\u{1b}]0;pwned\u{7}\r\nrefresh\u{9b}31m token\u{7f}";
        let cleaned = clean(hostile);
        assert!(!cleaned.chars().any(char::is_control), "{cleaned:?}");
        assert_eq!(cleaned, "Invalid\u{FFFD}[2J\u{FFFD}]0;pwned\u{FFFD}  refresh\u{FFFD}31m token\u{FFFD}");
        assert_eq!(clean("Refresh token revoked"), "Refresh token revoked");
        assert_eq!(clean("Zoë 🎧"), "Zoë 🎧");
    }

    #[test]
    fn long_text_is_cut() {
        let long = "x".repeat(MAX_CHARS + 50);
        let cleaned = clean(&long);
        assert_eq!(cleaned.chars().count(), MAX_CHARS + 1);
        assert!(cleaned.ends_with('…'));
        assert_eq!(clean(&"y".repeat(MAX_CHARS)).chars().count(), MAX_CHARS);
    }
}
