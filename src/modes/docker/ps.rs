//! Reading `docker ps` output (one JSON object per line, see `commands::PS_FORMAT`)
//! and deciding what ensure does with the container it names.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::commands::{IMAGE, Names};
use crate::error::{ErrorCode, Result, StoreError};

/// One container, as `docker ps --format PS_FORMAT` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Container {
    pub id: String,
    /// Docker's `.Names`: comma-separated when a container has several.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub image: String,
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`.
    #[serde(default)]
    pub state: String,
    /// The `com.claude-mem.port` label, as text.
    #[serde(default)]
    pub port: String,
    #[serde(default, rename = "dataDir")]
    pub data_dir: String,
}

impl Container {
    /// The host port from our label, if it is one we could have chosen.
    pub fn port(&self) -> Option<u16> {
        crate::settings::parse_port(&self.port)
    }

    pub fn is_running(&self) -> bool {
        self.state == "running"
    }

    pub fn has_name(&self, name: &str) -> bool {
        self.name
            .split(',')
            .any(|n| n.trim_start_matches('/') == name)
    }
}

/// Parses `docker ps` output. A line that is not one of our objects means the
/// `docker` found is not a CLI we can drive; that is said rather than guessed at.
pub fn parse(stdout: &str) -> Result<Vec<Container>> {
    parse_lines(stdout, |c: &Container| !c.id.is_empty())
}

fn parse_lines<T: DeserializeOwned>(stdout: &str, valid: impl Fn(&T) -> bool) -> Result<Vec<T>> {
    stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            serde_json::from_str::<T>(line)
                .ok()
                .filter(&valid)
                .ok_or_else(|| {
                    StoreError::new(
                        ErrorCode::DockerUnavailable,
                        format!(
                            "`docker ps` answered in a form claude-mem-store cannot read ({}). \
                             Use Docker Engine or Docker Desktop 20.10 or newer, or use mode managed or external.",
                            line.chars().take(120).collect::<String>()
                        ),
                    )
                })
        })
        .collect()
}

/// A container holding our container name (`commands::by_name`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NameHolder {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// The `com.claude-mem.store` label.
    #[serde(default)]
    pub store: String,
    #[serde(default, rename = "dataDir")]
    pub data_dir: String,
}

impl NameHolder {
    /// Labelled as this data dir's store (e.g. what a failed `docker run` left).
    pub fn is_ours(&self, names: &Names) -> bool {
        self.store == "1" && self.data_dir == names.data_dir
    }
}

/// The container that holds exactly our name, from `commands::by_name` output.
pub fn name_holder(stdout: &str, names: &Names) -> Result<Option<NameHolder>> {
    Ok(parse_lines(stdout, |h: &NameHolder| !h.id.is_empty())?
        .into_iter()
        .find(|h| {
            h.name
                .split(',')
                .any(|n| n.trim_start_matches('/') == names.container)
        }))
}

/// Whether `name` is one of the lines of a `--quiet` listing (`docker volume ls -q`),
/// compared exactly (Docker's name filter matches substrings).
pub fn listed(stdout: &str, name: &str) -> bool {
    stdout.lines().any(|l| l.trim() == name)
}

/// Of the containers labelled for this data dir, the one to use: the one with our
/// name first (another could only come from an older naming scheme).
pub fn pick(mut found: Vec<Container>, names: &Names) -> Option<Container> {
    let ours = found.iter().position(|c| c.has_name(&names.container));
    match ours {
        Some(i) => Some(found.swap_remove(i)),
        None => found.into_iter().next(),
    }
}

/// What ensure does with the container it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Running: connect to it.
    Adopt,
    /// Paused: `docker unpause`, then connect.
    Unpause,
    /// Stopped on a port that is still right and free: `docker start`.
    Start,
    /// Remove the container (never the volume) and run a new one, because...
    Recreate(String),
    /// It cannot be used now (being removed); try again later.
    Wait(String),
}

/// Decides what to do with `c`. `explicit_port` is a port the caller insisted on
/// (option or environment); `port_free` says whether a host port is free now.
pub fn plan(c: &Container, explicit_port: Option<u16>, port_free: impl Fn(u16) -> bool) -> Plan {
    let Some(port) = c.port() else {
        return Plan::Recreate(format!(
            "container {} has no usable {} label",
            short_id(&c.id),
            super::commands::LABEL_PORT
        ));
    };
    if let Some(wanted) = explicit_port.filter(|w| *w != port) {
        return Plan::Recreate(format!(
            "it was published on port {port} but port {wanted} was asked for"
        ));
    }
    match c.state.as_str() {
        "running" | "restarting" => Plan::Adopt,
        "paused" => Plan::Unpause,
        "created" | "exited" => {
            if c.image != IMAGE {
                Plan::Recreate(format!(
                    "it was made from {}; this version of claude-mem-store runs {IMAGE}",
                    c.image
                ))
            } else if !port_free(port) {
                Plan::Recreate(format!("its port {port} is now held by another program"))
            } else {
                Plan::Start
            }
        }
        "removing" => Plan::Wait(format!(
            "container {} is being removed by Docker",
            short_id(&c.id)
        )),
        other => Plan::Recreate(format!("it is in state '{other}'")),
    }
}

/// The first 12 characters, as `docker ps` shows IDs.
pub fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn container(state: &str, port: &str, image: &str) -> Container {
        Container {
            id: "0123456789abcdef".into(),
            name: "claude-mem-valkey-x".into(),
            image: image.into(),
            state: state.into(),
            port: port.into(),
            data_dir: "/d".into(),
        }
    }

    #[test]
    fn parses_the_template_output() {
        let out = concat!(
            r#"{"id":"f00dfeed1234","name":"claude-mem-valkey-ab12","image":"valkey/valkey:8.1.11","state":"running","port":"23456","dataDir":"/home/u/a,b"}"#,
            "\n\n",
            r#"{"id":"beef","name":"old","image":"valkey/valkey:8.0.2","state":"exited","port":"","dataDir":"/d"}"#,
            "\n"
        );
        let list = parse(out).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].id, "f00dfeed1234");
        assert_eq!(list[0].port(), Some(23456));
        assert_eq!(list[0].data_dir, "/home/u/a,b");
        assert!(list[0].is_running());
        assert_eq!(list[1].port(), None);
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn unreadable_output_is_an_error_with_the_next_step() {
        for bad in [
            "CONTAINER ID   IMAGE",
            "{\"name\":\"x\"}",
            "[1]",
            "{\"id\":5}",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::DockerUnavailable, "{bad}");
            assert!(e.message.contains("mode managed"), "{}", e.message);
        }
    }

    #[test]
    fn pick_prefers_our_name() {
        let names = Names::for_data_dir(Path::new("/d")).unwrap();
        let mut a = container("exited", "20001", IMAGE);
        a.name = "other".into();
        let mut b = container("running", "20002", IMAGE);
        b.name = format!("/{}", names.container);
        assert_eq!(pick(vec![a.clone(), b.clone()], &names), Some(b));
        assert_eq!(pick(vec![a.clone()], &names), Some(a));
        assert_eq!(pick(vec![], &names), None);
    }

    #[test]
    fn plans() {
        let free = |_| true;
        let taken = |_| false;
        assert_eq!(
            plan(&container("running", "20001", IMAGE), None, taken),
            Plan::Adopt
        );
        assert_eq!(
            plan(
                &container("running", "20001", "valkey/valkey:8.0.2"),
                None,
                free
            ),
            Plan::Adopt
        );
        assert_eq!(
            plan(&container("paused", "20001", IMAGE), None, free),
            Plan::Unpause
        );
        assert_eq!(
            plan(&container("exited", "20001", IMAGE), None, free),
            Plan::Start
        );
        assert_eq!(
            plan(&container("created", "20001", IMAGE), Some(20001), free),
            Plan::Start
        );
        let recreate = |p: Plan| matches!(p, Plan::Recreate(_));
        assert!(recreate(plan(
            &container("exited", "20001", IMAGE),
            None,
            taken
        )));
        assert!(recreate(plan(
            &container("exited", "20001", "valkey/valkey:8.0.2"),
            None,
            free
        )));
        assert!(recreate(plan(
            &container("running", "20001", IMAGE),
            Some(20002),
            free
        )));
        assert!(recreate(plan(&container("exited", "", IMAGE), None, free)));
        assert!(recreate(plan(
            &container("dead", "20001", IMAGE),
            None,
            free
        )));
        assert!(matches!(
            plan(&container("removing", "20001", IMAGE), None, free),
            Plan::Wait(_)
        ));
    }

    /// `docker ps --filter name=<regexp> --format NAME_FORMAT` and `docker volume ls -q
    /// --filter name=…` as engine 20.10 answered them (CLI 28.2). Both filters match
    /// substrings, hence the exact comparisons.
    #[test]
    fn name_holders_and_volume_listings_from_a_real_engine() {
        let names = Names {
            container: "claude-mem-valkey-0123456789ab".into(),
            volume: "claude-mem-valkey-data-0123456789ab".into(),
            data_dir: "/home/u/a,b".into(),
        };
        let unanchored = concat!(
            r#"{"id":"67d3abf04faba80d09a71d9b50c296a06a1f85f1eeceba39e5de5847651ee503","name":"claude-mem-valkey-0123456789ab-2","store":"","dataDir":""}"#,
            "\n",
            r#"{"id":"8255573c9d2cdcf98da5bc8a9f35d8f41ef084019f048a4b5e5ccc96640556b3","name":"claude-mem-valkey-0123456789ab","store":"1","dataDir":"/home/u/a,b"}"#,
            "\n"
        );
        let holder = name_holder(unanchored, &names).unwrap().unwrap();
        assert!(holder.id.starts_with("8255573c9d2c"));
        assert!(holder.is_ours(&names));
        let foreign = r#"{"id":"67d3abf04faba80d09a71d9b50c296a06a1f85f1eeceba39e5de5847651ee503","name":"claude-mem-valkey-0123456789ab","store":"","dataDir":""}"#;
        assert!(
            !name_holder(foreign, &names)
                .unwrap()
                .unwrap()
                .is_ours(&names)
        );
        let other_dir = foreign.replace(
            r#""store":"","dataDir":"""#,
            r#""store":"1","dataDir":"/elsewhere""#,
        );
        assert!(
            !name_holder(&other_dir, &names)
                .unwrap()
                .unwrap()
                .is_ours(&names)
        );
        assert_eq!(name_holder("", &names).unwrap(), None);
        assert!(name_holder("Error", &names).is_err());

        let volumes =
            "claude-mem-valkey-data-0123456789ab\nclaude-mem-valkey-data-0123456789ab-old\n";
        assert!(listed(volumes, &names.volume));
        assert!(!listed(
            "claude-mem-valkey-data-0123456789ab-old\n",
            &names.volume
        ));
        assert!(!listed("", &names.volume));
    }

    #[test]
    fn short_ids() {
        assert_eq!(short_id("0123456789abcdef"), "0123456789ab");
        assert_eq!(short_id("abc"), "abc");
    }
}
