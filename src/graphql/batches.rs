//! Where a request's dataloaders run their batched reads: in the request's own task, once the
//! resolvers of a round have all asked for their keys.
//!
//! async-graphql's `DataLoader` starts a batch by spawning a task that first waits a delay
//! (1 ms by default, on a timer thread) so that sibling resolvers can add their keys. Here the
//! delay is zero and the "spawned" task is only queued: [`drive`] polls the request's execution
//! first, and the queued batches only when the execution can go no further. Every resolver of a
//! round has then added its keys, so a batch holds them all — by construction, not by timing —
//! and no request waits on a timer or hands work to another thread.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;

use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// The queue the loaders of one request put their batches on.
#[derive(Clone)]
pub struct BatchQueue(UnboundedSender<BoxFuture<'static, ()>>);

/// The other end of a request's [`BatchQueue`]: what [`drive`] runs.
pub struct Batches(UnboundedReceiver<BoxFuture<'static, ()>>);

/// A new queue and its batches.
pub fn queue() -> (BatchQueue, Batches) {
    let (sender, receiver) = unbounded_channel();
    (BatchQueue(sender), Batches(receiver))
}

impl BatchQueue {
    /// Queues a loader's batch (the loaders' spawner).
    pub fn spawn(&self, batch: BoxFuture<'static, ()>) {
        // The receiver lives as long as the request's execution, which is what waits on the
        // batch; once it is gone nobody waits, and the batch may be dropped.
        let _ = self.0.send(batch);
    }
}

/// Runs `execution` (a request's) with its loaders' `batches`: the execution is polled until
/// it waits, then every queued batch, then the execution again.
pub async fn drive<F: Future>(batches: Batches, execution: F) -> F::Output {
    let mut execution = pin!(execution);
    let mut queued = batches.0;
    let mut running = FuturesUnordered::new();
    std::future::poll_fn(move |cx| {
        loop {
            if let Poll::Ready(output) = execution.as_mut().poll(cx) {
                return Poll::Ready(output);
            }
            // Batches are queued only while the execution is polled, just above, so the queue
            // is drained without registering for wake-ups.
            while let Ok(batch) = queued.try_recv() {
                running.push(batch);
            }
            if running.is_empty() {
                return Poll::Pending;
            }
            let mut finished = false;
            while let Poll::Ready(Some(())) = running.poll_next_unpin(cx) {
                finished = true;
            }
            // A finished batch has answered resolvers that may now ask for the next round.
            if !finished {
                return Poll::Pending;
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use async_graphql::dataloader::{DataLoader, Loader};

    use super::*;

    struct Counting(Arc<AtomicUsize>);

    impl Loader<u32> for Counting {
        type Value = u32;
        type Error = String;

        async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, u32>, String> {
            self.0.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok(keys.iter().map(|k| (*k, k * 2)).collect())
        }
    }

    fn loader(calls: &Arc<AtomicUsize>, queue: &BatchQueue) -> DataLoader<Counting> {
        let queue = queue.clone();
        DataLoader::new(Counting(calls.clone()), move |batch| queue.spawn(batch))
            .delay(Duration::ZERO)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sibling_loads_of_a_round_share_one_batch_on_a_multi_threaded_runtime() {
        for _ in 0..50 {
            let calls = Arc::new(AtomicUsize::new(0));
            let (queue, batches) = queue();
            let loader = loader(&calls, &queue);
            let loads = (0..40).map(|k| loader.load_one(k));
            let values = drive(batches, futures_util::future::join_all(loads)).await;
            assert_eq!(values[7], Ok(Some(14)));
            assert_eq!(
                calls.load(Ordering::SeqCst),
                1,
                "one batch for 40 sibling loads"
            );
        }
    }

    #[tokio::test]
    async fn rounds_that_depend_on_each_other_are_one_batch_each() {
        let calls = Arc::new(AtomicUsize::new(0));
        let (queue, batches) = queue();
        let loader = loader(&calls, &queue);
        let nested = (0..10).map(|k| {
            let loader = &loader;
            async move {
                let first = loader.load_one(k).await.unwrap().unwrap();
                loader.load_one(first + 1000).await.unwrap().unwrap()
            }
        });
        let values = drive(batches, futures_util::future::join_all(nested)).await;
        assert_eq!(values[3], 2012);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "one batch per round");
    }
}
