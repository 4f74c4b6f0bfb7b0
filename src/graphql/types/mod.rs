//! One file per GraphQL object type.

mod api_key;
mod audit_event;
mod auth_payload;
pub(crate) mod catalog;
mod invitation;
mod list;
mod member_page;
mod membership;
mod mfa;
mod node;
mod organization;
mod permission;
mod role;
mod scim;
mod sso;
mod user;
mod viewer;
mod webhook;

pub use api_key::{ApiKey, ApiKeyOwner, IssuedApiKey, ServiceAccount};
pub use audit_event::{AuditConnection, AuditEvent, audit_page};
pub use auth_payload::{AuthPayload, MfaChallenge};
pub use catalog::{CatalogGuard, GuardKind, PermissionCatalog};
pub use invitation::{Invitation, InvitationStatus};
pub use list::{List, ListKindValue, list_for_change, visible_list};
pub use membership::{MemberKind, Membership};
pub use mfa::{MfaFactor, SecurityKeyRegistered, TotpEnrollment};
pub use node::Node;
pub use organization::{License, Organization};
pub(crate) use permission::policy_key;
pub use permission::{GrantList, PermissionGrant};
pub use role::{Role, SeatClassValue};
pub use scim::{ScimGroup, ScimSettings};
pub use sso::{CertificateMapping, OrganizationDomain, SsoConnection};
pub use user::User;
pub use viewer::Viewer;
pub use webhook::{
    AuditCheckpoint, IssuedWebhookEndpoint, WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus,
    WebhookEndpoint,
};
