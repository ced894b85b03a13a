//! Projection leadership on PostgreSQL: each projection runs in one
//! instance at a time, the one holding a session advisory lock (keyed by the
//! projection's name) on a connection of its own. When that instance dies
//! or its connection drops, PostgreSQL releases the lock and another
//! instance, which tries every poll interval, takes over from the
//! checkpoint. The conditional checkpoint advance (`advance_from`) still guarantees
//! that no batch is applied twice if two ever overlap.

use std::collections::HashMap;

use sea_orm::DbErr;
use sea_orm::sqlx::{self, Connection, PgConnection};

use crate::db::Db;

/// A held leadership: the lock and the connection that holds it.
pub struct Leadership {
    conn: PgConnection,
    key: i64,
}

/// The advisory lock key of a projection: a fixed prefix and a hash of
/// the name (FNV-1a), so keys never collide with the append lock.
pub fn lock_key(name: &str) -> i64 {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    // "CP" in the top bytes, 48 bits of hash below.
    i64::from_ne_bytes(((0x4350_u64 << 48) | (hash & 0xffff_ffff_ffff)).to_ne_bytes())
}

fn db_err(e: sqlx::Error) -> DbErr {
    DbErr::Custom(format!("leadership connection: {e}"))
}

/// The application name of a leadership connection: how other instances
/// learn who holds a lock.
const APPLICATION_PREFIX: &str = "chronicle:";

/// Tries to become the leader of `name` as `instance`; `None` when another
/// instance is.
pub async fn try_acquire(db: &Db, name: &str, instance: &str) -> Result<Option<Leadership>, DbErr> {
    let pool = db.conn().get_postgres_connection_pool();
    // A connection of its own, outside the pool: the lock lives as long as
    // this session.
    let mut conn = pool.acquire().await.map_err(db_err)?.detach();
    let key = lock_key(name);
    // Named before it can hold the lock, so a holder always has a name.
    sqlx::query("SELECT set_config('application_name', $1, false)")
        .bind(format!("{APPLICATION_PREFIX}{instance}"))
        .execute(&mut conn)
        .await
        .map_err(db_err)?;
    let (got,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(&mut conn)
        .await
        .map_err(db_err)?;
    if got {
        Ok(Some(Leadership { conn, key }))
    } else {
        let _ = conn.close().await;
        Ok(None)
    }
}

impl Leadership {
    /// Whether the session (and so the lock) is still there.
    pub async fn alive(&mut self) -> bool {
        self.conn.ping().await.is_ok()
    }

    /// Gives the lock up now (closing the connection would too).
    pub async fn release(mut self) {
        let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(self.key)
            .execute(&mut self.conn)
            .await;
        let _ = self.conn.close().await;
    }
}

/// Which instance holds the leadership of each of `names` now, from the
/// advisory locks granted on the server (a bigint key is kept as classid
/// = high 32 bits, objid = low 32 bits, objsubid = 1).
pub async fn holders(db: &Db, names: &[&str]) -> Result<HashMap<String, String>, DbErr> {
    let pool = db.conn().get_postgres_connection_pool();
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT (l.classid::bigint << 32) | l.objid::bigint, a.application_name \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    let by_key: HashMap<i64, String> = rows.into_iter().collect();
    Ok(names
        .iter()
        .filter_map(|name| {
            let holder = by_key.get(&lock_key(name))?;
            let instance = holder.strip_prefix(APPLICATION_PREFIX).unwrap_or(holder);
            Some((name.to_string(), instance.to_owned()))
        })
        .collect())
}
