//! Connection timeouts, the connection cap and a bounded graceful shutdown
//! (issue 8, item 6). SQLite only: nothing here depends on storage.

use std::time::{Duration, Instant};

use chronicle::Config;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// Reads until the server closes the connection (or the deadline passes);
/// returns how long that took and what was read.
async fn until_closed(socket: &mut TcpStream, deadline: Duration) -> (Duration, Option<Vec<u8>>) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(
            tokio::time::Instant::from_std(started + deadline),
            socket.read(&mut buf),
        )
        .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => return (started.elapsed(), Some(got)),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (started.elapsed(), None),
        }
    }
}

#[tokio::test]
async fn a_client_that_sends_headers_slowly_is_dropped() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.edge.header_read_timeout = Duration::from_millis(500)
    })
    .await;
    let mut socket = TcpStream::connect(app.addr).await.unwrap();
    socket
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: appl")
        .await
        .unwrap();
    let (took, closed) = until_closed(&mut socket, Duration::from_secs(10)).await;
    assert!(closed.is_some(), "still open after 10 s");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    eprintln!("slow-header client dropped after {took:?}");

    // A silent connection, and an idle keep-alive one, go the same way.
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    let (took, closed) = until_closed(&mut silent, Duration::from_secs(10)).await;
    assert!(
        closed.is_some() && took < Duration::from_secs(3),
        "{took:?}"
    );

    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (took, closed) = until_closed(&mut idle, Duration::from_secs(10)).await;
    let answer = String::from_utf8_lossy(closed.as_deref().unwrap_or_default()).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        took < Duration::from_secs(3),
        "idle keep-alive kept {took:?}"
    );
}

#[tokio::test]
async fn a_slow_body_gets_408() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.edge.body_read_timeout = Duration::from_millis(300)
    })
    .await;
    let mut socket = TcpStream::connect(app.addr).await.unwrap();
    socket
        .write_all(
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"qu",
        )
        .await
        .unwrap();
    let (took, closed) = until_closed(&mut socket, Duration::from_secs(10)).await;
    let answer = String::from_utf8_lossy(closed.as_deref().unwrap_or_default()).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[tokio::test]
async fn silent_connections_beyond_the_cap_are_closed_and_clients_still_get_in() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.edge.max_connections = 20;
        // Long: only the cap may close anything here, not the timeout.
        c.edge.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let mut silent = Vec::new();
    for _ in 0..100 {
        silent.push(TcpStream::connect(app.addr).await.unwrap());
    }
    // The oldest 80 made room for the newer ones and were closed at once.
    let mut closed = 0;
    for socket in silent.iter_mut() {
        let (took, gone) = until_closed(socket, Duration::from_millis(300)).await;
        if gone.is_some() && took < Duration::from_millis(300) {
            closed += 1;
        }
    }
    assert!(
        (78..=82).contains(&closed),
        "{closed} of 100 silent connections closed with a cap of 20"
    );

    // A client that sends its request is served at once, cap or not.
    let started = Instant::now();
    let resp = reqwest::Client::new()
        .post(app.url("/graphql"))
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let took = started.elapsed();
    eprintln!("served in {took:?} with the cap full of silent connections");
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[tokio::test]
async fn shutdown_is_bounded_and_closes_websockets_with_1001() {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let db = TestDb::new(Backend::Sqlite).await;
    let mut config = Config::new(db.url.clone());
    config.db_min_connections = 2;
    config.edge.shutdown_grace = Duration::from_secs(1);
    // Long enough that only the shutdown can end the half-sent request.
    config.edge.header_read_timeout = Duration::from_secs(60);
    config.edge.body_read_timeout = Duration::from_secs(60);
    let state = chronicle::build_state(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server_state = state.clone();
    let server = tokio::spawn(async move {
        chronicle::run(listener, server_state, async {
            let _ = rx.await;
        })
        .await
    });
    let stop = state.tasks().stop.clone();

    // A half-sent request (headers done, body not) and an open WebSocket.
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    )
    .await
    .unwrap();
    let mut ws = {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://{addr}/graphql")
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        tokio_tungstenite::connect_async(request).await.unwrap().0
    };
    use futures::SinkExt;
    ws.send(Message::Text(
        json!({"type": "connection_init"}).to_string().into(),
    ))
    .await
    .unwrap();
    let ack = ws.next().await.unwrap().unwrap();
    assert!(ack.to_text().unwrap().contains("connection_ack"));

    let started = Instant::now();
    tx.send(()).unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .expect("the WebSocket was not closed");
    assert_eq!(closed, Some(1001));

    let result = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("shutdown did not finish within 10 s")
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
    let took = started.elapsed();
    eprintln!("shutdown took {took:?} with a half-sent request");
    assert!(took < Duration::from_secs(4), "took {took:?}");
    // The background tasks were told to stop.
    assert!(stop.is_cancelled());
    // New connections are refused now.
    assert!(TcpStream::connect(addr).await.is_err());
    let (_, closed) = until_closed(&mut half, Duration::from_secs(5)).await;
    assert!(
        closed.is_some(),
        "the half-sent request's connection is still open"
    );
}
