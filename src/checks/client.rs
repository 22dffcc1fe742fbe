//! Talking to a server: connect with a deadline, authenticate, run commands, and
//! sort failures into what the user can act on (unreachable, timed out, wrong
//! password, still loading).

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo};

/// Where and how to connect. `password` is never printed (see `redacted`).
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    pub db: i64,
    pub tls: bool,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("db", &self.db)
            .field("tls", &self.tls)
            .finish()
    }
}

/// A failed exchange with a server, sorted by what the user can do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// Nothing listens there (connection refused).
    Refused(String),
    /// No answer within the deadline (a stopped or overloaded server, a black hole).
    Timeout,
    /// The server refused our credentials (WRONGPASS, NOAUTH, invalid password).
    Auth(String),
    /// The server is still loading its data (`-LOADING`).
    Loading,
    /// Anything else, with the server's or OS's words.
    Other(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Refused(e) => write!(f, "connection refused ({e})"),
            ClientError::Timeout => f.write_str("no answer in time"),
            ClientError::Auth(e) => write!(f, "authentication failed ({e})"),
            ClientError::Loading => f.write_str("the server is still loading its data"),
            ClientError::Other(e) => f.write_str(e),
        }
    }
}

impl ClientError {
    /// The stable code of a store that did not answer this way.
    pub fn code(&self) -> crate::error::ErrorCode {
        use crate::error::ErrorCode;
        match self {
            ClientError::Timeout => ErrorCode::Timeout,
            ClientError::Auth(_) => ErrorCode::Auth,
            _ => ErrorCode::Unreachable,
        }
    }
}

pub type ClientResult<T> = std::result::Result<T, ClientError>;

fn classify(e: redis::RedisError) -> ClientError {
    let text = e.to_string();
    if e.is_timeout() {
        return ClientError::Timeout;
    }
    if e.is_connection_refusal() {
        return ClientError::Refused(text);
    }
    let code = e.code().unwrap_or_default().to_string();
    if e.kind() == redis::ErrorKind::AuthenticationFailed
        || code == "NOAUTH"
        || code == "WRONGPASS"
        || text.contains("invalid password")
        || text.contains("invalid username-password")
    {
        return ClientError::Auth(text);
    }
    if code == "LOADING" {
        return ClientError::Loading;
    }
    ClientError::Other(text)
}

/// An open, authenticated connection. Clones share it (redis-rs multiplexes them).
#[derive(Clone)]
pub struct Client {
    conn: MultiplexedConnection,
    timeout: Duration,
}

impl Client {
    /// Connects and authenticates within `timeout`.
    pub async fn connect(endpoint: &Endpoint, timeout: Duration) -> ClientResult<Client> {
        Client::connect_with_ca(endpoint, None, timeout).await
    }

    /// Like [`Client::connect`]; for `rediss://`, `ca_pem` (PEM certificates) replaces
    /// the system's trusted roots, for servers whose certificate a private CA signed.
    pub async fn connect_with_ca(
        endpoint: &Endpoint,
        ca_pem: Option<&[u8]>,
        timeout: Duration,
    ) -> ClientResult<Client> {
        let mut redis_info = RedisConnectionInfo::default()
            .set_db(endpoint.db)
            // One round trip less: we do not need CLIENT SETINFO.
            .set_skip_set_lib_name();
        if let Some(user) = &endpoint.username {
            redis_info = redis_info.set_username(user);
        }
        if let Some(password) = &endpoint.password {
            redis_info = redis_info.set_password(password);
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        let conn = tokio::time::timeout(timeout, async {
            if !endpoint.tls {
                let info = ConnectionAddr::Tcp(endpoint.host.clone(), endpoint.port)
                    .into_connection_info()
                    .map_err(classify)?
                    .set_redis_settings(redis_info);
                let client = redis::Client::open(info).map_err(classify)?;
                return client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .map_err(classify);
            }
            // rediss://: TLS is ours (tokio-rustls), redis-rs only speaks RESP over it,
            // so redis-rs needs no TLS feature (whose rustls-native-certs links
            // Security.framework on macOS).
            let tls = crate::checks::tls::client_config(ca_pem).map_err(ClientError::Other)?;
            let tcp = tokio::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port))
                .await
                .map_err(|e| classify(e.into()))?;
            let _ = tcp.set_nodelay(true);
            let name = rustls::pki_types::ServerName::try_from(endpoint.host.clone())
                .map_err(|e| ClientError::Other(format!("bad TLS server name: {e}")))?;
            let stream = tokio_rustls::TlsConnector::from(tls)
                .connect(name, tcp)
                .await
                .map_err(|e| classify(e.into()))?;
            let (conn, driver) =
                MultiplexedConnection::new_with_config(&redis_info, stream, config)
                    .await
                    .map_err(classify)?;
            tokio::spawn(driver);
            Ok(conn)
        })
        .await
        .map_err(|_| ClientError::Timeout)??;
        Ok(Client { conn, timeout })
    }

    /// Sets how long each later command may take (e.g. what is left of a deadline).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
        self.conn.set_response_timeout(timeout);
    }

    /// Runs one command and converts its reply.
    pub async fn query<T: redis::FromRedisValue>(&mut self, cmd: &redis::Cmd) -> ClientResult<T> {
        tokio::time::timeout(self.timeout, cmd.query_async(&mut self.conn))
            .await
            .map_err(|_| ClientError::Timeout)?
            .map_err(classify)
    }

    /// Runs a pipeline in one round trip; each reply is kept, errors included, so one
    /// failing check does not hide the others.
    pub async fn pipeline(&mut self, pipe: &redis::Pipeline) -> ClientResult<Vec<redis::Value>> {
        // Without `ignore_errors` one error reply would turn the whole pipeline into an Err.
        let mut pipe = pipe.clone();
        pipe.ignore_errors();
        tokio::time::timeout(self.timeout, pipe.query_async(&mut self.conn))
            .await
            .map_err(|_| ClientError::Timeout)?
            .map_err(classify)
    }

    /// `SHUTDOWN`: flushes and exits at once. Success closes the connection, so an
    /// I/O error after sending it is the expected answer.
    ///
    /// With the AOF on, the server flushes and fsyncs the AOF on any shutdown, so
    /// `NOSAVE` loses nothing: it only skips writing an RDB snapshot that the AOF
    /// makes redundant (and that costs most of a stop's time). Without the AOF, a
    /// plain SHUTDOWN saves the RDB.
    pub async fn shutdown(&mut self) -> ClientResult<()> {
        let aof_on = matches!(
            self.query::<Vec<String>>(redis::cmd("CONFIG").arg("GET").arg("appendonly"))
                .await
                .as_deref(),
            Ok([_, v]) if v == "yes"
        );
        let mut cmd = redis::cmd("SHUTDOWN");
        if aof_on {
            cmd.arg("NOSAVE");
        }
        let result: Result<redis::Value, _> =
            tokio::time::timeout(self.timeout, cmd.query_async(&mut self.conn))
                .await
                .map_err(|_| ClientError::Timeout)?;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.is_io_error() || e.is_unrecoverable_error() => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }
}

/// Reads an error reply inside a pipeline's results as text, or the value as a string.
pub fn value_text(v: &redis::Value) -> Result<String, String> {
    match v {
        redis::Value::ServerError(e) => {
            Err(format!("{} {}", e.code(), e.details().unwrap_or_default()))
        }
        other => redis::from_redis_value_ref::<String>(other).map_err(|e| e.to_string()),
    }
}

/// `CONFIG GET name` replies `[name, value]` (or a map under RESP3).
pub fn config_value(v: &redis::Value) -> Result<String, String> {
    match v {
        redis::Value::ServerError(e) => {
            Err(format!("{} {}", e.code(), e.details().unwrap_or_default()))
        }
        other => {
            let pairs: Vec<String> =
                redis::from_redis_value_ref(other).map_err(|e| e.to_string())?;
            pairs
                .get(1)
                .cloned()
                .ok_or_else(|| "CONFIG GET returned nothing".to_string())
        }
    }
}
