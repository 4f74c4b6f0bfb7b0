//! Webhook delivery: how many deliveries per second one process makes to a receiver on loopback,
//! and what endpoints add to a mutation (the p50 of an organization rename with no endpoint and
//! with five). SQLite in a temporary directory by default; PostgreSQL when DATABASE_URL names a
//! server. Set CHARTER_BENCH_RENAMES to change the 200 renames per phase.
//!
//! Run with `cargo bench --bench webhooks`. It prints figures; it asserts nothing on time.

use std::time::{Duration, Instant};

use charter::authz::require;
use charter::domain::OrganizationName;
use charter::services::audit::Actor;
use charter::services::organization::{organizations, webhooks};
use charter::services::store::access::Viewer;
use charter::services::store::scope::{OrgChange, OrgScope};

mod support;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let renames: usize = std::env::var("CHARTER_BENCH_RENAMES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir()?;
    let bench_db = support::BenchDatabase::new(dir.path()).await?;
    let mut settings = bench_db.settings.clone();
    settings.webhooks.allow_http = true;
    settings.outbound.allow = vec!["127.0.0.1/32".parse()?];
    let app = charter::build(settings).await?;
    let state = &app.state;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(|| async { axum::http::StatusCode::NO_CONTENT }),
    );
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let owner = owner(state).await?;
    let name = OrganizationName::parse("name", "Bench").map_err(api)?;
    let org = organizations::create(state, &Actor::command_line(), owner, name)
        .await
        .map_err(api)?;
    let change = |requirement| async move {
        let scope = OrgScope::enter(
            state.database(),
            &state.policy,
            &Viewer::user(owner),
            "organization",
            org.id,
            requirement,
        )
        .await
        .map_err(api)?;
        anyhow::Ok(scope.change_as(Actor::command_line()))
    };
    let edit = change(require::ORGANIZATION_EDIT).await?;
    let manage = change(require::WEBHOOK_MANAGE).await?;

    let without = rename_p50(&edit, renames, "before").await?;
    for n in 0..5 {
        let spec = webhooks::EndpointSpec {
            url: Some(format!("{url}?n={n}")),
            events: Some(vec!["*".to_owned()]),
            ..Default::default()
        };
        webhooks::create(state, &manage, spec).await.map_err(api)?;
    }
    let with = rename_p50(&edit, renames, "after").await?;
    println!(
        "{}: rename p50 {:.3} ms with no endpoint, {:.3} ms with 5 endpoints ({} renames each)",
        bench_db.backend(),
        ms(without),
        ms(with),
        renames
    );

    let started = Instant::now();
    let attempts = charter::services::webhooks::worker::deliver_due(state)
        .await
        .map_err(api)?;
    let elapsed = started.elapsed();
    println!(
        "{}: {attempts} deliveries in {:.2} s: {:.0} deliveries/s (one process, 16 at a time, receiver on loopback)",
        bench_db.backend(),
        elapsed.as_secs_f64(),
        attempts as f64 / elapsed.as_secs_f64()
    );
    bench_db.finish(app.state.database().clone()).await
}

/// A person to own the organization.
async fn owner(state: &charter::services::AppState) -> anyhow::Result<uuid::Uuid> {
    let email = charter::domain::Email::parse("email", "owner@bench.example").map_err(api)?;
    let actor = Actor::command_line();
    let user = charter::services::store::scope::write(state.database(), &actor, async |txn| {
        let (user, created) =
            charter::services::identity::users::create(txn, &email, "owner".to_owned(), None)
                .await?;
        Ok((user, vec![created]))
    })
    .await
    .map_err(api)?;
    Ok(user.id)
}

/// The median time of `count` renames.
async fn rename_p50(change: &OrgChange, count: usize, tag: &str) -> anyhow::Result<Duration> {
    let mut times = Vec::with_capacity(count);
    for n in 0..count {
        let name = OrganizationName::parse("name", &format!("Bench {tag} {n}")).map_err(api)?;
        let started = Instant::now();
        organizations::rename(change, name).await.map_err(api)?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[count / 2])
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// A service error as a benchmark error.
fn api(err: charter::error::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{}", err.message)
}
