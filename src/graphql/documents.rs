//! The documents clients send over and over: each short one is parsed once
//! and kept (parsing was the largest single cost of a small query), with
//! the operations of it that have passed async-graphql's full validation
//! and the costs (limits.rs) of those that no variable changes.
//!
//! A validated operation is not validated in full again when its request's
//! variables cannot change the outcome: [`variables_surely_valid`] accepts
//! only values of the built-in scalars that pass their own check whatever
//! the position (a string for `String`/`ID`, an integer in range for `Int`,
//! …), and every variable the operation declares must have one. Every other
//! rule of validation looks at the document alone, except the complexity of
//! fields with a complexity function, so a schema with one reuses nothing
//! ([`reusable`]). Such a request is executed by the twin schema in
//! `ValidationMode::Fast`, which still counts complexity and depth and
//! checks fragment cycles.

use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{BaseType, DocumentOperations, ExecutableDocument};
use async_graphql::registry::{MetaType, Registry};
use async_graphql::{Request, Value, Variables};

use super::limits::Cost;

/// Documents kept parsed, and the longest query text kept (so the cache
/// holds at most about 2 MiB of query text and its trees).
const PARSED_DOCUMENTS: usize = 512;
const MAX_CACHED_QUERY: usize = 4 * 1024;
/// Operations of one document with facts kept (a document usually has
/// one; past these, an operation is validated and measured every time).
const KEPT_OPERATIONS: usize = 8;

/// The parsed documents of recent short queries.
pub struct Documents(Mutex<lru::LruCache<String, Arc<Document>>>);

/// One kept document.
pub struct Document {
    /// Its parse.
    pub parsed: ExecutableDocument,
    /// What is known of its operations (by the request's `operationName`).
    operations: Mutex<Vec<Operation>>,
}

/// What is known of one operation of a kept document.
struct Operation {
    name: Option<Box<str>>,
    /// It passed the full validation with variables of
    /// [`variables_surely_valid`].
    validated: bool,
    /// Its cost (limits.rs) when no variable counts in it, with the list
    /// sizes of the limits it was measured with.
    cost: Option<([u64; 2], Cost)>,
}

impl Default for Documents {
    fn default() -> Self {
        Documents(Mutex::new(lru::LruCache::new(
            PARSED_DOCUMENTS.try_into().expect("non-zero"),
        )))
    }
}

impl Documents {
    /// Hands a parse of the query to the request: the kept one, or a new
    /// one (kept when the query is short). `None` for a long query, which
    /// the request parses itself, and for one that does not parse
    /// (async-graphql reports the syntax error).
    pub fn parse(&self, request: &mut Request) -> Option<Arc<Document>> {
        if request.query.len() > MAX_CACHED_QUERY {
            return None;
        }
        let cached = self.lock().get(&request.query).cloned();
        let document = match cached {
            Some(document) => document,
            None => {
                let parsed = async_graphql::parser::parse_query(&request.query).ok()?;
                let document = Arc::new(Document {
                    parsed,
                    operations: Mutex::default(),
                });
                self.lock().put(request.query.clone(), document.clone());
                document
            }
        };
        request.set_parsed_query(document.parsed.clone());
        Some(document)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, lru::LruCache<String, Arc<Document>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Document {
    /// Whether `operation` passed the full validation before.
    pub fn validated(&self, operation: Option<&str>) -> bool {
        self.read(operation, |o| o.validated).unwrap_or(false)
    }

    /// Records that `operation` passed the full validation.
    pub fn mark_validated(&self, operation: Option<&str>) {
        self.write(operation, |o| o.validated = true);
    }

    /// The kept cost of `operation` measured with these list sizes.
    pub fn cost(&self, operation: Option<&str>, sizes: [u64; 2]) -> Option<Cost> {
        self.read(operation, |o| o.cost.filter(|(s, _)| *s == sizes))
            .flatten()
            .map(|(_, cost)| cost)
    }

    /// Keeps the cost of `operation` measured with these list sizes.
    pub fn keep_cost(&self, operation: Option<&str>, sizes: [u64; 2], cost: Cost) {
        self.write(operation, |o| o.cost = Some((sizes, cost)));
    }

    fn read<R>(&self, operation: Option<&str>, f: impl FnOnce(&Operation) -> R) -> Option<R> {
        self.lock()
            .iter()
            .find(|o| o.name.as_deref() == operation)
            .map(f)
    }

    /// Changes what is known of `operation`, if it is known or there is
    /// room for it ([`KEPT_OPERATIONS`]).
    fn write(&self, operation: Option<&str>, f: impl FnOnce(&mut Operation)) {
        let mut operations = self.lock();
        let at = match operations
            .iter()
            .position(|o| o.name.as_deref() == operation)
        {
            Some(at) => at,
            None if operations.len() < KEPT_OPERATIONS => {
                operations.push(Operation {
                    name: operation.map(Into::into),
                    validated: false,
                    cost: None,
                });
                operations.len() - 1
            }
            None => return,
        };
        f(&mut operations[at]);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Operation>> {
        self.operations.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Whether every variable the selected operation declares has a value that
/// passes validation wherever the variable may stand: a built-in scalar
/// type and a value of that scalar. Anything else (a list, an input
/// object, an enum, a custom scalar, a null, a missing value, an unknown
/// operation) answers `false`, and the request is validated in full.
pub fn variables_surely_valid(
    document: &ExecutableDocument,
    operation: Option<&str>,
    variables: &Variables,
) -> bool {
    let selected = match (&document.operations, operation) {
        (DocumentOperations::Single(op), None) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => match ops.get(name) {
            Some(op) => op,
            None => return false,
        },
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => match ops.values().next() {
            Some(op) => op,
            None => return false,
        },
        _ => return false,
    };
    selected.node.variable_definitions.iter().all(|def| {
        let def = &def.node;
        match (&def.var_type.node.base, variables.get(&def.name.node)) {
            (BaseType::Named(ty), Some(value)) => scalar_surely_valid(ty.as_str(), value),
            _ => false,
        }
    })
}

/// A value every check of the built-in scalar `ty` accepts (stricter than
/// async-graphql where that is cheaper to state: an `Int` in `i32` range,
/// an `ID` only as a string).
fn scalar_surely_valid(ty: &str, value: &Value) -> bool {
    match (ty, value) {
        ("String" | "ID", Value::String(_)) | ("Boolean", Value::Boolean(_)) => true,
        ("Int", Value::Number(n)) => n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
        ("Float", Value::Number(n)) => n.as_f64().is_some_and(f64::is_finite),
        _ => false,
    }
}

/// Whether validation results may be reused with this schema: no field
/// has a complexity function (whose arguments may be variables).
pub fn reusable(registry: &Registry) -> bool {
    registry.types.values().all(|ty| match ty {
        MetaType::Object { fields, .. } | MetaType::Interface { fields, .. } => {
            fields.values().all(|f| f.compute_complexity.is_none())
        }
        _ => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn surely(query: &str, operation: Option<&str>, variables: serde_json::Value) -> bool {
        let document = async_graphql::parser::parse_query(query).unwrap();
        let variables = Variables::from_json(variables);
        variables_surely_valid(&document, operation, &variables)
    }

    #[test]
    fn only_present_values_of_built_in_scalars_are_surely_valid() {
        let q = "query($id: ID!, $n: Int, $s: String, $b: Boolean!, $f: Float) { a }";
        let all = serde_json::json!({"id": "x", "n": 3, "s": "", "b": true, "f": 1.5});
        assert!(surely(q, None, all.clone()));
        for (name, bad) in [
            ("id", serde_json::json!(7)),
            ("id", serde_json::Value::Null),
            ("n", serde_json::json!(1_i64 << 40)),
            ("n", serde_json::json!(1.5)),
            ("n", serde_json::json!("3")),
            ("s", serde_json::json!(["a"])),
            ("b", serde_json::json!("true")),
            ("f", serde_json::json!("1.5")),
        ] {
            let mut vars = all.clone();
            vars[name] = bad.clone();
            assert!(!surely(q, None, vars), "{name} = {bad}");
        }
        let mut missing = all.clone();
        missing.as_object_mut().unwrap().remove("s");
        assert!(!surely(q, None, missing));
    }

    #[test]
    fn lists_input_objects_enums_and_custom_scalars_are_validated_in_full() {
        for ty in ["[ID!]!", "OrderStatus", "CreateOrderInput!", "Money"] {
            let q = format!("query($v: {ty}) {{ a }}");
            assert!(!surely(&q, None, serde_json::json!({"v": "x"})), "{ty}");
        }
    }

    #[test]
    fn the_operation_is_the_one_the_request_names() {
        let q = "query A($n: Int!) { a } query B($s: String!) { a }";
        let vars = serde_json::json!({"n": 1});
        assert!(surely(q, Some("A"), vars.clone()));
        assert!(!surely(q, Some("B"), vars.clone()));
        assert!(!surely(q, None, vars.clone()));
        assert!(!surely(q, Some("C"), vars));
        assert!(!surely("{ a }", Some("A"), serde_json::json!({})));
        assert!(surely("{ a }", None, serde_json::json!({})));
    }
}
