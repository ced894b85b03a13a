//! NUL characters are refused in every request, whatever the transport:
//! PostgreSQL cannot store them in text (it would answer with an error that
//! surfaced as INTERNAL), and SQLite would store them silently, so the two
//! backends would disagree. The check runs before parsing, on the query
//! text (raw or escaped NULs) and on every variable, key or value.

use async_graphql::{Pos, Request, ServerError, Value};

use super::error::ApiError;

/// Refuses a request with a NUL anywhere in its query text or variables
/// (checked first, before the document is parsed; see [`super::AppSchema`]).
pub(super) fn refuse_nul(request: &Request) -> Result<(), ServerError> {
    if query_has_nul(&request.query)
        || request
            .variables
            .iter()
            .any(|(k, v)| k.contains('\0') || value_has_nul(v))
    {
        let error = ApiError::validation("strings must not contain NUL characters (\\u0000)");
        return Err(async_graphql::Error::from(error).into_server_error(Pos::default()));
    }
    Ok(())
}

/// A raw NUL, or an escape that decodes to one (`\u0000`, `\u{0}`).
fn query_has_nul(query: &str) -> bool {
    if query.contains('\0') {
        return true;
    }
    query.match_indices("\\u").any(|(i, _)| {
        let rest = &query[i + 2..];
        rest.starts_with("0000")
            || rest
                .strip_prefix('{')
                .and_then(|r| r.split_once('}'))
                .is_some_and(|(digits, _)| !digits.is_empty() && digits.bytes().all(|b| b == b'0'))
    })
}

/// Walks a value without recursion (variables may nest deeply).
fn value_has_nul(value: &Value) -> bool {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) if s.contains('\0') => return true,
            Value::List(items) => stack.extend(items.iter()),
            Value::Object(fields) => {
                if fields.keys().any(|k| k.contains('\0')) {
                    return true;
                }
                stack.extend(fields.values());
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_raw_escaped_and_nested() {
        assert!(query_has_nul("{ a(x: \"\0\") }"));
        assert!(query_has_nul(r#"{ a(x: "\u0000") }"#));
        assert!(query_has_nul(r#"{ a(x: "\u{00}") }"#));
        assert!(!query_has_nul(r#"{ a(x: "\u0041 \u{41}") }"#));
        let nested = Value::List(vec![Value::List(vec![Value::String("a\0".into())])]);
        assert!(value_has_nul(&nested));
        assert!(!value_has_nul(&Value::String("fine".into())));
    }
}
