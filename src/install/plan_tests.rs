//! Tests of `plan.rs` (kept beside it so that the code reads on its own).

use super::*;

fn linux(managers: Vec<PackageManager>, root: bool) -> Platform {
    Platform {
        os: "linux",
        arch: "x86_64",
        distro: Some("debian".into()),
        distro_version: Some("12".into()),
        codename: Some("bookworm".into()),
        distro_like: vec![],
        libc: Some("gnu"),
        is_root: root,
        package_managers: managers,
        docker: false,
    }
}

#[test]
fn apt_prefers_valkey_when_it_has_a_candidate() {
    let p = plan(&linux(vec![PackageManager::Apt], false), &|_, pkg| {
        Some(pkg == "valkey-server")
    });
    assert_eq!(p.method, "apt");
    assert_eq!(p.package.as_deref(), Some("valkey-server"));
    assert_eq!(p.command, ["apt-get", "install", "-y", "valkey-server"]);
    assert!(p.needs_sudo);
    assert_eq!(
        p.shell_command.as_deref(),
        Some("sudo apt-get install -y valkey-server")
    );
}

#[test]
fn debian_without_backports_gets_redis_and_is_told_why() {
    let p = plan(&linux(vec![PackageManager::Apt], true), &|_, pkg| {
        Some(pkg == "redis-server")
    });
    assert_eq!(p.package.as_deref(), Some("redis-server"));
    assert!(!p.needs_sudo);
    assert!(p.reason.contains("bookworm-backports"), "{}", p.reason);
    assert_eq!(
        p.shell_command.as_deref(),
        Some("apt-get install -y redis-server")
    );
}

#[test]
fn apt_with_an_empty_index_falls_back_to_download() {
    let p = plan(&linux(vec![PackageManager::Apt], false), &|_, _| {
        Some(false)
    });
    assert_eq!(p.method, "download");
    assert!(!p.needs_sudo);
    assert_eq!(p.download.as_ref().unwrap().distro, "jammy");
}

#[test]
fn each_manager_has_its_command() {
    let cases = [
        (PackageManager::Dnf, None, "dnf install -y valkey"),
        (PackageManager::Yum, None, "yum install -y redis"),
        (PackageManager::Apk, Some(true), "apk add valkey"),
        (
            PackageManager::Pacman,
            Some(false),
            "pacman -S --noconfirm --needed redis",
        ),
    ];
    for (m, answer, cmd) in cases {
        let p = plan(&linux(vec![m], false), &|_, _| answer);
        assert_eq!(p.command.join(" "), cmd);
        assert!(p.needs_sudo);
        assert_eq!(p.shell_command.unwrap(), format!("sudo {cmd}"));
    }
}

#[test]
fn brew_never_needs_sudo_and_macos_without_brew_says_what_to_do() {
    let mut p = linux(vec![PackageManager::Brew], false);
    p.os = "macos";
    p.libc = None;
    let plan_ = plan(&p, &query_candidate);
    assert_eq!(plan_.command, ["brew", "install", "valkey"]);
    assert!(!plan_.needs_sudo);
    assert!(plan_.download.is_none());
    p.package_managers.clear();
    let plan_ = plan(&p, &|_, _| None);
    assert_eq!(plan_.method, "external");
    assert!(plan_.reason.contains("brew.sh"));
}

#[test]
fn windows_is_docker_or_an_external_url() {
    let mut p = linux(vec![], false);
    p.os = "windows";
    p.libc = None;
    assert_eq!(plan(&p, &|_, _| None).method, "external");
    p.docker = true;
    let d = plan(&p, &|_, _| None);
    assert_eq!(d.method, "docker");
    assert!(d.command.is_empty());
}

#[test]
fn linux_without_managers_downloads_or_says_why_not() {
    let p = plan(&linux(vec![], false), &|_, _| None);
    assert_eq!(p.method, "download");
    let mut musl = linux(vec![], false);
    musl.libc = Some("musl");
    assert_eq!(plan(&musl, &|_, _| None).method, "external");
}

#[test]
fn apt_policy_parsing() {
    assert!(apt_has_candidate(
        "valkey-server:\n  Installed: (none)\n  Candidate: 8.0.1+dfsg1-1~bpo12+1\n"
    ));
    assert!(!apt_has_candidate(
        "valkey-server:\n  Installed: (none)\n  Candidate: (none)\n"
    ));
    assert!(!apt_has_candidate(""));
}
