//! `PermissionGrant`: one resource with the level a role grants on it.

use std::borrow::Cow;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::{
    ContextSelectionSet, Name, OutputType, Positioned, ServerError, ServerResult, SimpleObject,
    Value,
};

use crate::authz::{Grants, Policy};

/// One resource and the level granted on it.
#[derive(Debug, Clone, SimpleObject)]
pub struct PermissionGrant {
    pub resource: String,
    pub level: String,
}

impl PermissionGrant {
    /// Every resource of the policy with its granted level (the lowest where nothing is granted).
    pub fn all(policy: &Policy, grants: &Grants) -> GrantList {
        GrantList(
            policy
                .describe(grants)
                .map(|(resource, level)| PermissionGrant {
                    resource: resource.to_owned(),
                    level: level.to_owned(),
                })
                .collect(),
        )
    }

    /// This grant's answer to `selections`, added to `answer`. A grant is two strings with no
    /// guard, so its fields are read in place rather than each resolved as a future of its own
    /// (a dashboard holds thousands of grants).
    fn answer(
        &self,
        ctx: &ContextSelectionSet<'_>,
        selections: &SelectionSet,
        answer: &mut IndexMap<Name, Value>,
    ) -> ServerResult<()> {
        for selection in &selections.items {
            let selections = match &selection.node {
                Selection::Field(field) => {
                    let value = match field.node.name.node.as_str() {
                        "resource" => Value::String(self.resource.clone()),
                        "level" => Value::String(self.level.clone()),
                        "__typename" => Value::String(Self::type_name().into_owned()),
                        other => {
                            return Err(ServerError::new(
                                format!(
                                    r#"Cannot query field "{other}" on type "PermissionGrant"."#
                                ),
                                Some(field.pos),
                            ));
                        }
                    };
                    answer.insert(field.node.response_key().node.clone(), value);
                    continue;
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    let fragment = ctx.query_env.fragments.get(name).ok_or_else(|| {
                        ServerError::new(format!(r#"Unknown fragment "{name}"."#), Some(spread.pos))
                    })?;
                    (
                        Some(&fragment.node.type_condition),
                        &fragment.node.selection_set,
                    )
                }
                Selection::InlineFragment(fragment) => (
                    fragment.node.type_condition.as_ref(),
                    &fragment.node.selection_set,
                ),
            };
            // Validation has let through only conditions this type meets: none, or its own
            // name (it implements no interface and belongs to no union).
            let (condition, selections) = selections;
            if condition.is_none_or(|condition| condition.node.on.node == *Self::type_name()) {
                self.answer(ctx, &selections.node, answer)?;
            }
        }
        Ok(())
    }
}

/// `[PermissionGrant!]!`, answered in one pass (see [`PermissionGrant::answer`]). `@skip` and
/// `@include` are applied to the document before execution, so they need nothing here.
#[derive(Debug, Clone)]
pub struct GrantList(pub Vec<PermissionGrant>);

impl OutputType for GrantList {
    fn type_name() -> Cow<'static, str> {
        <Vec<PermissionGrant> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<PermissionGrant> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<PermissionGrant> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let mut items = Vec::with_capacity(self.0.len());
        for grant in &self.0 {
            let mut answer = IndexMap::new();
            grant.answer(ctx, &ctx.item.node, &mut answer)?;
            items.push(Value::Object(answer));
        }
        Ok(Value::List(items))
    }
}
