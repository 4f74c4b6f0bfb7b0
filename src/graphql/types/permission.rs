//! `PermissionGrant`: one resource with the level a role grants on it.

use std::borrow::Cow;
use std::sync::Arc;

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
    pub fn all(policy: &Arc<Policy>, grants: &Grants) -> GrantList {
        GrantList {
            policy: policy.clone(),
            grants: grants.clone(),
        }
    }
}

/// A field of `PermissionGrant` as a selection asks for it.
#[derive(Clone, Copy)]
enum GrantField {
    Resource,
    Level,
    Typename,
}

/// The response keys and fields a selection of `PermissionGrant` asks for, in order, with its
/// fragments applied: worked out once per list rather than once per grant. A grant is two
/// strings with no guard, so its fields are read in place rather than each resolved as a
/// future of its own (a dashboard holds thousands of grants).
fn plan(
    ctx: &ContextSelectionSet<'_>,
    selections: &SelectionSet,
    fields: &mut Vec<(Name, GrantField)>,
) -> ServerResult<()> {
    for selection in &selections.items {
        let (condition, selections) = match &selection.node {
            Selection::Field(field) => {
                let kind = match field.node.name.node.as_str() {
                    "resource" => GrantField::Resource,
                    "level" => GrantField::Level,
                    "__typename" => GrantField::Typename,
                    other => {
                        return Err(ServerError::new(
                            format!(r#"Cannot query field "{other}" on type "PermissionGrant"."#),
                            Some(field.pos),
                        ));
                    }
                };
                let key = field.node.response_key().node.clone();
                // A key asked twice (validation has made sure both ask the same) answers
                // once, where it was first asked.
                if !fields.iter().any(|(known, _)| *known == key) {
                    fields.push((key, kind));
                }
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
        // Validation has let through only conditions this type meets: none, or its own name
        // (it implements no interface and belongs to no union).
        if condition.is_none_or(|condition| condition.node.on.node == *PermissionGrant::type_name())
        {
            plan(ctx, &selections.node, fields)?;
        }
    }
    Ok(())
}

/// `[PermissionGrant!]!`, answered in one pass (see [`plan`]) straight from the policy's
/// names. `@skip` and `@include` are applied to the document before execution, so they need
/// nothing here.
#[derive(Clone)]
pub struct GrantList {
    policy: Arc<Policy>,
    grants: Grants,
}

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
        let mut fields = Vec::new();
        plan(ctx, &ctx.item.node, &mut fields)?;
        let items = self.policy.describe(&self.grants).map(|(resource, level)| {
            let answer = fields.iter().map(|(key, field)| {
                let value = match field {
                    GrantField::Resource => resource.to_owned(),
                    GrantField::Level => level.to_owned(),
                    GrantField::Typename => PermissionGrant::type_name().into_owned(),
                };
                (key.clone(), Value::String(value))
            });
            Value::Object(answer.collect())
        });
        Ok(Value::List(items.collect()))
    }
}

/// A resource, level or feature key as a client names it: one line, at most
/// [`crate::domain::text::MAX_TERM`] characters.
pub(crate) fn policy_key(field: &'static str, key: &str) -> crate::error::ApiResult<()> {
    use crate::domain::text;
    text::check(field, text::TextKind::Line, key, text::MAX_TERM)
}
