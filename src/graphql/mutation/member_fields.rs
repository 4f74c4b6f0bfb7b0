//! Licenses, members, the account's own profile, and invitations.

use super::*;

#[derive(Default)]
pub struct MemberMutations;

#[Object(guard = "Declared::ROOT")]
impl MemberMutations {
    /// Changes an organization's license: seats, free read-only seats, features.
    #[graphql(directive = platformOperator::apply())]
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
        let reference = crate::graphql::ids::organization_reference(&input.organization);
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
            return Err(crate::authz::Refusal::RoleNotInOrganization.into());
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

    /// Sets the role SCIM gives new members, and members no group places (one you may hand
    /// out). Members already provisioned keep their roles until SCIM next changes them.
    #[graphql(directive = Requires::apply(need(require::MEMBER_MANAGE)))]
    async fn configure_scim(
        &self,
        ctx: &Context<'_>,
        input: ConfigureScimInput,
    ) -> ApiResult<ScimSettings> {
        let org = NodeId::organization("organizationId", &input.organization_id)?;
        let (role_org, role) = role_ref_in("defaultRoleId", &input.default_role_id)?;
        let change = Gate::root("organization", org).change(ctx).await?;
        if role_org != org {
            return Err(crate::authz::Refusal::RoleNotInOrganization.into());
        }
        let default_role = scim::configure(&change, role).await?;
        Ok(ScimSettings {
            organization_id: org,
            default_role,
        })
    }

    /// Sets the role a SCIM group places its members in (`roleId: null`: the role of the
    /// group's name, if any), and places its members again: each move passes the rules of
    /// `assignRole` (your ceiling, owners, the last owner, seats), or none is made.
    #[graphql(directive = Requires::apply(need(require::MEMBER_MANAGE)))]
    async fn set_scim_group_role(
        &self,
        ctx: &Context<'_>,
        input: SetScimGroupRoleInput,
    ) -> ApiResult<ScimGroup> {
        let group = NodeId::scim_group("groupId", &input.group_id)?;
        let role = match &input.role_id {
            Some(id) => Some(role_ref_in("roleId", id)?),
            None => None,
        };
        let org = scim::groups::organization_of(ctx.state(), group).await?;
        let change = Gate::root("SCIM group", org).change(ctx).await?;
        if role.is_some_and(|(role_org, _)| role_org != org) {
            return Err(crate::authz::Refusal::RoleNotInOrganization.into());
        }
        let updated = scim::groups::set_role(&change, group, role.map(|(_, role)| role)).await?;
        Ok(ScimGroup(updated))
    }

    /// Leaves an organization; the last owner cannot.
    #[graphql(directive = Authenticated::apply(SIGNED_IN))]
    async fn leave_organization(&self, ctx: &Context<'_>, organization_id: ID) -> ApiResult<bool> {
        let org = NodeId::organization("organizationId", &organization_id)?;
        let change = Gate::root("organization", org).own_membership(ctx).await?;
        members::leave(&change).await?;
        Ok(true)
    }

    /// Changes your password (the current one is required); your other sessions end.
    #[graphql(directive = Authenticated::apply(STEPPED_UP))]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        input: ChangePasswordInput,
    ) -> ApiResult<bool> {
        check_offered("currentPassword", &input.current_password)?;
        let new = crate::domain::NewPassword::parse("newPassword", &input.new_password)?;
        credentials::change_password(
            &ctx.own_account().await?,
            &ctx.request().meta,
            input.current_password,
            new,
        )
        .await?;
        Ok(true)
    }

    /// Changes your display name.
    #[graphql(directive = Authenticated::apply(SIGNED_IN))]
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        input: UpdateProfileInput,
    ) -> ApiResult<User> {
        let name = crate::domain::DisplayName::parse("displayName", &input.display_name)?;
        let user = users::update_profile(&ctx.own_account().await?, name).await?;
        Ok(User::new(user, None))
    }

    /// Disables (or, with `disabled: false`, re-enables) an account: it cannot sign in and its
    /// sessions end at once.
    #[graphql(directive = platformOperator::apply())]
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
            return Err(crate::authz::Refusal::RoleNotInOrganization.into());
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
pub struct ConfigureScimInput {
    pub organization_id: ID,
    /// A role of the organization (as listed by `Organization.roles`).
    pub default_role_id: ID,
}

#[derive(InputObject)]
pub struct SetScimGroupRoleInput {
    /// A group of `Organization.scimGroups`.
    pub group_id: ID,
    /// A role of the group's organization; null: the role of the group's name.
    pub role_id: Option<ID>,
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
