//! The GraphQL layer: the schema, its types, queries, mutations, guards and loaders. Thin:
//! resolvers take the principal and state from the request context and call one service
//! function.

pub mod batches;
pub mod connection;
mod context;
pub mod declared;
pub mod document;
pub mod guards;
pub mod ids;
pub mod loaders;
pub mod mutation;
mod nulls;
mod plan;
pub mod query;
mod schema;
pub mod types;

pub use context::RequestContext;
pub(crate) use context::{ContextExt, missing_as};
pub use schema::{
    CharterSchema, build_schema, execute, operation_label, schema_guards, sdl,
    undeclared_requirements,
};
