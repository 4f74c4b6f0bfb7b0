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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// Polls of requests' executions, and rounds of batches run, since the process started: read
/// around one request, they say how many passes over the tree it took (the benchmark prints
/// them; `drive` logs each request's at debug level).
static EXECUTION_POLLS: AtomicU64 = AtomicU64::new(0);
static BATCH_ROUNDS: AtomicU64 = AtomicU64::new(0);

/// How many times executions were polled, and batch rounds run, in this process so far.
pub fn drive_counts() -> (u64, u64) {
    (
        EXECUTION_POLLS.load(Ordering::Relaxed),
        BATCH_ROUNDS.load(Ordering::Relaxed),
    )
}

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
        // Each batch is one loader's statement: a span of its own, in the operation's.
        let batch = Box::pin(tracing::Instrument::instrument(
            batch,
            tracing::info_span!("sql.batch"),
        ));
        // The receiver lives as long as the request's execution, which is what waits on the
        // batch; once it is gone nobody waits, and the batch may be dropped.
        let _ = self.0.send(batch);
    }
}

/// Runs `execution` (a request's) with its loaders' `batches`: the execution is polled until
/// it waits on nothing but batches, then every queued batch, then the execution again.
///
/// "Waits on nothing but batches" matters: a `FuturesUnordered` (async-graphql resolves lists
/// and objects with them) stops early and wakes itself when two of its futures did, leaving
/// the rest of a round unpolled. So an execution that woke itself is let go round again, by
/// the runtime, before any batch runs: a batch then holds every key of its round.
pub async fn drive<F: Future>(batches: Batches, execution: F) -> F::Output {
    let (output, counts) = drive_counted(batches, execution).await;
    EXECUTION_POLLS.fetch_add(counts.polls, Ordering::Relaxed);
    BATCH_ROUNDS.fetch_add(counts.rounds, Ordering::Relaxed);
    tracing::debug!(
        polls = counts.polls,
        rounds = counts.rounds,
        "request executed"
    );
    output
}

/// How one execution went: polls of the execution (passes over its tree), rounds of batches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct DriveCounts {
    polls: u64,
    rounds: u64,
}

/// [`drive`], counting.
async fn drive_counted<F: Future>(batches: Batches, execution: F) -> (F::Output, DriveCounts) {
    let mut execution = pin!(execution);
    let mut queued = batches.0;
    let mut running = FuturesUnordered::new();
    let mut flag: Option<(Arc<Flag>, Waker)> = None;
    let mut counts = DriveCounts::default();
    std::future::poll_fn(move |cx| {
        loop {
            let (flag, waker) = flag.get_or_insert_with(|| Flag::new(cx.waker()));
            flag.arm(cx.waker());
            counts.polls += 1;
            if let Poll::Ready(output) = execution.as_mut().poll(&mut Context::from_waker(waker)) {
                return Poll::Ready((output, counts));
            }
            if flag.woken.load(Ordering::Acquire) {
                // Already woken: the runtime polls again, and the round goes on first.
                return Poll::Pending;
            }
            // Batches are queued only while the execution is polled, just above, so the queue
            // is drained without registering for wake-ups.
            let before = running.len();
            while let Ok(batch) = queued.try_recv() {
                running.push(batch);
            }
            if running.len() > before {
                counts.rounds += 1;
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

/// The waker the execution is polled with: it wakes the request's task and notes that the
/// execution asked to be polled again.
struct Flag {
    woken: AtomicBool,
    task: Mutex<Waker>,
}

impl Flag {
    fn new(task: &Waker) -> (Arc<Self>, Waker) {
        let flag = Arc::new(Self {
            woken: AtomicBool::new(false),
            task: Mutex::new(task.clone()),
        });
        let waker = Waker::from(flag.clone());
        (flag, waker)
    }

    /// Clears the note before a poll, following the task's current waker.
    fn arm(&self, task: &Waker) {
        self.woken.store(false, Ordering::Release);
        let mut current = self
            .task
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if !current.will_wake(task) {
            *current = task.clone();
        }
    }
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .wake_by_ref();
    }
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

    #[tokio::test]
    async fn an_execution_is_counted_by_its_polls_and_its_rounds_of_batches() {
        let calls = Arc::new(AtomicUsize::new(0));
        let (queue, batches) = queue();
        let loader = loader(&calls, &queue);
        // Two rounds: the second round's keys come from the first's answers.
        let execution = async {
            let first = futures_util::future::join_all((0..10).map(|k| loader.load_one(k))).await;
            let next = first.into_iter().map(|v| v.unwrap().unwrap());
            futures_util::future::join_all(next.map(|k| loader.load_one(k))).await
        };
        let (values, counts) = drive_counted(batches, execution).await;
        assert_eq!(values[3], Ok(Some(12)));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(counts.rounds, 2);
        assert!(counts.polls >= 3, "{counts:?}");
        let (before, _) = drive_counts();
        let (_, batches) = super::queue();
        drive(batches, async {}).await;
        assert!(drive_counts().0 > before);
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loads_under_nested_unordered_sets_that_yield_early_share_one_batch() {
        let calls = Arc::new(AtomicUsize::new(0));
        let (queue, batches) = queue();
        let loader = loader(&calls, &queue);
        // Each item's own set wakes itself after polling all it holds, so the outer set stops
        // after two of them, as async-graphql's nested lists do.
        let outer: FuturesUnordered<_> = (0..50u32)
            .map(|k| {
                let loader = &loader;
                async move {
                    let inner: FuturesUnordered<_> =
                        (0..3).map(|j| loader.load_one(k * 10 + j)).collect();
                    inner.collect::<Vec<_>>().await
                }
            })
            .collect();
        let values: Vec<_> = drive(batches, outer.collect::<Vec<_>>()).await;
        assert_eq!(values.len(), 50);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "one batch for 150 loads of one round"
        );
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
