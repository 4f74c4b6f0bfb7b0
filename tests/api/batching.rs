//! The number of SQL statements a query sends depends on its shape, never on how many
//! organizations or members it returns.

use chrono::Utc;
use entity::{membership, user};
use sea_orm::{EntityTrait, Set};
use uuid::Uuid;

use crate::helpers::TestApp;

const NESTED: &str = "{ viewer { memberships(first: 50) { edges { node { organization { members(first: 20) { edges { node { user { email } role { key } } } } } } } } } }";

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
                    kind: Set("human".to_owned()),
                    mfa_enabled: Set(false),
                }
            })
            .collect();
        let models: Vec<user::Model> = users
            .iter()
            .map(|u| sea_orm::TryIntoModel::try_into_model(u.clone()).unwrap())
            .collect();
        if !users.is_empty() {
            user::Entity::insert_many(users)
                .exec(app.state.database())
                .await
                .unwrap();
            let memberships = models.iter().map(|user| {
                charter::services::store::records::new_membership(
                    user,
                    org.id,
                    role,
                    "Standard User",
                    Some(viewer.id),
                )
            });
            membership::Entity::insert_many(memberships)
                .exec(app.state.database())
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
async fn nested_members_cost_the_same_statements_for_1_20_or_50_organizations_of_1_or_50_members() {
    let small = statements_for(1, 1).await;
    let wide = statements_for(20, 1).await;
    let deep = statements_for(1, 50).await;
    let large = statements_for(20, 50).await;
    // More than 30 organizations: async-graphql resolves such a list with an unordered set
    // that stops early and wakes itself, which batching must wait out.
    let wider = statements_for(50, 1).await;
    assert_eq!(
        [small, wide, deep, large, wider],
        [small; 5],
        "statements for (1,1), (20,1), (1,50), (20,50), (50,1)"
    );
}

/// The shared lists of an organization (`ORG`) with their owners and first entries.
const SHARED: &str = "{ organization(id: \"ORG\") { sharedLists(first: 50) { edges { node { name owner { name } entries(first: 10) { edges { node { value } } } } } } } }";

/// `lists` shared lists of 12 entries each, spread over five owner organizations that all
/// picked the viewer's organization as a partner: the statements of one query for them all.
async fn shared_list_statements(lists: usize) -> usize {
    use charter::authz::require;
    use charter::services::organization::lists as list_service;
    let app = TestApp::spawn().await;
    let viewer = app.create_user("viewer@example.com").await;
    let receiver = app.create_org(&viewer, "Receiver").await;
    let mut owners = Vec::new();
    for o in 0..5 {
        let owner = app.create_user(&format!("owner{o}@example.com")).await;
        let org = app.create_org(&owner, &format!("Owner {o}")).await;
        let share = app
            .change_in(owner.id, org.id, require::LIST_SHARING_MANAGE)
            .await;
        list_service::add_partner(&share, &receiver.clone().into())
            .await
            .unwrap();
        owners.push((owner.id, org.id, share));
    }
    for l in 0..lists {
        let (owner, org, share) = &owners[l % owners.len()];
        let create = app.change_in(*owner, *org, require::LIST_CREATE).await;
        let list = list_service::create(
            &create,
            &format!("List {l}"),
            charter::domain::ListKind::Ip,
            None,
        )
        .await
        .unwrap();
        let entries = (0..12)
            .map(|e| list_service::NewEntry {
                value: format!("192.0.{l}.{e}"),
                note: None,
            })
            .collect();
        let edit = app.change_in(*owner, *org, require::LIST_EDIT).await;
        list_service::add_entries(&edit, list.id, entries)
            .await
            .unwrap();
        list_service::set_shared(share, list.id, true)
            .await
            .unwrap();
    }
    let token = app.login("viewer@example.com").await.access_token;
    let query = SHARED.replace("ORG", &crate::helpers::org_id(&receiver));
    let (body, count) = app.count_statements(&token, &query).await;
    assert!(body["errors"].is_null(), "{body}");
    let edges = body["data"]["organization"]["sharedLists"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(edges.len(), lists);
    for edge in edges {
        assert!(
            edge["node"]["owner"]["name"]
                .as_str()
                .unwrap()
                .starts_with("Owner ")
        );
        assert_eq!(
            edge["node"]["entries"]["edges"].as_array().unwrap().len(),
            10
        );
    }
    println!("{lists} shared list(s) with owners and 10 entries each: {count} statements");
    count
}

#[tokio::test]
async fn shared_lists_with_owners_and_entries_cost_the_same_statements_for_2_or_50() {
    let two = shared_list_statements(2).await;
    let fifty = shared_list_statements(50).await;
    assert_eq!(two, fifty, "statements for 2 and for 50 shared lists");
}
