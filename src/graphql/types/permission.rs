//! `PermissionGrant`: one resource with the level a role grants on it.

use std::borrow::Cow;
use std::sync::Arc;

use async_graphql::parser::types::{Field, SelectionSet};
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
#[derive(Debug, Clone, Copy)]
enum GrantField {
    Resource,
    Level,
    Typename,
}

/// The response keys and fields a selection of `PermissionGrant` asks for, in order, with its
/// fragments applied: worked out once per list rather than once per grant. A grant is two
/// strings with no guard, so its fields are read in place rather than each resolved as a
/// future of its own (a dashboard holds thousands of grants).
pub(crate) struct GrantPlan {
    fields: Vec<(Name, GrantField)>,
    /// The response keys and fields, as text: two plans with the same signature answer alike.
    signature: String,
}

impl GrantPlan {
    /// The plan of the selection sets `sets` asked of a list of grants.
    pub(crate) fn of(ctx: &ContextSelectionSet<'_>, sets: &[&SelectionSet]) -> ServerResult<Self> {
        let type_name = PermissionGrant::type_name();
        let asked = crate::graphql::plan::collect(ctx, &type_name, sets).ok_or_else(|| {
            ServerError::new("a grant's fields take no arguments or directives", None)
        })?;
        let fields = asked.into_iter().map(|asked| {
            let field = match asked.name {
                "resource" => GrantField::Resource,
                "level" => GrantField::Level,
                "__typename" => GrantField::Typename,
                other => {
                    return Err(ServerError::new(
                        format!(r#"Cannot query field "{other}" on type "PermissionGrant"."#),
                        Some(asked.pos),
                    ));
                }
            };
            Ok((asked.key, field))
        });
        let fields: Vec<(Name, GrantField)> = fields.collect::<ServerResult<_>>()?;
        let signature = fields
            .iter()
            .map(|(key, field)| format!("{key}:{field:?}"))
            .collect::<Vec<_>>()
            .join(",");
        Ok(Self { fields, signature })
    }

    /// What the plan asks, as text (for keeping its answers).
    pub(crate) fn signature(&self) -> &str {
        &self.signature
    }

    /// The answer for `grants`: every resource of `policy` with its granted level.
    pub(crate) fn answer(&self, policy: &Policy, grants: &Grants) -> Value {
        let items = policy.describe(grants).map(|(resource, level)| {
            let answer = self.fields.iter().map(|(key, field)| {
                let value = match field {
                    GrantField::Resource => resource.to_owned(),
                    GrantField::Level => level.to_owned(),
                    GrantField::Typename => PermissionGrant::type_name().into_owned(),
                };
                (key.clone(), Value::String(value))
            });
            Value::Object(answer.collect())
        });
        Value::List(items.collect())
    }
}

/// `[PermissionGrant!]!`, answered in one pass (see [`GrantPlan`]) straight from the policy's
/// names.
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
        let plan = GrantPlan::of(ctx, &[&ctx.item.node])?;
        Ok(plan.answer(&self.policy, &self.grants))
    }
}

/// A resource, level or feature key as a client names it: one line, at most
/// [`crate::domain::text::MAX_TERM`] characters.
pub(crate) fn policy_key(field: &'static str, key: &str) -> crate::error::ApiResult<()> {
    use crate::domain::text;
    text::check(field, text::TextKind::Line, key, text::MAX_TERM)
}
