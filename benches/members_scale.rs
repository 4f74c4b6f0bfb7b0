//! The Users tab at scale: seeds one organization with 100,000 members (set
//! CHARTER_BENCH_MEMBERS to change it) and prints the time of a 50-member page for each sort
//! order and filter, first page and a page deep in the list. SQLite in a temporary directory by
//! default; PostgreSQL when DATABASE_URL names a server (a database of its own is created and
//! dropped).
//!
//! Run with `cargo bench --bench members_scale`. It prints figures; it asserts nothing on time.

use std::time::Instant;

use charter::authz::Policy;
use charter::services::organization::memberships::{self, MemberOrderField, MemberQuery};
use charter::services::store::records;
use chrono::Utc;
use entity::{membership, organization, user};
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

mod support;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let members: usize = std::env::var("CHARTER_BENCH_MEMBERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let bench_db = support::BenchDatabase::new(dir.path()).await?;
    let db = charter::db::connect(&bench_db.settings).await?;
    charter::db::migrate(&db).await?;
    let policy = Policy::built_in();
    charter::services::organization::roles::sync_predefined(&db, &policy).await?;
    let backend = bench_db.backend();

    let org = Uuid::now_v7();
    organization::Entity::insert(organization::ActiveModel {
        id: Set(org),
        public_id: Set("ORG-BENC-HMRK".to_owned()),
        name: Set("Bench".to_owned()),
        seats: Set(1_000_000),
        free_read_only_seats: Set(true),
        features: Set("[]".to_owned()),
        created_at: Set(Utc::now()),
        mfa_required: Set(false),
        scim_default_role_id: Set(None),
    })
    .exec(&db)
    .await?;
    let roles: Vec<Uuid> = policy.roles().iter().map(|role| role.id).collect();
    let seeding = Instant::now();
    let mut users = Vec::with_capacity(1000);
    let mut links = Vec::with_capacity(1000);
    for n in 0..members {
        // Names and emails in an order unrelated to the joining order.
        let scrambled = (n * 7919) % members;
        let id = Uuid::now_v7();
        let email = format!("person{scrambled:06}@example.com");
        let model = user::Model {
            id,
            email: email.clone(),
            email_lower: email.clone(),
            display_name: format!("Person {:06}", (n * 104_729) % members),
            password_hash: None,
            default_organization_id: None,
            status: "active".to_owned(),
            is_operator: false,
            created_at: Utc::now(),
            kind: "human".to_owned(),
            mfa_enabled: false,
        };
        let role = &policy.roles()[n % roles.len()];
        links.push(records::new_membership(
            &model, org, role.id, &role.name, None,
        ));
        users.push(user::ActiveModel {
            id: Set(id),
            email: Set(email.clone()),
            email_lower: Set(email),
            display_name: Set(format!("Person {:06}", (n * 104_729) % members)),
            password_hash: Set(None),
            default_organization_id: Set(None),
            status: Set("active".to_owned()),
            is_operator: Set(false),
            created_at: Set(Utc::now()),
            kind: Set("human".to_owned()),
            mfa_enabled: Set(false),
        });
        if users.len() == 1000 || n + 1 == members {
            user::Entity::insert_many(std::mem::take(&mut users))
                .exec(&db)
                .await?;
            membership::Entity::insert_many(std::mem::take(&mut links))
                .exec(&db)
                .await?;
        }
    }
    db.execute_unprepared("ANALYZE").await?;
    println!(
        "{backend}: seeded {members} members in one organization in {:.1?}",
        seeding.elapsed()
    );

    let standard = policy.role_by_key("standard_user").map(|role| role.id);
    let cases: Vec<(&str, MemberQuery)> = vec![
        ("joined, oldest first", MemberQuery::first_page(50)),
        (
            "joined, newest first",
            MemberQuery {
                descending: true,
                ..MemberQuery::first_page(50)
            },
        ),
        (
            "email",
            MemberQuery {
                order: MemberOrderField::Email,
                ..MemberQuery::first_page(50)
            },
        ),
        (
            "display name, descending",
            MemberQuery {
                order: MemberOrderField::DisplayName,
                descending: true,
                ..MemberQuery::first_page(50)
            },
        ),
        (
            "role name",
            MemberQuery {
                order: MemberOrderField::Role,
                ..MemberQuery::first_page(50)
            },
        ),
        (
            "filter role = Standard User",
            MemberQuery {
                role: standard,
                ..MemberQuery::first_page(50)
            },
        ),
        (
            "filter text \"person0012\"",
            MemberQuery {
                search: Some("person0012".to_owned()),
                ..MemberQuery::first_page(50)
            },
        ),
    ];
    for (name, query) in cases {
        for depth in ["first page", "page in the middle"] {
            let mut query = query.clone();
            if depth != "first page" {
                // Walk to the middle once (not timed), then time the page from there.
                let mut skip = query.clone();
                skip.first = 100;
                let mut walked = 0;
                while walked < members / 2 {
                    let pages = memberships::pages_for_organizations(&db, &[(org, skip.clone())])
                        .await
                        .map_err(|e| anyhow::anyhow!(e.message))?;
                    let page = pages
                        .into_values()
                        .next()
                        .unwrap_or_else(charter::services::Page::empty);
                    let Some(last) = page.items.last() else { break };
                    skip.after = Some((last.sort_value.clone(), last.membership.id));
                    walked += page.items.len();
                    if !page.has_next_page {
                        break;
                    }
                }
                query.after = skip.after.clone();
            }
            let mut times = Vec::new();
            let mut found = 0;
            for _ in 0..5 {
                let started = Instant::now();
                let pages = memberships::pages_for_organizations(&db, &[(org, query.clone())])
                    .await
                    .map_err(|e| anyhow::anyhow!(e.message))?;
                times.push(started.elapsed());
                found = pages.values().next().map(|p| p.items.len()).unwrap_or(0);
            }
            times.sort();
            println!(
                "{backend}: page of 50, {name}, {depth}: median {:.2?} (min {:.2?}, max {:.2?}), {found} members",
                times[2], times[0], times[4]
            );
            if query.search.is_some() || query.role.is_some() {
                break;
            }
        }
    }
    bench_db.finish(db).await?;
    Ok(())
}
