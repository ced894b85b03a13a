//! Whole responses of reads answered from the read cache, kept exact.
//!
//! Only an operation that reads nothing but orders by id is kept: a query
//! whose root fields are `order(id: …)` (no time travel) or `__typename`,
//! selecting below them only the Order's and its items' own fields, with
//! no fragment, directive or argument anywhere else. Such a response is a
//! function of the document, the variables, the caller (who may see which
//! order) and the rows the `order` resolver served. The resolver records
//! the rows (`Arc`s of the read cache); the response is answered again only
//! while the read cache serves every one of those same `Arc`s, which it
//! replaces on every change and every generation switch (invariant 13).
//! So a kept response is exactly what executing the request again would
//! answer from the read cache.

use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::{Request, Response};

use super::RequestContext;
use crate::auth::Principal;
use crate::projections::ReadModels;
use crate::projections::cache::cached_order;
use crate::projections::order_details::OrderDetail;

/// The default of `--response-cache-bytes`, and the most order lines one
/// kept response may hold.
pub const DEFAULT_BYTES: usize = 64 * 1024 * 1024;
const MAX_LINES: usize = 64;

/// The Order's fields a kept response may select (each a function of the
/// row), and its items'.
const ORDER_FIELDS: &[&str] = &[
    "__typename",
    "id",
    "customerId",
    "status",
    "items",
    "totalAmount",
    "trackingNumber",
    "paymentReference",
    "cancelReason",
    "version",
    "createdAt",
    "updatedAt",
];
const ITEM_FIELDS: &[&str] = &[
    "__typename",
    "sku",
    "name",
    "unitPrice",
    "quantity",
    "lineTotal",
];

/// The kept responses, least recently answered dropped first past `max`
/// bytes (estimated: the key, the data's tree, the row references).
pub struct Responses {
    max: usize,
    kept: Mutex<Lru>,
}

struct Lru {
    entries: lru::LruCache<String, Arc<Kept>>,
    bytes: usize,
}

impl Lru {
    /// Keeps `kept`, then drops the least recently used past `max` bytes.
    fn put(&mut self, key: String, kept: Arc<Kept>, max: usize) {
        self.bytes += kept.bytes;
        if let Some(old) = self.entries.put(key, kept) {
            self.bytes -= old.bytes;
        }
        while self.bytes > max {
            match self.entries.pop_lru() {
                Some((_, old)) => self.bytes -= old.bytes,
                None => break,
            }
        }
    }
}

struct Kept {
    /// Its estimated size.
    bytes: usize,
    /// The response's data (a kept response has no errors, extensions or
    /// headers).
    data: async_graphql::Value,
    cache_control: async_graphql::CacheControl,
    /// The rows it was made of, in the order they were read.
    rows: Vec<Arc<OrderDetail>>,
}

/// The rows the `order` resolver served a request (put in the request's
/// data when its response may be kept).
#[derive(Default)]
pub struct ReadRows(Mutex<Option<Vec<Arc<OrderDetail>>>>);

impl ReadRows {
    /// The resolver served `row` (`None`: nothing, or nothing this caller
    /// may see; such a response is not kept).
    pub fn served(&self, row: Option<&Arc<OrderDetail>>) {
        let mut rows = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match (rows.as_mut(), row) {
            (Some(rows), Some(row)) => rows.push(row.clone()),
            (None, _) => {}
            (Some(_), None) => *rows = None,
        }
    }

    fn take(&self) -> Option<Vec<Arc<OrderDetail>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl Responses {
    /// A cache of at most `max` bytes (0: nothing is kept).
    pub fn new(max: usize) -> Responses {
        Responses {
            max,
            kept: Mutex::new(Lru {
                entries: lru::LruCache::unbounded(),
                bytes: 0,
            }),
        }
    }
}

/// A request whose response may be kept: its key, and the recorder the
/// resolver fills.
pub struct Keepable {
    key: String,
    rows: Arc<ReadRows>,
}

impl Responses {
    /// The key of a request whose operation reads only orders by id, with
    /// its caller known; `None` for every other request.
    pub fn keepable(&self, document: &ExecutableDocument, request: &Request) -> Option<String> {
        if self.max == 0 {
            return None;
        }
        let principal = &request
            .data
            .get(&std::any::TypeId::of::<RequestContext>())?
            .downcast_ref::<RequestContext>()?
            .principal;
        if !reads_only_orders(document, request.operation_name.as_deref()) {
            return None;
        }
        let caller = match principal {
            Principal::Anonymous => "-".to_owned(),
            Principal::User {
                user_id,
                role,
                customer_id,
            } => serde_json::to_string(&(user_id, format!("{role:?}"), customer_id)).ok()?,
        };
        let variables = serde_json::to_string(&request.variables).ok()?;
        // NUL cannot occur in any part (text_guard.rs refused it).
        Some(format!(
            "{}\0{}\0{variables}\0{caller}",
            request.query,
            request.operation_name.as_deref().unwrap_or("")
        ))
    }

    /// The kept response for `key`, if every row it was made of is still
    /// the one the read cache serves.
    pub fn answer(&self, read: &ReadModels, key: &str) -> Option<Response> {
        let Some(kept) = self.lock().entries.get(key).cloned() else {
            metrics::counter!("chronicle_response_cache_total", "result" => "miss").increment(1);
            return None;
        };
        let current = served_now(read, &kept.rows);
        metrics::counter!("chronicle_response_cache_total", "result" => if current { "hit" } else { "stale" })
            .increment(1);
        current.then(|| Response::new(kept.data.clone()).cache_control(kept.cache_control))
    }

    /// Puts the recorder into the request.
    pub fn record(&self, key: String, request: &mut Request) -> Keepable {
        let rows = Arc::new(ReadRows(Mutex::new(Some(Vec::new()))));
        request.data.insert(rows.clone());
        Keepable { key, rows }
    }

    /// Keeps `response` when it has no error, every `order` it selected was
    /// served from the read cache as recorded, and it is small enough.
    pub fn keep(&self, read: &ReadModels, keepable: Keepable, response: &Response) {
        let Some(rows) = keepable.rows.take() else {
            return;
        };
        let lines: usize = rows.iter().map(|r| r.order.lines.len()).sum();
        let from_memory = served_now(read, &rows);
        let plain = response.errors.is_empty()
            && response.extensions.is_empty()
            && response.http_headers.is_empty();
        if !plain || lines > MAX_LINES || !from_memory {
            return;
        }
        let bytes = 2 * keepable.key.len() + value_bytes(&response.data) + 8 * rows.len() + 128;
        if bytes > self.max / 16 {
            return;
        }
        let kept = Arc::new(Kept {
            bytes,
            data: response.data.clone(),
            cache_control: response.cache_control,
            rows,
        });
        self.lock().put(keepable.key, kept, self.max);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Whether the read cache serves each of these very rows now.
fn served_now(read: &ReadModels, rows: &[Arc<OrderDetail>]) -> bool {
    rows.iter()
        .all(|row| cached_order(read, &row.order_id).is_some_and(|now| Arc::ptr_eq(&now, row)))
}

/// Roughly the heap bytes of a value's tree.
fn value_bytes(value: &async_graphql::Value) -> usize {
    use async_graphql::Value;
    match value {
        Value::String(s) => 24 + s.len(),
        Value::List(items) => 24 + items.iter().map(value_bytes).sum::<usize>(),
        Value::Object(fields) => {
            64 + fields
                .iter()
                .map(|(k, v)| 24 + k.len() + value_bytes(v))
                .sum::<usize>()
        }
        Value::Binary(b) => 24 + b.len(),
        _ => 16,
    }
}

/// Whether the selected operation is a query of `order(id: …)` and
/// `__typename` root fields over the Order's own fields only.
fn reads_only_orders(document: &ExecutableDocument, operation: Option<&str>) -> bool {
    let op = match (&document.operations, operation) {
        (DocumentOperations::Single(op), None) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => match ops.get(name) {
            Some(op) => op,
            None => return false,
        },
        _ => return false,
    };
    if op.node.ty != OperationType::Query || !op.node.directives.is_empty() {
        return false;
    }
    let roots = &op.node.selection_set.node;
    let is_order = |item: &&async_graphql::Positioned<Selection>| matches!(&item.node, Selection::Field(f) if f.node.name.node.as_str() == "order");
    roots.items.iter().any(|item| is_order(&item))
        && roots.items.iter().all(|item| match &item.node {
            Selection::Field(f) => {
                let f = &f.node;
                match f.name.node.as_str() {
                    "__typename" => f.arguments.is_empty() && f.directives.is_empty(),
                    "order" => {
                        f.directives.is_empty()
                            && f.arguments.len() == 1
                            && f.arguments[0].0.node.as_str() == "id"
                            && plain(&f.selection_set.node, ORDER_FIELDS, true)
                    }
                    _ => false,
                }
            }
            _ => false,
        })
}

/// A selection of `allowed` fields without arguments, directives or
/// fragments; `items` (when `nested`) selects the items' fields likewise.
fn plain(set: &SelectionSet, allowed: &[&str], nested: bool) -> bool {
    !set.items.is_empty()
        && set.items.iter().all(|item| match &item.node {
            Selection::Field(f) => {
                let f = &f.node;
                let name = f.name.node.as_str();
                allowed.contains(&name)
                    && f.arguments.is_empty()
                    && f.directives.is_empty()
                    && if nested && name == "items" {
                        plain(&f.selection_set.node, ITEM_FIELDS, false)
                    } else {
                        f.selection_set.node.items.is_empty()
                    }
            }
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only_orders(query: &str, operation: Option<&str>) -> bool {
        let document = async_graphql::parser::parse_query(query).unwrap();
        reads_only_orders(&document, operation)
    }

    #[test]
    fn kept_bytes_stay_under_the_bound_least_recent_first() {
        let kept = |bytes| {
            Arc::new(Kept {
                bytes,
                data: async_graphql::Value::Null,
                cache_control: Default::default(),
                rows: Vec::new(),
            })
        };
        let mut lru = Lru {
            entries: lru::LruCache::unbounded(),
            bytes: 0,
        };
        for (i, bytes) in [400, 300, 200].into_iter().enumerate() {
            lru.put(format!("k{i}"), kept(bytes), 1000);
        }
        assert_eq!((lru.entries.len(), lru.bytes), (3, 900));
        lru.entries.get("k0");
        lru.put("k3".into(), kept(250), 1000);
        // k1 (least recently used) went; k0 was used since.
        assert!(lru.entries.contains("k0") && !lru.entries.contains("k1"));
        assert_eq!(lru.bytes, 850);
        lru.put("k0".into(), kept(100), 1000);
        assert_eq!(lru.bytes, 550);
        lru.put("big".into(), kept(1000), 1000);
        assert_eq!((lru.entries.len(), lru.bytes), (1, 1000));
    }

    #[test]
    fn only_orders_by_id_with_their_own_fields_are_kept() {
        assert!(only_orders(
            "query($id: ID!) { order(id: $id) { id version items { sku } } }",
            None
        ));
        assert!(only_orders(
            "query Q { __typename a: order(id: \"x\") { id } b: order(id: \"y\") { status } }",
            Some("Q")
        ));
        for refused in [
            "query($id: ID!) { order(id: $id, atVersion: 1) { id } }",
            "query($id: ID!) { order(id: $id) { ...F } } fragment F on Order { id }",
            "query($id: ID!) { order(id: $id) { ... on Order { id } } }",
            "query($id: ID!, $t: Boolean!) { order(id: $id) { id @include(if: $t) } }",
            "query($id: ID!) { order(id: $id) @skip(if: false) { id } }",
            "query($id: ID!) { order(id: $id) { id } orders(first: 1) { edges { cursor } } }",
            "query($id: ID!) { order(id: $id) { items { sku items } } }",
            "query($id: ID!) { order(id: $id) { history { id } } }",
            "mutation($id: ID!) { order(id: $id) { id } }",
            "subscription($id: ID!) { order(id: $id) { id } }",
            "{ __schema { types { name } } }",
        ] {
            assert!(!only_orders(refused, None), "{refused}");
        }
        assert!(!only_orders(
            "query A { __typename } query B { __typename }",
            None
        ));
        assert!(!only_orders("{ __typename }", None));
    }
}
