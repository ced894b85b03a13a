//! Bounded cost: every operation is measured as it will execute, with
//! fragment spreads expanded, before anything runs (Apollo Router's
//! `limits`, GitHub's node limit). Counting never expands anything: each
//! fragment is measured once and memoised, arithmetic saturates, and a
//! fragment cycle counts as nothing here (validation refuses it next).
//!
//! Checked by [`super::AppSchema`] on every request of every transport,
//! before async-graphql's own parse-time recursion check and its
//! validation, both of which walk every expansion of every fragment spread.
//! The limits come from the request's data (the HTTP layer puts the
//! configured [`Limits`] there) or the WebSocket session's; a request
//! without them gets [`Limits::default`].

use std::collections::HashMap;
use std::time::Duration;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet,
};
use async_graphql::registry::{MetaField, MetaTypeName, Registry};
use async_graphql::{ErrorExtensionValues, Request, ServerError, ServerResult, Value, Variables};

use super::ErrorCode;
use super::documents::Document;

/// Per-request limits. Shape limits are checked before validation and
/// answered as VALIDATION with `extensions.limit` (the field name below) and
/// `extensions.max`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Deepest selection, fragments expanded (16).
    pub max_depth: usize,
    /// Field selections in the operation, fragments expanded (1,000).
    pub max_fields: usize,
    /// Aliased fields in the operation, fragments expanded (30).
    pub max_aliases: usize,
    /// Fields at the root of the operation (20).
    pub max_root_fields: usize,
    /// Estimated nodes (2,000,000 would be GitHub's scale; 50,000 here): each
    /// field counts the product of the list sizes on its path. A field with
    /// a `first`/`last` argument counts that many (default below, at most
    /// `max_list_size`); other list fields count `default_list_size`, except
    /// a connection's `edges`/`nodes` (its `first` already counted them).
    pub max_nodes: u64,
    /// List size assumed when `first` is absent or not a literal (20).
    pub default_list_size: u64,
    /// Largest list size used by the estimate (100, the API's page cap).
    pub max_list_size: u64,
    /// Operations in one batched HTTP request (10; 0 turns batching off).
    pub max_batch: usize,
    /// Largest serialised response body (16 MiB); RESPONSE_TOO_LARGE past it.
    pub max_response_bytes: usize,
    /// Wall-clock limit of one HTTP request's execution (30 s); TIMEOUT.
    pub request_timeout: Duration,
    /// GraphQL HTTP requests served at once (256); OVERLOADED (503) past it.
    pub max_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 16,
            max_fields: 1_000,
            max_aliases: 30,
            max_root_fields: 20,
            max_nodes: 50_000,
            default_list_size: 20,
            max_list_size: 100,
            max_batch: 10,
            max_response_bytes: 16 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            max_in_flight: 256,
        }
    }
}

/// A VALIDATION error naming the limit that refused.
pub fn limit_error(limit: &'static str, max: u64, message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", ErrorCode::Validation.as_str());
    ext.set("limit", limit);
    ext.set("max", Value::from(max));
    error.extensions = Some(ext);
    error
}

/// What an operation costs, fragments expanded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    /// Fields selected, fragments expanded.
    pub fields: u64,
    /// Aliased fields.
    pub aliases: u64,
    /// Fields at the root of the operation.
    pub root_fields: u64,
    /// Deepest nesting.
    pub depth: u64,
    /// Estimated nodes returned (lists multiplied by `first`).
    pub nodes: u64,
}

impl Cost {
    /// Adds a sibling selection's cost (same level).
    fn add(&mut self, other: Cost) {
        self.fields = self.fields.saturating_add(other.fields);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.root_fields = self.root_fields.saturating_add(other.root_fields);
        self.depth = self.depth.max(other.depth);
        self.nodes = self.nodes.saturating_add(other.nodes);
    }
}

/// Measures selection sets against the schema's registry.
struct Measure<'a> {
    registry: &'a Registry,
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    limits: &'a Limits,
    /// (fragment, inside introspection) -> cost; `None` while being measured
    /// (a cycle).
    memo: HashMap<(&'a str, bool), Option<Cost>>,
    /// Whether a variable's value was counted (a `first: $n`).
    read_variables: std::cell::Cell<bool>,
}

impl<'a> Measure<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet, ty: Option<&str>, intro: bool) -> Cost {
        let mut cost = Cost::default();
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => cost.add(self.field(&field.node, ty, intro)),
                Selection::FragmentSpread(spread) => {
                    cost.add(self.fragment(spread.node.fragment_name.node.as_str(), intro))
                }
                Selection::InlineFragment(inline) => {
                    let inner = inline
                        .node
                        .type_condition
                        .as_ref()
                        .map(|c| c.node.on.node.to_string());
                    let inner_ty = inner.as_deref().or(ty);
                    cost.add(self.selection_set(&inline.node.selection_set.node, inner_ty, intro))
                }
            }
        }
        cost
    }

    fn field(&mut self, field: &'a Field, ty: Option<&str>, intro: bool) -> Cost {
        let name = field.name.node.as_str();
        let meta: Option<&MetaField> = ty
            .and_then(|t| self.registry.concrete_type_by_name(t))
            .and_then(|t| t.field_by_name(name));
        let intro = intro || name.starts_with("__");
        let child_ty = meta.map(|m| MetaTypeName::concrete_typename(&m.ty).to_owned());
        let children = if field.selection_set.node.items.is_empty() {
            Cost::default()
        } else {
            self.selection_set(&field.selection_set.node, child_ty.as_deref(), intro)
        };
        let multiplier = if intro {
            1
        } else {
            self.multiplier(field, meta)
        };
        Cost {
            fields: children.fields.saturating_add(1),
            aliases: children
                .aliases
                .saturating_add(u64::from(field.alias.is_some())),
            root_fields: 1,
            depth: children.depth.saturating_add(1),
            nodes: multiplier.saturating_mul(children.nodes.saturating_add(1)),
        }
    }

    /// How many times a field's subtree is expected to repeat.
    fn multiplier(&self, field: &Field, meta: Option<&MetaField>) -> u64 {
        let Some(meta) = meta else { return 1 };
        let paged = meta.args.contains_key("first") || meta.args.contains_key("last");
        if paged {
            let size = ["first", "last"]
                .iter()
                .find_map(|arg| self.int_argument(field, arg))
                .unwrap_or(self.limits.default_list_size);
            return size.clamp(1, self.limits.max_list_size.max(1));
        }
        if MetaTypeName::create(&meta.ty).is_list() {
            let name = field.name.node.as_str();
            if name == "edges" || name == "nodes" {
                return 1;
            }
            return self.limits.default_list_size.max(1);
        }
        1
    }

    fn int_argument(&self, field: &Field, name: &str) -> Option<u64> {
        let value = field.get_argument(name)?;
        let constant = value
            .node
            .clone()
            .into_const_with(|var| {
                self.read_variables.set(true);
                self.variables.get(&var).cloned().ok_or(())
            })
            .ok()?;
        match constant {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    fn fragment(&mut self, name: &'a str, intro: bool) -> Cost {
        match self.memo.get(&(name, intro)) {
            Some(Some(cost)) => return *cost,
            // A cycle: validation refuses the document; count nothing here.
            Some(None) => return Cost::default(),
            None => {}
        }
        let Some(fragment) = self.document.fragments.get(name) else {
            return Cost::default();
        };
        self.memo.insert((name, intro), None);
        let ty = fragment.node.type_condition.node.on.node.as_str();
        let cost = self.selection_set(&fragment.node.selection_set.node, Some(ty), intro);
        self.memo.insert((name, intro), Some(cost));
        cost
    }
}

/// The cost of one operation of `document`.
pub fn measure(
    registry: &Registry,
    document: &ExecutableDocument,
    operation: &OperationDefinition,
    variables: &Variables,
    limits: &Limits,
) -> Cost {
    measure_reading(registry, document, operation, variables, limits).0
}

/// [`measure`], and whether a variable's value counted in the cost.
fn measure_reading(
    registry: &Registry,
    document: &ExecutableDocument,
    operation: &OperationDefinition,
    variables: &Variables,
    limits: &Limits,
) -> (Cost, bool) {
    let root = match operation.ty {
        async_graphql::parser::types::OperationType::Query => Some(registry.query_type.as_str()),
        async_graphql::parser::types::OperationType::Mutation => registry.mutation_type.as_deref(),
        async_graphql::parser::types::OperationType::Subscription => {
            registry.subscription_type.as_deref()
        }
    };
    let mut m = Measure {
        registry,
        document,
        variables,
        limits,
        memo: HashMap::new(),
        read_variables: std::cell::Cell::new(false),
    };
    let cost = m.selection_set(&operation.selection_set.node, root, false);
    (cost, m.read_variables.get())
}

/// Refuses the cost if it is over a limit.
pub fn check(cost: &Cost, limits: &Limits) -> Result<(), ServerError> {
    let as_u64 = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    // (limit, measured, maximum, what the message says), checked in order.
    let checks = [
        (
            "maxFields",
            cost.fields,
            as_u64(limits.max_fields),
            "selects fields:",
        ),
        (
            "maxAliases",
            cost.aliases,
            as_u64(limits.max_aliases),
            "uses aliases:",
        ),
        (
            "maxRootFields",
            cost.root_fields,
            as_u64(limits.max_root_fields),
            "selects root fields:",
        ),
        (
            "maxDepth",
            cost.depth,
            as_u64(limits.max_depth),
            "is nested levels deep:",
        ),
        (
            "maxNodes",
            cost.nodes,
            limits.max_nodes,
            "may return nodes (lists counted at their `first`):",
        ),
    ];
    match checks.into_iter().find(|(_, got, max, _)| got > max) {
        Some((limit, got, max, what)) => Err(limit_error(
            limit,
            max,
            format!(
                "the operation {what} {got} once fragments are expanded; the limit ({limit}) is {max}"
            ),
        )),
        None => Ok(()),
    }
}

/// Measures what the request will run and refuses it if over a limit:
/// the kept `document` when the caller has one, else the request's own
/// (parsed here once, and handed on parsed). This runs before
/// async-graphql's own parse-time checks and its validation, some of which
/// walk every expansion of every fragment spread.
pub fn check_request(
    registry: &Registry,
    request: &mut Request,
    document: Option<&Document>,
    limits: &Limits,
) -> ServerResult<()> {
    let (wanted, variables) = (request.operation_name.as_deref(), &request.variables);
    match document {
        Some(kept) => check_document(
            registry,
            &kept.parsed,
            Some(kept),
            wanted,
            variables,
            limits,
        ),
        None => {
            let wanted = request.operation_name.take();
            let variables = std::mem::take(&mut request.variables);
            let checked = match request.parsed_query() {
                // async-graphql reports the syntax error itself.
                Err(_) => Ok(()),
                Ok(document) => check_document(
                    registry,
                    document,
                    None,
                    wanted.as_deref(),
                    &variables,
                    limits,
                ),
            };
            request.variables = variables;
            request.operation_name = wanted;
            checked
        }
    }
}

/// Checks what will run: the named operation, or every operation when none
/// is named (more than one is then refused by async-graphql anyway). The
/// cost of a single or named operation that no variable changes is kept
/// with its `kept` document and not measured again.
fn check_document(
    registry: &Registry,
    document: &ExecutableDocument,
    kept: Option<&Document>,
    wanted: Option<&str>,
    variables: &Variables,
    limits: &Limits,
) -> Result<(), ServerError> {
    let sizes = [limits.default_list_size, limits.max_list_size];
    if let Some(cost) = kept.and_then(|k| k.cost(wanted, sizes)) {
        return check(&cost, limits);
    }
    let measured = |op: &OperationDefinition, keep: bool| {
        let (cost, read_variables) = measure_reading(registry, document, op, variables, limits);
        if let Some(kept) = kept.filter(|_| keep && !read_variables) {
            kept.keep_cost(wanted, sizes, cost);
        }
        check(&cost, limits)
    };
    match &document.operations {
        DocumentOperations::Single(op) => measured(&op.node, true),
        DocumentOperations::Multiple(ops) => {
            for (name, op) in ops {
                if wanted.is_some_and(|w| w != name.as_str()) {
                    continue;
                }
                measured(&op.node, wanted.is_some())?;
            }
            Ok(())
        }
    }
}
