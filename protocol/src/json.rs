//! Strict JSON: duplicate keys, trailing bytes and surrounding white space are errors.
//!
//! serde_json silently keeps the last of two equal keys in a map, and two
//! readers of one signed payload could then see different statements. So a
//! payload is first read into a [`serde_json::Value`] by [`parse_strict`],
//! which refuses duplicates at every depth, and only then into typed bodies
//! by [`from_value_exact`], which holds serde's readers to the documented shape.

use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

/// How deep objects and arrays may nest; statements need four or five levels.
pub const MAX_DEPTH: usize = 16;

/// Why bytes are not strict JSON.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// Not valid JSON, a duplicate key, too deep, or trailing bytes.
    #[error("invalid JSON: {0}")]
    Syntax(#[source] serde_json::Error),
    /// White space before or after the value.
    #[error(
        "invalid JSON: white space before or after the value is not allowed in a signed payload"
    )]
    Padding,
}

/// Parses `bytes` as exactly one JSON value with no duplicate object keys.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, JsonError> {
    let padded = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_whitespace());
    if padded(bytes.first()) || padded(bytes.last()) {
        return Err(JsonError::Padding);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictSeed { depth: 0 }
        .deserialize(&mut de)
        .map_err(JsonError::Syntax)?;
    de.end().map_err(JsonError::Syntax)?;
    Ok(value)
}

struct StrictSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSeed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let depth = self.depth + 1;
        if depth > MAX_DEPTH {
            return Err(de::Error::custom("nested too deeply"));
        }
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictSeed { depth })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let depth = self.depth + 1;
        if depth > MAX_DEPTH {
            return Err(de::Error::custom("nested too deeply"));
        }
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(StrictSeed { depth })?;
            if out.insert(key.clone(), value).is_some() {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
        }
        Ok(Value::Object(out))
    }
}

/// Why parsed JSON is not the object a type expects.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShapeError {
    /// serde refused it: a missing member, an unknown one, a wrong type.
    #[error(transparent)]
    Serde(#[from] serde_json::Error),
    /// serde refused the member at `at`: a wrong type (`null` for a
    /// required member among them), an unknown member, or an unknown
    /// variant.
    #[error("{at}: {source}")]
    At {
        /// Where, as a path such as `reason` or `members[0].key`.
        at: String,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
    /// It was read, but not in the shape the protocol writes it.
    #[error("{at}: {problem}")]
    Shape {
        /// Where, as a path such as `rule` or `members[0]`.
        at: String,
        /// What is wrong there.
        problem: &'static str,
    },
}

/// Reads a `T` from JSON parsed by [`parse_strict`], holding serde's
/// reader to the shape `T` itself writes: an object wherever `T` writes an
/// object and an array wherever it writes one, with no member it would not
/// write. (A member whose value is `null` is absent, as the protocol says,
/// when `T` reads it so; `T` refuses `null` for a member that is required.)
///
/// serde's derived readers are more lenient than the protocol: a struct,
/// or an enum tagged by a member, is also read from an array of its values
/// in order, and a tagged variant without fields ignores any other member.
/// Another implementation following the protocol refuses those, and a node
/// must never count a statement that others refuse. So the value read is
/// written back and the two shapes compared (the scalars were checked by
/// reading them).
pub fn from_value_exact<T: DeserializeOwned + Serialize>(value: &Value) -> Result<T, ShapeError> {
    let read = T::deserialize(value).map_err(|e| refusal_with_path::<T>(value, e))?;
    let written = serde_json::to_value(&read)?;
    same_shape(value, &written, &mut String::new())?;
    Ok(read)
}

/// serde's refusal of `value` as a `T`, with the path to where it stopped,
/// which serde's own message does not say. Tracking the path costs time on
/// every read, so it is done only again, for a value already refused.
/// (`refused` is serde's first refusal, kept should the second read have
/// no place to name.)
fn refusal_with_path<T: DeserializeOwned>(value: &Value, refused: serde_json::Error) -> ShapeError {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Err(e) if e.path().to_string() != "." => ShapeError::At {
            at: e.path().to_string(),
            source: e.into_inner(),
        },
        _ => ShapeError::Serde(refused),
    }
}

/// Reads an optional list: absent, `null` and `[]` are all the empty list.
/// For `#[serde(default, deserialize_with = "…")]` on list members.
pub fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: de::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<Vec<T>>::deserialize(d).map(Option::unwrap_or_default)
}

/// Whether `read` has the shape of `written`: the same kind of value at
/// every place, arrays of the same length, and every member of `read`
/// present in `written` (members `written` has beyond it are the absent
/// optional ones). A `null` in `read` is whatever `T` read it as.
fn same_shape(read: &Value, written: &Value, at: &mut String) -> Result<(), ShapeError> {
    let wrong = |at: &str, problem| {
        Err(ShapeError::Shape {
            at: if at.is_empty() {
                "the value".into()
            } else {
                at.to_owned()
            },
            problem,
        })
    };
    match (read, written) {
        (Value::Null, _) => Ok(()),
        (Value::Object(r), Value::Object(w)) => {
            for (name, rv) in r {
                let len = at.len();
                if !at.is_empty() {
                    at.push('.');
                }
                at.push_str(name);
                match w.get(name) {
                    Some(wv) => same_shape(rv, wv, at)?,
                    None => return wrong(at, "no such member here"),
                }
                at.truncate(len);
            }
            Ok(())
        }
        (Value::Array(r), Value::Array(w)) if r.len() == w.len() => {
            for (i, (rv, wv)) in r.iter().zip(w).enumerate() {
                let len = at.len();
                // Writing into the path reuses its buffer; a String never
                // fails to take what is written.
                let _ = write!(at, "[{i}]");
                same_shape(rv, wv, at)?;
                at.truncate(len);
            }
            Ok(())
        }
        (_, Value::Object(_)) => wrong(at, "must be a JSON object"),
        (Value::Object(_), _) => wrong(at, "must not be a JSON object"),
        (Value::Array(_), Value::Array(_)) => wrong(at, "has items this type does not keep"),
        (_, Value::Array(_)) => wrong(at, "must be a JSON array"),
        (Value::Array(_), _) => wrong(at, "must not be a JSON array"),
        (Value::String(_), Value::String(_))
        | (Value::Number(_), Value::Number(_))
        | (Value::Bool(_), Value::Bool(_)) => Ok(()),
        _ => wrong(at, "has the wrong JSON type"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_duplicates_at_any_depth() {
        assert!(parse_strict(br#"{"a":1,"a":2}"#).is_err());
        assert!(parse_strict(br#"{"a":{"b":1,"b":1}}"#).is_err());
        assert!(parse_strict(br#"[{"b":1,"b":1}]"#).is_err());
        assert!(parse_strict(br#"{"a":{"b":1},"b":1}"#).is_ok());
    }

    #[test]
    fn rejects_trailing_bytes_and_padding() {
        assert!(parse_strict(br#"{"a":1}x"#).is_err());
        assert!(parse_strict(br#"{"a":1} "#).is_err());
        assert!(parse_strict(br#" {"a":1}"#).is_err());
        assert!(parse_strict(br#"{"a":1}{"a":1}"#).is_err());
    }

    #[test]
    fn rejects_deep_nesting() {
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(parse_strict(deep.as_bytes()).is_err());
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse_strict(ok.as_bytes()).is_ok());
    }
}
