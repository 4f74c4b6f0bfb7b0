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
