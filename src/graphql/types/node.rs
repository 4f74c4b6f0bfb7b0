//! The `Node` interface: every object `node(id:)` fetches by its global id.

use async_graphql::{ID, Interface};

use super::{
    ApiKey, AuditEvent, Invitation, List, Membership, Organization, Role, ServiceAccount, User,
};

/// Anything with a global id, fetchable with `node(id:)`.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Organization(Organization),
    User(User),
    Membership(Membership),
    Role(Role),
    AuditEvent(AuditEvent),
    Invitation(Invitation),
    List(List),
    ApiKey(ApiKey),
    ServiceAccount(ServiceAccount),
}
