//! Building the schema with its limits and extensions, and printing its SDL.

use std::sync::OnceLock;

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
