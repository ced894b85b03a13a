//! Projection leadership on PostgreSQL: each projection runs in one
//! instance at a time, the one holding a session advisory lock (keyed by the
//! projection's name) on a connection of its own. When that instance dies
//! or its connection drops, PostgreSQL releases the lock and another
//! instance, which tries every poll interval, takes over from the
//! checkpoint. The checkpoint row lock (`lock_position`) still guarantees
//! that no batch is applied twice if two ever overlap.

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

/// Tries to become the leader of `name`; `None` when another instance is.
pub async fn try_acquire(db: &Db, name: &str) -> Result<Option<Leadership>, DbErr> {
    let pool = db.conn().get_postgres_connection_pool();
    // A connection of its own, outside the pool: the lock lives as long as
    // this session.
    let mut conn = pool.acquire().await.map_err(db_err)?.detach();
    let key = lock_key(name);
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
