//! `resolveQueueStore()`: the seed's non-interactive decision tree — a working
//! `CLAUDE_MEM_REDIS_URL` → use it; else a local valkey-server/redis-server →
//! manage it; else, only with `installRedis`, install one → manage it; else fail
//! with the precise command to run. With `interactive`, it decides nothing and
//! returns the choices for claude-mem's prompt instead.

use std::time::Duration;

use serde::Serialize;

use crate::error::{ErrorCode, Result};
use crate::install::options::{self as install_options, INSTALL_OPTION_KEYS};
use crate::install::{
    self, InstallRequest, InstallResult, plan::InstallPlan, platform::Platform, progress::Progress,
};
use crate::server::binary::search;
use crate::server::binary::{self, BinarySource, ServerBinary};
use crate::settings::options::OptionSet;
use crate::settings::{Env, Mode, STORE_OPTION_KEYS, Settings, read};
use serde_json::Value;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// What claude-mem's prompt offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum ChoiceId {
    Managed,
    External,
    Sqlite,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Choice {
    pub id: ChoiceId,
    pub label: &'static str,
    pub recommended: bool,
    pub detail: String,
}

/// What resolveQueueStore decided; `prompt`: nothing (interactive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    External,
    Managed,
    Install,
    Fail,
    Prompt,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Resolution {
    pub decision: Decision,
    /// The mode to start the store in: pass it to ensureQueueStoreStarted({ mode })
    /// (`external`, or `managed` after a managed or install decision). claude-mem's
    /// first boot writes `CLAUDE_MEM_REDIS_MODE=external` to settings.json as a
    /// default, so a bare ensure would not follow the decision until one ensure has
    /// saved the mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    pub reason: String,
    /// What was checked, in order.
    pub steps: Vec<Step>,
    /// external: the URL to give BullMQ (credentials included: do not log it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted_url: Option<String>,
    /// managed/install: the server binary ensureQueueStoreStarted() will run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<ServerBinary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<InstallResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<InstallPlan>,
    /// fail: the command to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<Choice>>,
}

pub struct ResolveRequest {
    pub install_redis: bool,
    pub interactive: bool,
    pub install: InstallRequest,
}

/// `resolveQueueStore(options?: ResolveOptions)`: the store's options, its own two,
/// then an install's (used with `installRedis`).
pub const RESOLVE: OptionSet = OptionSet {
    function: "resolveQueueStore",
    groups: &[
        STORE_OPTION_KEYS,
        &["installRedis", "interactive"],
        INSTALL_OPTION_KEYS,
    ],
};

impl ResolveRequest {
    /// resolveQueueStore's options (less `onProgress`, a function the binding keeps):
    /// the store's settings, and what to do when nothing is found. `installRedis`
    /// and `interactive` default to false; the install part reads as
    /// installQueueStore's, with the store's data dir and timeout.
    pub fn read(options: Option<&Value>, env: &Env) -> Result<(Settings, ResolveRequest)> {
        let reader = RESOLVE.reader(options)?;
        let settings = read::resolve(&reader, env)?;
        let req = ResolveRequest {
            install_redis: reader.bool("installRedis")?.unwrap_or(false),
            interactive: reader.bool("interactive")?.unwrap_or(false),
            install: install_options::install_request(&reader, Some(&settings), env)?,
        };
        Ok((settings, req))
    }
}

pub async fn resolve(
    settings: &Settings,
    req: ResolveRequest,
    progress: &Progress,
) -> Result<Resolution> {
    let mut steps = Vec::new();
    let mut working_url: Option<(String, String)> = None;
    match settings.url.as_deref() {
        // Written by an earlier ensure for claude-mem's runtime: not a server of
        // the user's, so never probed as one or chosen as external.
        None if settings.own_url => steps.push(Step {
            name: "url",
            ok: false,
            detail: "CLAUDE_MEM_REDIS_URL is this data dir's own managed store (saved by ensureQueueStoreStarted), \
                     not an external server"
                .into(),
        }),
        None => steps.push(Step {
            name: "url",
            ok: false,
            detail: "CLAUDE_MEM_REDIS_URL is not set".into(),
        }),
        Some(url) => match url_works(url, settings).await {
            Ok(detail) => {
                let redacted = redact_url(url);
                steps.push(Step {
                    name: "url",
                    ok: true,
                    detail: format!("{redacted} works: {detail}"),
                });
                working_url = Some((url.to_string(), redacted));
            }
            Err(why) => steps.push(Step {
                name: "url",
                ok: false,
                detail: format!("{} does not work: {why}", redact_url(url)),
            }),
        },
    }
    let (binary, binary_detail) = local_binary(settings).await;
    steps.push(Step {
        name: "binary",
        ok: binary.is_some(),
        detail: binary_detail,
    });
    let platform = Platform::detect();
    let plan = install::plan::plan_off_worker(&platform).await;

    if req.interactive {
        return Ok(prompt(steps, working_url, binary, plan));
    }
    let empty = |decision: Decision, reason: String, steps: Vec<Step>| Resolution {
        decision,
        mode: match decision {
            Decision::External => Some(Mode::External),
            Decision::Managed | Decision::Install => Some(Mode::Managed),
            _ => None,
        },
        reason,
        steps,
        url: None,
        redacted_url: None,
        binary: None,
        install: None,
        plan: None,
        command: None,
        choices: None,
    };
    if let Some((url, redacted)) = working_url {
        return Ok(Resolution {
            url: Some(url),
            redacted_url: Some(redacted.clone()),
            ..empty(
                Decision::External,
                format!(
                    "CLAUDE_MEM_REDIS_URL ({redacted}) answers and passes the health checks, so it is used as is and not managed."
                ),
                steps,
            )
        });
    }
    if let Some(b) = binary {
        return Ok(Resolution {
            reason: format!(
                "{} is installed at {}: claude-mem manages it as a private sidecar (call ensureQueueStoreStarted({{ mode: 'managed' }})).",
                b.label(),
                b.path.display()
            ),
            binary: Some(b),
            ..empty(Decision::Managed, String::new(), steps)
        });
    }
    if req.install_redis {
        let result = install::install(req.install, &platform, progress).await?;
        steps.push(Step {
            name: "install",
            ok: true,
            detail: format!("installed with {}", result.method),
        });
        // The binary the install produced (an explicit `binary` option that did
        // not work must not hide it).
        let binary = match result.binary.clone() {
            Some(path) => {
                let source = if result.method == "download" {
                    BinarySource::Download
                } else {
                    BinarySource::System
                };
                tokio::task::spawn_blocking(move || binary::inspect(&path, source).ok())
                    .await
                    .ok()
                    .flatten()
            }
            None => local_binary(settings).await.0,
        };
        return Ok(Resolution {
            reason: format!(
                "no server was found and installRedis was given, so one was installed with {} ({}); claude-mem manages it (call ensureQueueStoreStarted({{ mode: 'managed' }})).",
                result.method, result.reason
            ),
            binary,
            install: Some(result),
            plan: Some(plan),
            ..empty(Decision::Install, String::new(), steps)
        });
    }
    let command = plan
        .shell_command
        .clone()
        .unwrap_or_else(|| "npx claude-mem install --queue bullmq --install-redis".to_string());
    Ok(Resolution {
        reason: format!(
            "no working CLAUDE_MEM_REDIS_URL and no local valkey-server/redis-server, and installRedis was not given \
             (nothing is installed without being asked). Run `{command}`, pass installRedis: true, or set CLAUDE_MEM_REDIS_URL. {}",
            plan.reason
        ),
        command: Some(command),
        plan: Some(plan),
        ..empty(Decision::Fail, String::new(), steps)
    })
}

fn prompt(
    steps: Vec<Step>,
    working_url: Option<(String, String)>,
    binary: Option<ServerBinary>,
    plan: InstallPlan,
) -> Resolution {
    let managed_detail = match &binary {
        Some(b) => format!(
            "run {} ({}) as claude-mem's private sidecar under ~/.claude-mem",
            b.label(),
            b.path.display()
        ),
        None => match (&plan.shell_command, plan.method) {
            (Some(cmd), _) => format!("install it with `{cmd}`, then run it as claude-mem's private sidecar"),
            (None, "download") => "download Valkey into ~/.claude-mem/bin (verified, no root), then run it as claude-mem's private sidecar".into(),
            (None, _) => plan.reason.clone(),
        },
    };
    let external_detail = match &working_url {
        Some((_, redacted)) => format!("CLAUDE_MEM_REDIS_URL ({redacted}) works"),
        None => "enter a redis:// or rediss:// URL of a Redis, Valkey or Dragonfly server".into(),
    };
    let choices = vec![
        Choice {
            id: ChoiceId::Managed,
            label: "Manage local Valkey for me",
            recommended: true,
            detail: managed_detail,
        },
        Choice {
            id: ChoiceId::External,
            label: "Use existing Redis URL",
            recommended: false,
            detail: external_detail,
        },
        Choice {
            id: ChoiceId::Sqlite,
            label: "Keep SQLite queue for now",
            recommended: false,
            detail: "keep the SQLite queue; BullMQ can be turned on later".into(),
        },
    ];
    Resolution {
        decision: Decision::Prompt,
        mode: None,
        reason: "interactive: claude-mem asks the user; nothing was decided or installed".into(),
        steps,
        url: working_url.as_ref().map(|(u, _)| u.clone()),
        redacted_url: working_url.map(|(_, r)| r),
        binary,
        install: None,
        plan: Some(plan),
        command: None,
        choices: Some(choices),
    }
}

/// The binary ensureQueueStoreStarted() would run, and a line saying which (or
/// why there is none).
async fn local_binary(settings: &Settings) -> (Option<ServerBinary>, String) {
    let explicit = settings.binary.clone();
    let data_dir = settings.data_dir.clone();
    let found = tokio::task::spawn_blocking(move || match explicit {
        Some(p) => binary::inspect(&p, BinarySource::Option).map_err(|e| {
            format!(
                "the binary option {} does not work: {}",
                p.display(),
                e.message
            )
        }),
        None => {
            let path_var = std::env::var_os("PATH");
            search::detect(&data_dir, path_var.as_deref())
                .into_iter()
                .next()
                .ok_or_else(|| "no valkey-server or redis-server was found".to_string())
        }
    })
    .await
    .unwrap_or_else(|_| Err("binary detection failed".into()));
    match found {
        Ok(b) => {
            let detail = format!("{} ({})", b.path.display(), b.label());
            (Some(b), detail)
        }
        Err(why) => (None, why),
    }
}

/// Whether `url` reaches a server fit for BullMQ: the full `probeRedisUrl` (every
/// check and the smoke test). `Ok` carries a short description, `Err` the first
/// failing check; neither repeats the password.
pub async fn url_works(url: &str, settings: &Settings) -> std::result::Result<String, String> {
    let ca_pem = match &settings.ca_file {
        Some(path) => Some(
            crate::checks::probe::load_ca_file(path, ErrorCode::BadSettings)
                .map_err(|e| e.message)?,
        ),
        None => None,
    };
    let options = crate::checks::probe::ProbeOptions {
        timeout: settings.timeout.min(Duration::from_secs(5)),
        smoke: true,
        prefix: settings.prefix.clone(),
        ca_pem,
    };
    let report = crate::checks::probe::probe_url(url, &options)
        .await
        .map_err(|e| e.message)?;
    match report.checks.iter().find(|c| !c.ok && c.code.is_some()) {
        Some(bad) => Err(format!(
            "its {} check failed ({}): {}",
            bad.name,
            bad.code.unwrap_or_default(),
            bad.detail
        )),
        None => Ok(format!(
            "{} {}",
            report.flavor.map_or("unknown", |f| f.as_str()),
            report.version.unwrap_or_default()
        )),
    }
}

/// The URL with any password masked, for steps and logs (also for a malformed URL).
pub fn redact_url(url: &str) -> String {
    match crate::checks::redis_url::parse(url) {
        Ok(endpoint) => crate::checks::redis_url::redacted(&endpoint),
        Err(_) => crate::install::mirror::redact(url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_the_password_even_of_a_malformed_url() {
        assert!(!redact_url("redis://u:secret@h:1").contains("secret"));
        assert!(!redact_url("redis://u:secret@h:notaport").contains("secret"));
    }

    fn env_in(tag: &str) -> (std::path::PathBuf, Env) {
        let d = std::env::temp_dir().join(format!("cms-resolve-read-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let env = Env::from([(
            crate::settings::KEY_DATA_DIR.to_string(),
            d.display().to_string(),
        )]);
        (d, env)
    }

    #[test]
    fn options_read_with_their_defaults() {
        let (d, env) = env_in("defaults");
        let (settings, req) = ResolveRequest::read(None, &env).unwrap();
        assert_eq!(settings.data_dir, d);
        assert!(!req.install_redis && !req.interactive);
        assert_eq!(req.install.method, install::Method::Auto);
        assert_eq!(
            req.install.timeout,
            install_options::DEFAULT_INSTALL_TIMEOUT
        );
        let v = serde_json::json!({"installRedis": true, "timeoutMs": 900, "method": "download"});
        let (settings, req) = ResolveRequest::read(Some(&v), &env).unwrap();
        assert!(req.install_redis && !req.interactive);
        assert_eq!(req.install.method, install::Method::Download);
        // An explicit timeout is the store's and the install's.
        assert_eq!(settings.timeout, Duration::from_millis(900));
        assert_eq!(req.install.timeout, Duration::from_millis(900));
    }

    #[test]
    fn bad_options_name_resolve_queue_store() {
        let (_d, env) = env_in("bad");
        let v = serde_json::json!({"distro": "focal"});
        let e = ResolveRequest::read(Some(&v), &env).err().unwrap();
        assert_eq!(e.code, ErrorCode::BadOption);
        assert_eq!(
            e.message,
            "resolveQueueStore: distro must be 'jammy' or 'noble' (the Ubuntu releases Valkey builds on)."
        );
        // A bad setting is reported before the install part is read.
        let v = serde_json::json!({"distro": "focal", "mode": "bogus"});
        let e = ResolveRequest::read(Some(&v), &env).err().unwrap();
        assert_eq!(e.code, ErrorCode::BadSettings);
        let v = serde_json::json!({"zzz": 1});
        let e = ResolveRequest::read(Some(&v), &env).err().unwrap();
        assert_eq!(
            e.message,
            "resolveQueueStore: unknown option 'zzz'. Known options: dataDir, mode, url, host, port, binary, prefix, timeoutMs, caFile, installRedis, interactive, method, version, distro, allowSudo, mirror, allowHttp, sha256."
        );
    }
}
