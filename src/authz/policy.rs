//! The permission matrix as data: the policy file's shape, its validation and its compiled form.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use toml::Spanned;
use uuid::Uuid;

/// The resources every policy must declare, with the levels Charter's own fields need.
pub const BUILT_IN_RESOURCES: &[(&str, &[&str])] = &[
    ("organization", &["read", "edit"]),
    ("member", &["read", "manage"]),
    ("invitation", &["send"]),
    ("role", &["read", "manage"]),
    ("list", &["read", "create", "edit", "full"]),
    ("list_sharing", &["manage"]),
    ("audit_log", &["read"]),
    ("sso", &["read", "manage"]),
    ("api_key", &["read", "manage"]),
    ("webhook", &["read", "manage"]),
];

const DEFAULT_POLICY: &str = include_str!("default_policy.toml");

/// Namespace of the deterministic ids given to predefined roles (UUID v5 of their key).
const PREDEFINED_ROLE_NAMESPACE: Uuid = Uuid::from_u128(0x6368_6172_7465_7200_726f_6c65_7300_0001);

/// The license feature that lets an organization build its own roles.
pub const CUSTOM_ROLES: &str = "custom_roles";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    policy: Option<MetaFile>,
    #[serde(default)]
    features: Vec<Spanned<FeatureFile>>,
    #[serde(default)]
    resources: Vec<Spanned<ResourceFile>>,
    #[serde(default)]
    dependencies: Vec<Spanned<DependencyFile>>,
    #[serde(default)]
    roles: Vec<Spanned<RoleFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetaFile {
    name: String,
    #[serde(default)]
    source: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeatureFile {
    key: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceFile {
    key: String,
    name: String,
    group: String,
    #[serde(default)]
    description: Option<String>,
    levels: Vec<String>,
    #[serde(default)]
    feature: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DependencyFile {
    resource: String,
    level: String,
    requires: GrantFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantFile {
    resource: String,
    level: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleFile {
    key: String,
    name: String,
    #[serde(default)]
    description: Option<String>,
    seat_class: SeatClass,
    #[serde(default)]
    owner: bool,
    #[serde(default)]
    grants: BTreeMap<String, Spanned<String>>,
}

/// Whether holding a role takes one of the organization's licensed seats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeatClass {
    Licensed,
    Free,
}

impl SeatClass {
    pub fn as_str(self) -> &'static str {
        match self {
            SeatClass::Licensed => "licensed",
            SeatClass::Free => "free",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "licensed" => Some(SeatClass::Licensed),
            "free" => Some(SeatClass::Free),
            _ => None,
        }
    }
}

/// A resource of the matrix with its ordered scale of levels, lowest first.
#[derive(Debug, Clone)]
pub struct Resource {
    pub key: String,
    pub name: String,
    pub group: String,
    pub description: Option<String>,
    pub levels: Vec<String>,
    pub feature: Option<String>,
}

/// "`resource` at `level` or above requires `requires.0` at `requires.1` or above", as indexes.
#[derive(Debug, Clone, Copy)]
pub struct Dependency {
    pub resource: usize,
    pub level: u8,
    pub requires: (usize, u8),
}

/// One level index per resource of the policy, in the policy's resource order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grants(Box<[u8]>);

impl Grants {
    pub fn from_levels(levels: Vec<u8>) -> Self {
        Self(levels.into_boxed_slice())
    }

    pub fn levels(&self) -> &[u8] {
        &self.0
    }

    pub fn level(&self, resource: usize) -> u8 {
        self.0.get(resource).copied().unwrap_or(0)
    }

    pub fn allows(&self, resource: usize, level: u8) -> bool {
        self.level(resource) >= level
    }

    pub fn iter(&self) -> impl Iterator<Item = (usize, u8)> + '_ {
        self.0.iter().copied().enumerate()
    }
}

/// A role declared by the policy, the same in every organization.
#[derive(Debug, Clone)]
pub struct PredefinedRole {
    pub id: Uuid,
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub seat_class: SeatClass,
    pub owner: bool,
    pub grants: Grants,
}

/// A license feature an organization may hold.
#[derive(Debug, Clone)]
pub struct Feature {
    pub key: String,
    pub description: Option<String>,
}

/// A validated, compiled policy: checks are array lookups.
#[derive(Debug)]
pub struct Policy {
    pub name: String,
    pub source: Option<String>,
    features: Vec<Feature>,
    resources: Vec<Resource>,
    resource_index: HashMap<String, usize>,
    dependencies: Vec<Dependency>,
    roles: Vec<PredefinedRole>,
    role_by_id: HashMap<Uuid, usize>,
}

/// Everything wrong with a policy file, one line per problem.
#[derive(Debug)]
pub struct PolicyErrors(pub Vec<String>);

impl std::fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for problem in &self.0 {
            writeln!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyErrors {}

impl Policy {
    /// The text of the built-in policy file.
    pub fn built_in_source() -> &'static str {
        DEFAULT_POLICY
    }

    /// The policy built into the binary.
    pub fn built_in() -> Self {
        Self::from_toml(DEFAULT_POLICY).expect("the built-in policy is valid")
    }

    /// Parses and validates a policy file, collecting every problem (each with its line)
    /// rather than stopping at the first.
    pub fn from_toml(source: &str) -> Result<Self, PolicyErrors> {
        let file: PolicyFile = toml::from_str(source).map_err(|err| {
            let line = err.span().map(|span| line_of(source, span.start));
            let message = err.message().to_owned();
            PolicyErrors(vec![match line {
                Some(line) => format!("line {line}: {message}"),
                None => message,
            }])
        })?;
        Self::compile(file, source)
    }

    fn compile(file: PolicyFile, source: &str) -> Result<Self, PolicyErrors> {
        let mut compiler = Compiler::new(source);
        compiler.features(file.features);
        compiler.resources(file.resources);
        compiler.built_ins();
        compiler.dependencies(file.dependencies);
        compiler.roles(file.roles);
        compiler.finish(file.policy)
    }

    pub fn features(&self) -> &[Feature] {
        &self.features
    }

    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    pub fn dependencies(&self) -> &[Dependency] {
        &self.dependencies
    }

    pub fn roles(&self) -> &[PredefinedRole] {
        &self.roles
    }

    pub fn role(&self, id: Uuid) -> Option<&PredefinedRole> {
        self.role_by_id.get(&id).map(|&index| &self.roles[index])
    }

    pub fn role_by_key(&self, key: &str) -> Option<&PredefinedRole> {
        self.roles.iter().find(|role| role.key == key)
    }

    pub fn owner_role(&self) -> &PredefinedRole {
        self.roles
            .iter()
            .find(|role| role.owner)
            .expect("a compiled policy has exactly one owner role")
    }

    /// The index of `resource` and the index of `level` on its scale.
    pub fn level_of(&self, resource: &str, level: &str) -> Option<(usize, u8)> {
        let index = *self.resource_index.get(resource)?;
        let position = self.resources[index]
            .levels
            .iter()
            .position(|l| l == level)?;
        Some((index, position as u8))
    }

    /// The grants that take effect in an organization licensed for `features`: a resource gated
    /// by a feature the organization lacks is held at its lowest level.
    pub fn effective(&self, grants: &Grants, features: &[String]) -> Grants {
        let levels = grants
            .iter()
            .map(|(index, level)| match &self.resources[index].feature {
                Some(feature) if !features.iter().any(|f| f == feature) => 0,
                _ => level,
            })
            .collect();
        Grants::from_levels(levels)
    }

    /// Whether `feature` is one the policy knows.
    pub fn has_feature(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f.key == feature)
    }

    /// Whether `grants` pass `resource` at `level`; an unknown resource or level never passes.
    /// This is the whole cost of a guard check once the viewer's grants are loaded.
    pub fn allows(&self, grants: &Grants, resource: &str, level: &str) -> bool {
        self.level_of(resource, level)
            .is_some_and(|(resource, level)| grants.allows(resource, level))
    }

    /// Compiles a stored grant map (resource key to level name) against this policy.
    /// Unknown resources or levels are reported, never silently dropped.
    pub fn compile_grants(&self, grants: &BTreeMap<String, String>) -> Result<Grants, Vec<String>> {
        let mut levels = vec![0u8; self.resources.len()];
        let mut problems = Vec::new();
        for (resource, level) in grants {
            match self.level_of(resource, level) {
                Some((index, level)) => levels[index] = level,
                None if self.resource_index.contains_key(resource) => {
                    problems.push(format!("resource `{resource}` has no level `{level}`"))
                }
                None => problems.push(format!("unknown resource `{resource}`")),
            }
        }
        if problems.is_empty() {
            Ok(Grants(levels.into_boxed_slice()))
        } else {
            Err(problems)
        }
    }

    /// Grants as (resource key, level name) pairs, every resource listed.
    pub fn describe<'a>(&'a self, grants: &'a Grants) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.resources.iter().enumerate().map(|(index, resource)| {
            let level = grants.level(index) as usize;
            (
                resource.key.as_str(),
                resource.levels[level.min(resource.levels.len() - 1)].as_str(),
            )
        })
    }
}

/// A policy being compiled: what is read so far and every problem found, each with its line,
/// so that one run reports them all.
struct Compiler<'a> {
    source: &'a str,
    problems: Vec<String>,
    features: Vec<Feature>,
    resources: Vec<Resource>,
    resource_index: HashMap<String, usize>,
    dependencies: Vec<Dependency>,
    roles: Vec<PredefinedRole>,
}

impl<'a> Compiler<'a> {
    fn new(source: &'a str) -> Self {
        Self {
            source,
            problems: Vec::new(),
            features: vec![Feature {
                key: CUSTOM_ROLES.to_owned(),
                description: Some("Organizations may build their own roles.".to_owned()),
            }],
            resources: Vec::new(),
            resource_index: HashMap::new(),
            dependencies: Vec::new(),
            roles: Vec::new(),
        }
    }

    fn line(&self, span: std::ops::Range<usize>) -> usize {
        line_of(self.source, span.start)
    }

    fn features(&mut self, features: Vec<Spanned<FeatureFile>>) {
        for feature in features {
            let line = self.line(feature.span());
            let feature = feature.into_inner();
            if self.features.iter().any(|known| known.key == feature.key) {
                self.problems.push(format!(
                    "line {line}: feature `{}` is declared twice",
                    feature.key
                ));
            }
            self.features.push(Feature {
                key: feature.key,
                description: feature.description,
            });
        }
    }

    fn resources(&mut self, resources: Vec<Spanned<ResourceFile>>) {
        for resource in resources {
            let line = self.line(resource.span());
            let resource = resource.into_inner();
            self.check_resource(line, &resource);
            if self
                .resource_index
                .insert(resource.key.clone(), self.resources.len())
                .is_some()
            {
                self.problems.push(format!(
                    "line {line}: resource `{}` is declared twice",
                    resource.key
                ));
            }
            self.resources.push(Resource {
                key: resource.key,
                name: resource.name,
                group: resource.group,
                description: resource.description,
                levels: resource.levels,
                feature: resource.feature,
            });
        }
    }

    /// A resource's own problems: its levels and the feature that gates it.
    fn check_resource(&mut self, line: usize, resource: &ResourceFile) {
        if resource.levels.len() < 2 {
            self.problems.push(format!(
                "line {line}: resource `{}` needs at least two levels, lowest first",
                resource.key
            ));
        }
        if resource.levels.len() > u8::MAX as usize {
            self.problems.push(format!(
                "line {line}: resource `{}` has too many levels",
                resource.key
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for level in &resource.levels {
            if !seen.insert(level) {
                self.problems.push(format!(
                    "line {line}: resource `{}` declares level `{level}` twice",
                    resource.key
                ));
            }
        }
        if let Some(feature) = &resource.feature
            && (feature == CUSTOM_ROLES || !self.features.iter().any(|f| &f.key == feature))
        {
            self.problems.push(format!(
                "line {line}: resource `{}` is gated by the undeclared feature `{feature}`",
                resource.key
            ));
        }
    }

    /// Charter's own resources, with the levels its fields require.
    fn built_ins(&mut self) {
        for (key, levels) in BUILT_IN_RESOURCES {
            match self.resource_index.get(*key) {
                None => self
                    .problems
                    .push(format!("built-in resource `{key}` is missing")),
                Some(&index) => {
                    for level in *levels {
                        if !self.resources[index].levels.iter().any(|l| l == level) {
                            self.problems.push(format!(
                                "built-in resource `{key}` is missing its level `{level}`"
                            ));
                        }
                    }
                }
            }
        }
    }

    /// The index of `resource` and the position of `level` on its scale.
    fn level_of(&self, resource: &str, level: &str) -> Result<(usize, u8), String> {
        let index = *self
            .resource_index
            .get(resource)
            .ok_or_else(|| format!("unknown resource `{resource}`"))?;
        let position = self.resources[index]
            .levels
            .iter()
            .position(|l| l == level)
            .ok_or_else(|| format!("resource `{resource}` has no level `{level}`"))?;
        Ok((index, position as u8))
    }

    fn dependencies(&mut self, dependencies: Vec<Spanned<DependencyFile>>) {
        let mut found = Vec::new();
        for dependency in dependencies {
            let line = self.line(dependency.span());
            let dependency = dependency.into_inner();
            match (
                self.level_of(&dependency.resource, &dependency.level),
                self.level_of(&dependency.requires.resource, &dependency.requires.level),
            ) {
                (Ok((resource, level)), Ok(requires)) => {
                    if requires.0 == resource {
                        self.problems.push(format!(
                            "line {line}: dependency of `{}` on itself",
                            dependency.resource
                        ));
                    }
                    let dependency = Dependency {
                        resource,
                        level,
                        requires,
                    };
                    found.push((line, dependency));
                }
                (a, b) => {
                    for err in [a.err(), b.err()].into_iter().flatten() {
                        self.problems
                            .push(format!("line {line}: dependency: {err}"));
                    }
                }
            }
        }
        for cycle in dependency_cycles(&found, self.resources.len()) {
            let names: Vec<&str> = cycle
                .iter()
                .map(|&r| self.resources[r].key.as_str())
                .collect();
            self.problems
                .push(format!("dependency cycle: {}", names.join(" -> ")));
        }
        self.dependencies = found.into_iter().map(|(_, d)| d).collect();
    }

    fn roles(&mut self, roles: Vec<Spanned<RoleFile>>) {
        let mut keys = std::collections::HashSet::new();
        for role in roles {
            let line = self.line(role.span());
            let role = role.into_inner();
            if !keys.insert(role.key.clone()) {
                self.problems.push(format!(
                    "line {line}: role `{}` is declared twice",
                    role.key
                ));
            }
            let grants = self.role_grants(line, &role);
            self.check_role_dependencies(line, &role.key, &grants);
            self.roles.push(PredefinedRole {
                id: Uuid::new_v5(&PREDEFINED_ROLE_NAMESPACE, role.key.as_bytes()),
                key: role.key,
                name: role.name,
                description: role.description,
                seat_class: role.seat_class,
                owner: role.owner,
                grants,
            });
        }
        match self.roles.iter().filter(|role| role.owner).count() {
            1 => {}
            0 => self
                .problems
                .push("no role is marked `owner = true`".to_owned()),
            _ => self
                .problems
                .push("more than one role is marked `owner = true`".to_owned()),
        }
    }

    /// A role's level of each resource: the top of every scale for the owner, else its grants.
    fn role_grants(&mut self, line: usize, role: &RoleFile) -> Grants {
        let mut levels = vec![0u8; self.resources.len()];
        if role.owner {
            if !role.grants.is_empty() {
                self.problems.push(format!(
                    "line {line}: role `{}` is the owner role and holds every top level; it takes no grants",
                    role.key
                ));
            }
            for (index, resource) in self.resources.iter().enumerate() {
                levels[index] = resource.levels.len().saturating_sub(1) as u8;
            }
        }
        for (resource, level) in &role.grants {
            match self.level_of(resource, level.get_ref()) {
                Ok((index, level)) => levels[index] = level,
                Err(err) => {
                    let line = self.line(level.span());
                    self.problems
                        .push(format!("line {line}: role `{}`: {err}", role.key));
                }
            }
        }
        Grants(levels.into_boxed_slice())
    }

    /// A predefined role must keep every dependency, as a custom one must.
    fn check_role_dependencies(&mut self, line: usize, key: &str, grants: &Grants) {
        for dependency in &self.dependencies {
            if grants.allows(dependency.resource, dependency.level)
                && !grants.allows(dependency.requires.0, dependency.requires.1)
            {
                let resource = &self.resources[dependency.resource];
                let required = &self.resources[dependency.requires.0];
                self.problems.push(format!(
                    "line {line}: role `{key}` grants {} `{}` but lacks the required {} `{}`",
                    resource.key,
                    resource.levels[dependency.level as usize],
                    required.key,
                    required.levels[dependency.requires.1 as usize],
                ));
            }
        }
    }

    fn finish(self, meta: Option<MetaFile>) -> Result<Policy, PolicyErrors> {
        if !self.problems.is_empty() {
            return Err(PolicyErrors(self.problems));
        }
        let role_by_id = self
            .roles
            .iter()
            .enumerate()
            .map(|(index, role)| (role.id, index))
            .collect();
        Ok(Policy {
            name: meta
                .as_ref()
                .map(|meta| meta.name.clone())
                .unwrap_or_else(|| "Charter".to_owned()),
            source: meta.and_then(|meta| meta.source),
            features: self.features,
            resources: self.resources,
            resource_index: self.resource_index,
            dependencies: self.dependencies,
            roles: self.roles,
            role_by_id,
        })
    }
}

/// The 1-based line of byte `offset` in `source`.
fn line_of(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// Cycles in the graph "resource A depends on resource B", each listed once.
fn dependency_cycles(dependencies: &[(usize, Dependency)], resources: usize) -> Vec<Vec<usize>> {
    let mut edges = vec![Vec::new(); resources];
    for (_, dependency) in dependencies {
        edges[dependency.resource].push(dependency.requires.0);
    }
    // 0 = unvisited, 1 = on the current path, 2 = done.
    let mut state = vec![0u8; resources];
    let mut path = Vec::new();
    let mut cycles = Vec::new();
    fn visit(
        node: usize,
        edges: &[Vec<usize>],
        state: &mut [u8],
        path: &mut Vec<usize>,
        cycles: &mut Vec<Vec<usize>>,
    ) {
        state[node] = 1;
        path.push(node);
        for &next in &edges[node] {
            match state[next] {
                0 => visit(next, edges, state, path, cycles),
                1 => {
                    let start = path.iter().position(|&n| n == next).unwrap_or(0);
                    let mut cycle = path[start..].to_vec();
                    cycle.push(next);
                    cycles.push(cycle);
                }
                _ => {}
            }
        }
        path.pop();
        state[node] = 2;
    }
    for node in 0..resources {
        if state[node] == 0 {
            visit(node, &edges, &mut state, &mut path, &mut cycles);
        }
    }
    cycles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_policy_compiles_with_an_owner_and_six_organization_roles() {
        let policy = Policy::built_in();
        assert_eq!(policy.roles().len(), 7);
        assert_eq!(policy.owner_role().key, "owner");
        let owner = &policy.owner_role().grants;
        for (index, resource) in policy.resources().iter().enumerate() {
            assert_eq!(owner.level(index) as usize, resource.levels.len() - 1);
        }
    }

    #[test]
    fn a_policy_missing_a_built_in_resource_is_refused_with_its_name() {
        let err = Policy::from_toml(
            r#"
            [[resources]]
            key = "organization"
            name = "Organization"
            group = "Charter"
            levels = ["none", "read", "edit"]
            [[roles]]
            key = "owner"
            name = "Owner"
            seat_class = "licensed"
            owner = true
            "#,
        )
        .unwrap_err();
        assert!(
            err.0
                .iter()
                .any(|p| p == "built-in resource `member` is missing")
        );
    }

    #[test]
    fn problems_are_reported_with_their_line_numbers() {
        let source = Policy::built_in_source().replace(
            "tc_playbook = \"Full\"\n\n[[roles]]\nkey = \"sharing_user\"",
            "tc_playbook = \"Everything\"\n\n[[roles]]\nkey = \"sharing_user\"",
        );
        let err = Policy::from_toml(&source).unwrap_err();
        let line = source
            .lines()
            .position(|l| l.contains("\"Everything\""))
            .unwrap()
            + 1;
        assert_eq!(
            err.0,
            vec![format!(
                "line {line}: role `organization_administrator`: resource `tc_playbook` has no level `Everything`"
            )]
        );
        let broken = Policy::from_toml("[[resources]]\nkey = 1\n").unwrap_err();
        assert!(broken.0[0].starts_with("line 2:"), "{broken}");
    }

    #[test]
    fn dependency_cycles_and_undeclared_features_are_reported() {
        let source = format!(
            "{}\n[[resources]]\nkey = \"a\"\nname = \"A\"\ngroup = \"X\"\nlevels = [\"none\", \"on\"]\nfeature = \"nope\"\n\
             [[resources]]\nkey = \"b\"\nname = \"B\"\ngroup = \"X\"\nlevels = [\"none\", \"on\"]\n\
             [[dependencies]]\nresource = \"a\"\nlevel = \"on\"\nrequires = {{ resource = \"b\", level = \"on\" }}\n\
             [[dependencies]]\nresource = \"b\"\nlevel = \"on\"\nrequires = {{ resource = \"a\", level = \"on\" }}\n",
            Policy::built_in_source()
        );
        let err = Policy::from_toml(&source).unwrap_err();
        assert!(
            err.0.iter().any(|p| p == "dependency cycle: a -> b -> a"),
            "{err}"
        );
        assert!(
            err.0
                .iter()
                .any(|p| p.ends_with("resource `a` is gated by the undeclared feature `nope`")),
            "{err}"
        );
    }

    #[test]
    fn a_grant_with_an_unknown_level_is_reported() {
        let policy = Policy::built_in();
        let grants = BTreeMap::from([("member".to_owned(), "admin".to_owned())]);
        assert_eq!(
            policy.compile_grants(&grants).unwrap_err(),
            vec!["resource `member` has no level `admin`".to_owned()]
        );
    }

    #[test]
    fn a_check_passes_at_or_above_the_required_level_only() {
        let policy = Policy::built_in();
        let standard = &policy.role_by_key("standard_user").unwrap().grants;
        let (member, read) = policy.level_of("member", "read").unwrap();
        let (_, manage) = policy.level_of("member", "manage").unwrap();
        assert!(standard.allows(member, read));
        assert!(!standard.allows(member, manage));
    }
}
