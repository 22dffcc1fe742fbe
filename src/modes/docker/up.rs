//! Bringing the store's container up: adopt it when it runs, start it when it is
//! stopped, replace it (never its volume) when it cannot serve, or run a new one;
//! then wait until the server is ready. Called by `ensure` under the store lock.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::cli::{self, Docker, PULL_TIMEOUT};
use super::commands::{self, IMAGE, Names};
use super::ps::{self, Container, Plan};
use super::ready::{self, NotReady};
use crate::checks::client::Client;
use crate::checks::server_info::ServerInfo;
use crate::error::{ErrorCode, Result, StoreError};
use crate::files::write_atomically;
use crate::modes::own_store::port::choose_port;
use crate::modes::results::PortMove;
use crate::server::port;
use crate::settings::secret::Secrets;
use crate::settings::{PortSetting, Settings, Source};

/// Another program can take the port between our check and Docker's bind; we then
/// try another port, a few times (as managed mode does).
const PORT_RACE_RETRIES: usize = 3;

/// A ready store: its container, port and an authenticated connection.
pub struct Up {
    pub container: Container,
    pub port: u16,
    pub client: Client,
    pub info: ServerInfo,
    /// Whether this call started the server (run, start or unpause).
    pub started: bool,
    pub port_moved: Option<PortMove>,
}

pub struct Ctx<'a> {
    pub docker: &'a Docker,
    pub settings: &'a Settings,
    pub names: &'a Names,
    pub secrets: &'a Secrets,
    pub env_file: PathBuf,
    pub notices: Vec<String>,
}

impl Ctx<'_> {
    fn timeout(&self) -> Duration {
        self.settings.timeout
    }

    /// A port the caller insisted on (option or environment): used as is or refused.
    fn explicit_port(&self) -> Option<u16> {
        self.settings
            .port
            .filter(PortSetting::is_explicit)
            .map(|p| p.port)
    }

    async fn run_docker(
        &self,
        args: &[String],
        code: ErrorCode,
        timeout: Duration,
    ) -> Result<String> {
        match self.docker.run(args, timeout).await {
            Ok(out) => Ok(out),
            Err(f) => Err(self.docker.explain(&f, code, args, timeout).await),
        }
    }
}

/// Our container for this data dir, if any.
pub async fn find(docker: &Docker, names: &Names, timeout: Duration) -> Result<Option<Container>> {
    let cmd = commands::find(names);
    let out = match docker.run(&cmd, timeout).await {
        Ok(out) => out,
        Err(f) => {
            return Err(docker
                .explain(&f, ErrorCode::DockerUnavailable, &cmd, timeout)
                .await);
        }
    };
    Ok(ps::pick(ps::parse(&out)?, names))
}

/// The container holding our container name, labelled or not, if any.
pub async fn name_holder(
    docker: &Docker,
    names: &Names,
    timeout: Duration,
) -> Result<Option<ps::NameHolder>> {
    let cmd = commands::by_name(names);
    match docker.run(&cmd, timeout).await {
        Ok(out) => ps::name_holder(&out, names),
        Err(f) => Err(docker
            .explain(&f, ErrorCode::DockerUnavailable, &cmd, timeout)
            .await),
    }
}

pub async fn bring_up(ctx: &mut Ctx<'_>) -> Result<Up> {
    if let Some(c) = find(ctx.docker, ctx.names, ctx.timeout()).await? {
        match ps::plan(&c, ctx.explicit_port(), port::is_free) {
            Plan::Adopt => return use_existing(ctx, c, false).await,
            Plan::Unpause => {
                ctx.run_docker(
                    &commands::unpause(&c.id),
                    ErrorCode::StartFailed,
                    ctx.timeout(),
                )
                .await?;
                return use_existing(ctx, c, true).await;
            }
            Plan::Start => {
                let cmd = commands::start(&c.id);
                match ctx.docker.run(&cmd, ctx.timeout()).await {
                    Ok(_) => return use_existing(ctx, c, true).await,
                    // Taken between the plan's check and Docker's bind: Docker's words
                    // vary by engine, the OS's answer does not.
                    Err(f)
                        if ctx.explicit_port().is_none()
                            && (f.port_taken() || c.port().is_some_and(|p| !port::is_free(p))) =>
                    {
                        replace(ctx, &c, "its port was taken by another program").await?;
                    }
                    Err(f) => return Err(start_failed(&f, &cmd, ctx).await),
                }
            }
            Plan::Recreate(why) => replace(ctx, &c, &why).await?,
            Plan::Wait(why) => {
                return Err(StoreError::new(
                    ErrorCode::StartFailed,
                    format!("{why}. Try again in a moment."),
                ));
            }
        }
    }
    run_new(ctx).await
}

/// Waits for a container that is (now) running. One made with another password
/// (the secret file was replaced since) is replaced, keeping its volume.
async fn use_existing(ctx: &mut Ctx<'_>, c: Container, started: bool) -> Result<Up> {
    let Some(port) = c.port() else {
        return Err(StoreError::new(
            ErrorCode::Internal,
            "a container without a port label was about to be adopted",
        ));
    };
    let deadline = Instant::now() + ctx.timeout();
    match ready::wait_ready(ctx.docker, &c.id, ctx.names, port, ctx.secrets, deadline).await {
        Ok((client, info)) => Ok(Up {
            container: Container {
                state: "running".into(),
                ..c
            },
            port,
            client,
            info,
            started,
            port_moved: None,
        }),
        Err(NotReady::WrongPassword(_)) => {
            replace(
                ctx,
                &Container {
                    state: "running".into(),
                    ..c
                },
                "it refused the current password (the secret file was replaced)",
            )
            .await?;
            run_new(ctx).await
        }
        Err(NotReady::Failed(e)) => Err(e),
    }
}

/// Stops (gracefully, so the AOF is flushed) and removes our container; the volume
/// with the queue's data is kept and mounted by the next one.
async fn replace(ctx: &mut Ctx<'_>, c: &Container, why: &str) -> Result<()> {
    if matches!(c.state.as_str(), "running" | "paused" | "restarting") {
        let grace = ctx.timeout();
        ctx.run_docker(
            &commands::stop(&c.id, grace),
            ErrorCode::StartFailed,
            grace + Duration::from_secs(10),
        )
        .await?;
    }
    ctx.run_docker(
        &commands::remove(&c.id),
        ErrorCode::StartFailed,
        ctx.timeout(),
    )
    .await?;
    ctx.notices.push(format!(
        "container {} was replaced because {why}; its volume {} (the queue's data) was kept",
        ps::short_id(&c.id),
        ctx.names.volume
    ));
    Ok(())
}

async fn run_new(ctx: &mut Ctx<'_>) -> Result<Up> {
    ensure_image(ctx).await?;
    write_atomically(
        &ctx.env_file,
        commands::env_file_contents(ctx.secrets).as_bytes(),
        Some(0o600),
    )?;
    let data_dir = ctx.settings.data_dir.clone();
    let mut avoid: Vec<u16> = Vec::new();
    let mut port_moved = None;
    for _ in 0..PORT_RACE_RETRIES {
        let (port, moved) = choose_port(ctx.settings.port, &data_dir, &avoid)?;
        if port_moved.is_none() {
            port_moved = moved;
        }
        let cmd = commands::run(ctx.names, port, &ctx.env_file);
        let failure = match ctx.docker.run(&cmd, ctx.timeout()).await {
            Ok(out) => {
                let id = out.lines().last().unwrap_or_default().trim().to_string();
                let id = if id.is_empty() {
                    ctx.names.container.clone()
                } else {
                    id
                };
                let deadline = Instant::now() + ctx.timeout();
                return match ready::wait_ready(
                    ctx.docker,
                    &id,
                    ctx.names,
                    port,
                    ctx.secrets,
                    deadline,
                )
                .await
                {
                    Ok((client, info)) => Ok(Up {
                        container: Container {
                            id,
                            name: ctx.names.container.clone(),
                            image: IMAGE.into(),
                            state: "running".into(),
                            port: port.to_string(),
                            data_dir: ctx.names.data_dir.clone(),
                        },
                        port,
                        client,
                        info,
                        started: true,
                        port_moved,
                    }),
                    Err(e) => Err(ready::into_error(e, port)),
                };
            }
            Err(f) => f,
        };
        // What holds our name now is asked of Docker, not read from its words: a
        // container without our labels is someone else's (the run failed on the name
        // clash) and is left alone; one with our labels is what this `docker run` left
        // behind when its start failed (Docker keeps it, state `created`), and it must
        // go before a retry.
        match name_holder(ctx.docker, ctx.names, ctx.timeout()).await? {
            Some(holder) if !holder.is_ours(ctx.names) => {
                return Err(StoreError::new(
                    ErrorCode::NotOwned,
                    format!(
                        "a container named {name} ({id}) exists but is not labelled as claude-mem's store for {dir}, \
                         so it was left alone. If it is a leftover, remove it (`docker rm {name}`) and try again.",
                        name = ctx.names.container,
                        id = ps::short_id(&holder.id),
                        dir = ctx.names.data_dir
                    ),
                ));
            }
            Some(ours) => {
                let _ = ctx
                    .docker
                    .run(&commands::remove(&ours.id), ctx.timeout())
                    .await;
            }
            None => {}
        }
        // Docker's words for a taken port differ by engine (and Docker Desktop); a
        // port that is not free now was taken, whatever they say.
        if failure.port_taken() || !port::is_free(port) {
            if ctx.explicit_port().is_none() {
                avoid.push(port);
                continue;
            }
            return Err(StoreError::new(
                ErrorCode::PortInUse,
                format!(
                    "Docker could not publish port {port} ({}): {}. Stop the program holding it, choose another port, \
                     or remove the setting to let claude-mem pick a free one.",
                    describe_explicit(ctx.settings),
                    failure.words()
                ),
            ));
        }
        return Err(start_failed(&failure, &cmd, ctx).await);
    }
    Err(StoreError::new(
        ErrorCode::PortInUse,
        format!("other programs took ports {avoid:?} while the store was starting. Try again."),
    ))
}

/// Pulls the pinned image unless it is already there. A pull is a download, so it
/// gets its own, longer deadline.
async fn ensure_image(ctx: &mut Ctx<'_>) -> Result<()> {
    let inspect = commands::image_present();
    match ctx.docker.run(&inspect, ctx.timeout()).await {
        Ok(_) => return Ok(()),
        Err(f) if f.engine_unreachable() => return Err(cli::engine_down(&f, ctx.timeout())),
        Err(_) => {}
    }
    let pull = commands::pull();
    if let Err(f) = ctx.docker.run(&pull, PULL_TIMEOUT).await {
        let e = ctx
            .docker
            .explain(&f, ErrorCode::StartFailed, &pull, PULL_TIMEOUT)
            .await;
        if e.code != ErrorCode::StartFailed {
            return Err(e);
        }
        return Err(StoreError::new(
            e.code,
            format!(
                "{} Check the network connection (or Docker's registry mirror settings) and try again; \
                 `docker pull {IMAGE}` shows the whole error.",
                e.message
            ),
        ));
    }
    ctx.notices.push(format!("pulled the image {IMAGE}"));
    Ok(())
}

async fn start_failed(failure: &cli::Failure, cmd: &[String], ctx: &Ctx<'_>) -> StoreError {
    let e = ctx
        .docker
        .explain(failure, ErrorCode::StartFailed, cmd, ctx.timeout())
        .await;
    if e.code != ErrorCode::StartFailed {
        return e;
    }
    StoreError::new(
        e.code,
        format!(
            "{} `docker logs {}` may say more; stopQueueStore() and try again.",
            e.message, ctx.names.container
        ),
    )
}

fn describe_explicit(settings: &Settings) -> &'static str {
    match settings.port.map(|p| p.source) {
        Some(Source::Option) => "the port option",
        Some(Source::Environment) => "CLAUDE_MEM_REDIS_PORT",
        _ => "the chosen port",
    }
}
