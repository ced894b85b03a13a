//! The committed schema.graphql is what the server serves.

#[test]
fn committed_schema_matches_the_server() {
    let served = chronicle::graphql::sdl_of_default_schema();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == served,
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql` and commit it"
    );
}
