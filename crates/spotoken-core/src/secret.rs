//! A wrapper for values that must never be printed: tokens, codes, verifiers, `state`.
//!
//! `Secret` has a `Debug` that prints `[redacted]`, no `Display` and no `Serialize`, so a
//! secret cannot reach a log line, a panic message or a JSON file by accident. Reading
//! the value takes an explicit `.secret()` call, which is easy to find in review.

use std::fmt;

/// A value that is only reachable through [`Secret::secret`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The hidden value. Every call site is a place where a secret leaves this wrapper.
    pub fn secret(&self) -> &T {
        &self.0
    }

    pub fn into_secret(self) -> T {
        self.0
    }
}

impl From<String> for Secret<String> {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("BQ-very-secret".to_string());
        let printed = format!("{secret:?} {:#?}", Some(&secret));
        assert!(!printed.contains("very-secret"), "{printed}");
        assert!(printed.contains("[redacted]"));
        assert_eq!(secret.secret(), "BQ-very-secret");
    }
}
