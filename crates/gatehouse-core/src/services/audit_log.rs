//! Group commit for audit events that record no stored change (a stateless
//! token issued, a failed sign-in). Writing each in its own transaction would
//! cap token issuance at the database's commit rate; instead concurrent events
//! are gathered and written in one transaction, and each caller is answered
//! only after the batch committed — so an event that was acknowledged is
//! never lost, and none is dropped.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};
use crate::model::AuditEvent;
use crate::store::Store;

/// Most events written in one transaction.
const MAX_BATCH: usize = 512;
/// Events waiting to be written before callers wait for room.
const QUEUE: usize = 8192;

type Ack = oneshot::Sender<std::result::Result<(), String>>;

#[derive(Debug, Clone)]
pub struct AuditLog {
    queue: mpsc::Sender<(AuditEvent, Ack)>,
}

impl AuditLog {
    /// Starts the writer task on the current runtime.
    pub(crate) fn start(store: Arc<dyn Store>) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(store, receiver));
        Self { queue }
    }

    /// Records `event`; returns once it is committed.
    pub async fn record(&self, event: AuditEvent) -> Result<()> {
        let (ack, done) = oneshot::channel();
        self.queue
            .send((event, ack))
            .await
            .map_err(|_| Error::Internal("the audit writer stopped".into()))?;
        match done.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(Error::Internal(message)),
            Err(_) => Err(Error::Internal("the audit writer stopped".into())),
        }
    }
}

async fn write_batches(store: Arc<dyn Store>, mut receiver: mpsc::Receiver<(AuditEvent, Ack)>) {
    let mut events = Vec::with_capacity(MAX_BATCH);
    let mut acks = Vec::with_capacity(MAX_BATCH);
    while let Some((event, ack)) = receiver.recv().await {
        events.push(event);
        acks.push(ack);
        while events.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok((event, ack)) => {
                    events.push(event);
                    acks.push(ack);
                }
                Err(_) => break,
            }
        }
        let outcome = store.append_audit_batch(&events).await.map_err(|e| {
            tracing::error!(error = %e, events = events.len(), "writing audit events failed");
            "the audit log is unavailable".to_owned()
        });
        for ack in acks.drain(..) {
            // A caller that gave up no longer needs the answer.
            let _ = ack.send(outcome.clone());
        }
        events.clear();
    }
}
