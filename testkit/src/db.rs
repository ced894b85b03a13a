//! A fresh, empty database per test or benchmark run.

use std::time::Duration;

use anyhow::Context;
use sea_orm::ConnectionTrait;

/// Which database a test (or the benchmark) runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on a PostgreSQL server.
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// TEST_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test.
pub fn postgres_base_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// A fresh, empty database: a SQLite file in a temporary directory, or a
/// PostgreSQL database `<prefix><uuid>` created through an admin URL and
/// dropped with this value (or by [`TestDb::close`]).
pub struct TestDb {
    /// The URL to hand to `chronicle::Config::new`.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    /// (admin URL, database name) of a PostgreSQL database to drop.
    pg: Option<(String, String)>,
}

impl TestDb {
    /// A database for one test: PostgreSQL through TEST_DATABASE_URL
    /// (`chronicle_t_<uuid>`). Panics when it cannot be made.
    pub async fn new(backend: Backend) -> TestDb {
        let admin = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(postgres_base_url().expect("TEST_DATABASE_URL")),
        };
        TestDb::create(backend, admin.as_deref(), "chronicle_t_")
            .await
            .expect("a fresh test database")
    }

    /// A database on `backend`; for PostgreSQL, `admin_url` names a database
    /// to connect to for `CREATE DATABASE <prefix><uuid>`.
    pub async fn create(
        backend: Backend,
        admin_url: Option<&str>,
        prefix: &str,
    ) -> anyhow::Result<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().context("temp dir")?;
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                Ok(TestDb {
                    url,
                    _dir: Some(dir),
                    pg: None,
                })
            }
            Backend::Postgres => {
                let admin_url = admin_url.context("PostgreSQL needs an admin database URL")?;
                let name = format!("{prefix}{}", uuid::Uuid::new_v4().simple());
                let url = replace_db_name(admin_url, &name)?;
                let admin = sea_orm::Database::connect(admin_url)
                    .await
                    .with_context(|| {
                        format!(
                            "connecting to {} (is PostgreSQL running?)",
                            chronicle::app::redact(admin_url)
                        )
                    })?;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .context("CREATE DATABASE")?;
                admin.close().await.ok();
                Ok(TestDb {
                    url,
                    _dir: None,
                    pg: Some((admin_url.to_owned(), name)),
                })
            }
        }
    }

    /// The PostgreSQL database's name, if this is one.
    pub fn pg_name(&self) -> Option<&str> {
        self.pg.as_ref().map(|(_, name)| name.as_str())
    }

    /// Drops a PostgreSQL database now (30 s deadline), reporting failure;
    /// nothing to do for SQLite (the directory goes with the value).
    pub async fn close(mut self) -> anyhow::Result<()> {
        let Some((admin_url, name)) = self.pg.take() else {
            return Ok(());
        };
        tokio::time::timeout(Duration::from_secs(30), drop_database(&admin_url, &name))
            .await
            .with_context(|| format!("timed out dropping database {name}"))?
            .with_context(|| format!("dropping database {name}"))
    }
}

async fn drop_database(admin_url: &str, name: &str) -> Result<(), sea_orm::DbErr> {
    let admin = sea_orm::Database::connect(admin_url).await?;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    admin.close().await
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.pg.take() else {
            return;
        };
        // Drop runs inside the caller's runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(drop_database(&admin_url, &name)).ok()
        })
        .join();
    }
}

/// `url` with its database path replaced by `name` (the query kept).
fn replace_db_name(url: &str, name: &str) -> anyhow::Result<String> {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let slash = head
        .rfind('/')
        .filter(|&i| i > head.find("://").map_or(0, |s| s + 2))
        .context("the PostgreSQL URL needs a database path, e.g. …:5432/test")?;
    let mut out = format!("{}/{}", &head[..slash], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::replace_db_name;

    #[test]
    fn the_database_path_is_replaced_and_the_query_kept() {
        assert_eq!(
            replace_db_name("postgres://u@h:5432/test?sslmode=disable", "x").unwrap(),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert!(replace_db_name("postgres://u@h:5432", "x").is_err());
    }
}
