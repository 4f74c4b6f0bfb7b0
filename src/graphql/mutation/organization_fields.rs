//! Organizations and their roles.

use super::*;

#[derive(Default)]
pub struct OrganizationMutations;

#[Object(guard = "Declared::ROOT")]
impl OrganizationMutations {
    /// Creates an organization; the viewer becomes its owner.
    #[graphql(directive = Authenticated::apply(SIGNED_IN))]
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
