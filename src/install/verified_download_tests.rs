//! Tests of `verified_download.rs` (kept beside it so that the code reads on its own).

use super::*;

#[tokio::test]
async fn test_run_reports_the_loaders_words() {
    let d = std::env::temp_dir().join(format!("cms-testrun-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let fake = d.join("valkey-server");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'valkey-server: error while loading shared libraries: libssl.so.3: cannot open shared object file: No such file or directory' >&2\nexit 127\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let e = test_run(&fake, "9.0.3").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::BinaryIncompatible);
    assert!(e.message.contains("libssl.so.3"), "{}", e.message);
    assert!(e.message.contains("127"), "{}", e.message);
    let e = test_run(&d.join("missing"), "9.0.3").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::BinaryIncompatible);
    std::fs::remove_dir_all(d).unwrap();
}

#[tokio::test]
async fn test_run_wants_the_manifests_version() {
    let Ok(real) = which::which("valkey-server") else {
        eprintln!("skipped: valkey-server is not installed (see .ci/run)");
        return;
    };
    let e = test_run(&real, "0.0.1").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::BinaryIncompatible);
    assert!(e.message.contains("not Valkey 0.0.1"), "{}", e.message);
}

#[test]
fn caller_hashes_are_validated() {
    assert_eq!(normalize_hash(&"AB".repeat(32)).unwrap(), "ab".repeat(32));
    assert_eq!(
        normalize_hash("abc").unwrap_err().code,
        ErrorCode::BadOption
    );
}
