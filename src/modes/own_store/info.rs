//! Who answers on our store's port: `INFO` over the admin login.

use std::time::Duration;

use super::login;
use crate::checks::client::{Client, ClientError};
use crate::checks::server_info::{ServerInfo, parse_info};
use crate::settings::secret::Secrets;

/// Connects (as the admin user, `login`) and reads `INFO` (the full default
/// sections: server, persistence, …), for callers that need `loading` as well as
/// who the server is.
pub async fn connect_and_info(
    port: u16,
    secrets: &Secrets,
    timeout: Duration,
) -> Result<(Client, ServerInfo), ClientError> {
    connect_and_info_of(port, secrets, timeout, None).await
}

/// Connects and reads only `INFO server`: pid, run_id, config file, binary and
/// version are all there, at a fraction of the full reply's size. Enough to tell
/// whether a server is ours.
pub async fn connect_and_server_info(
    port: u16,
    secrets: &Secrets,
    timeout: Duration,
) -> Result<(Client, ServerInfo), ClientError> {
    connect_and_info_of(port, secrets, timeout, Some("server")).await
}

async fn connect_and_info_of(
    port: u16,
    secrets: &Secrets,
    timeout: Duration,
    section: Option<&str>,
) -> Result<(Client, ServerInfo), ClientError> {
    let mut client = login::connect(port, secrets, timeout).await?;
    let mut cmd = redis::cmd("INFO");
    if let Some(section) = section {
        cmd.arg(section);
    }
    let text: String = client.query(&cmd).await?;
    let info = ServerInfo::from_info(&parse_info(&text));
    Ok((client, info))
}
