//! The health of our store: the full probe (smoke test included) over the admin
//! login, on a kept connection where there is one, and how many other clients use it.

use std::time::Duration;

use super::{connections, login};
use crate::checks::client::{Client, ClientError};
use crate::checks::probe;
use crate::checks::smoke::Target;
use crate::checks::{clients, health};
use crate::settings::Settings;
use crate::settings::secret::Secrets;

/// The same checks `probeRedisUrl` runs, the BullMQ smoke test included, in the
/// queue prefix's namespace: the full health probe (smoke test included) of a store we run on loopback:
/// the managed sidecar and the Docker container alike.
pub async fn checks(
    client: &mut Client,
    port: u16,
    secrets: &Secrets,
    settings: &Settings,
) -> std::result::Result<health::Health, ClientError> {
    let endpoint = login::admin_endpoint(port, secrets);
    let target = Target {
        endpoint: &endpoint,
        ca_pem: None,
    };
    let deadline = std::time::Instant::now() + settings.timeout;
    probe::own_store_checks(client, &target, &settings.prefix, deadline).await
}

/// Connects to our store on `port` and runs its checks. The connection of the last
/// call is reused while it works (`connections`); a new one authenticates while
/// connecting, so nothing is sent to a server that refuses our password.
pub async fn connect_and_check(
    port: u16,
    secrets: &Secrets,
    settings: &Settings,
) -> std::result::Result<(Client, health::Health), ClientError> {
    let started = std::time::Instant::now();
    if let Some(mut client) = connections::take(port, secrets) {
        match checks(&mut client, port, secrets, settings).await {
            Ok(health) => {
                connections::keep(port, secrets, &client);
                return Ok((client, health));
            }
            // Hung, not gone: a new connection would only wait as long again.
            Err(ClientError::Timeout) => return Err(ClientError::Timeout),
            // Closed (the store was restarted or stopped): connect afresh below.
            Err(_) => {}
        }
    }
    let left = |settings: &Settings| settings.timeout.saturating_sub(started.elapsed());
    let mut client = login::connect(port, secrets, left(settings)).await?;
    let settings = Settings {
        timeout: left(settings),
        ..settings.clone()
    };
    let health = checks(&mut client, port, secrets, &settings).await?;
    connections::keep(port, secrets, &client);
    Ok((client, health))
}

/// How many clients other than ours use our store on `port` (see `checks::clients`);
/// `None` when it cannot be asked (then nobody can be shown to use it).
pub async fn other_clients(port: u16, secrets: &Secrets, timeout: Duration) -> Option<u32> {
    if let Some(mut client) = connections::take(port, secrets) {
        client.set_timeout(timeout);
        if let Ok(others) = clients::count_others(&mut client, &[]).await {
            connections::keep(port, secrets, &client);
            return others;
        }
    }
    let mut client = login::connect(port, secrets, timeout).await.ok()?;
    let others = clients::count_others(&mut client, &[]).await.ok().flatten();
    connections::keep(port, secrets, &client);
    others
}
