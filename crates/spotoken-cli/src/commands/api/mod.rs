//! `spotoken api`: a Web API call with a fresh token, its answer printed, in the manner
//! of `gh api` (`fields.rs`: what `-f`/`-F`/`-H` become; `request.rs`: the request;
//! `pagination.rs`: `--paginate`). Refusals are the engine's: it refreshes once on an
//! expired token, waits out a short Retry-After and names a missing scope.

pub mod fields;
pub mod pagination;
mod request;

use spotoken_core::activity::{Channel, Recipient};
use spotoken_core::call::ApiRequest;
use spotoken_core::{Engine, Error};
use std::io::Write;
use std::path::PathBuf;

use crate::exit::Exit;
use crate::io::Io;
use fields::{Field, Header};
pub use pagination::DEFAULT_MAX_PAGES;
use pagination::{ItemStream, Pages, Step};

/// `spotoken api`'s options beside the path.
#[derive(Debug)]
pub struct ApiOptions {
    pub method: String,
    pub raw_fields: Vec<Field>,
    pub fields: Vec<Field>,
    pub input: Option<PathBuf>,
    pub headers: Vec<Header>,
    pub paginate: bool,
    pub max_pages: u32,
    pub include: bool,
    pub account: Option<String>,
}

impl Default for ApiOptions {
    fn default() -> Self {
        Self {
            method: "GET".into(),
            raw_fields: Vec::new(),
            fields: Vec::new(),
            input: None,
            headers: Vec::new(),
            paginate: false,
            max_pages: DEFAULT_MAX_PAGES,
            include: false,
            account: None,
        }
    }
}

pub async fn run(engine: &Engine, path: &str, options: ApiOptions, io: &mut Io) -> Result<Exit, Error> {
    let mut request = request::build(path, &options, io)?;
    let to = Recipient::cli_as(Channel::CliApi);
    let out = io.out();
    let mut items: Option<ItemStream> = None;
    let mut pages = Pages::new(options.max_pages);
    loop {
        let response = engine.call_api(&request, &to).await?;
        if options.include {
            let _ = writeln!(out, "HTTP {} {}", response.status, response.reason);
            for (k, v) in &response.headers {
                let _ = writeln!(out, "{k}: {v}");
            }
            let _ = writeln!(out);
        }
        let json: Option<serde_json::Value> = serde_json::from_slice(&response.body).ok();
        if let Some(problem) = response.problem {
            match items.take() {
                // Later pages: the items so far stay valid JSON; the refusal goes to stderr.
                Some(stream) => stream.close(out),
                None => print_body(out, json.as_ref(), &response.body),
            }
            return Err(problem);
        }
        if !options.paginate {
            print_body(out, json.as_ref(), &response.body);
            return Ok(Exit::Success);
        }
        let page = json.unwrap_or_default();
        match (page.get("items").and_then(|i| i.as_array()), items.take()) {
            (Some(page_items), stream) => items.insert(stream.unwrap_or_default()).push(out, page_items),
            (None, Some(stream)) => {
                // A later page with no list: what came before stays valid.
                stream.close(out);
                return Ok(Exit::Success);
            }
            (None, None) => {
                // Nothing to page through: the answer as it is.
                print_body(out, Some(&page), &response.body);
                return Ok(Exit::Success);
            }
        }
        match pages.after(&page) {
            Step::Follow(next) => {
                // The next page's URL says it all; the account stays the one first used.
                request = ApiRequest { path: next, query: Vec::new(), account: Some(response.account), ..request };
            }
            end => {
                if let Some(stream) = items.take() {
                    stream.close(out);
                }
                return match end {
                    Step::Stop(why) => Err(Error::PaginationStopped { pages: pages.count(), why }),
                    _ => Ok(Exit::Success),
                };
            }
        }
    }
}

/// JSON pretty-printed; anything else as it came.
fn print_body(out: &mut dyn Write, json: Option<&serde_json::Value>, raw: &[u8]) {
    let _ = match json {
        Some(value) => writeln!(out, "{value:#}"),
        None if raw.is_empty() => Ok(()),
        None => out.write_all(raw).and_then(|()| if raw.ends_with(b"\n") { Ok(()) } else { writeln!(out) }),
    };
    let _ = out.flush();
}
