//! Spotify's scopes, what each lets an app do, and presets for common jobs.
//!
//! The table is the one in `spotify-platform.md`; the desktop window and the command
//! line's help both read it, so there is one list to keep current.

use crate::error::{Error, Result};

/// One Spotify scope and its one-line meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeInfo {
    pub name: &'static str,
    pub meaning: &'static str,
    pub group: &'static str,
}

const fn scope(name: &'static str, meaning: &'static str, group: &'static str) -> ScopeInfo {
    ScopeInfo { name, meaning, group }
}

pub const SCOPES: &[ScopeInfo] = &[
    scope("user-read-private", "read subscription level and country", "Profile"),
    scope("user-read-email", "read the email address", "Profile"),
    scope("user-read-playback-state", "read the player state and devices", "Playback"),
    scope("user-modify-playback-state", "control playback", "Playback"),
    scope("user-read-currently-playing", "read what is playing now", "Playback"),
    scope("user-read-playback-position", "read the position in episodes", "Playback"),
    scope("user-read-recently-played", "read recently played tracks", "Listening history"),
    scope("user-top-read", "read top artists and tracks", "Listening history"),
    scope("user-library-read", "read saved tracks, albums, shows", "Library"),
    scope("user-library-modify", "save and remove library items", "Library"),
    scope("user-follow-read", "read followed artists and users", "Follow"),
    scope("user-follow-modify", "follow and unfollow", "Follow"),
    scope("playlist-read-private", "read private playlists", "Playlists"),
    scope("playlist-read-collaborative", "read collaborative playlists", "Playlists"),
    scope("playlist-modify-private", "change private playlists", "Playlists"),
    scope("playlist-modify-public", "change public playlists", "Playlists"),
    scope("ugc-image-upload", "upload playlist cover images", "Playlists"),
    scope("streaming", "play in the Web Playback SDK (Premium)", "Playback"),
    scope("app-remote-control", "remote control from the iOS/Android SDKs", "Playback"),
];

/// A named set of scopes for a common job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    pub name: &'static str,
    pub scopes: &'static [&'static str],
}

pub const PRESETS: &[Preset] = &[
    Preset { name: "profile", scopes: &["user-read-private", "user-read-email"] },
    Preset {
        name: "playback",
        scopes: &["user-read-playback-state", "user-modify-playback-state", "user-read-currently-playing"],
    },
    Preset {
        name: "playlists",
        scopes: &[
            "playlist-read-private",
            "playlist-read-collaborative",
            "playlist-modify-private",
            "playlist-modify-public",
        ],
    },
    Preset {
        name: "read-only",
        scopes: &[
            "user-read-private",
            "user-read-playback-state",
            "user-read-currently-playing",
            "user-read-recently-played",
            "user-top-read",
            "user-library-read",
            "user-follow-read",
            "playlist-read-private",
            "playlist-read-collaborative",
        ],
    },
];

/// Scopes asked for when nobody chose any.
pub const DEFAULT_SCOPES: &[&str] = &["user-read-private", "user-read-email"];

pub fn info(name: &str) -> Option<&'static ScopeInfo> {
    SCOPES.iter().find(|s| s.name == name)
}

/// Checks names against Spotify's list and returns them sorted, without repeats.
pub fn validate<S: AsRef<str>>(names: &[S]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        let name = name.as_ref().trim();
        if info(name).is_none() {
            return Err(Error::UnknownScope(name.to_string()));
        }
        out.push(name.to_string());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Splits Spotify's space-separated `scope` field.
pub fn parse_granted(field: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = field.unwrap_or_default().split_whitespace().map(str::to_string).collect();
    out.sort();
    out.dedup();
    out
}

/// Requested scopes that Spotify did not grant.
pub fn missing(requested: &[String], granted: &[String]) -> Vec<String> {
    requested.iter().filter(|s| !granted.contains(s)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_only_name_real_scopes() {
        for preset in PRESETS {
            assert!(validate(preset.scopes).is_ok(), "{}", preset.name);
        }
        assert!(validate(DEFAULT_SCOPES).is_ok());
    }

    #[test]
    fn unknown_scopes_are_refused() {
        let err = validate(&["user-read-private", "user-read-everything"]).unwrap_err();
        assert!(matches!(err, Error::UnknownScope(s) if s == "user-read-everything"));
    }

    #[test]
    fn granted_scopes_may_be_empty_or_partial() {
        assert!(parse_granted(None).is_empty());
        assert!(parse_granted(Some("")).is_empty());
        let granted = parse_granted(Some("user-read-private  playlist-read-private"));
        assert_eq!(granted, ["playlist-read-private", "user-read-private"]);
        let requested = vec!["user-read-email".to_string(), "user-read-private".to_string()];
        assert_eq!(missing(&requested, &granted), ["user-read-email"]);
    }
}
