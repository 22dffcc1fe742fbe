//! Who else uses our store: the server's own client list (`CLIENT LIST`), less the
//! connection asking (`CLIENT ID`). It is the truth a crash cannot leave behind —
//! a process that dies takes its connections with it — unlike a file of users.
//! Every other connection counts: claude-mem's BullMQ queues and workers, and
//! another claude-mem process's kept connection to the addon (it uses the store).
//! A connection already on its way out does not: one that sent `QUIT` is listed
//! with flag `c` (close after reply) or `A` (close as soon as possible) until the
//! server's next event-loop pass frees it, and a stop right after a client's
//! `quit()` must not be refused for it.

use crate::checks::client::{Client, ClientResult, value_text};

/// How many replies [`add_commands`] produces.
pub const COMMANDS: usize = 2;

/// Appends `CLIENT ID` and `CLIENT LIST`, so they can share a pipeline (a round trip).
pub fn add_commands(pipe: &mut redis::Pipeline) {
    pipe.cmd("CLIENT").arg("ID").cmd("CLIENT").arg("LIST");
}

/// The number of connected clients other than the one that sent the commands;
/// `None` when the server refused either (e.g. a user without `CLIENT LIST`).
pub fn evaluate(replies: &[redis::Value]) -> Option<u32> {
    others_except(replies, &[])
}

/// Asks the server now, on `client`'s connection; `also_ours` are the ids of other
/// connections this process holds (they are not other users either).
pub async fn count_others(client: &mut Client, also_ours: &[i64]) -> ClientResult<Option<u32>> {
    let mut pipe = redis::pipe();
    add_commands(&mut pipe);
    let replies = client.pipeline(&pipe).await?;
    Ok(others_except(&replies, also_ours))
}

/// The staying connections in the `CLIENT LIST` reply, less the asking one (the
/// `CLIENT ID` reply) and `also_ours`.
fn others_except(replies: &[redis::Value], also_ours: &[i64]) -> Option<u32> {
    let own_id = match replies.first()? {
        redis::Value::Int(id) => id.to_string(),
        other => value_text(other).ok()?,
    };
    let list = value_text(replies.get(1)?).ok()?;
    let ours: Vec<String> = also_ours.iter().map(i64::to_string).collect();
    Some(
        staying(&list)
            .filter(|c| c.id != own_id && !ours.iter().any(|id| id == c.id))
            .count() as u32,
    )
}

/// The id of `client`'s own connection.
pub async fn own_id(client: &mut Client) -> ClientResult<i64> {
    client.query(redis::cmd("CLIENT").arg("ID")).await
}

/// One line of `CLIENT LIST`: `id=7 addr=… flags=N … cmd=…`.
struct Listed<'a> {
    id: &'a str,
    flags: &'a str,
}

/// The connections `CLIENT LIST` names that are not closing (see the module doc).
fn staying(list: &str) -> impl Iterator<Item = Listed<'_>> {
    list.lines()
        .filter_map(|line| {
            let field = |name: &str| {
                line.split(' ')
                    .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
            };
            Some(Listed {
                id: field("id")?,
                flags: field("flags").unwrap_or(""),
            })
        })
        .filter(|c| !c.flags.contains(['A', 'c']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_connection_but_the_asking_one() {
        let list = "id=3 addr=127.0.0.1:5000 laddr=127.0.0.1:2 fd=8 name= age=1 cmd=client|list\n\
                    id=4 addr=127.0.0.1:5001 fd=9 name=bull:cXVldWU= age=9 cmd=bzpopmin\n\
                    id=5 addr=[::1]:5002 fd=10 name= age=9 cmd=xread\n";
        let replies = [redis::Value::Int(3), redis::Value::BulkString(list.into())];
        assert_eq!(evaluate(&replies), Some(2));
        let alone = [
            redis::Value::Int(3),
            redis::Value::BulkString(list.lines().next().unwrap().into()),
        ];
        assert_eq!(evaluate(&alone), Some(0));
    }

    #[test]
    fn a_connection_closing_after_quit_is_not_a_user() {
        let list = "id=3 addr=127.0.0.1:5000 fd=8 name= age=1 flags=N cmd=client|list\n\
                    id=4 addr=127.0.0.1:5001 fd=9 name= age=9 flags=c cmd=quit\n\
                    id=5 addr=127.0.0.1:5002 fd=10 name= age=9 flags=A cmd=quit\n\
                    id=6 addr=127.0.0.1:5003 fd=11 name= age=9 flags=b cmd=bzpopmin\n";
        let replies = [redis::Value::Int(3), redis::Value::BulkString(list.into())];
        assert_eq!(evaluate(&replies), Some(1));
    }

    #[test]
    fn this_process_s_other_connections_are_not_users() {
        let list =
            "id=3 flags=N cmd=client|list\nid=4 flags=N cmd=get\nid=5 flags=b cmd=bzpopmin\n";
        let replies = [redis::Value::Int(3), redis::Value::BulkString(list.into())];
        assert_eq!(others_except(&replies, &[4]), Some(1));
        assert_eq!(others_except(&replies, &[4, 5, 9]), Some(0));
    }

    #[test]
    fn an_unanswered_list_is_unknown_not_zero() {
        assert_eq!(evaluate(&[redis::Value::Int(3), redis::Value::Nil]), None);
        assert_eq!(evaluate(&[redis::Value::Int(3)]), None);
        assert_eq!(evaluate(&[]), None);
    }
}
