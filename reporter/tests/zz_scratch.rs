mod report_support;
use kuzet_reporter::report::{self, weekly};
use kuzet_storage::testing::TestDb;
use report_support::*;
#[tokio::test]
async fn dump() {
    let t = TestDb::sqlite().await.unwrap();
    week(&t.db).await;
    let r = weekly::build(&t.db, "2026-W47".parse().unwrap(), W47 + 8 * DAY)
        .await
        .unwrap();
    std::fs::write("/tmp/r.pdf", report::pdf::render(&r).unwrap()).unwrap();
    std::fs::write("/tmp/r.html", report::html::render(&r).unwrap()).unwrap();
    std::fs::write("/tmp/r.stix.json", report::stix::render(&r).unwrap()).unwrap();
}
