//! What you may do: the policy, requirements of fields, and the viewer's effective access in an organization.

pub mod owners;
pub mod policy;
pub mod power;
pub mod refusal;
pub mod rules;
pub mod seats;

use std::sync::Arc;

use uuid::Uuid;

use crate::error::ApiError;
pub use policy::{Grants, Policy, SeatClass};
pub use power::Standing;
pub use refusal::Refusal;

/// A `(resource, level)` that a field or mutation needs in the organization that owns its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    pub resource: &'static str,
    pub level: &'static str,
}

impl Requirement {
    pub const fn new(resource: &'static str, level: &'static str) -> Self {
        Self { resource, level }
    }
}

/// The requirements Charter's own schema uses, declared once and referenced by guards.
pub mod require {
    use super::Requirement;

    pub const ORGANIZATION_READ: Requirement = Requirement::new("organization", "read");
    pub const ORGANIZATION_EDIT: Requirement = Requirement::new("organization", "edit");
    pub const MEMBER_READ: Requirement = Requirement::new("member", "read");
    pub const MEMBER_MANAGE: Requirement = Requirement::new("member", "manage");
    pub const INVITATION_SEND: Requirement = Requirement::new("invitation", "send");
    pub const ROLE_READ: Requirement = Requirement::new("role", "read");
    pub const ROLE_MANAGE: Requirement = Requirement::new("role", "manage");
    pub const AUDIT_LOG_READ: Requirement = Requirement::new("audit_log", "read");
    pub const LIST_READ: Requirement = Requirement::new("list", "read");
    pub const LIST_CREATE: Requirement = Requirement::new("list", "create");
    pub const LIST_EDIT: Requirement = Requirement::new("list", "edit");
    pub const LIST_FULL: Requirement = Requirement::new("list", "full");
    pub const LIST_SHARING_MANAGE: Requirement = Requirement::new("list_sharing", "manage");
    pub const API_KEY_READ: Requirement = Requirement::new("api_key", "read");
    pub const API_KEY_MANAGE: Requirement = Requirement::new("api_key", "manage");
    pub const SSO_READ: Requirement = Requirement::new("sso", "read");
    pub const SSO_MANAGE: Requirement = Requirement::new("sso", "manage");
    pub const WEBHOOK_READ: Requirement = Requirement::new("webhook", "read");
    pub const WEBHOOK_MANAGE: Requirement = Requirement::new("webhook", "manage");

    /// Every requirement above: a field may declare only these.
    pub const ALL: &[Requirement] = &[
        ORGANIZATION_READ,
        ORGANIZATION_EDIT,
        MEMBER_READ,
        MEMBER_MANAGE,
        INVITATION_SEND,
        ROLE_READ,
        ROLE_MANAGE,
        AUDIT_LOG_READ,
        LIST_READ,
        LIST_CREATE,
        LIST_EDIT,
        LIST_FULL,
        LIST_SHARING_MANAGE,
        API_KEY_READ,
        API_KEY_MANAGE,
        SSO_READ,
        SSO_MANAGE,
        WEBHOOK_READ,
        WEBHOOK_MANAGE,
    ];

    /// The requirement named `resource` at `level`, if Charter's schema uses it.
    pub fn named(resource: &str, level: &str) -> Option<Requirement> {
        ALL.iter()
            .copied()
            .find(|r| r.resource == resource && r.level == level)
    }
}

/// What the viewer's credential proved, as the gate weighs it in each organization.
///
/// A session signed in only by an organization's identity provider acts only in that
/// organization; the provider's word that it did multi-factor authentication counts only there,
/// and never as a Charter second factor (step-up, factor changes). A password proved alongside
/// (the person's own credential) lifts the first bound.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Proof {
    /// A Charter second factor was checked (for an API key: the key stands for one).
    pub second_factor: bool,
    /// The organization whose identity provider signed the session in.
    pub provider: Option<Uuid>,
    /// That provider said it did multi-factor authentication itself.
    pub provider_mfa: bool,
    /// The person proved their Charter password.
    pub password: bool,
}

impl Proof {
    /// A machine credential's: no person to ask for a second factor, and bounded by its key.
    pub const KEY: Proof = Proof {
        second_factor: true,
        provider: None,
        provider_mfa: false,
        password: true,
    };

    /// Whether the session may act in `organization`: anywhere its person proved their own
    /// credentials, else only in the organization whose provider signed it in.
    pub fn reaches(&self, organization: Uuid) -> bool {
        self.password
            || self
                .provider
                .is_none_or(|provider| provider == organization)
    }

    /// Whether the session counts as multi-factor in `organization`.
    pub fn mfa_in(&self, organization: Uuid) -> bool {
        self.second_factor || (self.provider_mfa && self.provider == Some(organization))
    }
}

/// Proof that the viewer is a member of an organization, with the grants of their role there.
///
/// Built only by [`crate::services::store::access`], read per request from the database. Its fields
/// are private: it is read through its methods, and only the gate
/// ([`crate::services::store::scope`]) turns it into a capability for the organization's data.
#[derive(Debug, Clone)]
pub struct OrgAccess {
    user_id: Uuid,
    organization_id: Uuid,
    membership_id: Uuid,
    role_id: Uuid,
    owner: bool,
    /// The role's grants as they take effect here (feature-gated resources the organization is
    /// not licensed for are at their lowest level).
    grants: Arc<Grants>,
    /// The organization's licensed features.
    features: Arc<Vec<String>>,
    policy: Arc<Policy>,
    /// The API key the viewer acts through, whose grants bound the role's.
    key: Option<Arc<KeyLimit>>,
    /// Whether the organization requires a second factor of its members' sessions.
    mfa_required: bool,
    /// What the viewer's session proved (a key counts as a second factor).
    proof: Proof,
}

/// What an API key lets its holder do: act in one organization, with at most its grants.
///
/// A key acts with the intersection of its grants and its holder's role as read for each
/// request ([`OrgAccess::limited`]), so a demoted holder's keys shrink with them, and a holder
/// who is no longer a member has no access through them at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLimit {
    pub key_id: Uuid,
    pub holder_id: Uuid,
    pub organization_id: Uuid,
    pub grants: Grants,
}

/// What [`OrgAccess::new`] is built from: one membership and the role it holds.
pub struct MembershipFacts {
    pub user_id: Uuid,
    pub organization_id: Uuid,
    pub membership_id: Uuid,
    pub role_id: Uuid,
    pub owner: bool,
}

impl OrgAccess {
    /// The access `facts` give with a role granting `grants` (already effective under the
    /// organization's `features`).
    pub(crate) fn new(
        facts: MembershipFacts,
        grants: Grants,
        features: Vec<String>,
        policy: Arc<Policy>,
    ) -> Self {
        Self {
            user_id: facts.user_id,
            organization_id: facts.organization_id,
            membership_id: facts.membership_id,
            role_id: facts.role_id,
            owner: facts.owner,
            grants: Arc::new(grants),
            features: Arc::new(features),
            policy,
            key: None,
            mfa_required: false,
            proof: Proof::default(),
        }
    }

    /// This access in an organization that does (or does not) require a second factor.
    pub(crate) fn requiring_mfa(self, required: bool) -> Self {
        Self {
            mfa_required: required,
            ..self
        }
    }

    /// This access for a viewer whose session proved `proof`.
    pub fn with_proof(self, proof: Proof) -> Self {
        Self { proof, ..self }
    }

    /// What the viewer's session proved.
    pub fn proof(&self) -> Proof {
        self.proof
    }

    /// Whether the organization requires a second factor the viewer's session has not checked:
    /// then nothing of the organization is shown to them.
    pub fn mfa_pending(&self) -> bool {
        self.mfa_required && !self.proof.mfa_in(self.organization_id)
    }

    /// This access as `limit`'s key has it: none outside the key's organization or for
    /// another user; else each grant at the lower of the role's and the key's, and never an
    /// owner (owner-only acts need a person). Grants that satisfy the policy's dependencies on
    /// both sides still satisfy them at their minimum.
    pub fn limited(self, limit: &Arc<KeyLimit>) -> Option<Self> {
        if self.organization_id != limit.organization_id || self.user_id != limit.holder_id {
            return None;
        }
        let levels = self
            .grants
            .iter()
            .map(|(resource, level)| level.min(limit.grants.level(resource)))
            .collect();
        Some(Self {
            owner: false,
            grants: Arc::new(Grants::from_levels(levels)),
            key: Some(limit.clone()),
            ..self
        })
    }

    /// The key this access is limited by, when the viewer acts through one.
    pub fn key(&self) -> Option<&Arc<KeyLimit>> {
        self.key.as_ref()
    }

    pub fn user_id(&self) -> Uuid {
        self.user_id
    }

    pub fn organization_id(&self) -> Uuid {
        self.organization_id
    }

    pub fn membership_id(&self) -> Uuid {
        self.membership_id
    }

    /// The role the viewer holds here.
    pub fn role_id(&self) -> Uuid {
        self.role_id
    }

    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    pub fn features(&self) -> &[String] {
        &self.features
    }

    /// Whether the viewer's role passes `requirement`. An unknown resource or level never passes.
    pub fn allows(&self, requirement: Requirement) -> bool {
        self.allows_level(requirement.resource, requirement.level)
    }

    pub fn allows_level(&self, resource: &str, level: &str) -> bool {
        self.policy.allows(&self.grants, resource, level)
    }

    pub fn policy(&self) -> &Arc<Policy> {
        &self.policy
    }

    /// The viewer as the rules on power over others see them.
    pub fn standing(&self) -> Standing<'_> {
        Standing {
            owner: self.owner,
            grants: &self.grants,
        }
    }

    pub fn has_feature(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }

    /// FORBIDDEN unless the viewer's role passes `requirement`.
    pub fn require(&self, requirement: Requirement) -> Result<&Self, ApiError> {
        if self.allows(requirement) {
            Ok(self)
        } else {
            Err(self.refusal(requirement).into())
        }
    }

    /// The refusal of `requirement` as this viewer is told it: through a key, it says that
    /// both the key and the role bound what it may do.
    pub fn refusal(&self, requirement: Requirement) -> Refusal {
        match self.key {
            Some(_) => Refusal::NotGrantedThroughKey(requirement),
            None => Refusal::NotGranted(requirement),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn access(
        policy: &Arc<Policy>,
        user: Uuid,
        org: Uuid,
        levels: Vec<u8>,
        owner: bool,
    ) -> OrgAccess {
        let facts = MembershipFacts {
            user_id: user,
            organization_id: org,
            membership_id: Uuid::nil(),
            role_id: Uuid::nil(),
            owner,
        };
        OrgAccess::new(facts, Grants::from_levels(levels), vec![], policy.clone())
    }

    /// Random levels, one per resource of `policy`, each within its scale.
    fn levels(policy: &Policy) -> impl Strategy<Value = Vec<u8>> + use<> {
        let scales: Vec<u8> = policy
            .resources()
            .iter()
            .map(|r| r.levels.len() as u8)
            .collect();
        scales.into_iter().map(|scale| 0..scale).collect::<Vec<_>>()
    }

    proptest! {
        /// Random keys, roles and demotions: through a key, every requirement passes exactly
        /// when both the holder's role of the moment and the key pass it, and a key's access
        /// never shows an owner.
        #[test]
        fn a_key_never_exceeds_its_holder(
            (key, roles) in {
                let policy = Policy::built_in();
                (levels(&policy), proptest::collection::vec((levels(&policy), any::<bool>()), 1..6))
            }
        ) {
            let policy = Arc::new(Policy::built_in());
            let (user, org) = (Uuid::now_v7(), Uuid::now_v7());
            let limit = Arc::new(KeyLimit {
                key_id: Uuid::now_v7(),
                holder_id: user,
                organization_id: org,
                grants: Grants::from_levels(key.clone()),
            });
            // Each role in turn is the holder's role on one request (a promotion or a demotion).
            for (role, owner) in roles {
                let held = access(&policy, user, org, role.clone(), owner);
                let through = held.clone().limited(&limit).expect("the key's own organization");
                prop_assert!(!through.standing().owner);
                for (index, resource) in policy.resources().iter().enumerate() {
                    for (level, name) in resource.levels.iter().enumerate() {
                        let both = role[index] >= level as u8 && key[index] >= level as u8;
                        prop_assert_eq!(through.allows_level(&resource.key, name), both);
                        prop_assert!(!through.allows_level(&resource.key, name) || held.allows_level(&resource.key, name));
                    }
                }
                prop_assert!(rules::within(held.grants(), through.grants()));
            }
            // Another organization, or another user, gets nothing through the key.
            let elsewhere = access(&policy, user, Uuid::now_v7(), key.clone(), false);
            prop_assert!(elsewhere.limited(&limit).is_none());
            let someone = access(&policy, Uuid::now_v7(), org, key, false);
            prop_assert!(someone.limited(&limit).is_none());
        }
    }
}
