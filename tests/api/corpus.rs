//! A hostile-input corpus (issue 8): broken JSON, wrong types, non-numbers
//! as money, invalid UTF-8, injection strings in every argument, forged
//! cursors and positions, unknown enum values, reused command ids and the
//! amplification shapes. Each case must be answered with a clear code
//! (never INTERNAL, never a 5xx), the server must stay up and within a
//! memory bound, and the event store must change only by the valid
//! commands among them.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;

both_backends!(the_hostile_corpus_is_refused_cleanly_and_changes_nothing_else);

/// Codes a refusal may carry (the contract's, and the edge's own).
const CLEAR_CODES: &[&str] = &[
    "VALIDATION",
    "BUSINESS_RULE",
    "NOT_FOUND",
    "CONCURRENCY_CONFLICT",
    "UNAUTHENTICATED",
    "FORBIDDEN",
];

/// Strings that have broken other servers.
fn nasty_strings() -> Vec<String> {
    let mut out: Vec<String> = [
        "'; DROP TABLE events; --",
        "\" OR 1=1 --",
        "') OR ('1'='1",
        "<script>alert(1)</script>",
        "{{7*7}}",
        "${jndi:ldap://127.0.0.1/x}",
        "../../../../etc/passwd",
        "%00",
        "\u{202e}gnp.exe",
        "𝕮𝖍𝖗𝖔𝖓𝖎𝖈𝖑𝖊",
        "😀",
        "\u{feff}bom",
        "line\nbreak",
        "tab\there",
        "\u{0}",
        "\\u0000",
        " ",
        "",
        "null",
        "undefined",
        "NaN",
        "-1",
        "0x7fffffff",
        "9223372036854775808",
        "1e400",
        "true",
        "[]",
        "{}",
        "SELECT pg_sleep(10)",
        "admin'--",
        "\u{7f}",
        "ÿ",
        "a\u{301}",
        "𐀀",
        "\r\n\r\nHTTP/1.1 200 OK",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    out.push("x".repeat(201));
    out.push("x".repeat(100_000));
    out
}

/// One case: a JSON body (or raw bytes) and what it means.
enum Case {
    Gql(&'static str, Value),
    Raw(Vec<u8>, &'static str),
}

fn corpus(order_id: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let item = |sku: &str, name: &str, price: Value, qty: Value| json!({"sku": sku, "name": name, "unitPrice": price, "quantity": qty});
    // Every string argument of every command, with every nasty string.
    for s in nasty_strings() {
        let s = s.as_str();
        cases.push(Case::Gql(
            CREATE,
            json!({"input": {"customerId": s, "items": [item("A", "a", json!("1"), json!(1))]}}),
        ));
        cases.push(Case::Gql(
            CREATE,
            json!({"input": {"customerId": "c", "items": [item(s, s, json!("1"), json!(1))]}}),
        ));
        cases.push(Case::Gql(
            CREATE,
            json!({"input": {"customerId": "c", "items": [item("A", "a", json!(s), json!(1))]}}),
        ));
        cases.push(Case::Gql(PLACE, json!({"input": {"orderId": s}})));
        cases.push(Case::Gql(
            CANCEL,
            json!({"input": {"orderId": order_id, "reason": s, "expectedVersion": 999}}),
        ));
        cases.push(Case::Gql(
            PAY,
            json!({"input": {"orderId": order_id, "amount": s, "paymentReference": s}}),
        ));
        cases.push(Case::Gql(
            "query($id: ID!) { order(id: $id) { version } }",
            json!({"id": s}),
        ));
        cases.push(Case::Gql(
            "query($a: String) { orders(after: $a) { edges { cursor } } }",
            json!({"a": s}),
        ));
        cases.push(Case::Gql(
            "query($a: String) { events(after: $a) { edges { cursor } } }",
            json!({"a": s}),
        ));
        cases.push(Case::Gql(
            "query($c: ID!) { customerOrderHistory(customerId: $c, after: \"x\") { edges { cursor } } }",
            json!({"c": s}),
        ));
    }
    // Wrong types and impossible numbers.
    for (price, qty) in [
        (json!(1.5), json!(1)),
        (json!("NaN"), json!(1)),
        (json!("Infinity"), json!(1)),
        (json!("-0.0001"), json!(1)),
        (json!(true), json!(1)),
        (json!(null), json!(1)),
        (json!([1]), json!(1)),
        (json!({"a": 1}), json!(1)),
        (json!("1"), json!(1.5)),
        (json!("1"), json!("2")),
        (json!("1"), json!(2_147_483_648_i64)),
        (json!("1"), json!(-1)),
        (json!("1"), json!(null)),
    ] {
        cases.push(Case::Gql(
            CREATE,
            json!({"input": {"customerId": "c", "items": [item("A", "a", price, qty)]}}),
        ));
    }
    // Unknown enum values, fields and arguments; bad positions and versions.
    for (query, variables) in [
        (
            "{ orders(status: SHIPPEDX) { edges { cursor } } }",
            json!({}),
        ),
        (
            "{ orders(status: \"PAID\") { edges { cursor } } }",
            json!({}),
        ),
        ("{ orders(first: -1) { edges { cursor } } }", json!({})),
        ("{ orders(first: 1000000) { edges { cursor } } }", json!({})),
        ("{ events(first: 101) { edges { cursor } } }", json!({})),
        ("{ nope }", json!({})),
        ("{ orders { nope } }", json!({})),
        ("{ order(id: 1) { version } }", json!({})),
        (
            "query($id: ID!) { order(id: $id, atVersion: 0) { version } }",
            json!({"id": order_id}),
        ),
        (
            "query($id: ID!) { order(id: $id, atVersion: -5) { version } }",
            json!({"id": order_id}),
        ),
        (
            "query($id: ID!) { order(id: $id, atVersion: 1, asOf: \"2026-01-01T00:00:00Z\") { version } }",
            json!({"id": order_id}),
        ),
        (
            "query($id: ID!) { order(id: $id, asOf: \"yesterday\") { version } }",
            json!({"id": order_id}),
        ),
        (
            "{ salesStats(from: \"2026-13-45\") { revenue } }",
            json!({}),
        ),
        (
            "mutation { rebuildProjection(name: \"events; DROP TABLE x\") { state } }",
            json!({}),
        ),
        ("subscription { events { position } }", json!({})),
        ("mutation { placeOrder(input: {}) { version } }", json!({})),
        (
            "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { version } }",
            json!({"i": {"orderId": order_id, "expectedVersion": -1}}),
        ),
        (
            "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { version } }",
            json!({"i": {"orderId": order_id, "commandId": ""}}),
        ),
        (
            "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { version } }",
            json!({"i": {"orderId": order_id, "commandId": "x".repeat(201)}}),
        ),
        (
            "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { version } }",
            json!({"i": {"orderId": order_id, "nope": 1}}),
        ),
        ("query { __typename ", json!({})),
        ("", json!({})),
        (
            "mutation { a: placeOrder(input: {orderId: \"x\"}) { version } }",
            json!({}),
        ),
        ("query Q { __typename } query Q { __typename }", json!({})),
        ("fragment F on Query { ...F } { ...F }", json!({})),
    ] {
        cases.push(Case::Gql(query, variables));
    }
    // Amplification shapes.
    let mut bomb = String::from("query { ...F0 }\n");
    for level in 0..8 {
        let spread = format!("...F{} ", level + 1);
        bomb.push_str(&format!(
            "fragment F{level} on Query {{ {} }}\n",
            spread.repeat(10)
        ));
    }
    bomb.push_str("fragment F8 on Query { __typename }\n");
    cases.push(Case::Raw(
        json!({"query": bomb}).to_string().into_bytes(),
        "fragment bomb",
    ));
    let aliases: String = (0..833)
        .map(|i| {
            format!("a{i}: orders(first: 20) {{ edges {{ node {{ items {{ sku name }} }} }} }} ")
        })
        .collect();
    cases.push(Case::Raw(
        json!({"query": format!("{{ {aliases} }}")})
            .to_string()
            .into_bytes(),
        "833 aliases",
    ));
    let deep = format!(
        "{}__typename{}",
        "{ orders { edges { node { ".repeat(20),
        " } } } }".repeat(20)
    );
    cases.push(Case::Raw(
        json!({"query": deep}).to_string().into_bytes(),
        "deep",
    ));
    let batch: Vec<Value> = (0..20_000)
        .map(|_| json!({"query": "{ __typename }"}))
        .collect();
    cases.push(Case::Raw(
        serde_json::to_vec(&batch).expect("json"),
        "batch",
    ));
    // Broken bodies.
    for (body, what) in [
        (b"{".to_vec(), "truncated JSON"),
        (b"not json".to_vec(), "text"),
        (vec![0xff, 0xfe, 0x00, 0x7b], "invalid UTF-8"),
        (
            b"{\"query\": \"\xff\"}".to_vec(),
            "invalid UTF-8 in a string",
        ),
        (b"[]".to_vec(), "empty batch"),
        (b"null".to_vec(), "null"),
        (b"{\"query\": 1}".to_vec(), "query not a string"),
        (
            b"{\"query\": \"{ __typename }\", \"variables\": \"x\"}".to_vec(),
            "variables not an object",
        ),
        (
            b"{\"query\": \"{ __typename }\", \"variables\": {\"a\": 1e400}}".to_vec(),
            "1e400",
        ),
        (
            format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
            "deep JSON",
        ),
    ] {
        cases.push(Case::Raw(body, what));
    }
    cases
}

/// The clear code of an answer, or a description of what was wrong with it.
fn verdict(status: u16, body: &Value) -> Result<(), String> {
    if status >= 500 {
        return Err(format!("status {status}"));
    }
    if !body.is_object() && !body.is_array() {
        return Err(format!("status {status} without a GraphQL JSON answer"));
    }
    let answers = match body {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let errors: Vec<Value> = answers
        .iter()
        .filter_map(|a| a.get("errors").and_then(Value::as_array).cloned())
        .flatten()
        .collect();
    for error in &errors {
        let code = error["extensions"]["code"].as_str().unwrap_or("<none>");
        if !CLEAR_CODES.contains(&code) {
            return Err(format!("code {code}"));
        }
        let message = error["message"].as_str().unwrap_or_default().to_lowercase();
        for leak in [
            "sqlx",
            "sqlite",
            "postgres",
            "panicked",
            "/src/",
            "syntax error at",
        ] {
            if message.contains(leak) {
                return Err(format!("message leaks {leak:?}: {message}"));
            }
        }
    }
    Ok(())
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn the_hostile_corpus_is_refused_cleanly_and_changes_nothing_else(backend: Backend) {
    let app = spawn_app(backend).await;
    let order_id = app.create_order("c-1").await;
    let rss_before = rss_kib();
    let cases = corpus(&order_id);
    assert!(cases.len() >= 200, "only {} cases", cases.len());
    let mut accepted_events = 0;
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let (request, what) = match case {
            Case::Gql(query, variables) => (
                json!({"query": query, "variables": variables})
                    .to_string()
                    .into_bytes(),
                format!("case {i}: {query} {variables:.200}"),
            ),
            Case::Raw(body, what) => (body.clone(), format!("case {i}: {what}")),
        };
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .body(request)
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if let Err(why) = verdict(status, &body) {
            failures.push(format!("{what}: {why}"));
        }
        // Count the events of what was accepted: the store may change by
        // these and nothing else (every Order command but createOrder's
        // selection here appends exactly one event).
        if let Some(result) = body["data"].as_object().and_then(|d| d.values().next()) {
            if let Some(events) = result["events"].as_array()
                && result.get("aggregateId").is_some()
            {
                accepted_events += events.len() as i64;
            } else if result.get("aggregateId").is_some() {
                accepted_events += 1;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} unclear answers:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Still up, within a memory bound, and changed only by valid commands.
    let health = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("up");
    assert!(health.status().is_success());
    let grown_mib = rss_kib().saturating_sub(rss_before) / 1024;
    assert!(grown_mib < 200, "RSS grew by {grown_mib} MiB");
    let head = app.state.store.head_position().await.expect("head");
    let expected = 1 + accepted_events;
    let stored = app
        .state
        .store
        .read_all(0, 10_000)
        .await
        .expect("log")
        .len() as i64;
    assert_eq!(
        stored, expected,
        "the store holds the first order's event and the accepted commands' only (head {head})"
    );
    eprintln!(
        "corpus: {} cases, {accepted_events} events from accepted commands, RSS +{grown_mib} MiB",
        cases.len()
    );
}
