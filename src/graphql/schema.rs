//! Building the schema with its limits and extensions, and printing its SDL.

use std::sync::OnceLock;

use async_graphql::parser::types::{OperationType, Selection};
use async_graphql::{EmptySubscription, Request, Response, SDLExportOptions, Schema};

use super::batches::{self, Batches};
use super::declared::Declared;
use super::mutation::MutationRoot;
use super::query::QueryRoot;
use super::types::{CatalogGuard, catalog};
use super::{document, nulls};
use crate::authz::Policy;
use crate::services::AppState;

pub type CharterSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Builds the schema. The state is shared; each request adds its [`RequestContext`].
pub fn build_schema(state: AppState) -> CharterSchema {
    let settings = state.settings.clone();
    Schema::build(QueryRoot, MutationRoot::default(), EmptySubscription)
        .data(state)
        .data(declared())
        .limit_depth(settings.max_query_depth)
        .limit_complexity(settings.max_query_complexity)
        .limit_recursive_depth(32)
        .limit_directives(16)
        .finish()
}

/// Runs one request as Charter does: its document bounded first ([`document::bound`]), its
/// loaders batching in its own task ([`batches::drive`]), and the specification's nulls
/// written into the answer ([`nulls::propagate`]). The schema has no extension, so no field
/// pays for a hook it does not need.
pub async fn execute(schema: &CharterSchema, mut request: Request, batches: Batches) -> Response {
    if let Err(error) = document::bound(&mut request) {
        return Response::from_errors(vec![error]);
    }
    // The text is kept for the nulls, which only a response with errors needs: only then is it
    // parsed again (its nesting is already bounded).
    let query = request.query.clone();
    let operation_name = request.operation_name.clone();
    let mut response = batches::drive(batches, schema.execute(request)).await;
    if !response.errors.is_empty()
        && let Ok(document) = async_graphql::parser::parse_query(&query)
    {
        nulls::propagate(
            declared(),
            &document,
            operation_name.as_deref(),
            &mut response,
        );
    }
    response
}

/// The name `/metrics` counts a request under, drawn from a closed set: the operation's type
/// and its first root field (`query.viewer`, `mutation.login`), when that field is one the
/// schema declares (or `__schema`, `__type`, `__typename`); `invalid` for anything else. Never
/// the operation's name, which the client chooses. The parse is kept for the executor.
pub fn operation_label(request: &mut Request) -> (&'static str, String) {
    let invalid = || ("invalid", "invalid".to_owned());
    if document::check_nesting(&request.query).is_err() {
        return invalid();
    }
    let wanted = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return invalid();
    };
    let operation = document.operations.iter().find(|(name, _)| match &wanted {
        Some(wanted) => name.is_some_and(|name| name.as_str() == wanted),
        None => true,
    });
    let Some((_, operation)) = operation else {
        return invalid();
    };
    let (kind, root) = match operation.node.ty {
        OperationType::Query => ("query", "Query"),
        OperationType::Mutation => ("mutation", "Mutation"),
        OperationType::Subscription => return invalid(),
    };
    let first =
        operation
            .node
            .selection_set
            .node
            .items
            .iter()
            .find_map(|selection| match &selection.node {
                Selection::Field(field) => Some(field.node.name.node.as_str()),
                _ => None,
            });
    match first {
        Some(field @ ("__schema" | "__type" | "__typename")) => (kind, format!("{kind}.{field}")),
        Some(field) if declared().field_type(root, field).is_some() => {
            (kind, format!("{kind}.{field}"))
        }
        _ => invalid(),
    }
}

/// What the schema declares of its fields, read once from its SDL: the guards, the catalog and
/// null propagation are handed it (as the schema's data, or here), and none reads the schema
/// back.
pub(crate) fn declared() -> &'static Declared {
    static DECLARED: OnceLock<Declared> = OnceLock::new();
    DECLARED.get_or_init(|| {
        let document =
            async_graphql::parser::parse_schema(sdl()).expect("the schema's own SDL parses");
        Declared::read(&document)
    })
}

/// Every field's guard as the catalog lists it.
pub fn schema_guards() -> &'static [CatalogGuard] {
    static GUARDS: OnceLock<Vec<CatalogGuard>> = OnceLock::new();
    GUARDS.get_or_init(|| catalog::guards_of(declared()))
}

/// The requirements the schema declares that `policy` does not (checked at start-up).
pub fn undeclared_requirements(policy: &Policy) -> Vec<String> {
    catalog::undeclared_requirements(schema_guards(), policy)
}

/// The SDL of the schema, as committed in `schema.graphql`. It carries `@specifiedBy` on the
/// scalars that have one, as introspection does, so that tools reading either agree.
pub fn sdl() -> String {
    Schema::build(QueryRoot, MutationRoot::default(), EmptySubscription)
        .finish()
        .sdl_with_options(SDLExportOptions::new().include_specified_by())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_labelled_by_a_declared_root_field_and_never_by_their_name() {
        let label = |query: &str, name: Option<&str>| {
            let mut request = Request::new(query);
            if let Some(name) = name {
                request = request.operation_name(name);
            }
            operation_label(&mut request)
        };
        assert_eq!(
            label("query Dashboard { viewer { user { id } } }", None),
            ("query", "query.viewer".to_owned())
        );
        assert_eq!(
            label("query A { viewer { id } } mutation B { logout }", Some("B")).1,
            "mutation.logout"
        );
        assert_eq!(label("{ __typename }", None).1, "query.__typename");
        // A field the schema does not have, a fragment first, a syntax error, deep nesting.
        assert_eq!(label("{ anyNameAtAll }", None).1, "invalid");
        assert_eq!(
            label("{ ...F } fragment F on Query { viewer { id } }", None).1,
            "invalid"
        );
        assert_eq!(label("{ viewer ", None).1, "invalid");
        assert_eq!(
            label(&format!("{{ viewer {} }}", "[".repeat(100)), None).1,
            "invalid"
        );
        assert_eq!(
            label("query A { viewer { id } }", Some("Missing")).1,
            "invalid"
        );
    }
}
