//! Bounded cost (issue 8, item 1): amplification requests are refused
//! before they run, responses and batches are capped, requests have a time
//! limit and the server a cap on requests in flight. Storage does not
//! matter here: SQLite only.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::*;

/// The test process hosts the server: its resident set size, in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// 10 fragments, each spreading the next ten times: 10^9 `__typename`s
/// once expanded, from a query of under 2 KB.
fn fragment_bomb() -> String {
    let mut q = String::from("query { ...F0 }\n");
    for level in 0..9 {
        let spreads = vec![format!("...F{}", level + 1); 10].join(" ");
        q.push_str(&format!("fragment F{level} on Query {{ {spreads} }}\n"));
    }
    q.push_str("fragment F9 on Query { __typename }\n");
    q
}

/// 833 aliased `orders(first: 20)` with their items.
fn alias_bomb() -> String {
    let mut q = String::from("query {");
    for i in 0..833 {
        q.push_str(&format!(
            " a{i}: orders(first: 20) {{ edges {{ node {{ id items {{ sku name unitPrice quantity }} }} }} }}"
        ));
    }
    q.push_str(" }");
    q
}

async fn post(app: &TestApp, body: &Value) -> (u16, Value, Duration) {
    let started = Instant::now();
    let resp = app
        .client
        .post(app.url("/graphql"))
        .json(body)
        .send()
        .await
        .expect("send");
    let status = resp.status().as_u16();
    let body = resp.json().await.expect("json");
    (status, body, started.elapsed())
}

fn assert_limit(body: &Value, limit: &str) {
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "VALIDATION", "{body}");
    assert_eq!(error["extensions"]["limit"], limit, "{body}");
    assert!(error["extensions"]["max"].is_u64(), "{body}");
    assert!(body.get("data").is_none(), "no data on a refusal: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn amplification_requests_are_refused_quickly_with_bounded_memory() {
    let app = spawn_app(Backend::Sqlite).await;
    // Some orders, so that the alias bomb would have something to return.
    for i in 0..3 {
        app.create_order(&format!("c-{i}")).await;
    }
    let bomb = fragment_bomb();
    assert!(
        bomb.len() < 2_000,
        "the reproduction is tiny: {}",
        bomb.len()
    );
    let before = rss_kib();

    let (status, body, took) = post(&app, &json!({"query": bomb})).await;
    assert_eq!(status, 200);
    assert_limit(&body, "maxFields");
    eprintln!("fragment bomb refused in {took:?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");

    let (status, body, took) = post(&app, &json!({"query": alias_bomb()})).await;
    assert_eq!(status, 200);
    // Over several limits at once; the field count is checked first.
    assert_limit(&body, "maxFields");
    eprintln!("alias bomb refused in {took:?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");

    let after = rss_kib();
    eprintln!("RSS before {before} KiB, after {after} KiB");
    assert!(
        after.saturating_sub(before) < 200 * 1024,
        "RSS grew from {before} KiB to {after} KiB"
    );
}

#[tokio::test]
async fn fragment_expansion_counts_depth_root_fields_and_nodes() {
    let app = spawn_app(Backend::Sqlite).await;

    // Depth through fragments: each fragment adds one level.
    let mut q = String::from("query { ...D0 }\n");
    for level in 0..20 {
        q.push_str(&format!(
            "fragment D{level} on __Type {{ ofType {{ ...D{} }} }}\n",
            level + 1
        ));
    }
    q.push_str("fragment D20 on __Type { name }\n");
    let q = q.replacen(
        "query { ...D0 }",
        "query { __type(name: \"Order\") { ...D0 } }",
        1,
    );
    let (_, body, _) = post(&app, &json!({"query": q})).await;
    assert_limit(&body, "maxDepth");

    // Aliases below the root.
    let aliases = (0..40)
        .map(|i| format!("a{i}: name"))
        .collect::<Vec<_>>()
        .join(" ");
    let q = format!("query {{ __type(name: \"Order\") {{ {aliases} }} }}");
    let (_, body, _) = post(&app, &json!({"query": q})).await;
    assert_limit(&body, "maxAliases");

    // Root fields through a fragment.
    let fields = (0..25)
        .map(|i| format!("t{i}: __typename"))
        .collect::<Vec<_>>()
        .join(" ");
    let q = format!("query {{ ...R }} fragment R on Query {{ {fields} }}");
    let (_, body, _) = post(&app, &json!({"query": q})).await;
    // 25 aliases trips the alias limit first only if it is under 25.
    assert!(
        body["errors"][0]["extensions"]["limit"] == "maxRootFields"
            || body["errors"][0]["extensions"]["limit"] == "maxAliases",
        "{body}"
    );
    let q = "query { orders(first: 1) { edges { cursor } } salesStats { ordersPlaced } projections { name } \
             a: __typename b: __typename c: __typename d: __typename e: __typename f: __typename \
             g: __typename h: __typename i: __typename j: __typename k: __typename l: __typename \
             m: __typename n: __typename o: __typename p: __typename q: __typename r: __typename }";
    let (_, body, _) = post(&app, &json!({"query": q})).await;
    assert_limit(&body, "maxRootFields");

    // Nodes: lists multiplied by `first` along each path, no aliases.
    let one = "orders(first: 100) { edges { node { items { sku name unitPrice quantity } } } }";
    let q = format!("query {{ {} }}", [one; 12].join(" "));
    let (_, body, _) = post(&app, &json!({"query": q})).await;
    assert_limit(&body, "maxNodes");
    // `first` from a variable counts too.
    let q = format!(
        "query($n: Int) {{ {} }}",
        ["orders(first: $n) { edges { node { items { sku name unitPrice quantity } } } }"; 12]
            .join(" ")
    );
    let (_, body, _) = post(&app, &json!({"query": q, "variables": {"n": 100}})).await;
    assert_limit(&body, "maxNodes");
    let (_, body, _) = post(&app, &json!({"query": q, "variables": {"n": 2}})).await;
    assert!(body.get("errors").is_none(), "{body}");

    // An ordinary large page and GraphiQL's introspection still pass.
    let q = format!("query {{ {one} }}");
    let (_, body, _) = post(&app, &json!({"query": q})).await;
    assert!(body.get("errors").is_none(), "{body}");
    let (_, body, _) = post(&app, &json!({"query": INTROSPECTION})).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert!(body["data"]["__schema"]["types"].is_array());

    // A fragment cycle is refused by validation, not by a stack overflow.
    let q = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
    let (_, body, _) = post(&app, &json!({"query": q})).await;
    assert_eq!(error_code(&body), Some("VALIDATION"), "{body}");
}

#[tokio::test]
async fn batches_are_capped_before_parsing() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.limits.max_batch = 10).await;
    let big: Vec<Value> = (0..20_000)
        .map(|_| json!({"query": "{ __typename }"}))
        .collect();
    let (status, body, took) = post(&app, &Value::Array(big)).await;
    assert_eq!(status, 400, "{body}");
    assert_limit(&body, "maxBatch");
    eprintln!("20,000-operation batch refused in {took:?}");

    let ten: Vec<Value> = (0..10)
        .map(|_| json!({"query": "{ __typename }"}))
        .collect();
    let (status, body, _) = post(&app, &Value::Array(ten)).await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().map(Vec::len), Some(10), "{body}");

    let off = spawn_app_with(Backend::Sqlite, |c| c.limits.max_batch = 0).await;
    let (status, body, _) = post(&off, &json!([{"query": "{ __typename }"}])).await;
    assert_eq!(status, 400);
    assert_limit(&body, "maxBatch");
}

#[tokio::test]
async fn oversized_responses_are_refused_not_sent() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.limits.max_response_bytes = 4_096).await;
    let (status, body, _) = post(&app, &json!({"query": INTROSPECTION})).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(error_code(&body), Some("RESPONSE_TOO_LARGE"), "{body}");
    // Small answers are unaffected.
    let (status, body, _) = post(&app, &json!({"query": "{ __typename }"})).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["__typename"], "Query");
}

/// PostgreSQL only: a table lock held by the test makes a read wait for as
/// long as the test wants, which SQLite (WAL readers never wait) cannot do.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_past_the_time_limit_are_stopped() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    if postgres_base_url().is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set, so this PostgreSQL test did not run");
        return;
    }
    let app = spawn_app_with(Backend::Postgres, |c| {
        c.limits.request_timeout = Duration::from_millis(300)
    })
    .await;
    let query = json!({"query": "{ events(first: 5) { edges { cursor } } }"});
    let (status, _, _) = post(&app, &query).await;
    assert_eq!(status, 200);

    let locker = sea_orm::Database::connect(app.db_url().as_str())
        .await
        .unwrap();
    let txn = locker.begin().await.unwrap();
    txn.execute_unprepared("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let (status, body, took) = post(&app, &query).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(error_code(&body), Some("TIMEOUT"), "{body}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    txn.rollback().await.unwrap();
    locker.close().await.ok();

    let (status, body, _) = post(&app, &query).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn requests_past_the_in_flight_cap_get_503_with_retry_after() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(Backend::Sqlite, |c| c.limits.max_in_flight = 1).await;
    // One request holds the only slot: its body is still on its way.
    let body = r#"{"query":"{ __typename }"}"#;
    let mut slow = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
        app.addr,
        body.len(),
        &body[..5]
    );
    slow.write_all(head.as_bytes()).await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let resp = app
            .client
            .post(app.url("/graphql"))
            .json(&json!({"query": "{ __typename }"}))
            .send()
            .await
            .unwrap();
        if resp.status() == 503 {
            break resp;
        }
        assert!(Instant::now() < deadline, "never refused");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(refused.headers()["retry-after"], "1");
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(error_code(&refused), Some("OVERLOADED"), "{refused}");

    // The slow request completes; then the slot is free again.
    slow.write_all(&body.as_bytes()[5..]).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = slow.read(&mut buf).await.unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(slow);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let resp = app
            .client
            .post(app.url("/graphql"))
            .json(&json!({"query": "{ __typename }"}))
            .send()
            .await
            .unwrap();
        if resp.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "slot never freed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// GraphiQL's introspection query (abridged to its shape: nested TypeRef).
pub const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}
"#;

/// Parsed documents are kept (issue 9), but the limits are measured on
/// every request: the fragment bomb, short enough to be kept parsed, is
/// refused again and again; and more distinct queries than the cache holds
/// (512) are all answered.
#[tokio::test]
async fn a_cached_parse_is_checked_against_the_limits_every_time() {
    let app = spawn_app(Backend::Sqlite).await;
    let bomb = fragment_bomb();
    for _ in 0..3 {
        let (status, body, _) = post(&app, &json!({ "query": bomb })).await;
        assert_eq!(status, 200);
        assert_limit(&body, "maxFields");
    }
    for i in 0..600 {
        let query = format!("query Q{i} {{ __typename }}");
        let (status, body, _) = post(&app, &json!({ "query": query })).await;
        assert_eq!(status, 200);
        assert_eq!(body["data"]["__typename"], "Query", "{body}");
    }
    let (_, body, _) = post(&app, &json!({ "query": bomb })).await;
    assert_limit(&body, "maxFields");
}

/// An operation that passed validation once is not validated in full again
/// while its variables are values of their built-in scalars (issue 9), but
/// a variable that is not gets exactly the answer of a first validation:
/// the same document sent for the first time (a trailing space makes it a
/// new text) answers the same body.
#[tokio::test]
async fn a_validated_document_is_validated_again_when_its_variables_could_fail() {
    let app = spawn_app(Backend::Sqlite).await;
    let id = app.create_order("c-1").await;
    let query = "query Read($id: ID!, $v: Int, $t: Boolean!) { order(id: $id, atVersion: $v) { id version @include(if: $t) } }";
    let body = |q: &str, variables: Value| json!({ "query": q, "operationName": "Read", "variables": variables });
    let reused = || async {
        let text = app.metrics_text().await;
        text.lines()
            .find_map(|l| {
                l.strip_prefix("chronicle_graphql_validations_total{validation=\"reused\"} ")
            })
            .and_then(|n| n.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let before = reused().await;
    for _ in 0..3 {
        let (status, answer, _) =
            post(&app, &body(query, json!({"id": id, "v": 1, "t": true}))).await;
        assert_eq!(status, 200);
        assert_eq!(answer["data"]["order"]["version"], 1, "{answer}");
    }
    assert!(
        reused().await >= before + 2.0,
        "the document was validated in full each time"
    );
    let cases = [
        json!({"id": id, "v": "one", "t": true}),
        json!({"id": id, "v": 1_i64 << 40, "t": true}),
        json!({"id": id, "v": 1.5, "t": true}),
        json!({"id": id, "v": 1, "t": "yes"}),
        json!({"id": id, "v": 1, "t": null}),
        json!({"id": null, "v": 1, "t": true}),
        json!({"id": ["a"], "v": 1, "t": true}),
        json!({"id": {"a": 1}, "v": 1, "t": true}),
        json!({"v": 1, "t": true}),
        json!({"id": id, "t": true}),
        json!({"id": 12, "v": null, "t": false}),
    ];
    for (n, variables) in cases.into_iter().enumerate() {
        let fresh = format!("{query}{}", " ".repeat(n + 1));
        let (s1, seen, _) = post(&app, &body(query, variables.clone())).await;
        let (s2, first, _) = post(&app, &body(&fresh, variables.clone())).await;
        assert_eq!((s1, &seen), (s2, &first), "variables {variables}");
    }
    // And the validated document still answers.
    let (_, answer, _) = post(&app, &body(query, json!({"id": id, "v": 1, "t": false}))).await;
    assert_eq!(answer["data"]["order"]["id"], id.as_str(), "{answer}");
}

/// The cost of a kept document is measured once, unless a variable counts
/// in it: `orders(first: $n)` is measured with each request's `$n`.
#[tokio::test]
async fn a_kept_cost_never_stands_for_a_variable_page_size() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.limits.max_nodes = 500).await;
    let paged = "query($n: Int) { orders(first: $n) { edges { node { id items { sku } } } } }";
    for (n, refused) in [(5, false), (100, true), (5, false), (100, true)] {
        let (status, body, _) = post(&app, &json!({ "query": paged, "variables": {"n": n} })).await;
        assert_eq!(status, 200);
        if refused {
            assert_limit(&body, "maxNodes");
        } else {
            assert!(body.get("errors").is_none(), "first: {n}: {body}");
        }
    }
    // A literal page size is kept with its document, and checked each time.
    let literal = "{ orders(first: 100) { edges { node { id items { sku } } } } }";
    for _ in 0..3 {
        let (_, body, _) = post(&app, &json!({ "query": literal })).await;
        assert_limit(&body, "maxNodes");
    }
}
