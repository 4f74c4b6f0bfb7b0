//! Which organization an email belongs to for signing in: the verified claim on its domain
//! (enforcement reads it) and home-realm discovery (where to send the person).

use entity::{organization, organization_domain, sso_connection};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::domain::Email;
use crate::error::ApiResult;
use crate::services::AppState;

/// The verified claim on the domain of `email` (at most one organization holds it); none for
/// an email that is not one or whose domain nobody verified.
pub(crate) async fn verified_claim(
    db: &impl sea_orm::ConnectionTrait,
    email: &str,
) -> ApiResult<Option<organization_domain::Model>> {
    let Some(domain) = Email::parse("email", email)
        .ok()
        .and_then(|email| email.domain())
    else {
        return Ok(None);
    };
    Ok(organization_domain::Entity::find()
        .filter(organization_domain::Column::Domain.eq(domain))
        .filter(organization_domain::Column::VerifiedAt.is_not_null())
        .one(db)
        .await?)
}

/// The start URL of the organization whose verified domain `email` is in and whose single
/// sign-on is on; `None` for any other email, well-formed or not, so the answer depends on the
/// domain only.
pub async fn home_realm(state: &AppState, email: &str) -> ApiResult<Option<String>> {
    let Some(claim) = verified_claim(&state.db, email).await? else {
        return Ok(None);
    };
    let enabled = sso_connection::Entity::find()
        .filter(sso_connection::Column::OrganizationId.eq(claim.organization_id))
        .filter(sso_connection::Column::Enabled.eq(true))
        // Only a connection whose sign-in starts there; a directory's is `login`.
        .filter(sso_connection::Column::Protocol.is_in(super::BROWSER_PROTOCOLS))
        .count(&state.db)
        .await?
        > 0;
    if !enabled {
        return Ok(None);
    }
    let Some(org) = organization::Entity::find_by_id(claim.organization_id)
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    Ok(super::start_url(&state.settings, &org.public_id))
}
