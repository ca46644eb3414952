//! `spotoken api`'s `-f`, `-F` and `-H`: what they are made of (checked by clap, a
//! usage error when wrong) and the JSON each field's value becomes, as `gh api`'s
//! fields: `-f` always a string; `-F` a number, `true`, `false` and `null` as JSON, and
//! `@file` (`@-`: standard input) a file's contents, as JSON when it is JSON.

use serde_json::Value;
use spotoken_core::Error;
use std::io::Read;
use std::path::{Path, PathBuf};

pub use crate::cli::{Field, Header};
use crate::io::Io;

impl Field {
    /// `-F`'s value as JSON.
    fn typed(&self, io: &mut Io) -> Result<Value, Error> {
        if let Some(file) = self.value.strip_prefix('@') {
            let text = String::from_utf8_lossy(&read_input(Path::new(file), io)?).into_owned();
            return Ok(serde_json::from_str(text.trim()).unwrap_or(Value::String(text)));
        }
        Ok(typed_literal(&self.value))
    }
}

/// `true`, `false`, `null` and numbers as JSON; anything else a string.
pub fn typed_literal(text: &str) -> Value {
    match text {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => text
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| text.parse::<f64>().map(Value::from))
            .unwrap_or_else(|_| Value::String(text.into())),
    }
}

/// `-f` fields as strings, then `-F` fields typed: (key, JSON value), in that order.
pub fn values(raw: &[Field], typed: &[Field], io: &mut Io) -> Result<Vec<(String, Value)>, Error> {
    let mut out: Vec<(String, Value)> = raw.iter().map(|f| (f.key.clone(), Value::String(f.value.clone()))).collect();
    for field in typed {
        out.push((field.key.clone(), field.typed(io)?));
    }
    Ok(out)
}

/// A file's bytes; `-`: standard input's.
pub fn read_input(path: &Path, io: &mut Io) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        let failed = |e| Error::Io { action: "read", path: PathBuf::from("standard input"), source: e };
        if let Some(mut input) = io.take_input() {
            input.read_to_end(&mut bytes).map_err(failed)?;
        }
        return Ok(bytes);
    }
    std::fs::read(path).map_err(|e| Error::Io { action: "read", path: path.to_path_buf(), source: e })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn a_field_or_header_without_its_separator_is_refused_with_an_example() {
        assert_eq!(Field::parse("limit=5=6").unwrap(), Field { key: "limit".into(), value: "5=6".into() });
        assert_eq!(Field::parse("empty=").unwrap().value, "");
        assert!(Field::parse("limit").unwrap_err().contains("not key=value"));
        assert_eq!(
            Header::parse(" Accept-Language :  de ").unwrap(),
            Header { name: "Accept-Language".into(), value: "de".into() }
        );
        assert!(Header::parse("Accept-Language de").unwrap_err().contains("\"Name: value\""));
    }

    #[test]
    fn typed_fields_become_json_and_raw_ones_stay_strings() {
        for (text, want) in [
            ("true", json!(true)),
            ("false", json!(false)),
            ("null", json!(null)),
            ("42", json!(42)),
            ("-7", json!(-7)),
            ("2.5", json!(2.5)),
            ("1e3", json!(1000.0)),
            ("True", json!("True")),
            ("42abc", json!("42abc")),
            ("", json!("")),
        ] {
            assert_eq!(typed_literal(text), want, "{text}");
        }
        let (mut io, _) = Io::test(b"");
        let raw = [Field::parse("n=42").unwrap()];
        let typed = [Field::parse("n=42").unwrap(), Field::parse("public=false").unwrap()];
        assert_eq!(
            values(&raw, &typed, &mut io).unwrap(),
            [("n".into(), json!("42")), ("n".into(), json!(42)), ("public".into(), json!(false))]
        );
    }

    #[test]
    fn at_file_reads_a_file_or_standard_input_as_json_when_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let object = dir.path().join("object.json");
        std::fs::write(&object, "  {\"a\": [1, 2]}\n").unwrap();
        let text = dir.path().join("text.txt");
        std::fs::write(&text, "two\nlines\n").unwrap();
        let (mut io, _) = Io::test(b"[true]\n");
        let typed = [
            Field::parse(&format!("o=@{}", object.display())).unwrap(),
            Field::parse(&format!("t=@{}", text.display())).unwrap(),
            Field::parse("s=@-").unwrap(),
        ];
        let got = values(&[], &typed, &mut io).unwrap();
        assert_eq!(got[0].1, json!({"a": [1, 2]}));
        // Not JSON: the contents as they are, line breaks included.
        assert_eq!(got[1].1, json!("two\nlines\n"));
        assert_eq!(got[2].1, json!([true]));

        // Standard input is read once; a second `@-` finds it empty.
        assert_eq!(values(&[], &[Field::parse("again=@-").unwrap()], &mut io).unwrap()[0].1, json!(""));

        let missing = dir.path().join("missing.json");
        let e = values(&[], &[Field::parse(&format!("m=@{}", missing.display())).unwrap()], &mut io).unwrap_err();
        assert_eq!(e.diagnose().code, spotoken_core::Code::IoError, "{e:?}");
        assert!(e.diagnose().message.contains("missing.json"), "{}", e.diagnose().message);
    }
}
