//! Choosing the private port: stable per user and data dir, outside every OS's
//! ephemeral range (Linux 32768–60999, macOS/Windows 49152–65535), never 6379.

use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;

/// Candidates come from 20000..32000: below Linux's ephemeral range, above the
/// crowded low ports. claude-mem's worker uses 37777, outside this range.
const RANGE_START: u16 = 20_000;
const RANGE_LEN: u16 = 12_000;
/// How many deterministic candidates we try before asking the OS for any free one.
const CANDIDATES: u32 = 64;

/// The port a user's store prefers: a hash of the user and the data dir, so two
/// users (or two data dirs in tests) rarely want the same port, and the same user
/// gets the same one every time.
pub fn preferred_port(data_dir: &Path, attempt: u32) -> u16 {
    let mut h = Fnv::new();
    h.write(&user_id().to_le_bytes());
    h.write(data_dir.as_os_str().as_encoded_bytes());
    h.write(&attempt.to_le_bytes());
    RANGE_START + (h.finish() % u64::from(RANGE_LEN)) as u16
}

/// Whether nothing listens on `port` on 127.0.0.1 (our bind address). The test
/// bind uses SO_REUSEADDR like the server does, so a TIME_WAIT does not count.
pub fn is_free(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// The first free port among this data dir's candidates, skipping `avoid`.
pub fn choose_free_port(data_dir: &Path, avoid: &[u16]) -> Option<u16> {
    (0..CANDIDATES)
        .map(|attempt| preferred_port(data_dir, attempt))
        .find(|p| !avoid.contains(p) && is_free(*p))
}

#[cfg(unix)]
fn user_id() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

#[cfg(not(unix))]
fn user_id() -> u32 {
    0
}

/// FNV-1a: tiny, and stable across Rust versions (unlike `DefaultHasher`), so the
/// preferred port never changes under the user's feet after an upgrade.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Who listens on a TCP port, as far as the OS tells us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortHolder {
    pub pid: Option<u32>,
    pub command: Option<String>,
}

impl PortHolder {
    pub fn describe(&self) -> String {
        match (self.pid, &self.command) {
            (Some(pid), Some(cmd)) => format!("pid {pid} ({})", truncate(cmd, 120)),
            (Some(pid), None) => format!("pid {pid}"),
            _ => "another program (the OS does not say which)".to_string(),
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        format!("{}…", s.chars().take(n).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Linux: find the listening socket's inode in /proc/net/tcp{,6}, then the process
/// holding that inode among /proc/*/fd (only our own user's processes are visible).
#[cfg(target_os = "linux")]
pub fn port_holder(port: u16) -> PortHolder {
    let inodes: Vec<u64> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|table| listening_inodes(&table, port))
        .collect();
    let pid = (!inodes.is_empty())
        .then(|| pid_holding_socket(&inodes))
        .flatten();
    PortHolder {
        pid,
        command: pid.and_then(crate::server::process::command_line),
    }
}

/// Inodes of sockets in LISTEN state (0A) on `port` in a /proc/net/tcp table.
#[cfg(any(target_os = "linux", test))]
fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = u16::from_str_radix(f.get(1)?.rsplit(':').next()?, 16).ok()?;
            (local_port == port && *f.get(3)? == "0A").then(|| f.get(9)?.parse().ok())?
        })
        .collect()
}

#[cfg(target_os = "linux")]
fn pid_holding_socket(inodes: &[u64]) -> Option<u32> {
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path())
                && wanted.iter().any(|w| target.as_os_str() == w.as_str())
            {
                return Some(pid);
            }
        }
    }
    None
}

/// macOS and other unixes: ask lsof, which ships with macOS.
#[cfg(all(unix, not(target_os = "linux")))]
pub fn port_holder(port: u16) -> PortHolder {
    let pid = std::process::Command::new("lsof")
        .args(["-nP", &format!("-iTCP:{port}"), "-sTCP:LISTEN", "-t"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .and_then(|l| l.trim().parse().ok())
        });
    PortHolder {
        pid,
        command: pid.and_then(crate::server::process::command_line),
    }
}

#[cfg(not(unix))]
pub fn port_holder(_port: u16) -> PortHolder {
    PortHolder {
        pid: None,
        command: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferred_port_is_stable_in_range_and_differs_by_dir() {
        let a = preferred_port(Path::new("/a"), 0);
        assert_eq!(a, preferred_port(Path::new("/a"), 0));
        let all: Vec<u16> = (0..200)
            .map(|i| preferred_port(Path::new(&format!("/d{i}")), 0))
            .collect();
        assert!(
            all.iter()
                .all(|p| (20_000..32_000).contains(p) && *p != 6379)
        );
        let distinct: std::collections::HashSet<_> = all.iter().collect();
        assert!(distinct.len() > 150, "ports spread out: {}", distinct.len());
    }

    #[test]
    fn a_held_port_is_not_free_and_is_skipped() {
        let held = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = held.local_addr().unwrap().port();
        assert!(!is_free(port));
        let chosen = choose_free_port(Path::new("/x"), &[port]).unwrap();
        assert_ne!(chosen, port);
    }

    #[test]
    fn parses_listening_sockets_from_proc_net_tcp() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:5BA0 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 55501 1 0000000000000000 100 0 0 10 0\n\
   1: 0100007F:5BA0 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 55502 1 0000000000000000 100 0 0 10 0\n";
        assert_eq!(listening_inodes(table, 0x5BA0), vec![55501]);
        assert!(listening_inodes(table, 80).is_empty());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn finds_this_process_as_the_holder() {
        let held = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let holder = port_holder(held.local_addr().unwrap().port());
        assert_eq!(holder.pid, Some(std::process::id()));
        assert!(holder.describe().contains(&std::process::id().to_string()));
    }
}
