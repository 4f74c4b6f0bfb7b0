//! Reading users.

use std::collections::HashMap;

use entity::user;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::domain::Email;
use crate::error::ApiResult;
use crate::services::AppState;
use crate::services::audit::{Action, Actor, Event, Scope};
use crate::services::store::scope::write;

pub use crate::auth::UserRecord;
use crate::services::store::account::OwnAccount;

/// The users `ids` that exist, as records.
pub async fn records(state: &AppState, ids: &[Uuid]) -> ApiResult<HashMap<Uuid, UserRecord>> {
    let found = load(&state.db, ids).await?;
    Ok(found
        .into_iter()
        .map(|(id, user)| (id, user.into()))
        .collect())
}

pub const ACTIVE: &str = "active";
pub const DISABLED: &str = "disabled";

/// A person: signs in with a password (or, later, single sign-on).
pub const HUMAN: &str = "human";
/// A service account: a member of one organization that acts only through API keys.
pub const SERVICE: &str = "service";

/// What a user is: a person, or a service account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserKind {
    Human,
    Service,
}

impl UserKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UserKind::Human => HUMAN,
            UserKind::Service => SERVICE,
        }
    }
}

pub(crate) async fn load(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|user| (user.id, user))
        .collect())
}

pub async fn find_by_email(
    db: &impl ConnectionTrait,
    email: &Email,
) -> ApiResult<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::EmailLower.eq(email.key()))
        .one(db)
        .await?)
}

/// Creates an active user, with the event that records it for the write it is part of;
/// CONFLICT when the email is taken (compared case-insensitively).
pub async fn create(
    txn: &impl ConnectionTrait,
    email: &Email,
    display_name: String,
    password_hash: Option<String>,
) -> ApiResult<(user::Model, Event)> {
    let user = insert(txn, email, display_name, password_hash).await?;
    let event = Event::new(
        Scope::User(user.id),
        Action::UserCreated,
        format!("the account {} was created", user.email),
    )
    .target("user", user.id)
    .payload(
        serde_json::json!({ "after": { "email": user.email, "displayName": user.display_name } }),
    );
    Ok((user, event))
}

/// Inserts an active user, for callers that record the event of the change they are part of.
pub(crate) async fn insert(
    txn: &impl ConnectionTrait,
    email: &Email,
    display_name: String,
    password_hash: Option<String>,
) -> ApiResult<user::Model> {
    use sea_orm::{ActiveModelTrait, Set};
    if find_by_email(txn, email).await?.is_some() {
        return Err(crate::error::ApiError::conflict(
            "an account with this email already exists",
        ));
    }
    let model = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.as_str().to_owned()),
        email_lower: Set(email.key()),
        display_name: Set(display_name),
        password_hash: Set(password_hash),
        default_organization_id: Set(None),
        status: Set(ACTIVE.to_owned()),
        is_operator: Set(false),
        created_at: Set(chrono::Utc::now()),
        kind: Set(HUMAN.to_owned()),
        mfa_enabled: Set(false),
    };
    Ok(model.insert(txn).await?)
}

/// Flags (or unflags) a user as a platform operator, who may change organizations' licenses.
pub async fn set_operator(
    state: &AppState,
    actor: &Actor,
    email: &Email,
    operator: bool,
) -> ApiResult<user::Model> {
    let db = &state.db;
    use sea_orm::{ActiveModelTrait, Set};
    write(db, actor, async |txn| {
        let user = find_by_email(txn, email)
            .await?
            .ok_or_else(|| crate::error::ApiError::not_found("user"))?;
        let before = user.is_operator;
        let mut active: user::ActiveModel = user.into();
        active.is_operator = Set(operator);
        let user = active.update(txn).await?;
        let event = Event::new(
            Scope::User(user.id),
            Action::UserOperatorChanged,
            format!(
                "{} {} {} as a platform operator",
                actor.name(),
                if operator { "flagged" } else { "unflagged" },
                user.email
            ),
        )
        .target("user", user.id)
        .payload(serde_json::json!({ "before": { "operator": before }, "after": { "operator": operator } }));
        Ok((user, vec![event]))
    })
    .await
}

/// Disables (or re-enables) an account. A disabled user cannot sign in, and every session
/// they have ends at once.
pub async fn set_disabled(
    state: &AppState,
    actor: &Actor,
    email: &Email,
    disabled: bool,
) -> ApiResult<UserRecord> {
    use sea_orm::{ActiveModelTrait, Set};
    write(&state.db, actor, async |txn| {
        let user = find_by_email(txn, email)
            .await?
            .ok_or_else(|| crate::error::ApiError::not_found("user"))?;
        let before = user.status.clone();
        let mut active: user::ActiveModel = user.into();
        active.status = Set(if disabled { DISABLED } else { ACTIVE }.to_owned());
        let user = active.update(txn).await?;
        if disabled {
            crate::services::identity::revocation::revoke_all(txn, user.id, None, "account disabled").await?;
        }
        let event = Event::new(
            Scope::User(user.id),
            Action::UserDisabled,
            format!(
                "{} {} the account {}",
                actor.name(),
                if disabled { "disabled" } else { "re-enabled" },
                user.email
            ),
        )
        .target("user", user.id)
        .payload(serde_json::json!({ "before": { "status": before }, "after": { "status": user.status } }));
        Ok((user.into(), vec![event]))
    })
    .await
}

/// Changes the caller's display name.
pub async fn update_profile(
    own: &OwnAccount,
    display_name: crate::domain::DisplayName,
) -> ApiResult<UserRecord> {
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    let user_id = own.user_id();
    own.write(async |txn| {
        let user = user::Entity::find_by_id(user_id)
            .one(txn)
            .await?
            .ok_or(crate::authz::Refusal::SessionEnded)?;
        let before = user.display_name.clone();
        let mut active: user::ActiveModel = user.into();
        active.display_name = Set(display_name.into_inner());
        let user = active.update(txn).await?;
        entity::membership::Entity::update_many()
            .col_expr(
                entity::membership::Column::SortName,
                sea_orm::sea_query::Expr::value(user.display_name.to_lowercase()),
            )
            .filter(entity::membership::Column::UserId.eq(user.id))
            .exec(txn)
            .await?;
        let event = Event::new(
            Scope::User(user.id),
            Action::UserProfileUpdated,
            format!("{} updated their profile", user.email),
        )
        .target("user", user.id)
        .payload(serde_json::json!({ "before": { "displayName": before }, "after": { "displayName": user.display_name } }));
        Ok((user.into(), vec![event]))
    })
    .await
}

/// Whether `user_id` is a service account (read inside a change's transaction).
pub(in crate::services) async fn is_service_account(
    txn: &impl ConnectionTrait,
    user_id: Uuid,
) -> ApiResult<bool> {
    Ok(user::Entity::find_by_id(user_id)
        .one(txn)
        .await?
        .is_some_and(|user| user.kind == SERVICE))
}
