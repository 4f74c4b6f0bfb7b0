//! Lists, their entries, and sharing them with partners.

use super::*;

#[derive(Default)]
pub struct ListMutations;

#[Object(guard = "Declared::ROOT")]
impl ListMutations {
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
