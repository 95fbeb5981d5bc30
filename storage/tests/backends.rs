//! Storage on both backends: migrations apply, are idempotent, and the schema's invariants hold.

use kuzet_storage::testing::TestDb;
use kuzet_storage::{Backend, Db, DbOptions, migrate, now_ms};

#[tokio::test]
async fn migrations_apply_twice_and_report_status() {
    for t in TestDb::all().await.unwrap() {
        // TestDb already migrated once; a second and third run are no-ops.
        migrate::run(&t.db).await.unwrap();
        migrate::run(&t.db).await.unwrap();
        let status = migrate::status(&t.db).await.unwrap();
        assert!(!status.is_empty(), "{:?}: no migrations known", t.backend());
        assert!(
            status.iter().all(|m| m.applied),
            "{:?}: {status:?}",
            t.backend()
        );
        t.cleanup().await.unwrap();
    }
}

#[tokio::test]
async fn fresh_database_shows_pending_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fresh.db").display());
    let opts = DbOptions {
        migrate: false,
        ..DbOptions::default()
    };
    let db = Db::connect(&url, &opts).await.unwrap();
    assert_eq!(db.backend(), Backend::Sqlite);
    let status = migrate::status(&db).await.unwrap();
    assert!(status.iter().all(|m| !m.applied), "{status:?}");
    migrate::run(&db).await.unwrap();
    assert!(
        migrate::status(&db)
            .await
            .unwrap()
            .iter()
            .all(|m| m.applied)
    );
}

#[tokio::test]
async fn audit_log_is_append_only() {
    for t in TestDb::all().await.unwrap() {
        let pool = t.db.pool();
        sqlx::query("INSERT INTO audit_log (at, actor, action) VALUES ($1, $2, $3)")
            .bind(now_ms())
            .bind("tester")
            .bind("login")
            .execute(pool)
            .await
            .unwrap();
        let upd = sqlx::query("UPDATE audit_log SET actor = 'mallory'")
            .execute(pool)
            .await;
        assert!(
            upd.is_err(),
            "{:?}: update of audit_log succeeded",
            t.backend()
        );
        let del = sqlx::query("DELETE FROM audit_log").execute(pool).await;
        assert!(
            del.is_err(),
            "{:?}: delete from audit_log succeeded",
            t.backend()
        );
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(n, 1);
        t.cleanup().await.unwrap();
    }
}

#[tokio::test]
async fn foreign_keys_and_checks_are_enforced() {
    for t in TestDb::all().await.unwrap() {
        let pool = t.db.pool();
        let bad_fk = sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES ('x', 424242, 'c', 0, 0)",
        )
        .execute(pool)
        .await;
        assert!(
            bad_fk.is_err(),
            "{:?}: dangling user_id accepted",
            t.backend()
        );
        let bad_role = sqlx::query(
            "INSERT INTO users (name, role, password_hash, created_at) VALUES ('a', 'root', 'h', 0)",
        )
        .execute(pool)
        .await;
        assert!(bad_role.is_err(), "{:?}: role 'root' accepted", t.backend());
        t.cleanup().await.unwrap();
    }
}

#[tokio::test]
async fn unreachable_and_unsupported_urls_are_clear_errors() {
    let err = Db::connect("mysql://x", &DbOptions::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("unsupported database URL"),
        "{err}"
    );
    let opts = DbOptions {
        busy_timeout: std::time::Duration::from_secs(1),
        ..DbOptions::default()
    };
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let err = Db::connect("postgres://u:secret@127.0.0.1:1/x", &opts)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("cannot open database"), "{msg}");
    assert!(!msg.contains("secret"), "password leaked: {msg}");
}
