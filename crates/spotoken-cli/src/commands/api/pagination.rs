//! `api --paginate`: which page comes next, when to stop, and the one JSON array of
//! every page's `items`, written as the pages arrive so a long list is never held in
//! memory, and closed whatever ends the paging.

use serde_json::Value;
use std::collections::HashSet;
use std::io::Write;

pub use crate::cli::DEFAULT_MAX_PAGES;

/// What to do after a page.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Fetch this URL (the page's `next`).
    Follow(String),
    /// The last page: no `next`.
    Done,
    /// Stop early, for this reason (`pagination_stopped`).
    Stop(String),
}

/// The pages fetched so far.
#[derive(Debug)]
pub struct Pages {
    seen: HashSet<String>,
    count: u32,
    max: u32,
}

impl Pages {
    pub fn new(max: u32) -> Self {
        Self { seen: HashSet::new(), count: 0, max }
    }

    pub fn count(&self) -> usize {
        self.count as usize
    }

    /// After `page` arrived: each page names itself (`href`) and the page after it
    /// (`next`); a `next` already fetched would loop for ever.
    pub fn after(&mut self, page: &Value) -> Step {
        self.count += 1;
        if let Some(href) = page.get("href").and_then(Value::as_str) {
            self.seen.insert(href.to_string());
        }
        match page.get("next").and_then(Value::as_str) {
            None => Step::Done,
            Some(next) if !self.seen.insert(next.to_string()) => {
                Step::Stop("Spotify's `next` points to a page already fetched".into())
            }
            Some(_) if self.count >= self.max => Step::Stop(format!("--max-pages is {}", self.max)),
            Some(next) => Step::Follow(next.to_string()),
        }
    }
}

/// The array of items, as written so far.
#[derive(Debug, Default)]
pub struct ItemStream {
    /// `[` is written (an item was).
    open: bool,
}

impl ItemStream {
    pub fn push(&mut self, out: &mut dyn Write, items: &[Value]) {
        for item in items {
            let lead = if self.open { ",\n" } else { "[\n" };
            self.open = true;
            let indented = format!("{item:#}").replace('\n', "\n  ");
            let _ = write!(out, "{lead}  {indented}");
        }
        let _ = out.flush();
    }

    pub fn close(self, out: &mut dyn Write) {
        let _ = writeln!(out, "{}", if self.open { "\n]" } else { "[]" });
        let _ = out.flush();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn paging_follows_next_until_there_is_none() {
        let mut pages = Pages::new(10);
        assert_eq!(pages.after(&json!({"href": "a", "next": "b"})), Step::Follow("b".into()));
        assert_eq!(pages.after(&json!({"href": "b", "next": null})), Step::Done);
        assert_eq!(pages.count(), 2);
    }

    #[test]
    fn a_next_seen_before_stops_even_a_page_without_href() {
        let mut pages = Pages::new(10);
        assert_eq!(
            pages.after(&json!({"href": "a", "next": "a"})),
            Step::Stop("Spotify's `next` points to a page already fetched".into())
        );
        let mut pages = Pages::new(10);
        assert_eq!(pages.after(&json!({"next": "b"})), Step::Follow("b".into()));
        assert_eq!(pages.after(&json!({"next": "c"})), Step::Follow("c".into()));
        assert!(matches!(pages.after(&json!({"next": "b"})), Step::Stop(_)));
    }

    #[test]
    fn the_page_limit_stops_only_when_there_is_more() {
        let mut pages = Pages::new(2);
        assert_eq!(pages.after(&json!({"next": "2"})), Step::Follow("2".into()));
        assert_eq!(pages.after(&json!({"next": "3"})), Step::Stop("--max-pages is 2".into()));
        let mut pages = Pages::new(1);
        assert_eq!(pages.after(&json!({"next": null})), Step::Done);
    }

    #[test]
    fn the_stream_is_one_json_array_whatever_ends_it() {
        let mut out = Vec::new();
        let mut stream = ItemStream::default();
        stream.push(&mut out, &[json!({"a": 1})]);
        stream.push(&mut out, &[]);
        stream.push(&mut out, &[json!(2), json!("three")]);
        stream.close(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), json!([{"a": 1}, 2, "three"]));
        assert!(text.ends_with("\n]\n"), "{text:?}");

        let mut out = Vec::new();
        ItemStream::default().close(&mut out);
        assert_eq!(out, b"[]\n");
    }
}
