//! Finding mentions in a message's Markdown: `@username`, `@everyone` and `@here`, outside
//! code (a name in a code block is quoted, not called). Pure text rules; who the names are and
//! who may be called is for the use case to decide.

/// At most this many distinct names are looked up per message; more are plain text.
pub const MAX_NAMES: usize = 50;

/// What a message's text calls for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentions {
    /// Lower-cased usernames, distinct, in order of first appearance.
    pub names: Vec<String>,
    /// `@everyone` appears.
    pub everyone: bool,
    /// `@here` appears.
    pub here: bool,
}

/// The mentions in `content`.
pub fn scan(content: &str) -> Mentions {
    let text = without_code(content);
    let mut found = Mentions::default();
    let bytes = text.as_bytes();
    for (at, _) in text.match_indices('@') {
        // `amy@example.org` is an address, not a mention.
        if at > 0 && is_name_byte(bytes[at - 1]) {
            continue;
        }
        let name_len = bytes[at + 1..].iter().take_while(|b| is_name_byte(**b)).count();
        if !(2..=32).contains(&name_len) {
            continue;
        }
        let name = text[at + 1..at + 1 + name_len].to_ascii_lowercase();
        match name.as_str() {
            "everyone" => found.everyone = true,
            "here" => found.here = true,
            _ if found.names.len() < MAX_NAMES && !found.names.contains(&name) => found.names.push(name),
            _ => {}
        }
    }
    found
}

/// Usernames are ASCII letters, digits, `_` and `-`.
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// `content` with fenced code blocks and inline code spans blanked out: what is quoted as code
/// neither mentions anyone nor asks for a link preview.
pub fn without_code(content: &str) -> String {
    let mut out = String::with_capacity(content.len());
    let mut in_fence = false;
    for line in content.split_inclusive('\n') {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            out.push('\n');
            continue;
        }
        if in_fence {
            out.push('\n');
            continue;
        }
        // Inline code: text between backtick runs of the same length.
        let mut rest = line;
        while let Some(open) = rest.find('`') {
            let ticks = rest[open..].bytes().take_while(|b| *b == b'`').count();
            let fence = &rest[open..open + ticks];
            match rest[open + ticks..].find(fence) {
                Some(close) => {
                    out.push_str(&rest[..open]);
                    out.push(' ');
                    rest = &rest[open + ticks + close + ticks..];
                }
                None => break,
            }
        }
        out.push_str(rest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_everyone_and_here_are_found_once_without_case() {
        let found = scan("hey @Amy and @amy, @ben-2: @everyone @HERE!");
        assert_eq!(found.names, ["amy", "ben-2"]);
        assert!(found.everyone && found.here);
    }

    #[test]
    fn addresses_code_and_odd_lengths_are_not_mentions() {
        let found = scan("mail amy@example.org, `@ben` and\n```\n@cat\n```\n@d @".to_owned().as_str());
        assert_eq!(found, Mentions::default());
        assert_eq!(scan(&format!("@{}", "x".repeat(33))).names, Vec::<String>::new());
        assert_eq!(scan("``code with ` inside @ben`` @cat").names, ["cat"]);
    }

    #[test]
    fn at_most_fifty_names_are_looked_up() {
        let many: String = (0..80).map(|i| format!("@user{i} ")).collect();
        assert_eq!(scan(&many).names.len(), MAX_NAMES);
    }
}
