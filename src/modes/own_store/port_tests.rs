//! Tests of `port.rs` (kept beside it so that the code reads on its own).

use super::*;
use crate::settings::Source;
use std::net::{Ipv4Addr, TcpListener};

#[test]
fn explicit_port_held_by_someone_is_refused_with_the_holder() {
    let held = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = held.local_addr().unwrap().port();
    let setting = Some(PortSetting {
        port,
        source: Source::Option,
    });
    let e = choose_port(setting, Path::new("/x"), &[]).unwrap_err();
    assert_eq!(e.code, ErrorCode::PortInUse);
    assert!(e.message.contains(&port.to_string()));
    #[cfg(target_os = "linux")]
    assert!(
        e.message.contains(&format!("pid {}", std::process::id())),
        "{}",
        e.message
    );
}

#[test]
fn persisted_port_held_by_someone_moves_and_says_why() {
    let held = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = held.local_addr().unwrap().port();
    let setting = Some(PortSetting {
        port,
        source: Source::SettingsFile,
    });
    let (to, moved) = choose_port(setting, Path::new("/x"), &[]).unwrap();
    assert_ne!(to, port);
    let moved = moved.unwrap();
    assert_eq!(moved.from, port);
    #[cfg(target_os = "linux")]
    assert_eq!(moved.holder_pid, Some(std::process::id()));
}

#[test]
fn free_persisted_port_is_kept() {
    let probe = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let setting = Some(PortSetting {
        port,
        source: Source::SettingsFile,
    });
    let (chosen, moved) = choose_port(setting, Path::new("/x"), &[]).unwrap();
    assert_eq!(chosen, port);
    assert!(moved.is_none());
}
