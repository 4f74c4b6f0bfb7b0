//! The mutation root.

use crate::services::organizations::OrganizationRecord;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};

use super::ContextExt;
use super::guards::{
    Gate, PlatformOperator, Requires, SignedIn, authenticated, need, platformOperator, step_up,
};
use super::ids::NodeId;
use super::types::{
    ApiKey, AuthPayload, Invitation, IssuedApiKey, License, List, ListKindValue, Membership,
    MfaChallenge, Organization, OrganizationDomain, Role, SecurityKeyRegistered, ServiceAccount,
    SsoConnection, TotpEnrollment, User, Viewer, list_for_change,
};
use crate::auth::Principal;
use crate::authz::require;
use crate::domain::OrganizationName;
use crate::domain::password::check_offered;
use crate::domain::text::{self, TextKind};
use crate::error::ApiResult;
use crate::services::lists::{self, NewEntry};
use crate::services::organizations::{self, LicenseChange};
use crate::services::roles::{self, RoleSpec};
use crate::services::scope::OrgChange;
use crate::services::{
    api_keys, credentials, invitations, members, mfa, service_accounts, sessions, sso, users,
};

pub struct MutationRoot;

#[derive(InputObject)]
pub struct VerifyMfaInput {
    /// The `mfaChallenge.token` of a sign-in or of `startMfaChallenge`.
    pub challenge: String,
    /// The authenticator app's current code (six digits).
    pub totp_code: Option<String>,
    /// A security key's answer to `mfaChallenge.webauthnOptions` (the `PublicKeyCredential` of
    /// `navigator.credentials.get`, as JSON).
    pub webauthn_response: Option<String>,
    /// One of your recovery codes; it is used up.
    pub recovery_code: Option<String>,
}

#[derive(InputObject)]
pub struct ConfigureSsoInput {
    pub organization_id: ID,
    /// The OpenID provider's issuer URL (`https://…`); its discovery document and keys are
    /// fetched and checked now.
    pub issuer: String,
    pub client_id: String,
    /// Required the first time; left out, the stored secret is kept. Never returned.
    pub client_secret: Option<String>,
    /// The role just-in-time members get: required with `jitProvisioning`, never the owner
    /// role, and within your own grants.
    pub default_role_id: Option<ID>,
    #[graphql(default = false)]
    pub jit_provisioning: bool,
    #[graphql(default = false)]
    pub enforced: bool,
}

#[derive(InputObject)]
pub struct CreateListInput {
    pub organization_id: ID,
    /// 1 to 100 characters, unique in the organization.
    pub name: String,
    pub kind: ListKindValue,
    /// At most 1,000 characters.
    pub description: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateListInput {
    pub list_id: ID,
    /// A new name: 1 to 100 characters, unique in the organization.
    pub name: Option<String>,
    /// A new description; null clears it, leaving it out keeps it.
    pub description: MaybeUndefined<String>,
}

/// A value to add to a list, with an optional note (at most 500 characters).
#[derive(InputObject)]
pub struct ListEntryInput {
    pub value: String,
    pub note: Option<String>,
}

#[derive(InputObject)]
pub struct AddListEntriesInput {
    pub list_id: ID,
    /// 1 to 10,000 entries. All are validated first: one value that does not fit the list's
    /// kind fails the call with INVALID_INPUT listing the refused values, and nothing is added.
    pub entries: Vec<ListEntryInput>,
}

#[derive(InputObject)]
pub struct RemoveListEntriesInput {
    pub list_id: ID,
    /// 1 to 10,000 values, normalized like added ones; values not in the list are skipped.
    pub values: Vec<String>,
}

#[derive(InputObject)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
    /// The organization to act in; by default the user's default organization, else their oldest.
    pub organization_id: Option<ID>,
}

#[derive(InputObject)]
pub struct CreateOrganizationInput {
    /// 1 to 200 characters.
    pub name: String,
}

#[derive(InputObject)]
pub struct UpdateOrganizationInput {
    pub organization_id: ID,
    /// 1 to 200 characters.
    pub name: String,
}

/// A resource and the level to grant on it.
#[derive(InputObject)]
pub struct PermissionGrantInput {
    pub resource: String,
    pub level: String,
}

#[derive(InputObject)]
pub struct CreateRoleInput {
    pub organization_id: ID,
    /// 1 to 100 characters, unique in the organization.
    pub name: String,
    pub description: Option<String>,
    /// Levels per resource; a resource not listed is held at its lowest level.
    pub grants: Vec<PermissionGrantInput>,
    /// Add the grants the policy's dependencies require instead of failing with
    /// PERMISSION_DEPENDENCY.
    #[graphql(default = false)]
    pub add_missing_dependencies: bool,
}

#[derive(InputObject)]
pub struct UpdateRoleInput {
    pub id: ID,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Replaces every grant of the role when given.
    pub grants: Option<Vec<PermissionGrantInput>>,
    #[graphql(default = false)]
    pub add_missing_dependencies: bool,
}

#[derive(InputObject)]
pub struct SetOrganizationLicenseInput {
    /// The organization's id or its public id (`ORG-…`).
    pub organization: String,
    pub seats: Option<i32>,
    pub free_read_only_seats: Option<bool>,
    /// Features to add, such as `custom_roles`.
    #[graphql(default)]
    pub add_features: Vec<String>,
    #[graphql(default)]
    pub remove_features: Vec<String>,
}

#[derive(InputObject)]
pub struct AssignRoleInput {
    pub membership_id: ID,
    /// A role of the membership's organization (as listed by `Organization.roles`).
    pub role_id: ID,
}

#[derive(InputObject)]
pub struct InviteMemberInput {
    pub organization_id: ID,
    pub email: String,
    /// A role of the organization (as listed by `Organization.roles`).
    pub role_id: ID,
    /// 1 to 30 days; 7 by default.
    pub expires_in_days: Option<i32>,
}

#[derive(InputObject)]
pub struct AcceptInvitationInput {
    /// The token from the invitation email.
    pub token: String,
    /// For a new account: your name.
    pub display_name: Option<String>,
    /// For a new account: the password to set (12 to 128 characters). For an existing account
    /// you are not signed in as: its password.
    pub password: Option<String>,
}

#[derive(InputObject)]
pub struct CreateServiceAccountInput {
    pub organization_id: ID,
    /// 1 to 100 characters, unique in the organization.
    pub name: String,
    /// At most 1,000 characters.
    pub description: Option<String>,
    /// A role of the organization other than the owner role.
    pub role_id: ID,
}

#[derive(InputObject)]
pub struct UpdateServiceAccountInput {
    pub id: ID,
    /// 1 to 100 characters, unique in the organization.
    pub name: Option<String>,
    /// A new description; null clears it, leaving it out keeps it.
    pub description: MaybeUndefined<String>,
}

#[derive(InputObject)]
pub struct CreateApiKeyInput {
    pub organization_id: ID,
    /// The service account to hold the key; leave it out for a personal key.
    pub service_account_id: Option<ID>,
    /// 1 to 100 characters.
    pub name: String,
    /// Levels per resource (a resource not listed is held at its lowest level), at most your
    /// own.
    pub grants: Vec<PermissionGrantInput>,
    /// 1 to 365 days; by default the key does not expire.
    pub expires_in_days: Option<i32>,
    /// Add the grants the policy's dependencies require instead of failing with
    /// PERMISSION_DEPENDENCY.
    #[graphql(default = false)]
    pub add_missing_dependencies: bool,
}

#[derive(InputObject)]
pub struct ChangePasswordInput {
    pub current_password: String,
    /// 12 to 128 characters, not a commonly used password.
    pub new_password: String,
}

#[derive(InputObject)]
pub struct UpdateProfileInput {
    /// 1 to 200 characters.
    pub display_name: String,
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

/// A resource, level or feature key as a client names it: one line, at most
/// [`text::MAX_TERM`] characters.
pub(crate) fn policy_key(field: &'static str, key: &str) -> ApiResult<()> {
    text::check(field, TextKind::Line, key, text::MAX_TERM)
}

/// The most characters of a token a client sends back (invitation and refresh tokens).
const MAX_TOKEN: usize = 512;

/// A membership by its id, or NOT_FOUND (the caller then checks access to its organization).
async fn membership_of(
    ctx: &Context<'_>,
    id: &ID,
) -> ApiResult<crate::services::memberships::MembershipRecord> {
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

#[Object(name = "Mutation")]
impl MutationRoot {
    /// Signs in with an email and password. An unknown email, a wrong password and a disabled
    /// account all get the same UNAUTHENTICATED answer.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> ApiResult<AuthPayload> {
        ctx.principal().not_a_key()?;
        let organization_id = input
            .organization_id
            .as_ref()
            .map(|id| NodeId::organization("organizationId", id))
            .transpose()?;
        check_offered("password", &input.password)?;
        let signed = sessions::login(
            ctx.state(),
            &input.email,
            input.password,
            organization_id,
            &ctx.request().meta,
        )
        .await?;
        Ok(signed_in(ctx, AuthPayload(signed)))
    }

    /// Exchanges a refresh token (once) for new tokens.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> ApiResult<AuthPayload> {
        ctx.principal().not_a_key()?;
        text::check("refreshToken", TextKind::Line, &refresh_token, MAX_TOKEN)?;
        let tokens = sessions::refresh(ctx.state(), &refresh_token, &ctx.request().meta).await?;
        Ok(signed_in(ctx, tokens.into()))
    }

    /// Ends the current session: its access tokens stop working on the next request.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn logout(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        let actor = ctx.actor().await?;
        sessions::logout(ctx.state(), &actor, ctx.principal()).await?;
        Ok(true)
    }

    /// New tokens acting in another organization the viewer belongs to.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn switch_organization(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
    ) -> ApiResult<AuthPayload> {
        let org = NodeId::organization("organizationId", &organization_id)?;
        let actor = ctx.actor().await?;
        let tokens =
            sessions::switch_organization(ctx.state(), &actor, ctx.principal(), org).await?;
        Ok(tokens.into())
    }

    /// The organization a login lands in when none is asked for.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn set_default_organization(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
    ) -> ApiResult<Viewer> {
        let org = NodeId::organization("organizationId", &organization_id)?;
        let actor = ctx.actor().await?;
        let user =
            sessions::set_default_organization(ctx.state(), &actor, ctx.principal(), org).await?;
        let active_organization_id = ctx.principal().active_organization();
        Ok(Viewer {
            user: user.into(),
            active_organization_id,
        })
    }

    /// Creates an organization; the viewer becomes its owner.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganizationInput,
    ) -> ApiResult<Organization> {
        let viewer = ctx.request().viewer_id()?;
        let name = OrganizationName::parse("name", &input.name)?;
        let actor = ctx.actor().await?;
        let org = organizations::create(ctx.state(), &actor, viewer, name).await?;
        Ok(Organization::new(org.into()))
    }

    /// Renames an organization.
    #[graphql(directive = Requires::apply(need(require::ORGANIZATION_EDIT)))]
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        input: UpdateOrganizationInput,
    ) -> ApiResult<Organization> {
        let org = NodeId::organization("organizationId", &input.organization_id)?;
        let change = Gate::root("organization", org).change(ctx).await?;
        let name = OrganizationName::parse("name", &input.name)?;
        let org = organizations::rename(&change, name).await?;
        Ok(Organization::new(org.into()))
    }

    /// Builds a custom role for an organization (needs the `custom_roles` license feature).
    #[graphql(directive = Requires::apply(need(require::ROLE_MANAGE)))]
    async fn create_role(&self, ctx: &Context<'_>, input: CreateRoleInput) -> ApiResult<Role> {
        let org = NodeId::organization("organizationId", &input.organization_id)?;
        let change = Gate::root("organization", org).change(ctx).await?;
        let spec = RoleSpec {
            name: Some(input.name),
            description: Some(input.description),
            grants: Some(grant_pairs(input.grants)?),
            add_missing_dependencies: input.add_missing_dependencies,
        };
        let record = roles::create(&change, spec).await?;
        Ok(Role::new(record, org))
    }

    /// Edits a custom role; predefined roles and the role you hold cannot be edited.
    #[graphql(directive = Requires::apply(need(require::ROLE_MANAGE)))]
    async fn update_role(&self, ctx: &Context<'_>, input: UpdateRoleInput) -> ApiResult<Role> {
        let (org, role) = role_ref(&input.id)?;
        let change = Gate::root("organization", org).change(ctx).await?;
        let spec = RoleSpec {
            name: input.name,
            description: Some(input.description),
            grants: input.grants.map(grant_pairs).transpose()?,
            add_missing_dependencies: input.add_missing_dependencies,
        };
        let record = roles::update(&change, role, spec).await?;
        Ok(Role::new(record, org))
    }

    /// Deletes a custom role that no member holds.
    #[graphql(directive = Requires::apply(need(require::ROLE_MANAGE)))]
    async fn delete_role(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        let (org, role) = role_ref(&id)?;
        let change = Gate::root("organization", org).change(ctx).await?;
        roles::delete(&change, role).await?;
        Ok(true)
    }

    /// Creates a list in an organization.
    #[graphql(directive = Requires::apply(need(require::LIST_CREATE)))]
    async fn create_list(&self, ctx: &Context<'_>, input: CreateListInput) -> ApiResult<List> {
        let org = NodeId::organization("organizationId", &input.organization_id)?;
        let change = Gate::root("organization", org).change(ctx).await?;
        let kind = input.kind.into();
        let list = lists::create(&change, &input.name, kind, input.description).await?;
        Ok(List::new(list))
    }

    /// Renames a list or changes its description.
    #[graphql(directive = Requires::apply(need(require::LIST_EDIT)))]
    async fn update_list(&self, ctx: &Context<'_>, input: UpdateListInput) -> ApiResult<List> {
        let (list_id, change) = list_for_change(ctx, "listId", &input.list_id).await?;
        let description = input.description.into();
        let name = input.name.as_deref();
        let list = lists::update(&change, list_id, name, description).await?;
        Ok(List::new(list))
    }

    /// Adds entries to a list, all or nothing; values already in it are skipped and counted
    /// in `entriesChange`.
    #[graphql(directive = Requires::apply(need(require::LIST_EDIT)))]
    async fn add_list_entries(
        &self,
        ctx: &Context<'_>,
        input: AddListEntriesInput,
    ) -> ApiResult<List> {
        let (list_id, change) = list_for_change(ctx, "listId", &input.list_id).await?;
        let entries = input
            .entries
            .into_iter()
            .map(|entry| NewEntry {
                value: entry.value,
                note: entry.note,
            })
            .collect();
        let (list, done) = lists::add_entries(&change, list_id, entries).await?;
        Ok(List {
            list,
            change: Some(done),
        })
    }

    /// Removes entries from a list by value; values not in it are skipped and counted in
    /// `entriesChange`.
    #[graphql(directive = Requires::apply(need(require::LIST_EDIT)))]
    async fn remove_list_entries(
        &self,
        ctx: &Context<'_>,
        input: RemoveListEntriesInput,
    ) -> ApiResult<List> {
        let (list_id, change) = list_for_change(ctx, "listId", &input.list_id).await?;
        let (list, done) = lists::remove_entries(&change, list_id, input.values).await?;
        Ok(List {
            list,
            change: Some(done),
        })
    }

    /// Shares a list with the organization's share partners (read-only for them), or stops.
    #[graphql(directive = Requires::apply(need(require::LIST_SHARING_MANAGE)))]
    async fn set_list_shared(&self, ctx: &Context<'_>, id: ID, shared: bool) -> ApiResult<List> {
        let (list_id, change) = list_for_change(ctx, "id", &id).await?;
        let list = lists::set_shared(&change, list_id, shared).await?;
        Ok(List::new(list))
    }

    /// Deletes a list and its entries.
    #[graphql(directive = Requires::apply(need(require::LIST_FULL)))]
    async fn delete_list(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        let (list_id, change) = list_for_change(ctx, "id", &id).await?;
        lists::delete(&change, list_id).await?;
        Ok(true)
    }

    /// Picks an organization to receive this organization's shared lists. The partner is named
    /// by its id or its public id (`ORG-…`); picking it again changes nothing.
    #[graphql(directive = Requires::apply(need(require::LIST_SHARING_MANAGE)))]
    async fn add_share_partner(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        partner_organization_id: ID,
    ) -> ApiResult<Organization> {
        let (change, partner) =
            share_partner_change(ctx, &organization_id, &partner_organization_id).await?;
        lists::add_partner(&change, &partner).await?;
        organization_of(ctx, change.organization_id()).await
    }

    /// Stops sharing lists with an organization; they disappear from its view at once.
    #[graphql(directive = Requires::apply(need(require::LIST_SHARING_MANAGE)))]
    async fn remove_share_partner(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        partner_organization_id: ID,
    ) -> ApiResult<Organization> {
        let (change, partner) =
            share_partner_change(ctx, &organization_id, &partner_organization_id).await?;
        lists::remove_partner(&change, &partner).await?;
        organization_of(ctx, change.organization_id()).await
    }

    /// Changes an organization's license: seats, free read-only seats, features.
    #[graphql(guard = "PlatformOperator", directive = platformOperator::apply())]
    async fn set_organization_license(
        &self,
        ctx: &Context<'_>,
        input: SetOrganizationLicenseInput,
    ) -> ApiResult<License> {
        for feature in &input.add_features {
            policy_key("addFeatures", feature)?;
        }
        for feature in &input.remove_features {
            policy_key("removeFeatures", feature)?;
        }
        let reference = super::ids::organization_reference(&input.organization);
        let change = LicenseChange {
            seats: input.seats,
            free_read_only_seats: input.free_read_only_seats,
            add_features: input.add_features,
            remove_features: input.remove_features,
        };
        let actor = ctx.actor().await?;
        let org = organizations::change_license_of(ctx.state(), &actor, &reference, change).await?;
        Ok(License(org))
    }

    /// Gives a member another role: needs `member: manage`, never your own, never above your
    /// own grants; only owners make or unmake owners; the last owner stays owner.
    #[graphql(directive = Requires::apply(need(require::MEMBER_MANAGE)))]
    async fn assign_role(
        &self,
        ctx: &Context<'_>,
        input: AssignRoleInput,
    ) -> ApiResult<Membership> {
        let (org, role) = role_ref_in("roleId", &input.role_id)?;
        let found = membership_of(ctx, &input.membership_id).await?;
        let change = Gate::root("membership", found.organization_id)
            .change(ctx)
            .await?;
        if org != found.organization_id {
            return Err(crate::error::ApiError::not_found("role"));
        }
        let updated = members::assign_role(&change, found.id, role).await?;
        Ok(Membership::new(updated.into()))
    }

    /// Removes another member; the last owner cannot be removed.
    #[graphql(directive = Requires::apply(need(require::MEMBER_MANAGE)))]
    async fn remove_member(&self, ctx: &Context<'_>, membership_id: ID) -> ApiResult<bool> {
        let found = membership_of(ctx, &membership_id).await?;
        let change = Gate::root("membership", found.organization_id)
            .change(ctx)
            .await?;
        members::remove_member(&change, found.id).await?;
        Ok(true)
    }

    /// Leaves an organization; the last owner cannot.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn leave_organization(&self, ctx: &Context<'_>, organization_id: ID) -> ApiResult<bool> {
        let org = NodeId::organization("organizationId", &organization_id)?;
        let change = Gate::root("organization", org).own_membership(ctx).await?;
        members::leave(&change).await?;
        Ok(true)
    }

    /// Changes your password (the current one is required); your other sessions end.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        input: ChangePasswordInput,
    ) -> ApiResult<bool> {
        check_offered("currentPassword", &input.current_password)?;
        step_up(ctx)?;
        let new = crate::domain::NewPassword::parse("newPassword", &input.new_password)?;
        let actor = ctx.actor().await?;
        let principal = ctx.principal();
        credentials::change_password(
            ctx.state(),
            &actor,
            &ctx.request().meta,
            principal.user_id()?,
            principal.session_id()?,
            input.current_password,
            new,
        )
        .await?;
        Ok(true)
    }

    /// Changes your display name.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        input: UpdateProfileInput,
    ) -> ApiResult<User> {
        let name = crate::domain::DisplayName::parse("displayName", &input.display_name)?;
        let actor = ctx.actor().await?;
        let user =
            users::update_profile(ctx.state(), &actor, ctx.request().viewer_id()?, name).await?;
        Ok(User::new(user, None))
    }

    /// Disables (or, with `disabled: false`, re-enables) an account: it cannot sign in and its
    /// sessions end at once.
    #[graphql(guard = "PlatformOperator", directive = platformOperator::apply())]
    async fn set_user_disabled(
        &self,
        ctx: &Context<'_>,
        email: String,
        disabled: bool,
    ) -> ApiResult<bool> {
        let email = crate::domain::Email::parse("email", &email)?;
        let actor = ctx.actor().await?;
        users::set_disabled(ctx.state(), &actor, &email, disabled).await?;
        Ok(true)
    }

    /// Invites someone by email with a role (never above your own grants; owners only by
    /// owners). A licensed role needs a free seat, which the pending invitation then holds.
    #[graphql(directive = Requires::apply(need(require::INVITATION_SEND)))]
    async fn invite_member(
        &self,
        ctx: &Context<'_>,
        input: InviteMemberInput,
    ) -> ApiResult<Invitation> {
        let org = NodeId::organization("organizationId", &input.organization_id)?;
        let change = Gate::root("organization", org).change(ctx).await?;
        let (role_org, role) = role_ref_in("roleId", &input.role_id)?;
        if role_org != org {
            return Err(crate::error::ApiError::not_found("role"));
        }
        let spec = invitations::InviteSpec {
            email: input.email,
            role_id: role,
            expires_in_days: input.expires_in_days,
        };
        Ok(Invitation(
            invitations::invite(&change, ctx.state(), spec)
                .await?
                .into(),
        ))
    }

    /// Revokes a pending invitation.
    #[graphql(directive = Requires::apply(need(require::INVITATION_SEND)))]
    async fn revoke_invitation(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Invitation> {
        let id = match NodeId::parse("id", &id)? {
            NodeId::Invitation(id) => id,
            _ => {
                return Err(crate::error::ApiError::invalid(
                    "id",
                    "is not an invitation id",
                ));
            }
        };
        let found = ctx
            .loaders()
            .invitations
            .load_one(id)
            .await?
            .ok_or_else(|| crate::error::ApiError::not_found("invitation"))?;
        let change = Gate::root("invitation", found.organization_id)
            .change(ctx)
            .await?;
        Ok(Invitation(invitations::revoke(&change, id).await?.into()))
    }

    /// Creates a service account holding a role (never the owner role, never above your own
    /// grants; a licensed role takes a seat).
    #[graphql(directive = Requires::apply(need(require::MEMBER_MANAGE)))]
    async fn create_service_account(
        &self,
        ctx: &Context<'_>,
        input: CreateServiceAccountInput,
    ) -> ApiResult<ServiceAccount> {
        let org = NodeId::organization("organizationId", &input.organization_id)?;
        let (role_org, role) = role_ref_in("roleId", &input.role_id)?;
        let change = Gate::root("organization", org).change(ctx).await?;
        if role_org != org {
            return Err(crate::error::ApiError::not_found("role"));
        }
        let spec = service_accounts::AccountSpec {
            name: Some(input.name),
            description: Some(input.description),
            role_id: Some(role),
        };
        Ok(ServiceAccount(
            service_accounts::create(&change, spec).await?,
        ))
    }

    /// Renames or redescribes a service account; its role changes with `assignRole`.
    #[graphql(directive = Requires::apply(need(require::MEMBER_MANAGE)))]
    async fn update_service_account(
        &self,
        ctx: &Context<'_>,
        input: UpdateServiceAccountInput,
    ) -> ApiResult<ServiceAccount> {
        let found = service_account_of(ctx, &input.id).await?;
        let change = Gate::root("service account", found.organization_id)
            .change(ctx)
            .await?;
        let spec = service_accounts::AccountSpec {
            name: input.name,
            description: input.description.into(),
            role_id: None,
        };
        Ok(ServiceAccount(
            service_accounts::update(&change, found.id, spec).await?,
        ))
    }

    /// Deletes a service account: its keys stop at once and its seat is freed.
    #[graphql(directive = Requires::apply(need(require::MEMBER_MANAGE)))]
    async fn delete_service_account(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        let found = service_account_of(ctx, &id).await?;
        let change = Gate::root("service account", found.organization_id)
            .change(ctx)
            .await?;
        service_accounts::delete(&change, found.id).await?;
        Ok(true)
    }

    /// Creates an API key: yours, or a service account's (which needs `api_key: manage`). Its
    /// grants stay within your own, and at every request within its holder's role. The secret
    /// is in the answer, this once.
    #[graphql(directive = Requires::apply(need(require::API_KEY_MANAGE).or_self().step_up()))]
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        input: CreateApiKeyInput,
    ) -> ApiResult<IssuedApiKey> {
        let org = NodeId::organization("organizationId", &input.organization_id)?;
        let account = input
            .service_account_id
            .as_ref()
            .map(|id| NodeId::service_account("serviceAccountId", id))
            .transpose()?;
        let holder = match account {
            Some(account) => account,
            None => ctx.request().viewer_id()?,
        };
        let change = Gate::root("organization", org)
            .owned_by(holder)
            .self_or_change(ctx)
            .await?;
        let spec = api_keys::KeySpec {
            service_account_id: account,
            name: input.name,
            grants: grant_pairs(input.grants)?,
            expires_in_days: input.expires_in_days,
            add_missing_dependencies: input.add_missing_dependencies,
        };
        Ok(IssuedApiKey(api_keys::create(&change, spec).await?))
    }

    /// Revokes an API key: it stops on the next request. Your own keys need only membership;
    /// anyone else's need `api_key: manage`.
    #[graphql(directive = Requires::apply(need(require::API_KEY_MANAGE).or_self()))]
    async fn revoke_api_key(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ApiKey> {
        let change = api_key_change(ctx, &id).await?;
        let id = NodeId::api_key("id", &id)?;
        Ok(ApiKey(api_keys::revoke(&change, id).await?))
    }

    /// Gives an API key a new secret (in the answer, this once); the old one stops at once.
    #[graphql(directive = Requires::apply(need(require::API_KEY_MANAGE).or_self().step_up()))]
    async fn rotate_api_key(&self, ctx: &Context<'_>, id: ID) -> ApiResult<IssuedApiKey> {
        let change = api_key_change(ctx, &id).await?;
        let id = NodeId::api_key("id", &id)?;
        Ok(IssuedApiKey(api_keys::rotate(&change, id).await?))
    }

    /// Configures and enables the organization's single sign-on with an OpenID provider.
    #[graphql(directive = Requires::apply(need(require::SSO_MANAGE).step_up()))]
    async fn configure_sso(
        &self,
        ctx: &Context<'_>,
        input: ConfigureSsoInput,
    ) -> ApiResult<SsoConnection> {
        let org = NodeId::organization("organizationId", &input.organization_id)?;
        let default_role_id = match &input.default_role_id {
            Some(id) => {
                let (role_org, role) = role_ref_in("defaultRoleId", id)?;
                if role_org != org {
                    return Err(crate::error::ApiError::not_found("role"));
                }
                Some(role)
            }
            None => None,
        };
        let change = Gate::root("organization", org).change(ctx).await?;
        let spec = sso::SsoSpec {
            issuer: input.issuer,
            client_id: input.client_id,
            client_secret: input.client_secret,
            default_role_id,
            jit_provisioning: input.jit_provisioning,
            enforced: input.enforced,
        };
        let record = sso::configure(ctx.state(), &change, spec).await?;
        sso_connection(&change, Some(record)).await
    }

    /// Turns the organization's single sign-on off, and its enforcement with it; the settings
    /// stay for a later `configureSso`.
    #[graphql(directive = Requires::apply(need(require::SSO_MANAGE).step_up()))]
    async fn disable_sso(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
    ) -> ApiResult<SsoConnection> {
        let org = NodeId::organization("organizationId", &organization_id)?;
        let change = Gate::root("organization", org).change(ctx).await?;
        let record = sso::disable(&change).await?;
        sso_connection(&change, Some(record)).await
    }

    /// Claims an email domain: the answer names the TXT record that proves it.
    #[graphql(directive = Requires::apply(need(require::SSO_MANAGE).step_up()))]
    async fn add_organization_domain(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        domain: String,
    ) -> ApiResult<OrganizationDomain> {
        let org = NodeId::organization("organizationId", &organization_id)?;
        let change = Gate::root("organization", org).change(ctx).await?;
        Ok(OrganizationDomain(
            sso::domains::add(&change, &domain).await?,
        ))
    }

    /// Looks the domain's TXT record up in DNS and marks it verified when it holds the value.
    #[graphql(directive = Requires::apply(need(require::SSO_MANAGE).step_up()))]
    async fn verify_organization_domain(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> ApiResult<OrganizationDomain> {
        let change = domain_change(ctx, &id).await?;
        let id = NodeId::organization_domain("id", &id)?;
        Ok(OrganizationDomain(
            sso::domains::verify(ctx.state(), &change, id).await?,
        ))
    }

    /// Gives a domain up; enforcement over its members lifts with it.
    #[graphql(directive = Requires::apply(need(require::SSO_MANAGE).step_up()))]
    async fn remove_organization_domain(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        let change = domain_change(ctx, &id).await?;
        let id = NodeId::organization_domain("id", &id)?;
        sso::domains::remove(&change, id).await?;
        Ok(true)
    }

    /// Exchanges the one-time code a single sign-on hands the application (once, within 60
    /// seconds) for a session. When the sign-in named an existing Charter account that is not
    /// yet linked to the provider (the redirect then carries `sso_link=required`, and without
    /// it the answer is FORBIDDEN with `ssoLinkRequired`), that person confirms the link once
    /// with their Charter `password` (within five minutes), and their own second factor after.
    async fn exchange_sso_code(
        &self,
        ctx: &Context<'_>,
        code: String,
        password: Option<String>,
    ) -> ApiResult<AuthPayload> {
        ctx.principal().not_a_key()?;
        if let Some(password) = &password {
            check_offered("password", password)?;
        }
        let request = ctx.request();
        let signed = sso::flow::exchange(ctx.state(), &code, password, &request.meta).await?;
        Ok(signed_in(ctx, AuthPayload(signed)))
    }

    /// Accepts an invitation with its token. A new email gets an account (display name and
    /// password required); an existing account must be signed in or give its password. An
    /// unknown, used, revoked or expired token gets one and the same answer.
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        input: AcceptInvitationInput,
    ) -> ApiResult<AuthPayload> {
        ctx.principal().not_a_key()?;
        text::check("token", TextKind::Line, &input.token, MAX_TOKEN)?;
        if let Some(name) = &input.display_name {
            text::check(
                "displayName",
                TextKind::Name,
                name,
                crate::domain::DisplayName::MAX,
            )?;
        }
        if let Some(password) = &input.password {
            // A new account's password is checked as a new one by the acceptance itself.
            check_offered("password", password)?;
        }
        let request = ctx.request();
        let acceptance = invitations::Acceptance {
            token: input.token,
            display_name: input.display_name,
            password: input.password,
            signed_in: request.principal.user_id().ok(),
        };
        let (user, org) = invitations::accept(ctx.state(), acceptance, &request.meta).await?;
        // An account with a second factor answers its challenge before it gets tokens.
        let signed = mfa::sign_in(
            ctx.state(),
            user,
            Some(org),
            sessions::SignInMethod::password(),
            &request.meta,
            |_| vec![],
        )
        .await?;
        Ok(signed_in(ctx, AuthPayload(signed)))
    }

    /// Starts enrolling an authenticator app: the secret (base32), its `otpauth://` URI and a
    /// QR code (SVG) of it, shown this once. `confirmTotpEnrollment` with the app's first code
    /// activates it.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn begin_totp_enrollment(&self, ctx: &Context<'_>) -> ApiResult<TotpEnrollment> {
        let principal = ctx.principal();
        step_up(ctx)?;
        let actor = ctx.actor().await?;
        let Principal::User { user, .. } = principal else {
            return Err(crate::error::ApiError::unauthenticated("sign in first"));
        };
        Ok(TotpEnrollment(
            mfa::begin_totp(ctx.state(), &actor, user).await?,
        ))
    }

    /// Activates the pending authenticator app with its current code. Answers ten recovery
    /// codes, shown this once: each signs you in once when the app is lost.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn confirm_totp_enrollment(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> ApiResult<Vec<String>> {
        let principal = ctx.principal();
        principal.not_a_key()?;
        let actor = ctx.actor().await?;
        mfa::confirm_totp(ctx.state(), &actor, principal, &code).await
    }

    /// Removes your authenticator app, given one of its codes or a recovery code (and a recent
    /// second-factor check).
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn remove_totp(&self, ctx: &Context<'_>, code: String) -> ApiResult<bool> {
        let principal = ctx.principal();
        step_up(ctx)?;
        let actor = ctx.actor().await?;
        mfa::remove_totp(ctx.state(), &actor, principal, &code).await?;
        Ok(true)
    }

    /// Starts registering a security key (WebAuthn) as a second factor: the options to give
    /// `navigator.credentials.create` (JSON, binary fields in unpadded base64url).
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn begin_security_key_registration(
        &self,
        ctx: &Context<'_>,
        name: String,
    ) -> ApiResult<String> {
        let principal = ctx.principal();
        step_up(ctx)?;
        let actor = ctx.actor().await?;
        let Principal::User { user, .. } = principal else {
            return Err(crate::error::ApiError::unauthenticated("sign in first"));
        };
        mfa::webauthn::begin_registration(ctx.state(), &actor, user, &name).await
    }

    /// Finishes the registration with the browser's answer (the `PublicKeyCredential` of
    /// `navigator.credentials.create`, as JSON). A first second factor comes with ten recovery
    /// codes, shown this once.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn finish_security_key_registration(
        &self,
        ctx: &Context<'_>,
        response: String,
    ) -> ApiResult<SecurityKeyRegistered> {
        let principal = ctx.principal();
        principal.not_a_key()?;
        let actor = ctx.actor().await?;
        let registered = mfa::webauthn::finish_registration(
            ctx.state(),
            &actor,
            principal.user_id()?,
            principal.session_id()?,
            &response,
        )
        .await?;
        Ok(SecurityKeyRegistered(registered))
    }

    /// Removes one of your security keys (with a recent second-factor check).
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn remove_security_key(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        let principal = ctx.principal();
        principal.not_a_key()?;
        let id = NodeId::mfa_factor("id", &id)?;
        step_up(ctx)?;
        let actor = ctx.actor().await?;
        mfa::webauthn::remove(ctx.state(), &actor, principal.user_id()?, id).await?;
        Ok(true)
    }

    /// Ten new recovery codes, shown this once; the old ones stop working.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn regenerate_recovery_codes(&self, ctx: &Context<'_>) -> ApiResult<Vec<String>> {
        let principal = ctx.principal();
        step_up(ctx)?;
        let actor = ctx.actor().await?;
        mfa::regenerate_recovery_codes(ctx.state(), &actor, principal).await
    }

    /// A challenge for your own session, to prove your second factor again (a step-up) before
    /// a sensitive change: answer it with `verifyMfa`.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn start_mfa_challenge(&self, ctx: &Context<'_>) -> ApiResult<MfaChallenge> {
        Ok(MfaChallenge(
            mfa::step_up_challenge(ctx.state(), ctx.principal()).await?,
        ))
    }

    /// Answers a second-factor challenge with an authenticator app's code or a recovery code:
    /// the tokens of the sign-in (or of your stepped-up session). Wrong codes are throttled per
    /// account like passwords.
    async fn verify_mfa(&self, ctx: &Context<'_>, input: VerifyMfaInput) -> ApiResult<AuthPayload> {
        ctx.principal().not_a_key()?;
        let answer = mfa::Answer {
            totp_code: input.totp_code,
            recovery_code: input.recovery_code,
            webauthn_response: input.webauthn_response,
        };
        let tokens =
            mfa::verify(ctx.state(), &input.challenge, answer, &ctx.request().meta).await?;
        Ok(signed_in(ctx, tokens.into()))
    }

    /// Requires (or stops requiring) that members' sessions have checked a second factor:
    /// without one, nothing of the organization is shown but how to enroll. Needs
    /// `sso: manage`, the grant of the organization's sign-in settings.
    #[graphql(directive = Requires::apply(need(require::SSO_MANAGE).step_up()))]
    async fn set_organization_mfa_requirement(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        required: bool,
    ) -> ApiResult<Organization> {
        let org = NodeId::organization("organizationId", &organization_id)?;
        let change = Gate::root("organization", org).change(ctx).await?;
        let model = mfa::set_requirement(&change, required).await?;
        Ok(Organization::new(model.into()))
    }

    /// Resets a user's second factors (a lost phone): their sessions end, and their security
    /// events and each of their organizations' logs record it. Platform operators only.
    /// Answers how many factors were removed.
    #[graphql(guard = "PlatformOperator", directive = platformOperator::apply())]
    async fn reset_user_mfa(&self, ctx: &Context<'_>, email: String) -> ApiResult<i32> {
        let email = crate::domain::Email::parse("email", &email)?;
        let actor = ctx.actor().await?;
        let removed = mfa::reset(ctx.state(), &actor, &email).await?;
        Ok(i32::try_from(removed).unwrap_or(i32::MAX))
    }
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
    let org = sso::domains::organization_of(ctx.state(), domain).await?;
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
) -> ApiResult<crate::services::service_accounts::ServiceAccountRecord> {
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
