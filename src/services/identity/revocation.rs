//! Ending sessions: one, or every live session of a user; their access tokens stop working on
//! the next request.

use chrono::Utc;
use entity::session;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::ApiResult;

/// Ends every live session of a user (but `except`), returning how many.
pub(crate) async fn revoke_all(
    txn: &impl ConnectionTrait,
    user_id: Uuid,
    except: Option<Uuid>,
    reason: &str,
) -> ApiResult<u64> {
    let mut update = live_sessions_of(user_id, reason);
    if let Some(keep) = except {
        update = update.filter(session::Column::Id.ne(keep));
    }
    Ok(update.exec(txn).await?.rows_affected)
}

/// Ends the live sessions of a user that act in `organization_id` (a membership there was
/// suspended), returning how many.
pub(crate) async fn revoke_acting_in(
    txn: &impl ConnectionTrait,
    user_id: Uuid,
    organization_id: Uuid,
    reason: &str,
) -> ApiResult<u64> {
    let update = live_sessions_of(user_id, reason)
        .filter(session::Column::OrganizationId.eq(organization_id));
    Ok(update.exec(txn).await?.rows_affected)
}

/// The statement that ends every live session of a user, for `reason`.
fn live_sessions_of(user_id: Uuid, reason: &str) -> sea_orm::UpdateMany<session::Entity> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .col_expr(session::Column::RevokedReason, Expr::value(reason))
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
}

pub(crate) async fn revoke(
    txn: &impl ConnectionTrait,
    session_id: Uuid,
    reason: &str,
) -> ApiResult<()> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .col_expr(session::Column::RevokedReason, Expr::value(reason))
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
}
