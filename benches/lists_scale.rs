//! Lists at scale: seeds one list with 1,000,000 entries (set CHARTER_BENCH_ENTRIES to change
//! it) and prints the time of a 50-entry page at its start, in its middle and for a prefix
//! search, of adding 10,000 values in one call, and of reading the whole list the way the text
//! export does. SQLite in a temporary directory by default; PostgreSQL when DATABASE_URL names
//! a server (a database of its own is created and dropped).
//!
//! Run with `cargo bench --bench lists_scale`. It prints figures; it asserts nothing on time.

use std::time::{Duration, Instant};

use charter::authz::require::{LIST_CREATE, LIST_EDIT};
use charter::domain::ListKind;
use charter::services::audit::Actor;
use charter::services::organization::lists::{self, EntryQuery, NewEntry};
use charter::services::store::access::Viewer;
use charter::services::store::scope::OrgScope;
use chrono::Utc;
use entity::list_entry;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

mod support;

/// The n-th value of the seeded list: an IPv4 address, so values sort as their text.
fn address(n: u32) -> String {
    let [a, b, c, d] = (0x0A00_0000u32 + n).to_be_bytes();
    format!("{a}.{b}.{c}.{d}")
}

async fn timed<T, F: std::future::Future<Output = T>>(
    runs: usize,
    mut run: impl FnMut() -> F,
) -> (Duration, Duration, Duration, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        last = Some(run().await);
        times.push(started.elapsed());
    }
    times.sort();
    (
        times[runs / 2],
        times[0],
        times[runs - 1],
        last.expect("at least one run"),
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let entries: u32 = std::env::var("CHARTER_BENCH_ENTRIES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let bench_db = support::BenchDatabase::new(dir.path()).await?;
    let app = charter::build(bench_db.settings.clone()).await?;
    let db = app.state.database().clone();
    let backend = bench_db.backend();
    let (owner, org) = charter::services::bootstrap::bootstrap(
        &app.state,
        "owner@example.com",
        "Acme",
        "a-long-bench-passphrase",
    )
    .await
    .map_err(|e| anyhow::anyhow!(e.message))?;
    let policy = &app.state.policy;
    let create = OrgScope::enter(
        &db,
        policy,
        &Viewer::user(owner.id),
        "organization",
        org.id,
        LIST_CREATE,
    )
    .await
    .map_err(|e| anyhow::anyhow!(e.message))?
    .change_as(Actor::command_line());
    let list = lists::create(&create, "Large", ListKind::Ip, None)
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    let read = lists::open(&app.state, &Viewer::user(owner.id), list.id)
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?
        .read;

    let seeding = Instant::now();
    let now = Utc::now();
    let mut n = 0;
    while n < entries {
        let batch: Vec<list_entry::ActiveModel> = (n..(n + 1000).min(entries))
            .map(|i| list_entry::ActiveModel {
                list_id: Set(list.id),
                value: Set(address(i)),
                note: Set(None),
                added_by: Set(Some(owner.id)),
                added_at: Set(now),
            })
            .collect();
        n += batch.len() as u32;
        list_entry::Entity::insert_many(batch).exec(&db).await?;
        if n % 200_000 == 0 {
            eprintln!("seeded {n} entries ({:.0?})", seeding.elapsed());
        }
    }
    db.execute_unprepared(&format!(
        "UPDATE lists SET entry_count = {entries} WHERE id = '{}'",
        list.id
    ))
    .await?;
    db.execute_unprepared(if bench_db.is_postgres() {
        "ANALYZE list_entries"
    } else {
        "ANALYZE"
    })
    .await?;
    println!(
        "{backend}: seeded {entries} entries in one list in {:.1?}",
        seeding.elapsed()
    );

    let middle = address(entries / 2);
    let cases: Vec<(&str, EntryQuery)> = vec![
        (
            "first page",
            EntryQuery {
                first: 50,
                after: None,
                prefix: None,
            },
        ),
        (
            "page in the middle (cursor at the 500,000th value)",
            EntryQuery {
                first: 50,
                after: Some(middle),
                prefix: None,
            },
        ),
        (
            "prefix search (\"10.7.\")",
            EntryQuery {
                first: 50,
                after: None,
                prefix: Some("10.7.".to_owned()),
            },
        ),
        (
            "prefix search, no match (\"9.\")",
            EntryQuery {
                first: 50,
                after: None,
                prefix: Some("9.".to_owned()),
            },
        ),
    ];
    for (name, query) in cases {
        let key = [read.entries(query)];
        let (median, min, max, pages) = timed(7, || lists::entry_pages(&app.state, &key)).await;
        let found = pages
            .map_err(|e| anyhow::anyhow!(e.message))?
            .into_values()
            .next()
            .map(|p| p.items.len())
            .unwrap_or(0);
        println!(
            "{backend}: page of 50 of {entries}, {name}: median {median:.2?} (min {min:.2?}, max {max:.2?}), {found} entries"
        );
    }
    let (median, min, max, count) =
        timed(3, || lists::count_prefix(&app.state, &read, "10.7.")).await;
    println!(
        "{backend}: totalCount of a prefix search (\"10.7.\", {} entries): median {median:.2?} (min {min:.2?}, max {max:.2?})",
        count.map_err(|e| anyhow::anyhow!(e.message))?
    );

    // One call adding 10,000 values, half of them already present.
    let batch: Vec<NewEntry> = (0..10_000)
        .map(|i| NewEntry {
            value: if i % 2 == 0 {
                address(i)
            } else {
                format!("172.16.{}.{}", i / 256, i % 256)
            },
            note: None,
        })
        .collect();
    let edit = OrgScope::enter(
        &db,
        policy,
        &Viewer::user(owner.id),
        "organization",
        org.id,
        LIST_EDIT,
    )
    .await
    .map_err(|e| anyhow::anyhow!(e.message))?
    .change_as(Actor::command_line());
    let started = Instant::now();
    let (_, change) = lists::add_entries(&edit, list.id, batch)
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    println!(
        "{backend}: addListEntries of 10,000 values into {entries} ({} added, {} skipped): {:.2?}",
        change.changed,
        change.skipped,
        started.elapsed()
    );

    // The text export's walk: pages of 1,000 in value order.
    let started = Instant::now();
    let mut after: Option<String> = None;
    let mut walked = 0usize;
    loop {
        let page = lists::entries_after(&app.state, &read, after.as_deref(), 1000)
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
        walked += page.len();
        match page.last() {
            Some(last) if page.len() == 1000 => after = Some(last.value.clone()),
            _ => break,
        }
    }
    println!(
        "{backend}: reading all {walked} entries as the export does: {:.1?}",
        started.elapsed()
    );

    bench_db.finish(db).await?;
    Ok(())
}
