//! Which loopback port our store takes: an explicit one as is (or refused, naming
//! who holds it), a remembered one unless another program took it meanwhile, else a
//! free one chosen for the data dir.

use std::path::Path;

use crate::error::{ErrorCode, Result, StoreError};
use crate::modes::results::PortMove;
use crate::server::port::{self, PortHolder};
use crate::settings::{PortSetting, Source};

pub fn is_explicit(setting: Option<PortSetting>) -> bool {
    setting.is_some_and(|s| s.is_explicit())
}

/// The port to start on. An explicit port (option or environment) is used as is or
/// refused; a port we persisted earlier moves when another program holds it.
pub fn choose_port(
    setting: Option<PortSetting>,
    data_dir: &Path,
    avoid: &[u16],
) -> Result<(u16, Option<PortMove>)> {
    match setting {
        Some(s) if is_explicit(setting) => {
            if port::is_free(s.port) {
                Ok((s.port, None))
            } else {
                Err(port_in_use(s.port, setting, &port::port_holder(s.port)))
            }
        }
        Some(s) if !avoid.contains(&s.port) && port::is_free(s.port) => Ok((s.port, None)),
        Some(s) => {
            let holder = port::port_holder(s.port);
            let mut skip = avoid.to_vec();
            skip.push(s.port);
            let to = port::choose_free_port(data_dir, &skip).ok_or_else(no_free_port)?;
            Ok((
                to,
                Some(PortMove {
                    from: s.port,
                    to,
                    held_by: holder.describe(),
                    holder_pid: holder.pid,
                }),
            ))
        }
        None => Ok((
            port::choose_free_port(data_dir, avoid).ok_or_else(no_free_port)?,
            None,
        )),
    }
}

pub fn port_in_use(port: u16, setting: Option<PortSetting>, holder: &PortHolder) -> StoreError {
    let from = match setting.map(|s| s.source) {
        Some(Source::Option) => "the port option",
        Some(Source::Environment) => "CLAUDE_MEM_REDIS_PORT",
        _ => "the chosen port",
    };
    StoreError::new(
        ErrorCode::PortInUse,
        format!(
            "port {port} ({from}) is held by {}. Stop that program, or choose another port, \
             or remove the setting to let claude-mem pick a free one.",
            holder.describe()
        ),
    )
}

fn no_free_port() -> StoreError {
    StoreError::new(
        ErrorCode::PortInUse,
        "no free port was found among the 64 candidates in 20000–31999. \
         Free one, or set CLAUDE_MEM_REDIS_PORT to a free port.",
    )
}

#[cfg(test)]
#[path = "port_tests.rs"]
mod tests;
