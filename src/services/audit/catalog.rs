//! The closed catalog of actions an audit event can record, stated once.

/// Declares the action catalog from one list of `Variant => "name"` pairs: the enum, every
/// action in catalog order ([`Action::ALL`]) and the stored name of each ([`Action::as_str`]),
/// so adding an action is one line and the three cannot drift apart.
macro_rules! actions {
    ($($variant:ident => $name:literal,)+) => {
        /// The closed list of actions, documented in the README.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Action {
            $($variant,)+
        }

        impl Action {
            /// Every action, in catalog order.
            pub const ALL: [Action; [$($name),+].len()] = [$(Action::$variant),+];

            /// The name an event stores and clients see.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)+
                }
            }
        }
    };
}

actions! {
    OrganizationCreated => "organization.created",
    OrganizationUpdated => "organization.updated",
    OrganizationLicenseChanged => "organization.license_changed",
    MemberAdded => "member.added",
    MemberRoleAssigned => "member.role_assigned",
    MemberRemoved => "member.removed",
    MemberLeft => "member.left",
    InvitationSent => "invitation.sent",
    InvitationRevoked => "invitation.revoked",
    InvitationAccepted => "invitation.accepted",
    UserPasswordChanged => "user.password_changed",
    UserProfileUpdated => "user.profile_updated",
    UserDisabled => "user.disabled",
    UserPasswordCheckFailed => "user.password_check_failed",
    RoleCreated => "role.created",
    RoleUpdated => "role.updated",
    RoleDeleted => "role.deleted",
    UserCreated => "user.created",
    UserOperatorChanged => "user.operator_changed",
    UserDefaultOrganizationChanged => "user.default_organization_changed",
    SessionLogin => "session.login",
    SessionLoginFailed => "session.login_failed",
    SessionRefreshed => "session.refreshed",
    SessionRefreshTokenReused => "session.refresh_token_reused",
    SessionOrganizationSwitched => "session.organization_switched",
    SessionLogout => "session.logout",
    ListCreated => "list.created",
    ListUpdated => "list.updated",
    ListDeleted => "list.deleted",
    ListEntriesAdded => "list.entries_added",
    ListEntriesRemoved => "list.entries_removed",
    ListShared => "list.shared",
    ListUnshared => "list.unshared",
    SharePartnerAdded => "share_partner.added",
    SharePartnerRemoved => "share_partner.removed",
    AuditPurged => "audit.purged",
    ServiceAccountCreated => "service_account.created",
    ServiceAccountUpdated => "service_account.updated",
    ServiceAccountDeleted => "service_account.deleted",
    ApiKeyCreated => "api_key.created",
    ApiKeyRotated => "api_key.rotated",
    ApiKeyRevoked => "api_key.revoked",
    SsoConfigured => "sso.configured",
    SsoDisabled => "sso.disabled",
    DomainAdded => "domain.added",
    DomainVerified => "domain.verified",
    DomainRemoved => "domain.removed",
    SsoSignIn => "sso.sign_in",
    SsoMemberProvisioned => "sso.member_provisioned",
    SsoSignInRefused => "sso.sign_in_refused",
    SsoPasswordRefused => "sso.password_refused",
    SsoBreakGlassUsed => "sso.break_glass_used",
    SsoIdentityLinked => "sso.identity_linked",
    MfaEnrollmentStarted => "mfa.enrollment_started",
    MfaEnrolled => "mfa.enrolled",
    MfaRemoved => "mfa.removed",
    MfaRecoveryCodesRegenerated => "mfa.recovery_codes_regenerated",
    MfaRecoveryCodeUsed => "mfa.recovery_code_used",
    MfaVerifyFailed => "mfa.verify_failed",
    MfaReset => "mfa.reset",
    SessionMfaVerified => "session.mfa_verified",
    OrganizationMfaRequirementChanged => "organization.mfa_requirement_changed",
    WebhookCreated => "webhook.created",
    WebhookUpdated => "webhook.updated",
    WebhookDeleted => "webhook.deleted",
    WebhookSecretRotated => "webhook.secret_rotated",
    WebhookDisabled => "webhook.disabled",
    WebhookReplayed => "webhook.replayed",
    WebhookDeliveryRetried => "webhook.delivery_retried",
    MemberSuspended => "member.suspended",
    MemberRestored => "member.restored",
    MemberUpdated => "member.updated",
    ScimConfigured => "scim.configured",
    ScimGroupCreated => "scim_group.created",
    ScimGroupUpdated => "scim_group.updated",
    ScimGroupDeleted => "scim_group.deleted",
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::Action;

    /// The action names the README's table lists, in backticks in its first column.
    fn readme_actions() -> BTreeSet<String> {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
        let table = readme
            .split_once("| action | recorded when |")
            .map(|(_, rest)| rest)
            .expect("the README has an action table");
        table
            .lines()
            .skip(2)
            .take_while(|line| line.starts_with('|'))
            .filter_map(|line| line.split('|').nth(1))
            .flat_map(|cell| cell.split('`').skip(1).step_by(2).map(str::to_owned))
            .collect()
    }

    #[test]
    fn every_action_has_one_distinct_name() {
        let names: BTreeSet<&str> = Action::ALL.iter().map(|action| action.as_str()).collect();
        assert_eq!(names.len(), Action::ALL.len());
    }

    #[test]
    fn the_readme_table_lists_exactly_the_catalog() {
        let catalog: BTreeSet<String> = Action::ALL
            .iter()
            .map(|action| action.as_str().to_owned())
            .collect();
        assert_eq!(readme_actions(), catalog);
    }
}
