//! `spotoken api`'s arguments as one Web API request: the fields go in the query for
//! GET and DELETE and make up a JSON body otherwise; `--input` is the body as it is.

use spotoken_core::Error;
use spotoken_core::call::ApiRequest;

use super::ApiOptions;
use super::fields::{read_input, values};
use crate::io::Io;

pub fn build(path: &str, options: &ApiOptions, io: &mut Io) -> Result<ApiRequest, Error> {
    let method = options.method.to_ascii_uppercase();
    let fields = values(&options.raw_fields, &options.fields, io)?;
    let in_query = method == "GET" || method == "DELETE";
    let query: Vec<(String, String)> = if in_query {
        fields.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string))).collect()
    } else {
        Vec::new()
    };
    let body = match (&options.input, in_query || fields.is_empty()) {
        (Some(file), _) => Some(read_input(file, io)?),
        (None, false) => Some(serde_json::Value::Object(fields.into_iter().collect()).to_string().into_bytes()),
        (None, true) => None,
    };
    let headers = options.headers.iter().map(|h| (h.name.clone(), h.value.clone())).collect();
    Ok(ApiRequest { method, path: path.to_string(), query, body, headers, account: options.account.clone() })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::commands::api::fields::{Field, Header};

    fn options(method: &str, raw: &[&str], typed: &[&str]) -> ApiOptions {
        ApiOptions {
            method: method.into(),
            raw_fields: raw.iter().map(|f| Field::parse(f).unwrap()).collect(),
            fields: typed.iter().map(|f| Field::parse(f).unwrap()).collect(),
            ..ApiOptions::default()
        }
    }

    #[test]
    fn fields_are_the_query_of_a_get_or_delete() {
        let (mut io, _) = Io::test(b"");
        for method in ["get", "DELETE"] {
            let r = build("/me/tracks", &options(method, &["ids=a,b"], &["limit=5"]), &mut io).unwrap();
            assert_eq!(r.method, method.to_ascii_uppercase());
            assert_eq!(r.query, [("ids".to_string(), "a,b".to_string()), ("limit".into(), "5".into())]);
            assert_eq!(r.body, None);
        }
    }

    #[test]
    fn fields_are_a_json_body_otherwise_and_no_fields_no_body() {
        let (mut io, _) = Io::test(b"");
        let r = build("/me/playlists", &options("post", &["name=Mix"], &["public=false", "n=2"]), &mut io).unwrap();
        assert!(r.query.is_empty());
        let body: serde_json::Value = serde_json::from_slice(&r.body.unwrap()).unwrap();
        assert_eq!(body, serde_json::json!({"name": "Mix", "public": false, "n": 2}));
        assert_eq!(build("/me/player/pause", &options("PUT", &[], &[]), &mut io).unwrap().body, None);
    }

    #[test]
    fn input_is_the_body_as_it_is_and_headers_go_along() {
        let (mut io, _) = Io::test(b"not json {");
        let o = ApiOptions {
            method: "PUT".into(),
            input: Some("-".into()),
            headers: vec![Header::parse("Content-Type: text/plain").unwrap()],
            account: Some("someone".into()),
            ..ApiOptions::default()
        };
        let r = build("me/x", &o, &mut io).unwrap();
        assert_eq!(r.body.as_deref(), Some(&b"not json {"[..]));
        assert_eq!(r.headers, [("Content-Type".to_string(), "text/plain".to_string())]);
        assert_eq!((r.path.as_str(), r.account.as_deref()), ("me/x", Some("someone")));
    }
}
