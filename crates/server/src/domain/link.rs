//! The link a message would be previewed for: the first `http://` or `https://` URL in its
//! text, outside code, as the Markdown renderer would make it a link.

use super::mention::without_code;

/// Longest URL looked at.
const MAX_URL_LEN: usize = 2048;

/// The first http(s) link in `content`, if any.
pub fn first_link(content: &str) -> Option<url::Url> {
    let text = without_code(content);
    let mut rest = text.as_str();
    while let Some(start) = rest.find("http") {
        let candidate = &rest[start..];
        let end = candidate.find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '`')).unwrap_or(candidate.len());
        // Punctuation that closes a sentence or a Markdown link is not part of the URL.
        let raw = candidate[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '\'', '*', '_']);
        let boundary = start == 0 || !rest.as_bytes()[start - 1].is_ascii_alphanumeric();
        if boundary
            && raw.len() <= MAX_URL_LEN
            && (raw.starts_with("http://") || raw.starts_with("https://"))
            && let Ok(url) = url::Url::parse(raw)
            && url.host_str().is_some()
        {
            return Some(url);
        }
        rest = &rest[start + 4..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_link_outside_code_without_trailing_punctuation() {
        let link = first_link("see `https://code.example` and (https://example.org/a?b=1), then https://two.example");
        assert_eq!(link.unwrap().as_str(), "https://example.org/a?b=1");
        assert_eq!(first_link("[docs](https://docs.example/x).").unwrap().as_str(), "https://docs.example/x");
    }

    #[test]
    fn no_link_no_preview() {
        assert!(first_link("ftp://files.example and httpbin without a scheme").is_none());
        assert!(first_link("nohttps://example.org").is_none());
        assert!(first_link("```\nhttps://example.org\n```").is_none());
    }
}
