//! First owners and demo data: the ways an empty Charter gets its first people.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entity::{organization, user};
use rand::RngCore;
use sea_orm::ActiveModelTrait;

use crate::auth::password;
use crate::authz::policy::PredefinedRole;
use crate::authz::{OrgAccess, require};
use crate::domain::{DisplayName, Email, ListKind, NewPassword, OrganizationName};
use crate::error::{ApiError, ApiResult};
use crate::services::audit::{Action, Actor, Event, Scope};
use crate::services::store::scope::{OrgChange, OrgScope, write, write_recording};
use crate::services::{AppState, identity::users, organization::organizations};

/// A random password for people who were not given one: 128 bits, URL-safe.
pub fn generate_password() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Creates a user and a new organization they own, in one transaction.
pub async fn bootstrap(
    state: &AppState,
    email: &str,
    organization_name: &str,
    password_text: &str,
) -> ApiResult<(user::Model, organization::Model)> {
    let email = Email::parse("email", email)?;
    let name = OrganizationName::parse("organization", organization_name)?;
    let password_text = NewPassword::parse("password", password_text)?;
    let display_name = email
        .as_str()
        .split('@')
        .next()
        .unwrap_or("owner")
        .to_owned();
    let display_name = DisplayName::parse("email", &display_name)?.into_inner();
    let hash = password::hash(password_text.into_inner()).await?;
    let actor = Actor::command_line();
    write(&state.db, &actor, async |txn| {
        let (user, created) = users::create(txn, &email, display_name, Some(hash)).await?;
        let (org, founded) = organizations::create_in(txn, state, &actor, user.id, name).await?;
        Ok(((user, org), vec![created, founded]))
    })
    .await
}

/// One login of the demo data set.
pub struct DemoLogin {
    pub email: String,
    pub password: String,
    pub summary: String,
    /// The base32 secret and URI of the login's authenticator app, when it has one.
    pub totp: Option<(String, String)>,
}

/// Seeds example organizations and people holding each predefined role.
pub async fn seed_demo(state: &AppState) -> ApiResult<Vec<DemoLogin>> {
    let password_text = "correct-horse-battery".to_owned();
    let (people, acme, globex, logins) = seed_people(state, &password_text).await?;
    let alice = &people[0];
    let access =
        crate::services::store::access::load_one(&state.db, &state.policy, alice.id, acme.id)
            .await?
            .ok_or_else(|| ApiError::internal("the demo owner has no access"))?;
    let actor = Actor::user(alice, &Default::default());
    let invite = OrgScope::enter(
        &state.db,
        &state.policy,
        &crate::services::store::access::Viewer::user(alice.id),
        "organization",
        acme.id,
        require::INVITATION_SEND,
    )
    .await?
    .change_as(actor.clone());
    seed_invitations(state, &invite).await?;
    seed_lists(state, &access, &actor, &globex).await?;
    // One person signs in with a second factor, to try it: Dave, whose app's secret is shown.
    let mut logins = logins;
    if let Some(dave) = people
        .iter()
        .find(|person| person.email.starts_with("dave@"))
    {
        let totp =
            crate::services::identity::mfa::enroll_for_demo(state, &Actor::command_line(), dave)
                .await?;
        if let Some(login) = logins.iter_mut().find(|login| login.email == dave.email) {
            login.totp = Some(totp);
        }
    }
    Ok(logins)
}

/// A predefined role the demo hands out; a policy without it cannot seed the demo.
fn demo_role<'p>(state: &'p AppState, key: &str) -> ApiResult<&'p PredefinedRole> {
    state.policy.role_by_key(key).ok_or_else(|| {
        ApiError::invalid(
            "policy",
            format!("the demo needs the predefined role `{key}`"),
        )
    })
}

/// Eight people, Acme (Alice owns it, six others hold each other predefined role) and Globex
/// (Heidi owns it, Bob reads it), in one transaction.
async fn seed_people(
    state: &AppState,
    password_text: &str,
) -> ApiResult<(
    Vec<user::Model>,
    organization::Model,
    organization::Model,
    Vec<DemoLogin>,
)> {
    let hash = password::hash(password_text.to_owned()).await?;
    let actor = Actor::command_line();
    write_recording(&state.db, async |txn| {
        let mut events = Vec::new();
        let mut ids = Vec::new();
        for (email, name) in DEMO_PEOPLE {
            let email = Email::parse("email", email)?;
            let (user, created) =
                users::create(txn, &email, name.to_owned(), Some(hash.clone())).await?;
            ids.push(user);
            events.push((actor.clone(), created));
        }
        let acme = demo_organization(txn, state, &ids[0], "Acme Security", &mut events).await?;
        let globex =
            demo_organization(txn, state, &ids[7], "Globex Threat Intel", &mut events).await?;
        let login = |person: &user::Model, summary: String| DemoLogin {
            email: person.email.clone(),
            password: password_text.to_owned(),
            summary,
            totp: None,
        };
        let mut logins = vec![login(&ids[0], "Owner of Acme Security".to_owned())];
        for (person, key) in ids[1..7].iter().zip(DEMO_ROLES) {
            let role = demo_role(state, key)?;
            events.push(add_member(txn, &ids[0], person, &acme, role).await?);
            logins.push(login(person, format!("{} in Acme Security", role.name)));
        }
        // Bob also works with Globex, so switching organizations can be tried.
        let reader = demo_role(state, "read_only_user")?;
        events.push(add_member(txn, &ids[7], &ids[1], &globex, reader).await?);
        logins.push(login(
            &ids[7],
            "Owner of Globex Threat Intel (Bob reads it too)".to_owned(),
        ));
        Ok(((ids, acme, globex, logins), events))
    })
    .await
}

/// The demo's people, Acme's owner first and Globex's owner last.
const DEMO_PEOPLE: [(&str, &str); 8] = [
    ("alice@acme.example", "Alice Owner"),
    ("bob@acme.example", "Bob Admin"),
    ("carol@acme.example", "Carol Sharing"),
    ("dave@acme.example", "Dave Standard"),
    ("erin@acme.example", "Erin Developer"),
    ("frank@acme.example", "Frank Reader"),
    ("grace@acme.example", "Grace Commenter"),
    ("heidi@globex.example", "Heidi Owner"),
];

/// The roles Acme's other six people hold, in their order.
const DEMO_ROLES: [&str; 6] = [
    "organization_administrator",
    "sharing_user",
    "standard_user",
    "app_developer",
    "read_only_user",
    "read_only_commenter",
];

/// An organization `owner` founds, its event added to `events`.
async fn demo_organization(
    txn: &impl sea_orm::ConnectionTrait,
    state: &AppState,
    owner: &user::Model,
    name: &str,
    events: &mut Vec<(Actor, Event)>,
) -> ApiResult<organization::Model> {
    let actor = Actor::user(owner, &Default::default());
    let name = OrganizationName::parse("name", name)?;
    let (org, founded) = organizations::create_in(txn, state, &actor, owner.id, name).await?;
    events.push((actor, founded));
    Ok(org)
}

/// Two pending invitations, so the console's invitation list has something to show (the
/// emails land in the outbox of the data directory).
async fn seed_invitations(state: &AppState, change: &OrgChange) -> ApiResult<()> {
    for (email, key) in [
        ("ivan@partner.example", "standard_user"),
        ("judy@partner.example", "read_only_user"),
    ] {
        let spec = crate::services::organization::invitations::InviteSpec {
            email: email.to_owned(),
            role_id: demo_role(state, key)?.id,
            expires_in_days: None,
        };
        crate::services::organization::invitations::invite(change, state, spec).await?;
    }
    Ok(())
}

/// Two lists of Acme's, one shared with Globex, so sharing can be tried from both sides.
async fn seed_lists(
    state: &AppState,
    access: &OrgAccess,
    alice: &Actor,
    globex: &organization::Model,
) -> ApiResult<()> {
    // Through the gate like any change, one capability for each requirement met.
    let change = |requirement| {
        crate::services::store::scope::OrgScope::admit(
            state,
            "organization",
            Some(access.clone()),
            requirement,
        )
        .map(|scope| scope.change_as(alice.clone()))
    };
    let (create, edit, share) = (
        change(require::LIST_CREATE)?,
        change(require::LIST_EDIT)?,
        change(require::LIST_SHARING_MANAGE)?,
    );
    for (name, kind, values, shared) in [
        (
            "Botnet C2 domains",
            ListKind::Domain,
            &[
                "c2.botnet.example",
                "update-check.bad.example",
                "Bücher.example",
            ][..],
            true,
        ),
        (
            "Scanners",
            ListKind::Cidr,
            &["198.51.100.0/24", "203.0.113.0/25", "2001:db8:bad::/48"][..],
            false,
        ),
    ] {
        let list = crate::services::organization::lists::create(&create, name, kind, None).await?;
        let entries = values
            .iter()
            .map(|value| crate::services::organization::lists::NewEntry {
                value: (*value).to_owned(),
                note: Some("seen in the demo".to_owned()),
            })
            .collect();
        crate::services::organization::lists::add_entries(&edit, list.id, entries).await?;
        if shared {
            crate::services::organization::lists::set_shared(&share, list.id, true).await?;
        }
    }
    crate::services::organization::lists::add_partner(&share, &globex.clone().into()).await?;
    Ok(())
}

async fn add_member(
    txn: &impl sea_orm::ConnectionTrait,
    inviter: &user::Model,
    person: &user::Model,
    organization: &organization::Model,
    role: &crate::authz::policy::PredefinedRole,
) -> ApiResult<(Actor, Event)> {
    let membership = crate::services::store::records::new_membership(
        person,
        organization.id,
        role.id,
        &role.name,
        Some(inviter.id),
    )
    .insert(txn)
    .await?;
    let event = Event::new(
        Scope::Organization(organization.id),
        Action::MemberAdded,
        format!("{} added {} as {}", inviter.email, person.email, role.name),
    )
    .target("membership", membership.id)
    .payload(serde_json::json!({ "after": { "user": person.email, "role": role.key } }));
    Ok((Actor::user(inviter, &Default::default()), event))
}
