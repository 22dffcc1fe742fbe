//! Processes: is a pid alive, when did it start (the start token that tells a
//! recycled pid from ours), signalling, and spawning the sidecar in its own session.
//!
//! A sidecar this process spawned stays its child until it exits, and an exited
//! child lingers as a `<defunct>` zombie until its parent collects it. So every
//! spawned server is remembered here, and collected the moment anything sees it
//! dead: a long-lived worker that starts, stops and restarts the store never
//! accumulates zombies. Only our own spawned servers are ever waited for, never a
//! child Node (libuv) started, whose exit status belongs to Node.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use crate::error::{ErrorCode, Result, StoreError};

pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Whether `pid` names a running process (a zombie is not running: it has exited
/// and only waits for its parent to collect it).
#[cfg(unix)]
pub fn is_alive(pid: u32) -> bool {
    let Ok(raw) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if raw <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let exists = unsafe { libc::kill(raw, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    if exists && is_zombie(pid) {
        // Dead; if it is a server we spawned, collect it now.
        collect_exiting(pid);
        return false;
    }
    exists
}

#[cfg(target_os = "linux")]
fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| stat_fields_after_comm(&s).and_then(|f| f.first().map(|s| s == "Z")))
        .unwrap_or(false)
}

#[cfg(all(unix, not(target_os = "linux")))]
fn is_zombie(pid: u32) -> bool {
    ps_field(pid, "stat=")
        .map(|s| s.starts_with('Z'))
        .unwrap_or(false)
}

#[cfg(not(unix))]
pub fn is_alive(_pid: u32) -> bool {
    false
}

/// The fields of `/proc/<pid>/stat` after the `(comm)` field, which may itself hold
/// spaces and parentheses: field 3 (state) is index 0, field 22 (starttime) index 19.
#[cfg(any(target_os = "linux", test))]
fn stat_fields_after_comm(stat: &str) -> Option<Vec<String>> {
    let close = stat.rfind(')')?;
    Some(
        stat[close + 1..]
            .split_whitespace()
            .map(str::to_string)
            .collect(),
    )
}

/// When `pid` started, as the OS records it, so a pid reused by another program is
/// never mistaken for ours. Linux: `/proc/<pid>/stat` field 22 (clock ticks since
/// boot); macOS/BSD: `ps -o lstart=`. `None` when the process is gone.
#[cfg(target_os = "linux")]
pub fn start_token(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start_token(&stat)
}

#[cfg(any(target_os = "linux", test))]
fn parse_start_token(stat: &str) -> Option<String> {
    let fields = stat_fields_after_comm(stat)?;
    let token = fields.get(19)?;
    token
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| token.clone())
}

#[cfg(all(unix, not(target_os = "linux")))]
pub fn start_token(pid: u32) -> Option<String> {
    ps_field(pid, "lstart=").filter(|s| !s.is_empty())
}

#[cfg(not(unix))]
pub fn start_token(_pid: u32) -> Option<String> {
    None
}

#[cfg(all(unix, not(target_os = "linux")))]
fn ps_field(pid: u32, field: &str) -> Option<String> {
    let out = Command::new("ps")
        .args(["-o", field, "-p", &pid.to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The command line of `pid`, for telling the user who holds a port.
#[cfg(target_os = "linux")]
pub fn command_line(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let text: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    (!text.is_empty()).then(|| text.join(" "))
}

/// Whether the file `pid` was started from has since been deleted or replaced
/// (Linux: `/proc/<pid>/exe` then reads `<path> (deleted)`; npm replaces a
/// package's files rather than writing into them). False where that cannot be told.
#[cfg(target_os = "linux")]
pub fn executable_replaced(pid: u32) -> bool {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .is_ok_and(|p| p.to_string_lossy().ends_with(" (deleted)"))
}

#[cfg(not(target_os = "linux"))]
pub fn executable_replaced(_pid: u32) -> bool {
    false
}

#[cfg(all(unix, not(target_os = "linux")))]
pub fn command_line(pid: u32) -> Option<String> {
    ps_field(pid, "command=").filter(|s| !s.is_empty())
}

#[cfg(not(unix))]
pub fn command_line(_pid: u32) -> Option<String> {
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Term,
    Kill,
    /// Resumes a process stopped with SIGSTOP, so it can act on SIGTERM.
    Cont,
}

/// Sends `signal` to `pid`. Callers must have proved ownership first.
#[cfg(unix)]
pub fn signal(pid: u32, signal: Signal) -> bool {
    let Ok(raw) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if raw <= 1 {
        return false;
    }
    let sig = match signal {
        Signal::Term => libc::SIGTERM,
        Signal::Kill => libc::SIGKILL,
        Signal::Cont => libc::SIGCONT,
    };
    // SAFETY: plain kill(2) on a positive pid (never 0, -1 or a group).
    unsafe { libc::kill(raw, sig) == 0 }
}

#[cfg(not(unix))]
pub fn signal(_pid: u32, _signal: Signal) -> bool {
    false
}

/// The servers this process spawned and has not yet collected.
static SPAWNED: Mutex<Vec<Child>> = Mutex::new(Vec::new());

/// Collects `pid` if it is a server we spawned. A multi-threaded server's main
/// thread shows as a zombie while its other threads are still exiting, and cannot
/// be collected until they have — a matter of microseconds, so this waits for that,
/// briefly (a thread stuck in the kernel must not hang the caller: then the next
/// sweep collects it).
#[cfg(unix)]
fn collect_exiting(pid: u32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(250);
    loop {
        reap_exited_children();
        if !still_spawned(pid) || std::time::Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
}

/// Whether `pid` is a server this process spawned and has not yet collected.
#[cfg(unix)]
fn still_spawned(pid: u32) -> bool {
    SPAWNED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .any(|child| child.id() == pid)
}

/// Collects every server this process spawned that has exited, so none lingers
/// as a zombie. Cheap (one `waitpid(WNOHANG)` per server still running).
pub fn reap_exited_children() {
    let mut spawned = SPAWNED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // Err: already collected elsewhere (ECHILD): nothing left to wait for either.
    spawned.retain_mut(|child| matches!(child.try_wait(), Ok(None)));
}

/// Starts `binary <config>` detached from us: its own session (no terminal signals
/// from ours), stdin closed, stdout and stderr appended to `log`. It outlives the
/// process that started it on purpose: it is the worker's store.
pub fn spawn_server(binary: &Path, config: &Path, log: &Path) -> Result<u32> {
    let mut open = std::fs::OpenOptions::new();
    open.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.mode(0o600);
    }
    let log_file = open
        .open(log)
        .map_err(|e| StoreError::io("open the log file", log, &e))?;
    let log_err = log_file
        .try_clone()
        .map_err(|e| StoreError::io("open the log file", log, &e))?;
    let mut cmd = Command::new(binary);
    cmd.arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log_file))
        .stderr(Stdio::from(log_err));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: setsid is async-signal-safe and touches nothing of the parent.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let child = cmd.spawn().map_err(|e| {
        StoreError::new(
            ErrorCode::StartFailed,
            format!(
                "could not run {}: {e}. Check that it is an executable valkey-server or redis-server.",
                binary.display()
            ),
        )
    })?;
    // Kept (never killed on drop): `reap_exited_children` collects it once it exits
    // while we are still running.
    let pid = child.id();
    SPAWNED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(child);
    Ok(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_token_survives_odd_command_names() {
        let stat = "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_start_token(stat).as_deref(), Some("987654"));
        assert_eq!(parse_start_token("garbage"), None);
        assert_eq!(parse_start_token("1 (x) S 1 2"), None);
    }

    #[cfg(unix)]
    #[test]
    fn this_process_is_alive_with_a_stable_token() {
        let me = std::process::id();
        assert!(is_alive(me));
        let a = start_token(me).unwrap();
        assert_eq!(start_token(me).unwrap(), a);
        assert!(command_line(me).is_some());
    }

    #[cfg(unix)]
    #[test]
    fn a_spawned_server_that_exits_is_collected_not_left_a_zombie() {
        let dir = std::env::temp_dir().join(format!("cms-reap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // `true <config>` exits at once: a stand-in for a server that dies.
        let pid =
            spawn_server(Path::new("/bin/true"), &dir.join("conf"), &dir.join("log")).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while is_alive(pid) && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert!(!is_alive(pid));
        // Seeing it dead collected it: no /proc entry is left (a zombie keeps one).
        assert!(!Path::new(&format!("/proc/{pid}")).exists() || !cfg!(target_os = "linux"));
        assert_eq!(start_token(pid), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn refuses_to_signal_pid_0_and_1() {
        assert!(!signal(0, Signal::Term));
        assert!(!signal(1, Signal::Term));
        assert!(!is_alive(0));
    }
}
