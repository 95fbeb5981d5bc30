//! Users and the audit log on both backends.

use kuzet_reporter::users::{self, Role};
use kuzet_reporter::{ReporterError, audit};
use kuzet_storage::testing::TestDb;

#[tokio::test]
async fn add_list_authenticate_and_audit() {
    for t in TestDb::all().await.unwrap() {
        let db = &t.db;
        let u = users::add(db, "cli", "aigerim", Role::Analyst, "correct horse battery")
            .await
            .unwrap();
        assert_eq!(u.role, Role::Analyst);
        users::add(db, "cli", "bolat", Role::Liaison, "another long secret")
            .await
            .unwrap();
        let dup = users::add(db, "cli", "aigerim", Role::Admin, "whatever long enough").await;
        assert!(matches!(dup, Err(ReporterError::UserExists(_))), "{dup:?}");
        let names: Vec<_> = users::list(db)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["aigerim", "bolat"]);

        let ok = users::authenticate(db, "aigerim", "correct horse battery")
            .await
            .unwrap();
        assert_eq!(ok.map(|u| u.name).as_deref(), Some("aigerim"));
        assert!(
            users::authenticate(db, "aigerim", "wrong password")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            users::authenticate(db, "nobody", "correct horse battery")
                .await
                .unwrap()
                .is_none()
        );

        // The hash in the database is argon2id, never the password.
        let hash: String =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE name = 'aigerim'")
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("correct horse"));

        let log = audit::recent(db, 10).await.unwrap();
        assert_eq!(log.len(), 2, "one entry per successful add: {log:?}");
        assert_eq!(log[0].target, "user:bolat");
        assert_eq!(log[1].action, "user.add");
        t.cleanup().await.unwrap();
    }
}

#[tokio::test]
async fn bad_names_roles_and_passwords_are_refused() {
    let t = TestDb::sqlite().await.unwrap();
    for bad in ["", "a b", "<script>", &"x".repeat(65)] {
        let r = users::add(&t.db, "cli", bad, Role::Analyst, "long enough password").await;
        assert!(
            matches!(r, Err(ReporterError::InvalidUserName(_))),
            "{bad:?}: {r:?}"
        );
    }
    let r = users::add(&t.db, "cli", "ok", Role::Analyst, "short").await;
    assert!(
        matches!(r, Err(ReporterError::WeakPassword { .. })),
        "{r:?}"
    );
    assert!("root".parse::<Role>().is_err());
    assert_eq!("liaison".parse::<Role>().unwrap(), Role::Liaison);
    assert!(users::list(&t.db).await.unwrap().is_empty());
}
