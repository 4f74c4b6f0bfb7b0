//! The refusals of the membership and role rules, each with its one code and one wording.

use serde_json::json;

use super::Requirement;
use super::policy::Policy;
use crate::error::{ApiError, ErrorCode};

/// A grant as clients name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedGrant {
    pub resource: String,
    pub level: String,
}

/// Why a rule refuses a change. It becomes an [`ApiError`] in exactly one way, so the same
/// refusal reads the same wherever it is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The change would leave the organization without an owner.
    LastOwner,
    /// A member would change their own role or membership.
    OwnMembership,
    /// A member would edit the role they hold.
    HeldRole,
    /// A predefined role would be edited or deleted.
    PredefinedRole,
    /// Someone who is not an owner would make or unmake an owner.
    OnlyOwnersMakeOwners,
    /// A service account would hold the owner role.
    ServiceAccountOwner,
    /// A role would grant more than the actor's own role holds: the grants above it.
    AboveCeiling(Vec<NamedGrant>),
    /// No licensed seat is left of the license's `seats`.
    SeatLimitReached { seats: i64 },
    /// The viewer's role does not pass a field's or route's requirement.
    NotGranted(Requirement),
    /// Through an API key, the key's grants or its holder's role do not pass a requirement.
    NotGrantedThroughKey(Requirement),
    /// The organization requires a second factor the viewer's session has not proved.
    MfaRequired,
    /// A session that only an organization's identity provider signed in would act in
    /// another organization.
    ProviderBound,
    /// A role that is not one of this organization's (another's, or none): the same answer
    /// as a role that does not exist.
    RoleNotInOrganization,
    /// Single sign-on would hand out the owner role (as the default role of new members).
    OwnerRoleBySingleSignOn,
    /// No credentials came with a request that needs them.
    SignInFirst,
    /// The session, its user or its challenge is gone (signed out, revoked, expired, disabled).
    SessionEnded,
    /// A second factor's challenge is unknown, used or expired.
    ChallengeGone,
}

impl Refusal {
    /// The grant ceiling refusal for `above` (resource index, level), named by `policy`.
    pub fn above_ceiling(policy: &Policy, above: &[(usize, u8)]) -> Self {
        Refusal::AboveCeiling(
            above
                .iter()
                .map(|&(resource, level)| {
                    let resource = &policy.resources()[resource];
                    NamedGrant {
                        resource: resource.key.clone(),
                        level: resource.levels[level as usize].clone(),
                    }
                })
                .collect(),
        )
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Refusal::LastOwner => ErrorCode::LastOwner,
            Refusal::SeatLimitReached { .. } => ErrorCode::SeatLimitReached,
            Refusal::OwnMembership
            | Refusal::HeldRole
            | Refusal::PredefinedRole
            | Refusal::OnlyOwnersMakeOwners
            | Refusal::ServiceAccountOwner
            | Refusal::AboveCeiling(_)
            | Refusal::NotGranted(_)
            | Refusal::NotGrantedThroughKey(_)
            | Refusal::MfaRequired
            | Refusal::ProviderBound
            | Refusal::OwnerRoleBySingleSignOn => ErrorCode::Forbidden,
            Refusal::RoleNotInOrganization => ErrorCode::NotFound,
            Refusal::SignInFirst | Refusal::SessionEnded | Refusal::ChallengeGone => {
                ErrorCode::Unauthenticated
            }
        }
    }

    pub fn message(&self) -> String {
        match self {
            Refusal::LastOwner => {
                "an organization always keeps at least one owner; make someone else owner first"
                    .to_owned()
            }
            Refusal::OwnMembership => "nobody changes their own role or membership".to_owned(),
            Refusal::HeldRole => "nobody changes the role they hold".to_owned(),
            Refusal::PredefinedRole => {
                "predefined roles come from the policy and cannot be changed".to_owned()
            }
            Refusal::OnlyOwnersMakeOwners => "only owners make or unmake owners".to_owned(),
            Refusal::ServiceAccountOwner => {
                "a service account cannot be an owner: owners are people".to_owned()
            }
            Refusal::AboveCeiling(_) => "that role grants more than your own role holds".to_owned(),
            Refusal::SeatLimitReached { seats } => {
                format!("all {seats} licensed seats are taken (members and pending invitations)")
            }
            Refusal::NotGranted(requirement) => format!(
                "your role does not grant {} `{}` in this organization",
                requirement.resource, requirement.level
            ),
            Refusal::NotGrantedThroughKey(requirement) => format!(
                "this API key acts with what both its grants and its holder's role allow, and \
                 that does not include {} `{}`",
                requirement.resource, requirement.level
            ),
            Refusal::MfaRequired => "this organization requires multi-factor authentication: \
                                     enroll a second factor (beginTotpEnrollment, \
                                     confirmTotpEnrollment), or verify yours \
                                     (startMfaChallenge, verifyMfa)"
                .to_owned(),
            Refusal::ProviderBound => "this session was signed in by an organization's single \
                                       sign-on and acts only there; sign in with your own \
                                       password (or that organization's single sign-on) to act \
                                       in another"
                .to_owned(),
            Refusal::RoleNotInOrganization => "role not found".to_owned(),
            Refusal::OwnerRoleBySingleSignOn => {
                "the owner role is never handed out by single sign-on".to_owned()
            }
            Refusal::SignInFirst => "sign in first".to_owned(),
            Refusal::SessionEnded => "the session has ended; sign in again".to_owned(),
            Refusal::ChallengeGone => {
                "the challenge is unknown, used or expired; sign in again".to_owned()
            }
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        let error = ApiError::new(refusal.code(), refusal.message());
        match refusal {
            Refusal::AboveCeiling(exceeding) => {
                let listed: Vec<_> = exceeding
                    .iter()
                    .map(|grant| json!({ "resource": grant.resource, "level": grant.level }))
                    .collect();
                error.with_detail("exceeding", json!(listed))
            }
            Refusal::SeatLimitReached { seats } => error.with_detail("seats", json!(seats)),
            Refusal::MfaRequired => error.with_detail("mfaRequired", json!(true)),
            Refusal::ProviderBound => error.with_detail("signInRequired", json!(true)),
            _ => error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_refusal_names_the_grants_above_and_lists_them_for_clients() {
        let policy = Policy::built_in();
        let (member, manage) = policy.level_of("member", "manage").unwrap();
        let refusal = Refusal::above_ceiling(&policy, &[(member, manage)]);
        assert_eq!(
            refusal,
            Refusal::AboveCeiling(vec![NamedGrant {
                resource: "member".into(),
                level: "manage".into()
            }])
        );
        let error = ApiError::from(refusal);
        assert_eq!(error.code, ErrorCode::Forbidden);
        assert_eq!(
            error.detail,
            Some((
                "exceeding",
                json!([{ "resource": "member", "level": "manage" }])
            ))
        );
    }

    #[test]
    fn a_full_license_says_how_many_seats_it_has() {
        let error = ApiError::from(Refusal::SeatLimitReached { seats: 3 });
        assert_eq!(error.code, ErrorCode::SeatLimitReached);
        assert_eq!(
            error.message,
            "all 3 licensed seats are taken (members and pending invitations)"
        );
        assert_eq!(error.detail, Some(("seats", json!(3))));
    }

    #[test]
    fn the_last_owner_refusal_carries_its_own_code() {
        let error = ApiError::from(Refusal::LastOwner);
        assert_eq!(error.code, ErrorCode::LastOwner);
        assert!(
            error.message.contains("at least one owner"),
            "{}",
            error.message
        );
    }

    #[test]
    fn each_refusal_of_who_you_are_has_one_code() {
        let cases = [
            (Refusal::SignInFirst, ErrorCode::Unauthenticated),
            (Refusal::SessionEnded, ErrorCode::Unauthenticated),
            (Refusal::ChallengeGone, ErrorCode::Unauthenticated),
            (Refusal::RoleNotInOrganization, ErrorCode::NotFound),
            (Refusal::OwnerRoleBySingleSignOn, ErrorCode::Forbidden),
        ];
        for (refusal, code) in cases {
            let error = ApiError::from(refusal.clone());
            assert_eq!(error.code, code, "{refusal:?}");
            assert_eq!(error.message, refusal.message());
        }
        // A role of another organization reads as one that does not exist.
        assert_eq!(
            ApiError::from(Refusal::RoleNotInOrganization).message,
            ApiError::not_found("role").message
        );
    }
}
