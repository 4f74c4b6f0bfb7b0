//! Opaque global ids: `base64url("Type:uuid")`, or `Role:organization:role` since a role is
//! always seen from one organization.

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::error::ApiError;

/// The longest global id accepted (a role id, the longest kind, has 104 characters).
const MAX_ID_LEN: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeId {
    Organization(Uuid),
    User(Uuid),
    Membership(Uuid),
    Role { organization: Uuid, role: Uuid },
    AuditEvent(Uuid),
    Invitation(Uuid),
    List(Uuid),
    ApiKey(Uuid),
    ServiceAccount(Uuid),
    WebhookEndpoint(Uuid),
    WebhookDelivery(Uuid),
    AuditCheckpoint(Uuid),
    OrganizationDomain(Uuid),
    MfaFactor(Uuid),
    ScimGroup(Uuid),
}

impl NodeId {
    pub fn to_id(self) -> ID {
        let raw = match self {
            NodeId::Organization(id) => format!("Organization:{id}"),
            NodeId::User(id) => format!("User:{id}"),
            NodeId::Membership(id) => format!("Membership:{id}"),
            NodeId::Role { organization, role } => format!("Role:{organization}:{role}"),
            NodeId::AuditEvent(id) => format!("AuditEvent:{id}"),
            NodeId::Invitation(id) => format!("Invitation:{id}"),
            NodeId::List(id) => format!("List:{id}"),
            NodeId::ApiKey(id) => format!("ApiKey:{id}"),
            NodeId::ServiceAccount(id) => format!("ServiceAccount:{id}"),
            NodeId::WebhookEndpoint(id) => format!("WebhookEndpoint:{id}"),
            NodeId::WebhookDelivery(id) => format!("WebhookDelivery:{id}"),
            NodeId::AuditCheckpoint(id) => format!("AuditCheckpoint:{id}"),
            NodeId::OrganizationDomain(id) => format!("OrganizationDomain:{id}"),
            NodeId::MfaFactor(id) => format!("MfaFactor:{id}"),
            NodeId::ScimGroup(id) => format!("ScimGroup:{id}"),
        };
        ID(URL_SAFE_NO_PAD.encode(raw))
    }

    /// Decodes any global id; INVALID_INPUT naming `field` when it is not one.
    pub fn parse(field: &'static str, id: &ID) -> Result<Self, ApiError> {
        let invalid = || ApiError::invalid(field, "is not a valid id");
        // Every id this server hands out is well under this; anything longer is not one.
        if id.len() > MAX_ID_LEN {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(id.as_str()).map_err(|_| invalid())?;
        let raw = String::from_utf8(bytes).map_err(|_| invalid())?;
        let mut parts = raw.split(':');
        let kind = parts.next().ok_or_else(invalid)?;
        let mut uuid = || {
            parts
                .next()
                .and_then(|part| Uuid::parse_str(part).ok())
                .ok_or_else(invalid)
        };
        let node = match kind {
            "Organization" => NodeId::Organization(uuid()?),
            "User" => NodeId::User(uuid()?),
            "Membership" => NodeId::Membership(uuid()?),
            "AuditEvent" => NodeId::AuditEvent(uuid()?),
            "Invitation" => NodeId::Invitation(uuid()?),
            "List" => NodeId::List(uuid()?),
            "ApiKey" => NodeId::ApiKey(uuid()?),
            "ServiceAccount" => NodeId::ServiceAccount(uuid()?),
            "WebhookEndpoint" => NodeId::WebhookEndpoint(uuid()?),
            "WebhookDelivery" => NodeId::WebhookDelivery(uuid()?),
            "AuditCheckpoint" => NodeId::AuditCheckpoint(uuid()?),
            "OrganizationDomain" => NodeId::OrganizationDomain(uuid()?),
            "MfaFactor" => NodeId::MfaFactor(uuid()?),
            "ScimGroup" => NodeId::ScimGroup(uuid()?),
            "Role" => NodeId::Role {
                organization: uuid()?,
                role: uuid()?,
            },
            _ => return Err(invalid()),
        };
        if parts.next().is_some() {
            return Err(invalid());
        }
        Ok(node)
    }

    pub fn organization(field: &'static str, id: &ID) -> Result<Uuid, ApiError> {
        match Self::parse(field, id)? {
            NodeId::Organization(id) => Ok(id),
            _ => Err(ApiError::invalid(field, "is not an organization id")),
        }
    }

    pub fn user(field: &'static str, id: &ID) -> Result<Uuid, ApiError> {
        match Self::parse(field, id)? {
            NodeId::User(id) => Ok(id),
            _ => Err(ApiError::invalid(field, "is not a user id")),
        }
    }

    pub fn list(field: &'static str, id: &ID) -> Result<Uuid, ApiError> {
        match Self::parse(field, id)? {
            NodeId::List(id) => Ok(id),
            _ => Err(ApiError::invalid(field, "is not a list id")),
        }
    }

    pub fn api_key(field: &'static str, id: &ID) -> Result<Uuid, ApiError> {
        match Self::parse(field, id)? {
            NodeId::ApiKey(id) => Ok(id),
            _ => Err(ApiError::invalid(field, "is not an API key id")),
        }
    }

    pub fn service_account(field: &'static str, id: &ID) -> Result<Uuid, ApiError> {
        match Self::parse(field, id)? {
            NodeId::ServiceAccount(id) => Ok(id),
            _ => Err(ApiError::invalid(field, "is not a service account id")),
        }
    }

    pub fn webhook_endpoint(field: &'static str, id: &ID) -> Result<Uuid, ApiError> {
        match Self::parse(field, id)? {
            NodeId::WebhookEndpoint(id) => Ok(id),
            _ => Err(ApiError::invalid(field, "is not a webhook endpoint id")),
        }
    }

    pub fn webhook_delivery(field: &'static str, id: &ID) -> Result<Uuid, ApiError> {
        match Self::parse(field, id)? {
            NodeId::WebhookDelivery(id) => Ok(id),
            _ => Err(ApiError::invalid(field, "is not a webhook delivery id")),
        }
    }

    pub fn organization_domain(field: &'static str, id: &ID) -> Result<Uuid, ApiError> {
        match Self::parse(field, id)? {
            NodeId::OrganizationDomain(id) => Ok(id),
            _ => Err(ApiError::invalid(field, "is not a domain id")),
        }
    }

    pub fn scim_group(field: &'static str, id: &ID) -> Result<Uuid, ApiError> {
        match Self::parse(field, id)? {
            NodeId::ScimGroup(id) => Ok(id),
            _ => Err(ApiError::invalid(field, "is not a SCIM group id")),
        }
    }

    pub fn mfa_factor(field: &'static str, id: &ID) -> Result<Uuid, ApiError> {
        match Self::parse(field, id)? {
            NodeId::MfaFactor(id) => Ok(id),
            _ => Err(ApiError::invalid(field, "is not a second factor's id")),
        }
    }

    pub fn membership(field: &'static str, id: &ID) -> Result<Uuid, ApiError> {
        match Self::parse(field, id)? {
            NodeId::Membership(id) => Ok(id),
            _ => Err(ApiError::invalid(field, "is not a membership id")),
        }
    }
}

/// How people name an organization outside GraphQL (the command line, the license input): its
/// global id as GraphiQL shows it, its public id (`ORG-…`) or its internal id. A global id
/// becomes the internal id; anything else is left for [`crate::services::organization::organizations::find_by_reference`].
pub fn organization_reference(reference: &str) -> String {
    match NodeId::organization("organization", &ID(reference.trim().to_owned())) {
        Ok(id) => id.to_string(),
        Err(_) => reference.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_garbage_is_invalid_input() {
        let org = Uuid::now_v7();
        let role = Uuid::now_v7();
        for node in [
            NodeId::Organization(org),
            NodeId::Role {
                organization: org,
                role,
            },
        ] {
            assert_eq!(NodeId::parse("id", &node.to_id()).unwrap(), node);
        }
        let long = "A".repeat(1 << 20);
        for garbage in [
            "",
            "!!!",
            "VXNlcjo",
            "VXNlcjo\0",
            &long,
            &URL_SAFE_NO_PAD.encode("User:1:2"),
        ] {
            let err = NodeId::parse("id", &ID(garbage.to_owned())).unwrap_err();
            assert_eq!(err.field, Some("id"));
        }
        let user = NodeId::User(org).to_id();
        assert!(NodeId::organization("organizationId", &user).is_err());
    }

    #[test]
    fn an_organization_is_named_by_its_global_public_or_internal_id() {
        let org = Uuid::now_v7();
        let global = NodeId::Organization(org).to_id().0;
        assert_eq!(organization_reference(&global), org.to_string());
        assert_eq!(
            organization_reference(&format!(" {global} ")),
            org.to_string()
        );
        assert_eq!(organization_reference("ORG-AB12-CD34"), "ORG-AB12-CD34");
        assert_eq!(organization_reference(&org.to_string()), org.to_string());
        let user = NodeId::User(org).to_id().0;
        assert_eq!(organization_reference(&user), user);
    }
}
