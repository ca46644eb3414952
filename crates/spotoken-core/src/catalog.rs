//! Every Spotify Web API operation and the scopes it needs, compiled in from
//! `data/spotify-endpoints.tsv` (Spotify's OpenAPI spec as fixed by sonallux/spotify-web-api,
//! MIT; source, commit and license in the file's header, which stays with it).
//!
//! Several scopes in one row are all required (the spec's own rule; the file's header
//! names the two places its prose is narrower). Operations flagged `deprecated` were
//! withdrawn from development-mode apps (2024-11 and 2026-02).

use std::sync::LazyLock;

/// The file as it is compiled in (header included).
pub const ENDPOINTS_TSV: &str = include_str!("../data/spotify-endpoints.tsv");
/// Spotify's scopes with the spec's wording.
pub const SCOPES_TSV: &str = include_str!("../data/spotify-scopes.tsv");

/// One Web API operation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Operation {
    pub method: String,
    /// Relative to `https://api.spotify.com/v1`, with `{name}` for each parameter.
    pub path: String,
    /// Also the slug of its page in Spotify's reference.
    pub operation_id: String,
    /// All needed; empty: a token but no scope.
    pub scopes: Vec<String>,
    /// Withdrawn for development-mode apps.
    pub deprecated: bool,
    pub summary: String,
}

impl Operation {
    /// Its page in Spotify's Web API reference.
    pub fn reference_url(&self) -> String {
        format!("https://developer.spotify.com/documentation/web-api/reference/{}", self.operation_id)
    }

    /// The scopes the call cannot do without. All those listed, except where the
    /// file's header says the spec's prose is narrower: `GET /me` answers without its
    /// two (they only add fields: email; country, product, explicit content).
    pub fn required(&self) -> &[String] {
        if self.operation_id == "get-current-users-profile" { &[] } else { &self.scopes }
    }

    /// Listed scopes that are not required: they widen the answer.
    pub fn widening(&self) -> &[String] {
        if self.required().is_empty() { &self.scopes } else { &[] }
    }

    /// The required scopes that `granted` lacks.
    pub fn missing<'a>(&'a self, granted: &[String]) -> Vec<&'a str> {
        self.required().iter().filter(|s| !granted.contains(s)).map(String::as_str).collect()
    }
}

/// Whether an account can make one Web API call ("Can it call…?" on the card).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallCheck {
    pub method: String,
    pub path: String,
    pub summary: String,
    /// Needed for the call.
    pub required: Vec<String>,
    /// Of those, the ones the account lacks.
    pub missing: Vec<String>,
    /// Listed but not needed: they add fields to the answer.
    pub optional: Vec<String>,
    /// Withdrawn for development-mode apps.
    pub withdrawn: bool,
    /// What replaced it, as `METHOD /path`.
    pub replacement: Option<String>,
    pub reference: String,
}

impl CallCheck {
    pub fn new(op: &Operation, granted: &[String]) -> Self {
        Self {
            method: op.method.clone(),
            path: op.path.clone(),
            summary: op.summary.clone(),
            required: op.required().to_vec(),
            missing: op.missing(granted).into_iter().map(str::to_string).collect(),
            optional: op.widening().to_vec(),
            withdrawn: op.deprecated,
            replacement: replacement(op).map(|r| format!("{} {}", r.method, r.path)),
            reference: op.reference_url(),
        }
    }
}

/// The operations, in the spec's order.
pub fn operations() -> &'static [Operation] {
    static OPERATIONS: LazyLock<Vec<Operation>> = LazyLock::new(|| parse(ENDPOINTS_TSV));
    &OPERATIONS
}

fn parse(tsv: &str) -> Vec<Operation> {
    tsv.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1) // the column names
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('\t').collect();
            let [method, path, operation_id, scopes, deprecated, summary] = cells.as_slice() else {
                return None;
            };
            Some(Operation {
                method: method.to_string(),
                path: path.to_string(),
                operation_id: operation_id.to_string(),
                scopes: scopes.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
                deprecated: *deprecated == "true",
                summary: summary.to_string(),
            })
        })
        .collect()
}

/// `https://api.spotify.com/v1/playlists/37i9…/items?limit=5`, `/v1/me/`, `me/player`:
/// the path relative to `/v1`, without query, fragment or trailing slash.
pub fn normalize(path: &str) -> String {
    // Spaces and line breaks at either end (a pasted `…/items\r?limit=5`) are not the path.
    let path = path.split(['?', '#']).next().unwrap_or_default().trim();
    let path = path
        .strip_prefix("https://api.spotify.com")
        .or_else(|| path.strip_prefix("http://api.spotify.com"))
        .unwrap_or(path);
    let path = path.trim_start_matches('/');
    let path = path.strip_prefix("v1/").unwrap_or(if path == "v1" { "" } else { path });
    // Slashes after `v1/` too (`/v1//me`), so that normalizing again changes nothing.
    // Empty segments inside stay: one must not stand for a template's parameter.
    format!("/{}", path.trim_start_matches('/').trim_end_matches(|c: char| c == '/' || c.is_whitespace()))
}

/// How well a template fits a path: `None` if not at all, else the number of literal
/// segments (more literal is more specific: `/me/player/queue` over `/me/player/{x}`).
fn fit(template: &str, path: &str) -> Option<usize> {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    if t.len() != p.len() {
        return None;
    }
    let mut literal = 0;
    for (t, p) in t.iter().zip(&p) {
        if t.starts_with('{') && t.ends_with('}') {
            if p.is_empty() {
                return None;
            }
        } else if t == p {
            literal += 1;
        } else {
            return None;
        }
    }
    Some(literal)
}

/// The operations `path` can mean, best fit first: with `method`, at most one.
pub fn find(method: Option<&str>, path: &str) -> Vec<&'static Operation> {
    let path = normalize(path);
    let mut fits: Vec<(usize, &Operation)> = operations()
        .iter()
        .filter(|o| method.is_none_or(|m| o.method.eq_ignore_ascii_case(m)))
        .filter_map(|o| fit(&o.path, &path).map(|score| (score, o)))
        .collect();
    let best = fits.iter().map(|(score, _)| *score).max();
    fits.retain(|(score, _)| Some(*score) == best);
    fits.into_iter().map(|(_, o)| o).collect()
}

/// Operations for what a person types: a path (`/me/player/queue`, with or without a
/// method before it) by template, else words found in the summary, path or operation id.
/// Best first, at most `limit`.
pub fn search(query: &str, limit: usize) -> Vec<&'static Operation> {
    let query = query.trim();
    if query.is_empty() {
        return Vec::new();
    }
    let (method, rest) = match query.split_once(char::is_whitespace) {
        Some((m, rest)) if ["GET", "POST", "PUT", "DELETE"].contains(&m.to_ascii_uppercase().as_str()) => {
            (Some(m), rest.trim())
        }
        _ => (None, query),
    };
    let mut found = if rest.contains('/') { find(method, rest) } else { Vec::new() };
    let words: Vec<String> = rest.to_lowercase().split_whitespace().map(str::to_string).collect();
    for op in operations() {
        let text = format!("{} {} {}", op.summary, op.path, op.operation_id).to_lowercase();
        if method.is_none_or(|m| op.method.eq_ignore_ascii_case(m))
            && words.iter().all(|w| text.contains(w.as_str()))
            && !found.contains(&op)
        {
            found.push(op);
        }
    }
    // Withdrawn ones after the rest, in the spec's order otherwise.
    found.sort_by_key(|o| o.deprecated);
    found.truncate(limit);
    found
}

/// For a withdrawn operation, the one that took its place, if any (Spotify's February
/// 2026 changes): a playlist's `/tracks` became `/items`; saving, removing and following
/// by type (`/me/albums`, `/me/following`, a playlist's `/followers`…) became
/// `/me/library` and `/me/library/contains`; creating a playlist for a user became
/// `POST /me/playlists`. The rest were removed with nothing in their place.
pub fn replacement(op: &Operation) -> Option<&'static Operation> {
    if !op.deprecated {
        return None;
    }
    let path = op.path.as_str();
    let by_type = (path.starts_with("/me/") && path.matches('/').count() == 2)
        || (path.starts_with("/playlists/") && path.ends_with("/followers"));
    let candidate = if let Some(base) = path.strip_suffix("/tracks").filter(|b| b.starts_with("/playlists/")) {
        format!("{base}/items")
    } else if path.ends_with("/contains") && (path.starts_with("/me/") || path.starts_with("/playlists/")) {
        "/me/library/contains".into()
    } else if by_type && op.method != "GET" {
        "/me/library".into()
    } else if path == "/users/{user_id}/playlists" && op.method == "POST" {
        "/me/playlists".into()
    } else {
        return None;
    };
    operations().iter().find(|o| !o.deprecated && o.method == op.method && o.path == candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(method: &str, path: &str) -> &'static Operation {
        let found = find(Some(method), path);
        assert_eq!(found.len(), 1, "{method} {path}: {found:?}");
        found[0]
    }

    #[test]
    fn the_compiled_file_has_every_operation() {
        let header = ENDPOINTS_TSV.lines().find(|l| l.contains("One row per operation")).unwrap();
        let count: usize = header.split('(').nth(1).and_then(|s| s.split(')').next()).unwrap().parse().unwrap();
        assert_eq!(operations().len(), count);
        assert!(operations().iter().all(|o| o.path.starts_with('/') && !o.summary.is_empty()));
        let known: Vec<&str> =
            SCOPES_TSV.lines().filter(|l| !l.starts_with('#')).skip(1).filter_map(|l| l.split('\t').next()).collect();
        for op in operations() {
            for scope in &op.scopes {
                assert!(
                    known.contains(&scope.as_str()) || crate::scopes::SCOPES.iter().any(|s| s.name == scope),
                    "{scope}"
                );
            }
        }
    }

    #[test]
    fn paths_match_their_templates_with_or_without_v1_query_or_trailing_slash() {
        for path in [
            "/v1/playlists/37i9dQZF1DXcBWIGoYBM5M/items",
            "/playlists/37i9dQZF1DXcBWIGoYBM5M/items?limit=5",
            "https://api.spotify.com/v1/playlists/37i9dQZF1DXcBWIGoYBM5M/items/",
            "playlists/x/items",
        ] {
            assert_eq!(one("GET", path).operation_id, "get-playlists-items", "{path}");
        }
        assert_eq!(one("GET", "/v1/me/").operation_id, "get-current-users-profile");
        assert_eq!(one("get", "/me/player/queue").path, "/me/player/queue");
        assert_eq!(one("GET", "/me/top/artists").path, "/me/top/artists");
        // Only a whole `{name}` segment is a parameter; literal segments count for the fit.
        assert_eq!(fit("/a/{b", "/a/{b"), Some(3), "the empty segment before the first slash counts too");
        assert_eq!(fit("/a/b}", "/a/x"), None);
        assert_eq!(fit("/a/{b}/c", "/a/x/c"), Some(3));
        assert_eq!(fit("/a/{b}/c", "/a/x"), None);
        assert!(find(Some("GET"), "/v1/nothing/here").is_empty());
        assert!(find(Some("GET"), "/playlists//items").is_empty());
        // Found by fuzzing: `/v1//…` normalized to `//…`, which normalized again to `/…`.
        for path in ["/v1//pluaylf", "/v1//me", "v1///me//", "//v1/me", "/me\r?x", "/me/ \t/"] {
            let once = normalize(path);
            assert_eq!(normalize(&once), once, "{path}");
        }
        assert_eq!(one("GET", "/v1//me").operation_id, "get-current-users-profile");
        // Without a method: every operation on that path.
        let methods: Vec<&str> = find(None, "/me/player/queue").iter().map(|o| o.method.as_str()).collect();
        assert_eq!(methods, ["GET", "POST"]);
    }

    #[test]
    fn search_takes_a_path_a_method_and_a_path_or_words() {
        let ids = |q: &str| search(q, 10).iter().map(|o| o.operation_id.as_str()).collect::<Vec<_>>();
        assert_eq!(ids("GET /v1/me/player/queue"), ["get-queue"]);
        assert_eq!(ids("/me/player/queue"), ["get-queue", "add-to-queue"]);
        assert!(ids("queue").contains(&"get-queue"));
        assert!(ids("playlist items").starts_with(&["get-playlists-items"]), "{:?}", ids("playlist items"));
        assert!(ids("   ").is_empty());
        assert_eq!(search("a", 3).len(), 3);
    }

    #[test]
    fn several_scopes_in_a_row_are_all_needed() {
        let add = one("POST", "/playlists/x/items");
        assert_eq!(add.scopes, ["playlist-modify-public", "playlist-modify-private"]);
        assert_eq!(add.missing(&["playlist-modify-public".into()]), ["playlist-modify-private"]);
        assert!(one("GET", "/albums/x").scopes.is_empty());
        // GET /me answers without its scopes; they add fields.
        let me = one("GET", "/me");
        assert!(me.missing(&[]).is_empty());
        assert_eq!(me.widening(), ["user-read-private", "user-read-email"]);
        assert!(add.widening().is_empty(), "a call that needs its scopes is not widened by them");
        assert_eq!(
            add.reference_url(),
            "https://developer.spotify.com/documentation/web-api/reference/add-items-to-playlist"
        );
    }

    #[test]
    fn withdrawn_operations_name_what_replaced_them() {
        let old = one("GET", "/playlists/x/tracks");
        assert!(old.deprecated);
        assert_eq!(replacement(old).unwrap().path, "/playlists/{playlist_id}/items");
        assert_eq!(replacement(one("PUT", "/me/albums")).unwrap().path, "/me/library");
        assert_eq!(replacement(one("GET", "/me/tracks/contains")).unwrap().path, "/me/library/contains");
        assert_eq!(replacement(one("GET", "/albums")), None);
        assert_eq!(replacement(one("GET", "/me/player/queue")), None);
        // Only a change by type goes to the library: a withdrawn change one level deeper
        // under /me/, or followers of anything but a playlist, would have nothing (no
        // operation in today's catalog is either, so the table below cannot tell).
        let made_up = |method: &str, path: &str| Operation {
            method: method.into(),
            path: path.into(),
            operation_id: String::new(),
            scopes: vec![],
            deprecated: true,
            summary: String::new(),
        };
        assert_eq!(replacement(&made_up("PUT", "/me/player/shuffle")), None);
        assert_eq!(replacement(&made_up("DELETE", "/artists/{id}/followers")), None);
        // Every withdrawn operation, and what took its place.
        let replaced: Vec<String> = operations()
            .iter()
            .filter(|o| o.deprecated)
            .filter_map(|o| replacement(o).map(|r| format!("{} {} -> {}", o.method, o.path, r.path)))
            .collect();
        let mut expected = vec![];
        for kind in ["audiobooks", "albums", "tracks", "episodes", "shows", "following"] {
            expected.push(format!("PUT /me/{kind} -> /me/library"));
            expected.push(format!("DELETE /me/{kind} -> /me/library"));
            expected.push(format!("GET /me/{kind}/contains -> /me/library/contains"));
        }
        for method in ["GET", "POST", "PUT", "DELETE"] {
            expected.push(format!("{method} /playlists/{{playlist_id}}/tracks -> /playlists/{{playlist_id}}/items"));
        }
        expected.push("POST /users/{user_id}/playlists -> /me/playlists".into());
        expected.push("PUT /playlists/{playlist_id}/followers -> /me/library".into());
        expected.push("DELETE /playlists/{playlist_id}/followers -> /me/library".into());
        expected.push("GET /playlists/{playlist_id}/followers/contains -> /me/library/contains".into());
        let (mut replaced, mut expected) = (replaced, expected);
        replaced.sort();
        expected.sort();
        assert_eq!(replaced, expected);
    }
}

/// The compiled-in files against the ones the project keeps beside it (`../shared/`):
/// a catalog that falls behind its source fails here.
#[cfg(test)]
mod source {
    #[test]
    fn the_compiled_catalog_is_the_shared_files() {
        // SPOTOKEN_SHARED_DIR: where a copy of the tree is tested away from it
        // (scripts/mutants' copies in /tmp).
        let shared = std::env::var_os("SPOTOKEN_SHARED_DIR").map_or_else(
            || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
            std::path::PathBuf::from,
        );
        for (name, compiled) in
            [("spotify-endpoints.tsv", super::ENDPOINTS_TSV), ("spotify-scopes.tsv", super::SCOPES_TSV)]
        {
            let path = shared.join(name);
            let source = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!("{} ({e}): the project's shared/ folder is expected beside it", path.display())
            });
            assert!(
                source == compiled,
                "crates/spotoken-core/data/{name} differs from {}: copy it over",
                path.display()
            );
        }
    }
}
