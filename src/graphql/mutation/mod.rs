//! The mutation root, merged from one object per room (sessions, organizations, lists,
//! members, machines, sign-in settings, sign-ins, second factors), and what they share: the
//! inputs and the lookups of the objects they change.

use crate::services::organization::organizations::OrganizationRecord;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};

use super::ContextExt;
use super::guards::{
    Authenticated, Declared, Gate, Requires, SIGNED_IN, STEPPED_UP, need, platformOperator,
};
use super::ids::NodeId;
use super::types::policy_key;
use super::types::{
    ApiKey, AuthPayload, CertificateMapping, Invitation, IssuedApiKey, License, List,
    ListKindValue, Membership, MfaChallenge, Organization, OrganizationDomain, Role, ScimGroup,
    ScimSettings, SecurityKeyRegistered, ServiceAccount, SsoConnection, TotpEnrollment, User,
    Viewer, list_for_change,
};
use crate::authz::require;
use crate::domain::OrganizationName;
use crate::domain::password::check_offered;
use crate::domain::text::{self, TextKind};
use crate::error::ApiResult;
use crate::services::organization::lists::{self, NewEntry};
use crate::services::organization::organizations::{self, LicenseChange};
use crate::services::organization::roles::{self, RoleSpec};
use crate::services::store::scope::OrgChange;
use crate::services::{
    identity::credentials, identity::mfa, identity::sessions, identity::sign_in, identity::users,
    organization::api_keys, organization::certificates, organization::domains,
    organization::invitations, organization::ldap, organization::members, organization::saml,
    organization::scim, organization::service_accounts, organization::sso,
};

mod factor_fields;
mod list_fields;
mod machine_fields;
mod member_fields;
mod organization_fields;
mod session_fields;
mod sign_in_fields;
mod sign_in_setting_fields;
mod webhook_fields;

// The mutation root: each room's mutations, in the order the schema lists them (a comment, not
// a doc: the SDL keeps the root undescribed).
#[derive(async_graphql::MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    session_fields::SessionMutations,
    organization_fields::OrganizationMutations,
    list_fields::ListMutations,
    member_fields::MemberMutations,
    machine_fields::MachineMutations,
    sign_in_setting_fields::SignInSettingMutations,
    sign_in_fields::SignInMutations,
    factor_fields::FactorMutations,
    webhook_fields::WebhookMutations,
);

/// A value to add to a list, with an optional note (at most 500 characters).
#[derive(InputObject)]
pub struct ListEntryInput {
    pub value: String,
    pub note: Option<String>,
}

/// A resource and the level to grant on it.
#[derive(InputObject)]
pub struct PermissionGrantInput {
    pub resource: String,
    pub level: String,
}

/// The grants of a role as `(resource, level)` keys, each one line of a bounded length (the
/// policy then says whether it knows them).
fn grant_pairs(grants: Vec<PermissionGrantInput>) -> ApiResult<Vec<(String, String)>> {
    grants
        .into_iter()
        .map(|g| {
            policy_key("grants", &g.resource)?;
            policy_key("grants", &g.level)?;
            Ok((g.resource, g.level))
        })
        .collect()
}

/// The most characters of a token a client sends back (invitation and refresh tokens).
const MAX_TOKEN: usize = 512;

/// A membership by its id, or NOT_FOUND (the caller then checks access to its organization).
async fn membership_of(
    ctx: &Context<'_>,
    id: &ID,
) -> ApiResult<crate::services::organization::memberships::MembershipRecord> {
    let membership = NodeId::membership("membershipId", id)?;
    ctx.loaders()
        .memberships
        .load_one(membership)
        .await?
        .ok_or_else(|| crate::error::ApiError::not_found("membership"))
}

/// The organization and role of a role id.
fn role_ref(id: &ID) -> ApiResult<(uuid::Uuid, uuid::Uuid)> {
    match NodeId::parse("id", id)? {
        NodeId::Role { organization, role } => Ok((organization, role)),
        _ => Err(crate::error::ApiError::invalid("id", NOT_A_ROLE_ID)),
    }
}

/// What a client is told when the role id it gives in `field` names no role.
pub(crate) const NOT_A_ROLE_ID: &str = "is not a role id";

/// [`role_ref`] of a role id given in `field`, any malformed id answered as not a role id.
fn role_ref_in(field: &'static str, id: &ID) -> ApiResult<(uuid::Uuid, uuid::Uuid)> {
    role_ref(id).map_err(|_| crate::error::ApiError::invalid(field, NOT_A_ROLE_ID))
}

/// The capability to change `organization_id`'s share partners, and the partner named by its
/// global id or public id (NOT_FOUND when no organization has it).
async fn share_partner_change(
    ctx: &Context<'_>,
    organization_id: &ID,
    partner: &ID,
) -> ApiResult<(OrgChange, OrganizationRecord)> {
    let org = NodeId::organization("organizationId", organization_id)?;
    let change = Gate::root("organization", org).change(ctx).await?;
    let state = ctx.state();
    let partner = match NodeId::organization("partnerOrganizationId", partner) {
        Ok(id) => organizations::named(state, &id.to_string()).await?,
        Err(_) if partner.as_str().trim().to_uppercase().starts_with("ORG-") => {
            organizations::named(state, partner.as_str()).await?
        }
        Err(err) => return Err(err),
    }
    .ok_or_else(|| crate::error::ApiError::not_found("partner organization"))?;
    Ok((change, partner))
}

/// A service account by its id, or NOT_FOUND (the caller then passes its organization's gate).
/// The organization's single sign-on as `configureSso` and `disableSso` answer it.
async fn sso_connection(
    change: &OrgChange,
    record: Option<sso::SsoRecord>,
) -> ApiResult<SsoConnection> {
    let domains = sso::domains(change).await?;
    Ok(SsoConnection {
        organization_id: change.organization_id(),
        record,
        domains: domains.into_iter().map(Into::into).collect(),
    })
}

/// The capability to change the domain `id`'s organization.
async fn domain_change(ctx: &Context<'_>, id: &ID) -> ApiResult<OrgChange> {
    let domain = NodeId::organization_domain("id", id)?;
    let org = domains::organization_of(ctx.state(), domain).await?;
    Gate::root("domain", org).change(ctx).await
}

/// `payload` as the answer of a sign-in within this request: the rest of the request sees the
/// user it proved, with their session's second-factor state.
fn signed_in(ctx: &Context<'_>, payload: AuthPayload) -> AuthPayload {
    let (user, proof) = payload.signed_in();
    ctx.request().act_as(user, proof);
    payload
}

async fn service_account_of(
    ctx: &Context<'_>,
    id: &ID,
) -> ApiResult<crate::services::organization::service_accounts::ServiceAccountRecord> {
    let id = NodeId::service_account("id", id)?;
    ctx.loaders()
        .service_accounts
        .load_one(id)
        .await?
        .ok_or_else(|| crate::error::ApiError::not_found("service account"))
}

/// The capability to change the API key `id`: its holder's by membership, anyone else's by
/// `api_key: manage`.
async fn api_key_change(ctx: &Context<'_>, id: &ID) -> ApiResult<OrgChange> {
    let key = NodeId::api_key("id", id)?;
    let found = ctx
        .loaders()
        .api_keys
        .load_one(key)
        .await?
        .ok_or_else(|| crate::error::ApiError::not_found("API key"))?;
    Gate::root("API key", found.organization_id)
        .owned_by(found.holder_id)
        .self_or_change(ctx)
        .await
}

/// An organization the viewer has just changed, read again.
async fn organization_of(
    ctx: &Context<'_>,
    organization_id: uuid::Uuid,
) -> ApiResult<Organization> {
    organizations::records(ctx.state(), &[organization_id])
        .await?
        .remove(&organization_id)
        .map(Organization::new)
        .ok_or_else(|| crate::error::ApiError::not_found("organization"))
}
