//! The database handle shared by every layer: a SeaORM connection plus the
//! single-writer discipline SQLite needs.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    TransactionTrait,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// A cloneable database handle.
///
/// SQLite allows one writer at a time, and a deferred transaction that reads
/// before it writes fails with `SQLITE_BUSY_SNAPSHOT` when another connection
/// committed in between. So on SQLite every write transaction in this
/// process takes `write_lock` first; on PostgreSQL it is never taken.
#[derive(Clone)]
pub struct Db {
    conn: DatabaseConnection,
    write_lock: Arc<Mutex<()>>,
}

/// A write transaction; on SQLite it also holds the process's write lock
/// until it is committed or dropped.
pub struct WriteTx {
    /// The transaction.
    pub txn: DatabaseTransaction,
    _guard: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    /// Commits (and releases the SQLite write lock).
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }

    /// Rolls back (and releases the SQLite write lock).
    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

/// Connections of a server's PostgreSQL pool for requests, at most.
pub const PG_MAX_CONNECTIONS: u32 = 20;

/// Of those, how many a server keeps open by default.
pub const DEFAULT_MIN_CONNECTIONS: u32 = 4;

impl Db {
    /// Connects to `sqlite://…` or `postgres://…`, a PostgreSQL pool
    /// opening connections as they are needed (tools, tests).
    pub async fn connect(url: &str) -> Result<Db, DbErr> {
        Db::connect_pool(url, 0, PG_MAX_CONNECTIONS).await
    }

    /// [`connect`](Self::connect) with a PostgreSQL pool of at most
    /// `max_connections` that keeps at least `min_connections` open
    /// (SQLite opens its connections as needed: that costs a file open).
    /// Opening a PostgreSQL connection costs a backend process and its
    /// set-up, about 90 ms on a busy 2-core machine, paid by whichever
    /// request or batch found the pool short; connections kept open are
    /// reopened in the background when lost or past their lifetime.
    pub async fn connect_pool(
        url: &str,
        min_connections: u32,
        max_connections: u32,
    ) -> Result<Db, DbErr> {
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.sqlx_logging(false)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(30))
            // A ping on every checkout was a round trip per statement; only
            // a connection idle long enough to have been dropped is tested.
            .test_before_acquire_if_idle_for(Duration::from_secs(30));
        if url.starts_with("sqlite:") {
            opts.max_connections(8).map_sqlx_sqlite_opts(|o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
        } else {
            opts.max_connections(max_connections.max(1))
                .min_connections(min_connections.min(max_connections));
        }
        let conn = Database::connect(opts).await?;
        Ok(Db {
            conn,
            write_lock: Arc::new(Mutex::new(())),
        })
    }

    /// The SeaORM connection (pool).
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// SQLite or PostgreSQL.
    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.backend() == DbBackend::Postgres
    }

    /// Starts a write transaction (see the type's doc for SQLite).
    pub async fn begin_write(&self) -> Result<WriteTx, DbErr> {
        let guard = self.write_guard().await;
        let txn = self.conn.begin().await?;
        Ok(WriteTx { txn, _guard: guard })
    }

    /// On SQLite, the process's write lock (for a write that is one
    /// statement, committed on its own); `None` on PostgreSQL.
    pub async fn write_guard(&self) -> Option<OwnedMutexGuard<()>> {
        if self.is_postgres() {
            None
        } else {
            Some(self.write_lock.clone().lock_owned().await)
        }
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.conn.ping().await
    }
}
