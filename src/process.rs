//! Processes: is a pid alive, when did it start (the start token that tells a
//! recycled pid from ours), signalling, and spawning the sidecar in its own session.

use std::path::Path;
use std::process::{Command, Stdio};

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
    exists && !is_zombie(pid)
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

/// Collects `pid` if it is an exited child of this process, so that it does not
/// linger as a zombie (a sidecar started by this process that later stops or dies).
#[cfg(unix)]
pub fn reap_if_child(pid: u32) {
    if let Ok(raw) = libc::pid_t::try_from(pid) {
        let mut status = 0;
        // SAFETY: WNOHANG never blocks; ECHILD for a non-child is harmless.
        unsafe {
            libc::waitpid(raw, &mut status, libc::WNOHANG);
        }
    }
}

#[cfg(not(unix))]
pub fn reap_if_child(_pid: u32) {}

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
    // Dropping the handle neither waits for nor kills the server; `reap_if_child`
    // collects it later if it exits while we are still running.
    Ok(child.id())
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
    // The zombie is the point of the test; `reap_if_child` collects it.
    #[allow(clippy::zombie_processes)]
    fn exited_child_is_not_alive_even_as_a_zombie() {
        let child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Wait (bounded) until it has exited; it stays a zombie because we do not reap.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while is_alive(pid) && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert!(!is_alive(pid));
        reap_if_child(pid);
        assert_eq!(start_token(pid), None);
    }

    #[cfg(unix)]
    #[test]
    fn refuses_to_signal_pid_0_and_1() {
        assert!(!signal(0, Signal::Term));
        assert!(!signal(1, Signal::Term));
        assert!(!is_alive(0));
    }
}
