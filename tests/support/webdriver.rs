//! A small W3C WebDriver client over plain HTTP, enough to drive the app like a person:
//! find, click, type, read text, take screenshots.

use serde_json::{Value, json};
use std::time::{Duration, Instant};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Session {
    http: reqwest::Client,
    base: String,
}

#[derive(Clone, Debug)]
pub struct Element(String);

impl Session {
    /// Starts the app through tauri-driver at `driver` (e.g. `http://127.0.0.1:4444`).
    pub async fn start(driver: &str, application: &str, args: &[&str]) -> Result<Self, String> {
        // A fresh connection per command: tauri-driver may close an idle kept-alive one
        // just as the next command is sent on it (hyper's IncompleteMessage).
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|e| e.to_string())?;
        let body =
            json!({"capabilities": {"alwaysMatch": {"tauri:options": {"application": application, "args": args}}}});
        let started = Instant::now();
        loop {
            // tauri-driver may still be starting: retry connection errors briefly.
            match http.post(format!("{driver}/session")).json(&body).send().await {
                Ok(response) => {
                    let value: Value = response.json().await.map_err(|e| e.to_string())?;
                    let id = value["value"]["sessionId"].as_str().ok_or_else(|| format!("no session: {value}"))?;
                    return Ok(Self { http, base: format!("{driver}/session/{id}") });
                }
                Err(e) if started.elapsed() < Duration::from_secs(15) && e.is_connect() => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let value: Value = request.send().await.map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())?;
        if let Some(error) = value["value"]["error"].as_str() {
            return Err(format!("{error}: {}", value["value"]["message"]));
        }
        Ok(value["value"].clone())
    }

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let found =
            self.call(reqwest::Method::POST, "/elements", Some(json!({"using": "css selector", "value": css}))).await;
        found
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|e| e[ELEMENT].as_str().map(|id| Element(id.to_string())))
            .collect()
    }

    /// Waits up to `timeout` for an element matching `css`.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Element {
        let started = Instant::now();
        loop {
            if let Some(e) = self.find_all(css).await.into_iter().next() {
                return e;
            }
            assert!(started.elapsed() < timeout, "no element {css} within {timeout:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until no element matches `css`.
    pub async fn wait_gone(&self, css: &str, timeout: Duration) {
        let started = Instant::now();
        while !self.find_all(css).await.is_empty() {
            assert!(started.elapsed() < timeout, "{css} still there after {timeout:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let e = self.wait_for(css, Duration::from_secs(10)).await;
        self.call(reqwest::Method::POST, &format!("/element/{}/click", e.0), Some(json!({}))).await.unwrap();
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.wait_for(css, Duration::from_secs(10)).await;
        self.call(reqwest::Method::POST, &format!("/element/{}/clear", e.0), Some(json!({}))).await.unwrap();
        self.call(reqwest::Method::POST, &format!("/element/{}/value", e.0), Some(json!({"text": text})))
            .await
            .unwrap();
    }

    pub async fn text(&self, css: &str) -> String {
        let e = self.wait_for(css, Duration::from_secs(10)).await;
        self.element_text(&e).await
    }

    pub async fn element_text(&self, e: &Element) -> String {
        let v = self.call(reqwest::Method::GET, &format!("/element/{}/text", e.0), None).await.unwrap();
        v.as_str().unwrap_or_default().to_string()
    }

    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.find_all(css).await {
            out.push(self.element_text(&e).await);
        }
        out
    }

    /// Waits until `css`'s text satisfies `check`.
    pub async fn wait_text(&self, css: &str, timeout: Duration, check: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            if let Some(e) = self.find_all(css).await.into_iter().next() {
                let text = self.element_text(&e).await;
                if check(&text) {
                    return text;
                }
                assert!(started.elapsed() < timeout, "{css} never matched; last text {text:?}");
            } else {
                assert!(started.elapsed() < timeout, "no element {css} within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The DOM's `textContent` (WebDriver's rendered text is empty for some styled text).
    pub async fn text_content(&self, css: &str) -> String {
        let script = "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;";
        let v = self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": [css]}))).await;
        v.ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    }

    /// A DOM property as text (e.g. an input's live `checked` or `value`).
    pub async fn property(&self, css: &str, name: &str) -> String {
        self.wait_for(css, Duration::from_secs(10)).await;
        let script = "const e = document.querySelector(arguments[0]); return e ? String(e[arguments[1]]) : null;";
        let v = self
            .call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": [css, name]})))
            .await;
        v.ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    }

    pub async fn attribute(&self, css: &str, name: &str) -> Option<String> {
        let e = self.wait_for(css, Duration::from_secs(10)).await;
        let v = self.call(reqwest::Method::GET, &format!("/element/{}/attribute/{name}", e.0), None).await.ok()?;
        v.as_str().map(str::to_string)
    }

    /// `name` of every element matching `css`, in document order.
    pub async fn attributes(&self, css: &str, name: &str) -> Vec<Option<String>> {
        let mut out = Vec::new();
        for e in self.find_all(css).await {
            let v = self.call(reqwest::Method::GET, &format!("/element/{}/attribute/{name}", e.0), None).await.ok();
            out.push(v.and_then(|v| v.as_str().map(str::to_string)));
        }
        out
    }

    /// Runs `script` in the page (a function body; `arguments` are `args`) and answers its
    /// return value.
    pub async fn execute(&self, script: &str, args: Value) -> Result<Value, String> {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": args}))).await
    }

    /// Runs `script`, which calls its last argument with the answer.
    pub async fn execute_async(&self, script: &str, args: Value) -> Result<Value, String> {
        self.call(reqwest::Method::POST, "/execute/async", Some(json!({"script": script, "args": args}))).await
    }

    /// Where `css` is on the page: x, y, width, height in CSS pixels.
    pub async fn rect(&self, css: &str) -> [i64; 4] {
        self.wait_for(css, Duration::from_secs(10)).await;
        let script = "const r = document.querySelector(arguments[0]).getBoundingClientRect(); \
                      return [r.x, r.y, r.width, r.height].map(Math.round);";
        let v = self.execute(script, json!([css])).await.unwrap();
        let n = |i: usize| v[i].as_i64().unwrap_or(-1);
        [n(0), n(1), n(2), n(3)]
    }

    pub async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await.unwrap();
        base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap_or_default()).unwrap()
    }

    pub async fn end(self) {
        let _ = self.http.delete(&self.base).send().await;
    }
}
