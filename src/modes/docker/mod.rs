//! Docker mode: the store is a container from a pinned `valkey/valkey` image, with a
//! named volume for `/data`, published only on `127.0.0.1:<private port>`, with the
//! managed store's settings (AOF everysec, noeviction, a generated password), and
//! labelled as claude-mem's. Status, stop and uninstall find it by those labels;
//! nothing here ever touches a container without them.
//!
//! Mirrors `managed`: ensure (under the store lock) adopts, starts or runs; status
//! never changes anything; stop stops only our labelled container (kept, with its
//! volume). For machines with Docker but no native server (Windows first).

pub mod cli;
pub mod commands;
pub mod ps;
mod ready;
pub mod up;

use std::path::PathBuf;
use std::time::Duration;

use crate::checks::client::ClientError;
use crate::checks::health::Health;
use crate::checks::report::{Check, ConnectionOptions, endpoint_urls};
use crate::checks::server_info::ServerInfo;
use crate::error::{ErrorCode, Result, StoreError};
use crate::lock;
use crate::modes::own_store::health::{checks, connect_and_check, other_clients};
use crate::modes::own_store::{connections, lock_wait, login};
use crate::modes::results::{
    DockerContainer, QueueStoreStatus, ServerDescription, StatusPaths, StopMethod, StopResult,
};
use crate::settings::Settings;
use crate::settings::paths::{StorePaths, create_private_dir};
use crate::settings::secret::Secrets;
use cli::Docker;
use commands::Names;
use ps::Container;

/// The 0600 file `docker run --env-file` reads the password from.
pub fn env_file(paths: &StorePaths) -> PathBuf {
    paths.docker_env_file.clone()
}

/// Uninstall's part in Docker mode: stop and remove this data dir's labelled
/// container, and its volume (the queue's data) only with `purge_data`. Returns
/// what was removed. Without a usable Docker this is `E_DOCKER_UNAVAILABLE`, so
/// that uninstall removes nothing rather than forget a container it cannot reach.
///
/// Something already gone (removed by hand, or by an earlier uninstall) is the
/// state we want, so a second uninstall succeeds. Whether it is gone is asked of
/// Docker (`docker ps` by label, `docker volume ls`), never read from its error
/// text: engine 20.10 says "get <volume>: no such volume" in lower case where other
/// versions say "No such volume", and Docker Desktop's wording differs again.
pub async fn remove(settings: &Settings, purge_data: bool) -> Result<Vec<String>> {
    let names = Names::for_data_dir(&settings.data_dir)?;
    let docker = Docker::locate()?;
    let timeout = settings.timeout;
    let mut removed = Vec::new();
    if let Some(c) = up::find(&docker, &names, timeout).await? {
        // Gracefully first, so that the AOF is flushed.
        let stop = commands::stop(&c.id, commands::UNINSTALL_STOP_GRACE);
        let grace = commands::UNINSTALL_STOP_GRACE + Duration::from_secs(10);
        if let Err(f) = docker.run(&stop, grace).await {
            let still_running = up::find(&docker, &names, timeout)
                .await?
                .is_some_and(|now| now.id == c.id && now.is_running());
            if still_running {
                return Err(docker
                    .explain(&f, ErrorCode::DockerUnavailable, &stop, timeout)
                    .await);
            }
        }
        let rm = commands::remove(&c.id);
        if let Err(f) = docker.run(&rm, timeout).await {
            let still_there = up::find(&docker, &names, timeout)
                .await?
                .is_some_and(|now| now.id == c.id);
            if still_there {
                return Err(docker
                    .explain(&f, ErrorCode::DockerUnavailable, &rm, timeout)
                    .await);
            }
        }
        removed.push(format!("Docker container {} ({})", names.container, c.id));
    }
    if purge_data && remove_volume(&docker, &names, timeout).await? {
        removed.push(format!("Docker volume {}", names.volume));
    }
    Ok(removed)
}

/// Removes the store's volume; false if there was none.
async fn remove_volume(docker: &Docker, names: &Names, timeout: Duration) -> Result<bool> {
    let rm = commands::remove_volume(&names.volume);
    let Err(failure) = docker.run(&rm, timeout).await else {
        return Ok(true);
    };
    let list = commands::volume_list(&names.volume);
    let exists = match docker.run(&list, timeout).await {
        Ok(out) => ps::listed(&out, &names.volume),
        Err(f) => {
            return Err(docker
                .explain(&f, ErrorCode::DockerUnavailable, &list, timeout)
                .await);
        }
    };
    if !exists {
        return Ok(false);
    }
    // Still there: most likely a container that is not our store mounts it
    // (ours was removed above). That container is left alone, and so is the volume.
    let users = commands::volume_users(&names.volume);
    if let Ok(out) = docker.run(&users, timeout).await {
        let ids: Vec<&str> = out.split_whitespace().map(ps::short_id).collect();
        if !ids.is_empty() {
            return Err(StoreError::new(
                ErrorCode::NotOwned,
                format!(
                    "the volume {vol} (the queue's data) is used by container(s) {ids} that are not claude-mem's store, \
                     so it was kept and they were left alone ({words}). Remove them (`docker rm <id>`) and uninstall again, \
                     or keep the data by not passing purgeData.",
                    vol = names.volume,
                    ids = ids.join(", "),
                    words = failure.words()
                ),
            ));
        }
    }
    Err(docker
        .explain(&failure, ErrorCode::DockerUnavailable, &rm, timeout)
        .await)
}

pub async fn ensure(settings: &Settings) -> Result<QueueStoreStatus> {
    let paths = StorePaths::new(&settings.data_dir);
    let names = Names::for_data_dir(&settings.data_dir)?;
    std::fs::create_dir_all(&paths.data_dir)
        .map_err(|e| StoreError::io("create", &paths.data_dir, &e))?;
    create_private_dir(&paths.redis_dir)?;
    let _lock = lock::acquire(&paths.lock_file, lock_wait(settings.timeout)).await?;
    let docker = Docker::locate()?;
    docker.check_engine(settings.timeout).await?;
    let secrets = Secrets::load_or_create(&paths)?;

    let mut ctx = up::Ctx {
        docker: &docker,
        settings,
        names: &names,
        secrets: &secrets,
        env_file: env_file(&paths),
        notices: Vec::new(),
    };
    let result = up::bring_up(&mut ctx).await;
    let mut notices = std::mem::take(&mut ctx.notices);
    let mut up = result?;

    // A container an earlier version made has one password for everything.
    if login::give_two_users(&mut up.client, &secrets, &up.info)
        .await
        .map_err(|e| unanswered(&names, up.port, &e))?
    {
        connections::forget();
        notices.push(format!(
            "container {} had one password for everything; its client password (the one in \
             settings.json) now runs only what BullMQ needs",
            names.container
        ));
    }
    notices.extend(settings.persist_store(up.port, &secrets.client)?);
    let health = checks(&mut up.client, up.port, &secrets, settings)
        .await
        .map_err(|e| unanswered(&names, up.port, &e))?;
    if let Some(bad) = health.checks.iter().find(|c| !c.ok && c.code.is_some()) {
        return Err(StoreError::new(
            ErrorCode::StartFailed,
            format!(
                "the Docker store is running but its {} check failed: {}",
                bad.name, bad.detail
            ),
        ));
    }
    let status = running_status(
        settings,
        &paths,
        &names,
        &up.container,
        up.port,
        &secrets,
        &up.info,
        health,
    );
    Ok(status.after_ensure(up.started, up.port_moved, notices))
}

/// Never starts, stops or writes anything. Docker missing or its engine down is a
/// failing `docker` check (the store cannot be running then), not a rejection, so
/// that a status screen can always be drawn.
pub async fn status(settings: &Settings) -> Result<QueueStoreStatus> {
    let paths = StorePaths::new(&settings.data_dir);
    let names = Names::for_data_dir(&settings.data_dir)?;
    let not_running = |checks: Vec<Check>| QueueStoreStatus {
        checks,
        ..stopped_status(settings, &paths, &names, None)
    };
    let docker = match Docker::locate() {
        Ok(d) => d,
        Err(e) => return Ok(not_running(vec![docker_check(e)])),
    };
    let container = match up::find(&docker, &names, settings.timeout).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return Ok(not_running(vec![Check::warn(
                "container",
                format!(
                    "no Docker store has been set up for this data dir; ensureQueueStoreStarted() creates container {}",
                    names.container
                ),
            )]));
        }
        Err(e) if e.code == ErrorCode::DockerUnavailable => {
            return Ok(not_running(vec![docker_check(e)]));
        }
        Err(e) => return Err(e),
    };
    if !container.is_running() {
        return Ok(QueueStoreStatus {
            checks: vec![Check::warn(
                "container",
                format!(
                    "container {} is {}; ensureQueueStoreStarted() starts it again with its data (volume {})",
                    names.container, container.state, names.volume
                ),
            )],
            ..stopped_status(settings, &paths, &names, Some(&container))
        });
    }
    let Some(port) = container.port() else {
        return Ok(not_running(vec![Check::fail(
            "container",
            ErrorCode::StartFailed,
            format!(
                "container {} runs but has no usable {} label; ensureQueueStoreStarted() replaces it (the volume is kept)",
                names.container,
                commands::LABEL_PORT
            ),
        )]));
    };
    let secrets = Secrets::load(&paths)?.unwrap_or_default();
    let (_, health) = connect_and_check(port, &secrets, settings)
        .await
        .map_err(|e| unanswered(&names, port, &e))?;
    let info = health.info.clone();
    Ok(running_status(
        settings, &paths, &names, &container, port, &secrets, &info, health,
    ))
}

fn docker_check(e: StoreError) -> Check {
    Check::fail("docker", e.code, e.message)
}

/// Stops our labelled container with `docker stop` (SIGTERM: Valkey flushes the AOF
/// and exits; SIGKILL after the timeout). The container and its volume are kept, so
/// the next ensure starts it again with its data. Nothing running is a result.
pub async fn stop(settings: &Settings, force: bool) -> Result<StopResult> {
    let paths = StorePaths::new(&settings.data_dir);
    let names = Names::for_data_dir(&settings.data_dir)?;
    let nothing = StopResult::nothing;
    if !paths.redis_dir.is_dir() {
        // Never create a data dir just to say nothing runs there.
        return Ok(nothing("no Docker store is set up in this data dir".into()));
    }
    let _lock = lock::acquire(&paths.lock_file, lock_wait(settings.timeout)).await?;
    let unavailable = |e: StoreError| StopResult {
        code: Some(e.code.as_str()),
        ..nothing(format!(
            "{} Nothing was stopped (without a Docker engine no container runs).",
            e.message
        ))
    };
    let docker = match Docker::locate() {
        Ok(d) => d,
        Err(e) => return Ok(unavailable(e)),
    };
    let container = match up::find(&docker, &names, settings.timeout).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return Ok(nothing(format!(
                "no Docker store (container {}) exists for this data dir",
                names.container
            )));
        }
        Err(e) if e.code == ErrorCode::DockerUnavailable => return Ok(unavailable(e)),
        Err(e) => return Err(e),
    };
    if !matches!(
        container.state.as_str(),
        "running" | "paused" | "restarting"
    ) {
        return Ok(nothing(format!(
            "container {} is already {}; it is kept with its volume {}",
            names.container, container.state, names.volume
        )));
    }
    if !force
        && let Some(secrets) = Secrets::load(&paths)?
        && let Some(port) = container.port()
        && let Some(others) = other_clients(port, &secrets, settings.timeout).await
        && others > 0
    {
        return Ok(StopResult::in_use(
            None,
            others,
            &format!("container {}", names.container),
        ));
    }
    let cmd = commands::stop(&container.id, settings.timeout);
    if let Err(f) = docker
        .run(&cmd, settings.timeout + Duration::from_secs(10))
        .await
    {
        // Stopped or removed meanwhile (e.g. by hand) is what we wanted; asked of
        // Docker rather than read from its words ("No such container").
        let now = up::find(&docker, &names, settings.timeout).await;
        match now {
            Ok(Some(c)) if c.id == container.id && c.is_running() => {
                return Err(docker
                    .explain(&f, ErrorCode::Timeout, &cmd, settings.timeout)
                    .await);
            }
            Err(e) if e.code == ErrorCode::DockerUnavailable => return Ok(unavailable(e)),
            Err(e) => return Err(e),
            Ok(_) => {}
        }
    }
    Ok(StopResult {
        stopped: true,
        was_running: true,
        pid: None,
        method: Some(StopMethod::DockerStop),
        code: None,
        message: format!(
            "stopped container {} (port {}); it is kept with its volume {}, and ensureQueueStoreStarted() starts it again",
            names.container, container.port, names.volume
        ),
        stale_pid_file: None,
        clients: None,
    })
}

fn unanswered(names: &Names, port: u16, e: &ClientError) -> StoreError {
    StoreError::new(
        e.code(),
        format!(
            "the Docker store (container {}) on 127.0.0.1:{port} did not answer: {e}. \
             `docker logs {}` shows what it is doing; ensureQueueStoreStarted() repairs a container \
             made with an old password, and stopQueueStore() stops it.",
            names.container, names.container
        ),
    )
}

/// In Docker mode the server's files are not on the host: `config` is the env file
/// the container's password comes from, `data` the named volume, and there is no
/// pid file (the container is the handle).
fn docker_paths(paths: &StorePaths, names: &Names) -> StatusPaths {
    StatusPaths {
        data_dir: paths.data_dir.display().to_string(),
        settings: paths.settings_file.display().to_string(),
        config: env_file(paths).display().to_string(),
        data: names.volume.clone(),
        pid_file: String::new(),
        log_file: None,
    }
}

fn describe(container: &Container, names: &Names) -> DockerContainer {
    DockerContainer {
        id: container.id.clone(),
        name: container
            .name
            .split(',')
            .next()
            .map(|n| n.trim_start_matches('/').to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| names.container.clone()),
        image: container.image.clone(),
        volume: names.volume.clone(),
        state: container.state.clone(),
    }
}

fn stopped_status(
    settings: &Settings,
    paths: &StorePaths,
    names: &Names,
    container: Option<&Container>,
) -> QueueStoreStatus {
    QueueStoreStatus {
        owned: container.is_some(),
        container: container.map(|c| describe(c, names)),
        ..QueueStoreStatus::not_running(settings.mode, docker_paths(paths, names))
    }
}

#[allow(clippy::too_many_arguments)]
fn running_status(
    settings: &Settings,
    paths: &StorePaths,
    names: &Names,
    container: &Container,
    port: u16,
    secrets: &Secrets,
    info: &ServerInfo,
    health: Health,
) -> QueueStoreStatus {
    let endpoint = login::client_endpoint(port, &secrets.client);
    let (url, redacted) = endpoint_urls(&endpoint);
    let container_check = if container.image == commands::IMAGE {
        Check::pass(
            "container",
            format!("{} ({}) is running", names.container, container.image),
        )
    } else {
        Check::warn(
            "container",
            format!(
                "{} runs {}; this version of claude-mem-store pins {}. stopQueueStore() then \
                 ensureQueueStoreStarted() moves it (the volume is kept)",
                names.container,
                container.image,
                commands::IMAGE
            ),
        )
    };
    let mut checks = vec![container_check];
    checks.extend(health.checks);
    QueueStoreStatus {
        running: true,
        owned: true,
        url: Some(url),
        redacted_url: Some(redacted),
        connection: Some(ConnectionOptions::from_endpoint(&endpoint)),
        server: Some(ServerDescription {
            flavor: info.flavor,
            version: info.version.clone(),
            name: info.name.clone(),
            binary: None,
            bundled: false,
            outdated: None,
        }),
        persistence: health.persistence,
        policy: health.policy,
        clients: health.other_clients,
        checks,
        ..stopped_status(settings, paths, names, Some(container))
    }
}
