//! Webhooks from the audit log: the room that turns recorded events into deliveries and
//! sends them.
//!
//! **The outbox is the audit log.** An organization's events join its hash chain in the
//! transaction of the change they record (the one write path), and each endpoint keeps a
//! cursor into that chain: every event past the cursor is due. A rolled-back change left no
//! event, so nothing is sent; a committed one is in the log, so it is never lost, whatever
//! happens to the process next. Appending to a chain locks its head until commit, so a chain's
//! events become visible in sequence order and a cursor never steps over one still to commit.
//! Nothing is added to the write path: a change costs what it cost before.
//!
//! [`fanout`] moves each endpoint's cursor, writing a delivery per matching event; [`worker`]
//! claims due deliveries under a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several
//! processes share the work and never send one attempt twice), signs them (Standard Webhooks,
//! [`crate::webhooks::signature`]), sends them through the outbound guard and schedules the
//! next attempt ([`schedule`]); [`checkpoints`] signs the chains' heads.

pub mod checkpoints;
pub mod events;
pub mod fanout;
pub mod payload;
pub mod schedule;
pub mod worker;

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, SubsecRound, Utc};
use uuid::Uuid;

use crate::config::Settings;
use crate::outbound::Outbound;

/// What delivery needs beside the database: the guarded client, the clock, and this process's
/// name on the leases it takes.
pub struct Runtime {
    pub(crate) outbound: Outbound,
    pub clock: Clock,
    pub(crate) process: Uuid,
    /// When this process last signed checkpoints (by the clock).
    pub(crate) last_checkpoints: std::sync::Mutex<Option<DateTime<Utc>>>,
}

impl Runtime {
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let outbound = crate::config::OutboundSettings {
            allow: settings.outbound.allow.clone(),
            timeout: settings.webhooks.timeout,
        };
        Ok(Self {
            outbound: Outbound::new(&outbound, settings.webhooks.allow_http)?,
            clock: Clock::default(),
            process: Uuid::new_v4(),
            last_checkpoints: std::sync::Mutex::new(None),
        })
    }
}

/// The time deliveries are scheduled by: the system's, moved forward by tests to see retries
/// hours apart without waiting for them.
#[derive(Debug, Default)]
pub struct Clock {
    ahead_ms: AtomicI64,
}

impl Clock {
    /// Now, at the microsecond precision both databases keep.
    pub fn now(&self) -> DateTime<Utc> {
        (Utc::now() + chrono::Duration::milliseconds(self.ahead_ms.load(Ordering::Relaxed)))
            .trunc_subsecs(6)
    }

    /// Moves the clock forward by `by` (tests).
    #[doc(hidden)]
    pub fn advance(&self, by: chrono::Duration) {
        self.ahead_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }
}

/// An endpoint's URL as the audit log shows it: without its query, which may carry a token.
pub fn shown_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => format!("{}{}", parsed.origin().ascii_serialization(), parsed.path()),
        Err(_) => "(unparsable URL)".to_owned(),
    }
}
