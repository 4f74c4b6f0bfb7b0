//! Building the schema with its limits and extensions, and printing its SDL.

use async_graphql::{EmptySubscription, SDLExportOptions, Schema};

use super::mutation::MutationRoot;
use super::query::QueryRoot;
use super::{document, nulls};
use crate::services::AppState;

pub type CharterSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Builds the schema. The state is shared; each request adds its [`RequestContext`].
pub fn build_schema(state: AppState) -> CharterSchema {
    let settings = state.settings.clone();
    Schema::build(QueryRoot, MutationRoot, EmptySubscription)
        .data(state)
        .limit_depth(settings.max_query_depth)
        .limit_complexity(settings.max_query_complexity)
        .limit_recursive_depth(32)
        .limit_directives(16)
        .extension(document::DocumentBounds)
        .extension(nulls::SpecNulls)
        .finish()
}

/// The SDL of the schema, as committed in `schema.graphql`. It carries `@specifiedBy` on the
/// scalars that have one, as introspection does, so that tools reading either agree.
pub fn sdl() -> String {
    Schema::build(QueryRoot, MutationRoot, EmptySubscription)
        .finish()
        .sdl_with_options(SDLExportOptions::new().include_specified_by())
}
