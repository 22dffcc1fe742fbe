//! Logging in to a store of ours, and giving a store an earlier version set up
//! its two users.
//!
//! The addon logs in as its admin user (`server::acl::ADMIN_USER`). A store that
//! an earlier version of the addon started has one password for everything
//! (`requirepass`, the user `default`): the admin login fails there, and the
//! client password, still the one in settings.json, gets in. Ensure then creates
//! the admin user and restricts `default` to what BullMQ needs, live: no restart,
//! no connection dropped, no job touched, and claude-mem's URL stays the same.

use std::time::Duration;

use crate::checks::client::{Client, ClientError, Endpoint};
use crate::checks::server_info::ServerInfo;
use crate::server::acl;
use crate::settings::secret::Secrets;

/// What the addon logs in with: the admin user, or the single password of a
/// store without one (an earlier version's, or a server too old for ACL users).
pub fn admin_endpoint(port: u16, secrets: &Secrets) -> Endpoint {
    match &secrets.admin {
        Some(admin) => Endpoint {
            username: Some(acl::ADMIN_USER.to_string()),
            password: Some(admin.clone()),
            ..client_endpoint(port, &secrets.client)
        },
        None => client_endpoint(port, &secrets.client),
    }
}

/// What clients log in with: the URL and connection options status reports and
/// ensure saves (password only: the user `default`).
pub fn client_endpoint(port: u16, client_secret: &str) -> Endpoint {
    Endpoint {
        host: "127.0.0.1".into(),
        port,
        username: None,
        password: Some(client_secret.to_string()),
        db: 0,
        tls: false,
    }
}

/// Connects to our store on `port` as the admin user; where that user does not
/// exist yet, with the single password instead (see the module's comment).
pub async fn connect(
    port: u16,
    secrets: &Secrets,
    timeout: Duration,
) -> Result<Client, ClientError> {
    let started = std::time::Instant::now();
    if secrets.admin.is_some() {
        match Client::connect(&admin_endpoint(port, secrets), timeout).await {
            Err(ClientError::Auth(_)) => {}
            other => return other,
        }
    }
    let left = timeout.saturating_sub(started.elapsed());
    Client::connect(&client_endpoint(port, &secrets.client), left).await
}

/// Gives a store that has one password for everything its two users, if the
/// server can have them and `client` is logged in with that password. Returns
/// whether it did. Afterwards `client` is logged in as the admin user.
pub async fn give_two_users(
    client: &mut Client,
    secrets: &Secrets,
    info: &ServerInfo,
) -> Result<bool, ClientError> {
    let Some(admin) = &secrets.admin else {
        return Ok(false);
    };
    let Some(restrict) = acl::setuser_client(info.flavor, &info.version, &secrets.client) else {
        return Ok(false);
    };
    let whoami: String = client.query(redis::cmd("ACL").arg("WHOAMI")).await?;
    if whoami != acl::CLIENT_USER {
        return Ok(false);
    }
    // On a store that already has its users, `default` may not run ACL: NOPERM
    // comes back (our admin password was refused: redis/admin-secret changed).
    let mut create_admin = redis::cmd("ACL");
    create_admin.arg(acl::setuser_admin(admin));
    let _: () = client.query(&create_admin).await?;
    let _: () = client
        .query(redis::cmd("AUTH").arg(acl::ADMIN_USER).arg(admin))
        .await?;
    let mut restrict_cmd = redis::cmd("ACL");
    restrict_cmd.arg(restrict);
    let _: () = client.query(&restrict_cmd).await?;
    Ok(true)
}
