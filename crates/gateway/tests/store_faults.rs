//! Store faults (issue: reliability): a full disk answers a retry-safe 20000, commits nothing
//! half-way, and the identical request succeeds once space is back. The disk is a 4 MiB tmpfs
//! mounted for the test (root only: skips with a printed reason elsewhere, never under CI=true).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_store::Store;
use hongbao_test_support::*;
use std::io::Write;

struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn mount_tmpfs(dir: &std::path::Path) -> Result<Mount, String> {
    let status = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4M", "tmpfs"])
        .arg(dir)
        .status()
        .map_err(|err| format!("cannot run mount: {err}"))?;
    if status.success() {
        Ok(Mount(dir.to_owned()))
    } else {
        Err(format!("mount -t tmpfs failed ({status}); this test needs root"))
    }
}

/// Fills the file system until it refuses more, leaving `filler` to delete later.
fn fill(dir: &std::path::Path) -> std::path::PathBuf {
    let filler = dir.join("filler");
    let mut file = std::fs::File::create(&filler).expect("create filler");
    let block = vec![0u8; 16 * 1024];
    while file.write_all(&block).and_then(|()| file.sync_all()).is_ok() {}
    filler
}

#[tokio::test]
async fn a_full_disk_answers_retry_safe_and_recovers_by_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _mount = match mount_tmpfs(dir.path()) {
        Ok(mount) => mount,
        Err(reason) if std::env::var("CI").as_deref() == Ok("true") => panic!("{reason}"),
        Err(reason) => {
            eprintln!("SKIP store_faults: {reason}");
            return;
        }
    };
    let app = spawn_app_in(dir).await;
    let path = app.dir.path().to_owned();
    let auth_no = app.call(PAY, &pay_biz("DISK", "10.00")).await.field("auth_no").to_owned();
    let before = app.store.snapshot().await.expect("snapshot");

    let filler = fill(&path);
    let disburses: Vec<Call> = (0..20)
        .map(|i| {
            let biz = format!(
                r#"{{"out_order_no":"FULL{i}","deduct_auth_no":"{auth_no}","out_request_no":"1","order_title":"{}","amount":"0.10","payee_user_id":"{ALICE}"}}"#,
                "满".repeat(40)
            );
            Call::new(DISBURSE, &biz)
        })
        .collect();
    let mut refused = 0;
    for call in &disburses {
        let answer = app.send(call).await;
        match answer.code() {
            "20000" => {
                assert_eq!(answer.sub_code(), "isp.unknow-error");
                refused += 1;
            }
            other => panic!("a full disk answered {other}: {}", answer.sub_msg()),
        }
    }
    assert_eq!(refused, disburses.len());
    let during = app.store.snapshot().await.expect("reads still work");
    assert_eq!(during.operations.len(), before.operations.len(), "nothing committed half-way");
    assert_eq!(app.balance(ALICE).await, 0);

    std::fs::remove_file(&filler).expect("free the disk");
    for call in &disburses {
        assert_eq!(
            app.send(call).await.code(),
            "10000",
            "the identical retry succeeds once space is back"
        );
    }
    for call in &disburses {
        assert_eq!(app.send(call).await.code(), "10000", "and replays after that");
    }
    assert_eq!(app.balance(ALICE).await, 200, "each disburse moved its 0.10 once");
    app.assert_invariants().await;
}
