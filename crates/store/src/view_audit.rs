//! Views are audited by one writer that commits many rows per transaction.
//!
//! A change writes its audit row in its own transaction. A view changes
//! nothing but must still be in the trail before the page is shown, and one
//! fsync per view capped authenticated reads at about 1,250/s here. So each
//! view's row goes to a single writer task, which takes every row waiting,
//! writes them in one transaction and then answers each request: a request
//! still returns only once its row is durable, but many share one fsync.

use crate::audit::{Actor, AuditEvent};
use crate::{Result, StoreError};
use jiff::Timestamp;
use std::future::Future;
use tokio::sync::{mpsc, oneshot};

/// The most rows one transaction takes; more wait for the next one.
const MAX_BATCH: usize = 512;

/// One view to record, and where to say that it is written.
pub(crate) struct ViewRow {
    pub actor: Actor,
    pub event: AuditEvent,
    pub at: Timestamp,
    done: oneshot::Sender<std::result::Result<(), String>>,
}

/// Sends a view to the writer and waits until it is committed.
pub(crate) async fn record(
    writer: &mpsc::Sender<ViewRow>,
    actor: &Actor,
    event: &AuditEvent,
    at: Timestamp,
) -> Result<()> {
    let (done, written) = oneshot::channel();
    let row = ViewRow {
        actor: actor.clone(),
        event: event.clone(),
        at,
        done,
    };
    let gone = || StoreError::Unsupported("The audit writer has stopped.".into());
    writer.send(row).await.map_err(|_| gone())?;
    written
        .await
        .map_err(|_| gone())?
        .map_err(|e| StoreError::Unsupported(format!("The view could not be audited: {e}")))
}

/// The writer: takes every waiting row (up to [`MAX_BATCH`]), has `write`
/// commit them together, and answers each. Ends when the store is dropped.
pub(crate) async fn run<F, Fut>(mut rows: mpsc::Receiver<ViewRow>, write: F)
where
    F: Fn(Vec<(Actor, AuditEvent, Timestamp)>) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    while let Some(first) = rows.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rows.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let (data, replies): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .map(|r| ((r.actor, r.event, r.at), r.done))
            .unzip();
        let result = write(data).await.map_err(|e| e.to_string());
        for reply in replies {
            // A request that gave up waiting no longer needs the answer.
            let _ = reply.send(result.clone());
        }
    }
}
