//! Who holds a custom role: members and pending invitations keep it from being deleted, also
//! when the deletion races an assignment, on both databases.

use charter::graphql::ids::NodeId;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, error_code, org_id};

const DELETE: &str = "mutation($id: ID!) { deleteRole(id: $id) }";
const ASSIGN: &str =
    "mutation($m: ID!, $r: ID!) { assignRole(input: {membershipId: $m, roleId: $r}) { id } }";

struct Fixture {
    app: TestApp,
    org: entity::organization::Model,
    token: String,
}

/// Alice owns Acme, licensed for custom roles.
async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    app.license_custom_roles(&org).await;
    let token = app.login("alice@example.com").await.access_token;
    Fixture { app, org, token }
}

async fn create_role(f: &Fixture, name: &str) -> String {
    let body = f
        .app
        .gql(
            Some(&f.token),
            "mutation($o: ID!, $n: String!) { createRole(input: {organizationId: $o, name: $n, grants: [{resource: \"list\", level: \"read\"}]}) { id } }",
            json!({ "o": org_id(&f.org), "n": name }),
        )
        .await;
    body["data"]["createRole"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a role: {body}"))
        .to_owned()
}

fn role_uuid(id: &str) -> Uuid {
    match NodeId::parse("id", &async_graphql::ID(id.to_owned())).unwrap() {
        NodeId::Role { role, .. } => role,
        other => panic!("not a role id: {other:?}"),
    }
}

async fn invite(f: &Fixture, email: &str, role: &str) -> Value {
    f.app
        .gql(
            Some(&f.token),
            "mutation($o: ID!, $e: String!, $r: ID!) { inviteMember(input: {organizationId: $o, email: $e, roleId: $r}) { id status } }",
            json!({ "o": org_id(&f.org), "e": email, "r": role }),
        )
        .await
}

#[tokio::test]
async fn a_role_held_by_a_pending_invitation_is_not_deleted_and_the_invitation_still_works() {
    let f = fixture().await;
    let role = create_role(&f, "Analyst").await;
    let body = invite(&f, "dan@example.com", &role).await;
    assert_eq!(body["data"]["inviteMember"]["status"], "PENDING", "{body}");

    let body = f
        .app
        .gql(Some(&f.token), DELETE, json!({ "id": role }))
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("0 member(s) and 1 pending invitation(s)"),
        "{message}"
    );

    let token = f.app.invitation_token("dan@example.com");
    let body = f
        .app
        .gql(
            None,
            "mutation($t: String!) { acceptInvitation(input: {token: $t, displayName: \"Dan\", password: \"lantern orbit mosaic\"}) { user { email } } }",
            json!({ "t": token }),
        )
        .await;
    assert_eq!(
        body["data"]["acceptInvitation"]["user"]["email"], "dan@example.com",
        "{body}"
    );
    let holders = entity::membership::Entity::find()
        .filter(entity::membership::Column::RoleId.eq(role_uuid(&role)))
        .count(f.app.state.database())
        .await
        .unwrap();
    assert_eq!(holders, 1, "dan joined with the role the invitation held");
}

#[tokio::test]
async fn a_role_whose_invitations_are_finished_is_deleted_with_them() {
    let f = fixture().await;
    let role = create_role(&f, "Analyst").await;
    let body = invite(&f, "dan@example.com", &role).await;
    let invitation = body["data"]["inviteMember"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = f
        .app
        .gql(
            Some(&f.token),
            "mutation($id: ID!) { revokeInvitation(id: $id) { status } }",
            json!({ "id": invitation }),
        )
        .await;
    assert_eq!(
        body["data"]["revokeInvitation"]["status"], "REVOKED",
        "{body}"
    );

    let body = f
        .app
        .gql(Some(&f.token), DELETE, json!({ "id": role }))
        .await;
    assert_eq!(body["data"]["deleteRole"], true, "{body}");
    let left = entity::invitation::Entity::find()
        .filter(entity::invitation::Column::RoleId.eq(role_uuid(&role)))
        .count(f.app.state.database())
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn the_database_refuses_an_invitation_to_a_role_that_does_not_exist() {
    let f = fixture().await;
    let now = chrono::Utc::now();
    let orphan = entity::invitation::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(f.org.id),
        email: Set("dan@example.com".into()),
        email_lower: Set("dan@example.com".into()),
        role_id: Set(Uuid::now_v7()),
        token_hash: Set("0".repeat(64)),
        status: Set("pending".into()),
        expires_at: Set(now + chrono::Duration::days(7)),
        invited_by: Set(None),
        created_at: Set(now),
        accepted_at: Set(None),
        accepted_by: Set(None),
        revoked_at: Set(None),
    };
    let err = orphan
        .insert(f.app.state.database())
        .await
        .expect_err("a foreign key refuses it");
    assert!(
        matches!(
            err.sql_err(),
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_))
        ),
        "{err}"
    );
}

#[tokio::test]
async fn deleting_a_role_while_it_is_being_assigned_never_fails_internally() {
    let f = fixture().await;
    let mut memberships = Vec::new();
    for n in 0..4 {
        let email = format!("member{n}@example.com");
        let user = f.app.create_user(&email).await;
        f.app.add_member(&user, &f.org, "standard_user").await;
        let membership = entity::membership::Entity::find()
            .filter(entity::membership::Column::UserId.eq(user.id))
            .one(f.app.state.database())
            .await
            .unwrap()
            .unwrap();
        memberships.push(NodeId::Membership(membership.id).to_id().0);
    }
    let standard = NodeId::Role {
        organization: f.org.id,
        role: f.app.state.policy.role_by_key("standard_user").unwrap().id,
    }
    .to_id()
    .0;

    for round in 0..6 {
        let role = create_role(&f, &format!("Racing {round}")).await;
        let delete = f.app.gql(Some(&f.token), DELETE, json!({ "id": role }));
        let assigns = futures_util::future::join_all(memberships.iter().map(|m| {
            f.app
                .gql(Some(&f.token), ASSIGN, json!({ "m": m, "r": role }))
        }));
        let (deleted, assigned) = tokio::join!(delete, assigns);

        let code = |body: &Value| {
            body["errors"][0]["extensions"]["code"]
                .as_str()
                .map(str::to_owned)
        };
        for body in std::iter::once(&deleted).chain(&assigned) {
            let code = code(body);
            assert!(
                matches!(code.as_deref(), None | Some("CONFLICT") | Some("NOT_FOUND")),
                "round {round}: {body}"
            );
        }
        let assigned_ok = assigned.iter().filter(|b| code(b).is_none()).count() as u64;
        let holding = entity::membership::Entity::find()
            .filter(entity::membership::Column::RoleId.eq(role_uuid(&role)))
            .count(f.app.state.database())
            .await
            .unwrap();
        let role_left = entity::role::Entity::find_by_id(role_uuid(&role))
            .one(f.app.state.database())
            .await
            .unwrap();
        if deleted["data"]["deleteRole"] == true {
            assert!(
                role_left.is_none(),
                "round {round}: deleted but still there"
            );
            assert_eq!(
                assigned_ok, 0,
                "round {round}: assigned a role that was deleted: {assigned:?}"
            );
        } else {
            assert!(
                role_left.is_some(),
                "round {round}: refused but gone: {deleted}"
            );
            assert!(
                assigned_ok > 0,
                "round {round}: refused with no holder: {deleted}"
            );
        }
        assert_eq!(
            holding, assigned_ok,
            "round {round}: holders and assignments disagree"
        );

        // Back to where the round started.
        for m in &memberships {
            let body = f
                .app
                .gql(Some(&f.token), ASSIGN, json!({ "m": m, "r": standard }))
                .await;
            assert!(body["errors"].is_null(), "{body}");
        }
    }
}

#[tokio::test]
async fn the_invitation_role_key_migration_keeps_live_invitations_and_drops_dead_ones() {
    use migration::MigratorTrait;
    let f = fixture().await;
    let alice_role = NodeId::Role {
        organization: f.org.id,
        role: f.app.state.policy.role_by_key("standard_user").unwrap().id,
    }
    .to_id()
    .0;
    let body = f
        .app
        .gql(
            Some(&f.token),
            "mutation($o: ID!, $r: ID!) { inviteMember(input: {organizationId: $o, email: \"live@example.com\", roleId: $r}) { id } }",
            json!({ "o": org_id(&f.org), "r": alice_role }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let db = f.app.state.database();
    // Back to the schema before the key (migration 7), where a role could vanish under an
    // invitation, undoing the migrations that came after it too.
    let after_it = migration::Migrator::migrations().len() as u32 - 6;
    migration::Migrator::down(db, Some(after_it)).await.unwrap();
    dangling_invitation(f.org.id, '0')
        .insert(db)
        .await
        .expect("without the key, a dangling role is accepted");
    migration::Migrator::up(db, None).await.unwrap();
    let left: Vec<String> = entity::invitation::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|invitation| invitation.email)
        .collect();
    assert_eq!(left, ["live@example.com"]);
    // The key is back: a dangling role is refused again.
    let again = dangling_invitation(f.org.id, '1').insert(db).await;
    assert!(again.is_err());
    // And the live invitation is still accepted.
    let token = f.app.invitation_token("live@example.com");
    let body = f
        .app
        .gql(
            None,
            "mutation($t: String!) { acceptInvitation(input: {token: $t, displayName: \"Live\", password: \"a-long-enough-password\"}) { user { email } } }",
            json!({ "t": token }),
        )
        .await;
    assert_eq!(
        body["data"]["acceptInvitation"]["user"]["email"], "live@example.com",
        "{body}"
    );
}

/// A pending invitation for dead@example.com whose role does not exist; `token` makes its
/// token hash unique.
fn dangling_invitation(organization_id: Uuid, token: char) -> entity::invitation::ActiveModel {
    let now = chrono::Utc::now();
    entity::invitation::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(organization_id),
        email: Set("dead@example.com".into()),
        email_lower: Set("dead@example.com".into()),
        role_id: Set(Uuid::now_v7()),
        token_hash: Set(token.to_string().repeat(64)),
        status: Set("pending".into()),
        expires_at: Set(now + chrono::Duration::days(7)),
        invited_by: Set(None),
        created_at: Set(now),
        accepted_at: Set(None),
        accepted_by: Set(None),
        revoked_at: Set(None),
    }
}
