//! Signing in: Authorization Code with PKCE (S256), completed by whichever redirect
//! brings Spotify's answer back: the loopback listener or the desktop app's deep link.

pub mod callback;
pub mod login;
pub mod loopback;
