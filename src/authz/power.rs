//! Power over another member: never over oneself, owners only by owners, and nothing above the
//! actor's own grants (the grant ceiling of [`super::rules`]).

use uuid::Uuid;

use super::policy::{Grants, Policy};
use super::refusal::Refusal;
use super::rules;

/// What the rules need of a member acting, or of a role handed out: whether it is the owner
/// role, and its grants.
#[derive(Debug, Clone, Copy)]
pub struct Standing<'a> {
    pub owner: bool,
    pub grants: &'a Grants,
}

/// FORBIDDEN when `actor` would change their own membership (its role, or remove it).
pub fn not_oneself(actor: Uuid, target: Uuid) -> Result<(), Refusal> {
    if actor == target {
        Err(Refusal::OwnMembership)
    } else {
        Ok(())
    }
}

/// FORBIDDEN when a member holding `held` would edit role `role`: a role's holders do not
/// reshape it.
pub fn not_the_held_role(held: Uuid, role: Uuid) -> Result<(), Refusal> {
    if held == role {
        Err(Refusal::HeldRole)
    } else {
        Ok(())
    }
}

/// Whether `actor` may hand out `role` (give it to a member, or invite someone with it): only
/// owners make or unmake owners, and nobody gives a role above their own grants.
pub fn may_hand_out(policy: &Policy, actor: Standing, role: Standing) -> Result<(), Refusal> {
    if role.owner && !actor.owner {
        return Err(Refusal::OnlyOwnersMakeOwners);
    }
    let above = rules::above_ceiling(actor.grants, role.grants.levels());
    if above.is_empty() {
        Ok(())
    } else {
        Err(Refusal::above_ceiling(policy, &above))
    }
}

/// Whether a member may hold `role`: a service account never holds the owner role (owners are
/// the people accountable for the organization, and the break-glass of its access).
pub fn may_hold(service_account: bool, role: Standing) -> Result<(), Refusal> {
    if service_account && role.owner {
        Err(Refusal::ServiceAccountOwner)
    } else {
        Ok(())
    }
}

/// Whether `actor` (the member `actor_user`) may change member `target_user`, who holds `role`
/// or is to hold it: not oneself, and `role` within what the actor may hand out.
pub fn power_over(
    policy: &Policy,
    actor_user: Uuid,
    actor: Standing,
    target_user: Uuid,
    role: Standing,
) -> Result<(), Refusal> {
    not_oneself(actor_user, target_user)?;
    may_hand_out(policy, actor, role)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::refusal::NamedGrant;

    fn standing<'a>(policy: &'a Policy, key: &str) -> Standing<'a> {
        let role = policy.role_by_key(key).unwrap();
        Standing {
            owner: role.owner,
            grants: &role.grants,
        }
    }

    #[test]
    fn nobody_changes_their_own_membership() {
        let policy = Policy::built_in();
        let me = Uuid::now_v7();
        let owner = standing(&policy, "owner");
        assert_eq!(
            power_over(&policy, me, owner, me, standing(&policy, "read_only_user")),
            Err(Refusal::OwnMembership)
        );
        assert_eq!(not_oneself(me, Uuid::now_v7()), Ok(()));
    }

    #[test]
    fn nobody_edits_the_role_they_hold() {
        let role = Uuid::now_v7();
        assert_eq!(not_the_held_role(role, role), Err(Refusal::HeldRole));
        assert_eq!(not_the_held_role(role, Uuid::now_v7()), Ok(()));
    }

    #[test]
    fn only_owners_make_or_unmake_owners() {
        let policy = Policy::built_in();
        let owner = standing(&policy, "owner");
        let admin = standing(&policy, "organization_administrator");
        assert_eq!(
            may_hand_out(&policy, admin, owner),
            Err(Refusal::OnlyOwnersMakeOwners),
            "the administrator holds every top level, yet is no owner"
        );
        assert_eq!(may_hand_out(&policy, owner, owner), Ok(()));
    }

    #[test]
    fn an_administrator_hands_out_any_role_but_the_owner() {
        let policy = Policy::built_in();
        let admin = standing(&policy, "organization_administrator");
        for role in policy.roles().iter().filter(|role| !role.owner) {
            assert_eq!(
                may_hand_out(&policy, admin, standing(&policy, &role.key)),
                Ok(()),
                "{}",
                role.key
            );
        }
    }

    #[test]
    fn nobody_hands_out_a_role_above_their_own_grants() {
        let policy = Policy::built_in();
        let standard = standing(&policy, "standard_user");
        let admin = standing(&policy, "organization_administrator");
        let Err(Refusal::AboveCeiling(exceeding)) = may_hand_out(&policy, standard, admin) else {
            panic!("a standard user cannot give the administrator role");
        };
        assert!(exceeding.contains(&NamedGrant {
            resource: "member".into(),
            level: "manage".into()
        }));
        assert_eq!(
            may_hand_out(&policy, standard, standing(&policy, "read_only_user")),
            Ok(())
        );
    }

    #[test]
    fn power_over_another_member_is_the_power_to_hand_out_their_role() {
        let policy = Policy::built_in();
        let (actor, target) = (Uuid::now_v7(), Uuid::now_v7());
        let admin = standing(&policy, "organization_administrator");
        assert_eq!(
            power_over(&policy, actor, admin, target, standing(&policy, "owner")),
            Err(Refusal::OnlyOwnersMakeOwners)
        );
        assert_eq!(
            power_over(
                &policy,
                actor,
                admin,
                target,
                standing(&policy, "standard_user")
            ),
            Ok(())
        );
    }
}
