//! Blocking work (child processes, package-manager queries) run from async code.
//!
//! The addon's runtime has one worker thread, so a blocking call made on it would
//! stall every other call and the watcher: such work goes to tokio's blocking pool.

/// Runs `work` on tokio's blocking pool and waits for it. A panic there goes on as
/// a panic here, which the binding turns into `E_INTERNAL`.
pub async fn off_worker<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}
