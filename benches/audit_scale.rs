//! Audit log pages at scale: seeds one organization with 1,000,000 chained events (set
//! CHARTER_BENCH_EVENTS to change it) and prints the time of a 50-event page for each filter.
//! SQLite in a temporary directory by default; PostgreSQL when DATABASE_URL names a server
//! (a database of its own is created and dropped).
//!
//! Run with `cargo bench --bench audit_scale`. It prints figures; it asserts nothing on time.

use std::time::{Duration, Instant};

use charter::services::audit::{self, EventPage, Filter, GENESIS, Scope};
use chrono::{TimeZone, Utc};
use entity::audit_event;
use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;

mod support;

const ACTIONS: [&str; 5] = [
    "member.added",
    "role.created",
    "role.updated",
    "organization.updated",
    "list.entries_added",
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let events: i64 = std::env::var("CHARTER_BENCH_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let bench_db = support::BenchDatabase::new(dir.path()).await?;
    let app = charter::build(bench_db.settings.clone()).await?;
    let db = app.state.database().clone();
    let backend = bench_db.backend();

    let org = Uuid::now_v7();
    let chain = Scope::Organization(org).chain();
    let actors: Vec<Uuid> = (0..20).map(|_| Uuid::now_v7()).collect();
    let start = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let seeding = Instant::now();
    let mut prev = GENESIS.to_owned();
    let mut batch = Vec::with_capacity(1000);
    for seq in 1..=events {
        let actor = actors[(seq as usize) % actors.len()];
        let action = ACTIONS[(seq as usize * 7) % ACTIONS.len()];
        let mut event = audit_event::Model {
            id: Uuid::now_v7(),
            chain: chain.clone(),
            seq,
            organization_id: Some(org),
            subject_user_id: None,
            actor_id: Some(actor),
            actor_email: Some(format!("user{}@example.com", (seq as usize) % actors.len())),
            ip: Some("10.0.0.1".to_owned()),
            user_agent: Some("bench".to_owned()),
            at: start + chrono::Duration::seconds(seq * 30),
            action: action.to_owned(),
            target_type: Some("role".to_owned()),
            target_id: Some(Uuid::now_v7().to_string()),
            description: format!(
                "user{} changed item {seq} ({action})",
                (seq as usize) % actors.len()
            ),
            payload: format!("{{\"after\":{{\"n\":{seq}}}}}"),
            prev_hash: prev.clone(),
            hash: String::new(),
            actor_api_key_id: None,
            trace_parent: None,
        };
        event.hash = audit::hash_of(&event);
        prev = event.hash.clone();
        batch.push(audit_event::ActiveModel::from(event));
        if batch.len() == 1000 || seq == events {
            audit_event::Entity::insert_many(std::mem::take(&mut batch))
                .exec(&db)
                .await?;
        }
        if seq % 200_000 == 0 {
            eprintln!("seeded {seq} events ({:.0?})", seeding.elapsed());
        }
    }
    entity::audit_head::Entity::insert(entity::audit_head::ActiveModel {
        chain: sea_orm::Set(chain.clone()),
        seq: sea_orm::Set(events),
        hash: sea_orm::Set(prev),
    })
    .exec(&db)
    .await?;
    if bench_db.is_postgres() {
        db.execute_unprepared("ANALYZE audit_events").await?;
    } else {
        db.execute_unprepared("ANALYZE").await?;
    }
    println!(
        "{backend}: seeded {events} events in one organization in {:.1?}",
        seeding.elapsed()
    );

    let middle = start + chrono::Duration::seconds(events / 2 * 30);
    let cases: Vec<(&str, Filter)> = vec![
        ("newest 50, no filter", Filter::default()),
        (
            "time range in the middle of the log (one day)",
            Filter {
                from: Some(middle),
                to: Some(middle + chrono::Duration::days(1)),
                ..Default::default()
            },
        ),
        (
            "action = role.created",
            Filter {
                action: Some("role.created".to_owned()),
                ..Default::default()
            },
        ),
        (
            "actor = one of 20 users",
            Filter {
                actor_id: Some(actors[3]),
                ..Default::default()
            },
        ),
        (
            "text search, common word (\"changed\")",
            Filter {
                search: Some("changed".to_owned()),
                ..Default::default()
            },
        ),
        (
            "text search, one event in the oldest tenth",
            Filter {
                search: Some(format!("item {} (", events / 20)),
                ..Default::default()
            },
        ),
        (
            "text search, about 100 events (\"item 4242\")",
            Filter {
                search: Some("item 4242".to_owned()),
                ..Default::default()
            },
        ),
        (
            "text search, no event matches",
            Filter {
                search: Some("no such term".to_owned()),
                ..Default::default()
            },
        ),
        (
            "text search and action (\"item 4242\", role.created)",
            Filter {
                search: Some("item 4242".to_owned()),
                action: Some("role.created".to_owned()),
                ..Default::default()
            },
        ),
        (
            "text search, two characters (\"r7\", scanned)",
            Filter {
                search: Some("r7".to_owned()),
                ..Default::default()
            },
        ),
    ];
    for (name, filter) in cases {
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..5 {
            let started = Instant::now();
            let page = audit::page(
                &db,
                Scope::Organization(org),
                &filter,
                EventPage {
                    first: 50,
                    before_seq: None,
                },
            )
            .await
            .map_err(|err| anyhow::anyhow!(err.message))?;
            times.push(started.elapsed());
            found = page.items.len();
        }
        times.sort();
        println!(
            "{backend}: page of 50, {name}: median {:.2?} (min {:.2?}, max {:.2?}), {found} events",
            times[2], times[0], times[4]
        );
    }
    let verifying = Instant::now();
    let (checked, broken) = audit::verify(&app.state, Some(&chain))
        .await
        .map_err(|err| anyhow::anyhow!(err.message))?;
    println!(
        "{backend}: verified {checked} events in {:.1?} ({} broken chain)",
        verifying.elapsed(),
        broken.len()
    );

    bench_db.finish(db).await?;
    let _ = Duration::ZERO;
    Ok(())
}
