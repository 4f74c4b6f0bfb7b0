//! The rules on grants, small and pure: dependencies between grants and the grant ceiling.

use super::policy::{Grants, Policy};

/// A grant a role lacks: `resource` at `level`, needed because it holds `required_by`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingGrant {
    pub resource: usize,
    pub level: u8,
    pub required_by: (usize, u8),
}

/// Checks `levels` (one per resource) against the policy's dependencies. With `add_missing`,
/// raises each missing grant to the level required (repeating until nothing is missing, as a
/// raised grant may itself need another) and returns what it added; otherwise returns what is
/// missing as the error.
pub fn satisfy_dependencies(
    policy: &Policy,
    levels: &mut [u8],
    add_missing: bool,
) -> Result<Vec<MissingGrant>, Vec<MissingGrant>> {
    let mut added = Vec::new();
    // Each round raises at least one level, so this ends within the sum of all level counts.
    loop {
        let missing: Vec<MissingGrant> = policy
            .dependencies()
            .iter()
            .filter(|d| levels[d.resource] >= d.level && levels[d.requires.0] < d.requires.1)
            .map(|d| MissingGrant {
                resource: d.requires.0,
                level: d.requires.1,
                required_by: (d.resource, d.level),
            })
            .collect();
        if missing.is_empty() {
            return Ok(added);
        }
        if !add_missing {
            return Err(dedup(missing));
        }
        for grant in &missing {
            levels[grant.resource] = levels[grant.resource].max(grant.level);
        }
        added.extend(missing);
    }
}

fn dedup(mut missing: Vec<MissingGrant>) -> Vec<MissingGrant> {
    missing.sort_by_key(|m| (m.resource, m.level, m.required_by));
    missing.dedup();
    missing
}

/// Why requested grants cannot make a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleGrantError {
    /// Dependencies are broken and adding the missing grants was not asked for.
    Missing(Vec<MissingGrant>),
    /// Grants above the actor's own (after any dependencies were added).
    AboveCeiling(Vec<(usize, u8)>),
}

/// The levels a role gets from `requested` levels when `actor` builds it: dependencies
/// satisfied (adding what is missing when asked), then the ceiling applied to the result.
pub fn role_levels(
    policy: &Policy,
    actor: &Grants,
    mut requested: Vec<u8>,
    add_missing: bool,
) -> Result<Vec<u8>, RoleGrantError> {
    satisfy_dependencies(policy, &mut requested, add_missing).map_err(RoleGrantError::Missing)?;
    let above = above_ceiling(actor, &requested);
    if above.is_empty() {
        Ok(requested)
    } else {
        Err(RoleGrantError::AboveCeiling(above))
    }
}

/// The grants of `role` above what `actor` holds: nobody grants more than they have.
pub fn above_ceiling(actor: &Grants, role: &[u8]) -> Vec<(usize, u8)> {
    role.iter()
        .enumerate()
        .filter(|&(resource, &level)| level > actor.level(resource))
        .map(|(resource, &level)| (resource, level))
        .collect()
}

/// Whether `grants` stays within `ceiling` on every resource.
pub fn within(ceiling: &Grants, grants: &Grants) -> bool {
    grants
        .iter()
        .all(|(resource, level)| level <= ceiling.level(resource))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::policy::Policy;
    use proptest::prelude::*;

    /// Extra resources of a random policy: a level count, and dependencies as (target, level,
    /// required level) seeds.
    type Extra = Vec<(u8, Vec<(usize, u8, u8)>)>;

    /// A random policy: the built-in one plus `extra` resources of 2 to 5 levels, with
    /// dependencies only from later to earlier extra resources (so there is no cycle).
    fn random_policy(extra: &Extra) -> Policy {
        let mut source = Policy::built_in_source().to_owned();
        for (index, (levels, _)) in extra.iter().enumerate() {
            let levels: Vec<String> = (0..*levels).map(|l| format!("\"l{l}\"")).collect();
            source.push_str(&format!(
                "\n[[resources]]\nkey = \"x{index}\"\nname = \"X{index}\"\ngroup = \"X\"\nlevels = [{}]\n",
                levels.join(", ")
            ));
        }
        for (index, (levels, dependencies)) in extra.iter().enumerate() {
            for &(target, at, needs) in dependencies {
                if index == 0 {
                    continue;
                }
                let target = target % index;
                let at = 1 + at % (levels - 1);
                let needs = 1 + needs % (extra[target].0 - 1);
                source.push_str(&format!(
                    "\n[[dependencies]]\nresource = \"x{index}\"\nlevel = \"l{at}\"\nrequires = {{ resource = \"x{target}\", level = \"l{needs}\" }}\n"
                ));
            }
        }
        Policy::from_toml(&source).expect("a generated policy is valid")
    }

    fn levels_in(policy: &Policy, seeds: &[u8]) -> Vec<u8> {
        policy
            .resources()
            .iter()
            .enumerate()
            .map(|(index, resource)| {
                seeds.get(index).copied().unwrap_or(0) % resource.levels.len() as u8
            })
            .collect()
    }

    fn extra_resources() -> impl Strategy<Value = Extra> {
        prop::collection::vec(
            (
                2u8..=5,
                prop::collection::vec((0usize..8, 0u8..8, 0u8..8), 0..3),
            ),
            1..8,
        )
    }

    /// One step of a random history: member `actor` builds a role from `seeds`, or gives role
    /// `role` to member `member`.
    #[derive(Debug, Clone)]
    enum Step {
        Create {
            actor: usize,
            seeds: Vec<u8>,
            add_missing: bool,
        },
        Assign {
            actor: usize,
            role: usize,
            member: usize,
        },
    }

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        prop::collection::vec(
            prop_oneof![
                (
                    0usize..6,
                    prop::collection::vec(any::<u8>(), 40),
                    any::<bool>()
                )
                    .prop_map(|(actor, seeds, add_missing)| Step::Create {
                        actor,
                        seeds,
                        add_missing
                    }),
                (0usize..6, 0usize..16, 0usize..6).prop_map(|(actor, role, member)| Step::Assign {
                    actor,
                    role,
                    member
                }),
            ],
            1..30,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Whatever the policy and the request, a role that is made satisfies every dependency
        /// and grants nothing above its maker.
        #[test]
        fn a_role_made_never_exceeds_its_maker_and_keeps_every_dependency(
            extra in extra_resources(),
            actor_seeds in prop::collection::vec(any::<u8>(), 40),
            requested in prop::collection::vec(any::<u8>(), 40),
            add_missing in any::<bool>(),
        ) {
            let policy = random_policy(&extra);
            let actor = Grants::from_levels(levels_in(&policy, &actor_seeds));
            let requested = levels_in(&policy, &requested);
            match role_levels(&policy, &actor, requested.clone(), add_missing) {
                Ok(levels) => {
                    let role = Grants::from_levels(levels.clone());
                    prop_assert!(within(&actor, &role));
                    prop_assert!(levels.iter().zip(&requested).all(|(got, asked)| got >= asked));
                    let mut check = levels.clone();
                    prop_assert!(satisfy_dependencies(&policy, &mut check, false).is_ok());
                }
                Err(RoleGrantError::Missing(missing)) => {
                    prop_assert!(!add_missing);
                    prop_assert!(!missing.is_empty());
                }
                Err(RoleGrantError::AboveCeiling(above)) => {
                    prop_assert!(!above.is_empty());
                    for (resource, level) in above {
                        prop_assert!(level > actor.level(resource));
                    }
                }
            }
        }

        /// Random histories of role building and role assignment, each step allowed only as
        /// the rules allow: nobody ever ends up holding a grant above what the member who gave
        /// it held at that moment, so nothing rises above the first owner.
        #[test]
        fn random_role_edits_and_assignments_never_grant_above_the_actor(
            extra in extra_resources(),
            member_seeds in prop::collection::vec(prop::collection::vec(any::<u8>(), 40), 5),
            history in steps(),
        ) {
            let policy = random_policy(&extra);
            let owner = policy.owner_role().grants.clone();
            // Member 0 is the owner; the others start with random grants within the owner's.
            let mut members: Vec<Grants> = vec![owner.clone()];
            for seeds in &member_seeds {
                members.push(Grants::from_levels(levels_in(&policy, seeds)));
            }
            let mut roles: Vec<Grants> = Vec::new();
            for step in history {
                match step {
                    Step::Create { actor, seeds, add_missing } => {
                        let actor = &members[actor % members.len()];
                        let requested = levels_in(&policy, &seeds);
                        if let Ok(levels) = role_levels(&policy, actor, requested, add_missing) {
                            let role = Grants::from_levels(levels);
                            prop_assert!(within(actor, &role));
                            roles.push(role);
                        }
                    }
                    Step::Assign { actor, role, member } => {
                        if roles.is_empty() {
                            continue;
                        }
                        let role = roles[role % roles.len()].clone();
                        let actor = actor % members.len();
                        let member = member % members.len();
                        if actor != member && within(&members[actor], &role) {
                            prop_assert!(within(&members[actor], &role));
                            members[member] = role;
                        }
                    }
                }
                for member in &members {
                    prop_assert!(within(&owner, member));
                }
            }
        }
    }

    const TWO_STEP: &str = r#"
[[resources]]
key = "sources"
name = "Sources"
group = "X"
levels = ["none", "view", "edit"]
[[resources]]
key = "tlp"
name = "TLP"
group = "X"
levels = ["none", "edit"]
[[resources]]
key = "scoring"
name = "Scoring"
group = "X"
levels = ["none", "edit"]
[[dependencies]]
resource = "scoring"
level = "edit"
requires = { resource = "tlp", level = "edit" }
[[dependencies]]
resource = "tlp"
level = "edit"
requires = { resource = "sources", level = "edit" }
"#;

    fn policy() -> Policy {
        Policy::from_toml(&format!("{}\n{TWO_STEP}", Policy::built_in_source())).unwrap()
    }

    fn index(policy: &Policy, resource: &str, level: &str) -> (usize, u8) {
        policy.level_of(resource, level).unwrap()
    }

    #[test]
    fn a_broken_dependency_lists_exactly_what_is_missing() {
        let policy = policy();
        let mut levels = vec![0; policy.resources().len()];
        let (tlp, edit) = index(&policy, "tlp", "edit");
        levels[tlp] = edit;
        let missing = satisfy_dependencies(&policy, &mut levels, false).unwrap_err();
        let (sources, sources_edit) = index(&policy, "sources", "edit");
        assert_eq!(
            missing,
            vec![MissingGrant {
                resource: sources,
                level: sources_edit,
                required_by: (tlp, edit)
            }]
        );
        assert_eq!(levels[sources], 0, "nothing is added unless asked");
    }

    #[test]
    fn missing_grants_are_added_transitively_when_asked() {
        let policy = policy();
        let mut levels = vec![0; policy.resources().len()];
        let (scoring, edit) = index(&policy, "scoring", "edit");
        levels[scoring] = edit;
        let added = satisfy_dependencies(&policy, &mut levels, true).unwrap();
        assert_eq!(added.len(), 2, "tlp, then sources");
        assert_eq!(levels[index(&policy, "tlp", "edit").0], 1);
        assert_eq!(levels[index(&policy, "sources", "edit").0], 2);
        assert!(satisfy_dependencies(&policy, &mut levels, false).is_ok());
    }

    #[test]
    fn the_ceiling_names_every_grant_above_the_actor() {
        let policy = Policy::built_in();
        let admin = &policy
            .role_by_key("organization_administrator")
            .unwrap()
            .grants;
        let owner = &policy.owner_role().grants;
        let owner_levels: Vec<u8> = owner.iter().map(|(_, l)| l).collect();
        let above = above_ceiling(admin, &owner_levels);
        assert!(
            above.is_empty(),
            "the administrator holds every top level of the built-in policy"
        );
        let reader = &policy.role_by_key("read_only_user").unwrap().grants;
        let admin_levels: Vec<u8> = admin.iter().map(|(_, l)| l).collect();
        let above = above_ceiling(reader, &admin_levels);
        let (member, manage) = policy.level_of("member", "manage").unwrap();
        assert!(above.contains(&(member, manage)));
        assert!(!within(reader, admin) && within(admin, reader));
    }
}
