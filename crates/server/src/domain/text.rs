//! Parse-don't-validate newtypes for everything a user types: names, passwords, emails, messages.
//! Each `parse` either returns a value that is valid forever or an [`Invalid`] naming the field.

use std::fmt;

use cromulent_proto::ErrorCode;

/// Why some input was refused, with the field it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Stable code.
    pub code: ErrorCode,
    /// Request field at fault.
    pub field: &'static str,
    /// A sentence for people.
    pub message: String,
}

impl Invalid {
    /// An invalid-input error for `field`.
    pub fn new(code: ErrorCode, field: &'static str, message: impl Into<String>) -> Self {
        Invalid { code, field, message: message.into() }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Invalid {}

/// A username: 2–32 ASCII letters, digits, `_` or `-`; compared without case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Checks length and alphabet.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let len = raw.chars().count();
        if !(2..=32).contains(&len) {
            return Err(Invalid::new(ErrorCode::InvalidUsername, "username", "Usernames are 2 to 32 characters long."));
        }
        if !raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(Invalid::new(
                ErrorCode::InvalidUsername,
                "username",
                "Usernames may contain only letters, digits, '_' and '-'.",
            ));
        }
        Ok(Username(raw.to_owned()))
    }

    /// The name as typed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive key that must be unique.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// A password of 8–128 characters. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Checks the length.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let len = raw.chars().count();
        if !(8..=128).contains(&len) {
            return Err(Invalid::new(ErrorCode::InvalidPassword, "password", "Passwords are 8 to 128 characters long."));
        }
        Ok(Password(raw.to_owned()))
    }

    /// The secret, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

/// An email address: one `@` with text on both sides, no spaces, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Checks the shape; delivery is not attempted.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let raw = raw.trim();
        let valid = raw.len() <= 254
            && !raw.chars().any(|c| c.is_whitespace() || c.is_control())
            && matches!(raw.split_once('@'), Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
        if !valid {
            return Err(Invalid::new(ErrorCode::InvalidEmail, "email", "That is not an email address."));
        }
        Ok(Email(raw.to_owned()))
    }

    /// The address as typed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive key that must be unique.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A display name: 1–32 characters after trimming, no control characters; shown instead of the
/// username, so it need not be unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Trims and checks length and characters.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let name = raw.trim();
        let len = name.chars().count();
        if !(1..=32).contains(&len) {
            return Err(Invalid::new(
                ErrorCode::InvalidDisplayName,
                "display_name",
                "Display names are 1 to 32 characters long.",
            ));
        }
        // Control and format characters (bidirectional overrides, zero-width joiners on their
        // own) would let a name hide or reorder what is shown around it.
        if name
            .chars()
            .any(|c| c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
        {
            return Err(Invalid::new(
                ErrorCode::InvalidDisplayName,
                "display_name",
                "Display names cannot contain control or direction characters.",
            ));
        }
        Ok(DisplayName(name.to_owned()))
    }

    /// The trimmed name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A channel name: 1–64 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelName(String);

impl ChannelName {
    /// Trims and checks length and characters.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let name = raw.trim();
        let len = name.chars().count();
        if !(1..=64).contains(&len) {
            return Err(Invalid::new(ErrorCode::InvalidChannelName, "name", "Channel names are 1 to 64 characters long."));
        }
        if name.chars().any(char::is_control) {
            return Err(Invalid::new(ErrorCode::InvalidChannelName, "name", "Channel names cannot contain control characters."));
        }
        Ok(ChannelName(name.to_owned()))
    }

    /// The trimmed name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive key, unique per channel kind.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A client's nonce for an idempotent send: 1–64 characters, none of them control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nonce(String);

impl Nonce {
    /// Checks the length and characters.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        if raw.is_empty() || raw.chars().count() > 64 || raw.chars().any(char::is_control) {
            return Err(Invalid::new(
                ErrorCode::InvalidNonce,
                "nonce",
                "A nonce is 1 to 64 characters, none of them control characters.",
            ));
        }
        Ok(Nonce(raw.to_owned()))
    }

    /// The nonce.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Message content: 1–4000 characters after trimming, no control characters but line breaks and tabs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageContent(String);

/// Longest message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4000;

impl MessageContent {
    /// Trims and checks the length.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let content = raw.trim();
        if content.is_empty() {
            return Err(Invalid::new(ErrorCode::EmptyMessage, "content", "A message cannot be empty."));
        }
        if content.chars().count() > MAX_MESSAGE_CHARS {
            return Err(Invalid::new(ErrorCode::MessageTooLong, "content", "Messages are at most 4000 characters long."));
        }
        if content.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')) {
            return Err(Invalid::new(ErrorCode::InvalidMessage, "content", "Messages cannot contain control characters."));
        }
        Ok(MessageContent(content.to_owned()))
    }

    /// The trimmed text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for ok in ["ab", "Alice_99", "bob-smith", &"x".repeat(32)] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["a", "", &"x".repeat(33), "al ice", "ålice", "bob!", "a@b"] {
            assert_eq!(Username::parse(bad).unwrap_err().field, "username", "{bad}");
        }
        assert_eq!(Username::parse("Alice").unwrap().key(), "alice");
    }

    #[test]
    fn passwords_count_characters_and_hide_themselves() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"é".repeat(128)).is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert_eq!(format!("{:?}", Password::parse("secret-secret").unwrap()), "Password(..)");
    }

    #[test]
    fn emails() {
        assert_eq!(Email::parse(" Bob@Example.org ").unwrap().key(), "bob@example.org");
        for bad in ["", "bob", "@x", "x@", "a b@c", "a@b@c"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn channel_names() {
        assert_eq!(ChannelName::parse("  general ").unwrap().as_str(), "general");
        assert!(ChannelName::parse("   ").is_err());
        assert!(ChannelName::parse(&"x".repeat(65)).is_err());
        assert!(ChannelName::parse("a\u{0}b").is_err());
        assert_eq!(ChannelName::parse("Lounge").unwrap().key(), "lounge");
    }

    #[test]
    fn message_content() {
        assert_eq!(MessageContent::parse("  hi \n").unwrap().as_str(), "hi");
        assert_eq!(MessageContent::parse(" \n\t").unwrap_err().code, ErrorCode::EmptyMessage);
        assert!(MessageContent::parse(&"ü".repeat(4000)).is_ok());
        assert_eq!(MessageContent::parse(&"x".repeat(4001)).unwrap_err().code, ErrorCode::MessageTooLong);
        assert_eq!(MessageContent::parse("a\u{0}b").unwrap_err().code, ErrorCode::InvalidMessage);
        assert_eq!(MessageContent::parse("a\u{1b}[31m").unwrap_err().code, ErrorCode::InvalidMessage);
        assert!(MessageContent::parse("line\r\n\tindented").is_ok());
    }
}
