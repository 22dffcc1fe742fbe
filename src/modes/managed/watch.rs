//! Supervision: notice that our sidecar died and start it again, with backoff.
//!
//! The watcher only reads the pid file and asks the OS whether that pid (with its
//! start token) still lives, so a check costs microseconds. It restarts only a
//! store that *died* (pid file still there, process gone); a store stopped on
//! purpose (`stopQueueStore` removes the pid file) stays stopped. Restarts go
//! through `ensure`, whose lock makes two watchers in two processes start one server.

use std::time::Duration;

use serde::Serialize;

use crate::modes::managed;
use crate::server::pidfile::{self, PidFile};
use crate::server::process;
use crate::settings::Settings;
use crate::settings::paths::StorePaths;

/// What the watcher saw or did; sent to the `onEvent` callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "type"
)]
pub enum WatchEvent {
    /// Watching began; `pid` is the store's, if it was running.
    Watching {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
    },
    /// The store's process is gone without having been stopped.
    Died {
        pid: u32,
    },
    /// A further restart attempt (the 2nd, 3rd, …), after waiting `delay_ms`.
    Restarting {
        attempt: u32,
        delay_ms: u64,
    },
    Restarted {
        pid: u32,
        port: u16,
    },
    RestartFailed {
        attempt: u32,
        code: String,
        message: String,
    },
    /// The store was stopped on purpose (no pid file); the watcher leaves it be.
    Stopped,
}

/// Delay before restart attempt `attempt` (1-based): 100 ms, doubling, at most 30 s.
pub fn backoff(attempt: u32) -> Duration {
    let ms = 100u64.saturating_mul(1u64 << attempt.saturating_sub(1).min(20));
    Duration::from_millis(ms.min(30_000))
}

/// What the pid file says right now, without any network round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Alive(u32),
    Dead(u32),
    NoStore,
}

fn look(paths: &StorePaths) -> Seen {
    process::reap_exited_children();
    match pidfile::read(&paths.pid_file) {
        Ok(PidFile::Valid(r)) => {
            let ours = process::is_alive(r.pid)
                && process::start_token(r.pid).as_deref() == Some(r.start_token.as_str());
            if ours {
                Seen::Alive(r.pid)
            } else {
                Seen::Dead(r.pid)
            }
        }
        // An unreadable pid file is ensure's to sort out; treat it as a death so the
        // store comes back (ensure sets a garbage file aside).
        Ok(PidFile::Invalid(_)) => Seen::Dead(0),
        Ok(PidFile::Absent) | Err(_) => Seen::NoStore,
    }
}

/// Watches until `closed` resolves. `emit` gets every event.
pub async fn watch<F, C>(settings: Settings, interval: Duration, emit: F, closed: C)
where
    F: Fn(WatchEvent) + Send + Sync,
    C: std::future::Future<Output = ()>,
{
    let paths = StorePaths::new(&settings.data_dir);
    tokio::pin!(closed);
    let mut last = look(&paths);
    emit(WatchEvent::Watching {
        pid: match last {
            Seen::Alive(pid) => Some(pid),
            _ => None,
        },
    });
    let mut attempt = 0u32;
    loop {
        let pause = if attempt == 0 {
            interval
        } else {
            backoff(attempt)
        };
        tokio::select! {
            _ = &mut closed => return,
            _ = tokio::time::sleep(pause) => {}
        }
        let now = look(&paths);
        match now {
            Seen::Alive(_) => attempt = 0,
            Seen::NoStore => {
                if last != Seen::NoStore {
                    emit(WatchEvent::Stopped);
                }
                attempt = 0;
            }
            Seen::Dead(pid) => {
                attempt = attempt.saturating_add(1);
                if attempt > 1 {
                    emit(WatchEvent::Restarting {
                        attempt,
                        delay_ms: backoff(attempt - 1).as_millis() as u64,
                    });
                }
                // Decided under the lock: a stop in progress shows up here as "no
                // store", not as a death, and is left alone.
                match managed::restart_if_died(&settings, pid).await {
                    Ok(Some(status)) => {
                        if attempt == 1 {
                            emit(WatchEvent::Died { pid });
                        }
                        attempt = 0;
                        emit(WatchEvent::Restarted {
                            pid: status.pid.unwrap_or_default(),
                            port: status.connection.map(|c| c.port).unwrap_or_default(),
                        });
                    }
                    Ok(None) => {
                        attempt = 0;
                        emit(WatchEvent::Stopped);
                    }
                    Err(e) => {
                        if attempt == 1 {
                            emit(WatchEvent::Died { pid });
                        }
                        emit(WatchEvent::RestartFailed {
                            attempt,
                            code: e.code.as_str().to_string(),
                            message: e.message,
                        });
                    }
                }
            }
        }
        last = look(&paths);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(1), Duration::from_millis(100));
        assert_eq!(backoff(2), Duration::from_millis(200));
        assert_eq!(backoff(5), Duration::from_millis(1600));
        assert_eq!(backoff(30), Duration::from_secs(30));
        assert_eq!(backoff(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn events_serialize_with_a_type_tag() {
        let v = serde_json::to_value(WatchEvent::Restarted {
            pid: 7,
            port: 20001,
        })
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "restarted", "pid": 7, "port": 20001})
        );
        let v = serde_json::to_value(WatchEvent::Restarting {
            attempt: 2,
            delay_ms: 100,
        })
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "restarting", "attempt": 2, "delayMs": 100})
        );
    }

    #[test]
    fn no_pid_file_means_no_store() {
        let d = std::env::temp_dir().join(format!("cms-watch-{}", std::process::id()));
        assert_eq!(look(&StorePaths::new(&d)), Seen::NoStore);
    }
}
