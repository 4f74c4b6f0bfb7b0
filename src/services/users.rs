//! Reading users.

use std::collections::HashMap;

use entity::user;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::domain::Email;
use crate::error::ApiResult;

pub const ACTIVE: &str = "active";
pub const DISABLED: &str = "disabled";

pub async fn load(
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

/// Creates an active user; CONFLICT when the email is taken (compared case-insensitively).
pub async fn create(
    db: &impl ConnectionTrait,
    email: &Email,
    display_name: String,
    password_hash: Option<String>,
) -> ApiResult<user::Model> {
    use sea_orm::{ActiveModelTrait, Set};
    if find_by_email(db, email).await?.is_some() {
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
    };
    Ok(model.insert(db).await?)
}

/// Flags (or unflags) a user as a platform operator, who may change organizations' licenses.
pub async fn set_operator(
    db: &impl ConnectionTrait,
    email: &Email,
    operator: bool,
) -> ApiResult<user::Model> {
    use sea_orm::{ActiveModelTrait, Set};
    let user = find_by_email(db, email)
        .await?
        .ok_or_else(|| crate::error::ApiError::not_found("user"))?;
    let mut active: user::ActiveModel = user.into();
    active.is_operator = Set(operator);
    Ok(active.update(db).await?)
}
