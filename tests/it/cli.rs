//! The command-line contract: exit codes, one-line errors, config layering, db and users commands.

use kuzet_storage::testing::TestDb;

use crate::util::{kuzet, run, stderr, stdout};

fn args(dir: &std::path::Path, db: &str, a: &[&str]) -> std::process::Command {
    let mut c = kuzet(dir);
    c.arg("--db").arg(db).args(a);
    c
}

/// `db migrate` twice in a row on a fresh database of each backend, then `db status`.
#[tokio::test]
async fn db_migrate_is_idempotent_on_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    let fresh_sqlite = format!("sqlite://{}", dir.path().join("fresh.db").display());
    let mut urls = vec![(fresh_sqlite, None)];
    if let Some(pg) = TestDb::postgres_with(false).await.unwrap() {
        // A schema of its own, not migrated: kuzet does that below.
        urls.push((pg.url.clone(), Some(pg)));
    }
    for (url, _) in &urls {
        let first = run(args(dir.path(), url, &["db", "migrate"]), "");
        assert!(first.status.success(), "{url}: {}", stderr(&first));
        let second = run(args(dir.path(), url, &["db", "migrate"]), "");
        assert!(second.status.success(), "{url}: {}", stderr(&second));
        assert!(stdout(&first).contains("applied"), "{}", stdout(&first));
        assert!(
            stdout(&second).contains("up to date"),
            "{}",
            stdout(&second)
        );
        let status = run(
            args(dir.path(), url, &["--format", "json", "db", "status"]),
            "",
        );
        assert!(status.status.success(), "{}", stderr(&status));
        let lines: Vec<serde_json::Value> = stdout(&status)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(!lines.is_empty());
        assert!(lines.iter().all(|l| l["applied"] == true), "{lines:?}");
    }
    for (_, pg) in urls {
        if let Some(pg) = pg {
            pg.cleanup().await.unwrap();
        }
    }
}

#[test]
fn users_add_and_list_with_password_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("k.db").display());
    let add = run(
        args(
            dir.path(),
            &db,
            &[
                "users",
                "add",
                "aigerim",
                "--role",
                "analyst",
                "--password-stdin",
            ],
        ),
        "a long enough secret\n",
    );
    assert!(add.status.success(), "{}", stderr(&add));
    let short = run(
        args(
            dir.path(),
            &db,
            &[
                "users",
                "add",
                "bolat",
                "--role",
                "admin",
                "--password-stdin",
            ],
        ),
        "short\n",
    );
    assert_eq!(short.status.code(), Some(2), "{}", stderr(&short));
    let role = run(
        args(
            dir.path(),
            &db,
            &["users", "add", "c", "--role", "root", "--password-stdin"],
        ),
        "a long enough secret\n",
    );
    assert_eq!(role.status.code(), Some(2));
    assert!(stderr(&role).contains("unknown role"), "{}", stderr(&role));
    let no_stdin_flag = run(
        args(dir.path(), &db, &["users", "add", "d", "--role", "admin"]),
        "",
    );
    assert_eq!(no_stdin_flag.status.code(), Some(2));
    let list = run(
        args(dir.path(), &db, &["--format", "json", "users", "list"]),
        "",
    );
    assert!(list.status.success());
    let users: Vec<serde_json::Value> = stdout(&list)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0]["name"], "aigerim");
    assert_eq!(users[0]["role"], "analyst");
    assert!(!stdout(&list).contains("argon2"), "hash leaked");
}

#[test]
fn errors_are_one_line_with_the_documented_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    // Unknown subcommand: usage error, exit 2.
    let o = run(kuzet(dir.path()).arg("frobnicate"), "");
    assert_eq!(o.status.code(), Some(2));
    // Corrupt config: exit 2, one line naming the file.
    std::fs::write(dir.path().join("bad.toml"), "[database\nurl = 1").unwrap();
    let o = run(
        kuzet(dir.path()).args(["--config", "bad.toml", "db", "status"]),
        "",
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("bad.toml"), "{err}");
    // Unknown key: exit 2, names the key.
    std::fs::write(
        dir.path().join("typo.toml"),
        "[database]\nuri = 'sqlite://x.db'\n",
    )
    .unwrap();
    let o = run(
        kuzet(dir.path()).args(["--config", "typo.toml", "db", "status"]),
        "",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("uri"), "{}", stderr(&o));
    // Bad value from the environment: exit 2, names the key.
    let mut c = kuzet(dir.path());
    c.env("KUZET_DATABASE_MAX_CONNECTIONS", "lots")
        .args(["db", "status"]);
    let o = run(c, "");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("max_connections"), "{}", stderr(&o));
    // Unreachable database (nothing listens on port 1 of loopback): runtime failure, exit 1,
    // one line, password masked, no panic or backtrace.
    let o = run(
        args(
            dir.path(),
            "postgres://kuzet:hunter22@127.0.0.1:1/kuzet",
            &["db", "status"],
        ),
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("refused"), "{err}");
    assert!(!err.contains("hunter22") && !err.contains("panicked") && !err.contains("backtrace"));
}

#[test]
fn config_show_layers_file_env_and_flags_and_masks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("k.toml"),
        "[database]\nurl = 'postgres://kuzet:filepw@db/k'\nmax_connections = 4\n",
    )
    .unwrap();
    let mut c = kuzet(dir.path());
    c.env("KUZET_DATABASE_BUSY_TIMEOUT_MS", "1234")
        .args(["--config", "k.toml", "--format", "json", "config", "show"]);
    let o = run(c, "");
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["database"]["max_connections"], 4);
    assert_eq!(v["database"]["busy_timeout_ms"], 1234);
    assert_eq!(v["database"]["url"], "postgres://kuzet:***@db/k");
    // A flag beats the file.
    let o = run(
        kuzet(dir.path()).args([
            "--config",
            "k.toml",
            "--db",
            "sqlite://other.db",
            "config",
            "show",
        ]),
        "",
    );
    assert!(stdout(&o).contains("sqlite://other.db"), "{}", stdout(&o));
    assert!(!stdout(&o).contains("filepw"));
}
