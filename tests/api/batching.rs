//! The number of SQL statements a query sends depends on its shape, never on how many
//! organizations or members it returns.

use chrono::Utc;
use entity::{membership, user};
use sea_orm::{EntityTrait, Set};
use uuid::Uuid;

use crate::helpers::TestApp;

const NESTED: &str = "{ viewer { memberships { edges { node { organization { members(first: 20) { edges { node { user { email } role { key } } } } } } } } } }";

/// A viewer owning `organizations` organizations of `members` members each (the viewer
/// included); returns the viewer's access token.
async fn seed(app: &TestApp, organizations: usize, members: usize) -> String {
    let viewer = app.create_user("viewer@example.com").await;
    let role = app.state.policy.role_by_key("standard_user").unwrap().id;
    for o in 0..organizations {
        let org = app.create_org(&viewer, &format!("Org {o}")).await;
        let now = Utc::now();
        let users: Vec<user::ActiveModel> = (1..members)
            .map(|m| {
                let email = format!("member{m}.org{o}@example.com");
                user::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    email: Set(email.clone()),
                    email_lower: Set(email),
                    display_name: Set(format!("Member {m}")),
                    password_hash: Set(None),
                    default_organization_id: Set(None),
                    status: Set("active".to_owned()),
                    is_operator: Set(false),
                    created_at: Set(now),
                }
            })
            .collect();
        let models: Vec<user::Model> = users
            .iter()
            .map(|u| sea_orm::TryIntoModel::try_into_model(u.clone()).unwrap())
            .collect();
        if !users.is_empty() {
            user::Entity::insert_many(users)
                .exec(&app.state.db)
                .await
                .unwrap();
            let memberships = models.iter().map(|user| {
                charter::services::memberships::new_membership(
                    user,
                    org.id,
                    role,
                    "Standard User",
                    Some(viewer.id),
                )
            });
            membership::Entity::insert_many(memberships)
                .exec(&app.state.db)
                .await
                .unwrap();
        }
    }
    app.login("viewer@example.com").await.access_token
}

async fn statements_for(organizations: usize, members: usize) -> usize {
    let app = TestApp::spawn().await;
    let token = seed(&app, organizations, members).await;
    let (body, count) = app.count_statements(&token, NESTED).await;
    assert!(body["errors"].is_null(), "{body}");
    let edges = body["data"]["viewer"]["memberships"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(edges.len(), organizations);
    for edge in edges {
        let members_page = edge["node"]["organization"]["members"]["edges"]
            .as_array()
            .unwrap();
        assert_eq!(members_page.len(), members.min(20));
        assert!(
            members_page
                .iter()
                .all(|m| m["node"]["user"]["email"].is_string())
        );
    }
    println!("{organizations} organization(s) x {members} member(s): {count} statements");
    count
}

#[tokio::test]
async fn nested_members_cost_the_same_statements_for_1_or_20_organizations_of_1_or_50_members() {
    let small = statements_for(1, 1).await;
    let wide = statements_for(20, 1).await;
    let deep = statements_for(1, 50).await;
    let large = statements_for(20, 50).await;
    assert_eq!(
        [small, wide, deep, large],
        [small; 4],
        "statements for (1,1), (20,1), (1,50), (20,50)"
    );
}
