//! What an organization does: every use case that takes an `OrgScope` or an `OrgChange` —
//! the organization itself, members and their seats, roles, invitations, lists, service
//! accounts and their keys, webhook endpoints. Stands on identity, webhooks and the store.

pub mod api_keys;
pub mod certificates;
pub mod domains;
pub mod invitations;
pub mod ldap;
pub mod lists;
pub mod members;
pub mod memberships;
pub mod organizations;
pub mod roles;
pub mod saml;
pub mod scim;
pub mod service_accounts;
pub mod sso;
pub mod webhooks;
