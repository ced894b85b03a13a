//! Relay connections over the read models.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;

both_backends!(
    paging_visits_each_order_once_and_caps_the_page,
    customer_history_and_sales_stats
);

const ORDERS: &str = "query($first: Int, $after: String, $status: OrderStatus) { orders(first: $first, after: $after, status: $status) { edges { cursor node { id status } } pageInfo { hasNextPage endCursor } } }";

async fn paging_visits_each_order_once_and_caps_the_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(app.create_order(&format!("c-{i}")).await);
    }
    let last = ids.last().unwrap().clone();
    app.order_at(&last, 1).await;
    // every order's row is readable once the newest is (one projection, in order)

    let mut seen = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let data = app.ok(ORDERS, json!({"first": 3, "after": after})).await;
        let orders = &data["orders"];
        let edges = orders["edges"].as_array().unwrap();
        assert!(edges.len() <= 3);
        seen.extend(
            edges
                .iter()
                .map(|e| e["node"]["id"].as_str().unwrap().to_owned()),
        );
        pages += 1;
        if orders["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = orders["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7);
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 7, "each order once");
    // Newest first, deterministically.
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);

    for bad in [
        json!({"first": 101}),
        json!({"first": -1}),
        json!({"first": 3, "after": "bogus"}),
    ] {
        let body = app.gql(ORDERS, bad.clone()).await;
        assert_eq!(error_code(&body), Some("VALIDATION"), "{bad}: {body}");
    }
    app.place(&ids[0]).await;
    app.order_at(&ids[0], 2).await;
    let data = app.ok(ORDERS, json!({"status": "PLACED"})).await;
    let edges = data["orders"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["node"]["id"], ids[0].as_str());
}

async fn customer_history_and_sales_stats(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.create_order("alice").await;
    let b = app.create_order("alice").await;
    app.create_order("bob").await;
    app.place(&a).await;
    app.pay(&a, "25.25").await;
    app.cancel(&b, "no").await;

    let history = "query { customerOrderHistory(customerId: \"alice\", first: 10) { edges { node { orderId status totalAmount } } } }";
    eventually("alice's history to show both changes", || async {
        let data = app.ok(history, json!({})).await;
        let edges = data["customerOrderHistory"]["edges"].clone();
        edges[0]["node"]["status"] == "CANCELLED" && edges[1]["node"]["status"] == "PAID"
    })
    .await;
    let data = app.ok(history, json!({})).await;
    let edges = data["customerOrderHistory"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2);
    assert_eq!(edges[0]["node"]["orderId"], b.as_str(), "newest first");
    assert_eq!(edges[1]["node"]["totalAmount"], "25.25");

    let stats = "query { salesStats { ordersCreated ordersPlaced ordersPaid ordersCancelled revenue days { day revenue } } }";
    eventually("sales stats to count the cancel", || async {
        app.ok(stats, json!({})).await["salesStats"]["ordersCancelled"] == 1
    })
    .await;
    let data = app.ok(stats, json!({})).await;
    let s = &data["salesStats"];
    assert_eq!(s["ordersCreated"], 3);
    assert_eq!(s["ordersPlaced"], 1);
    assert_eq!(s["ordersPaid"], 1);
    assert_eq!(s["revenue"], "25.25");
    assert_eq!(s["days"].as_array().unwrap().len(), 1);
}
