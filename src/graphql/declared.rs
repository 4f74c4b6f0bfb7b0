//! What the schema declares of each field, read once from its own SDL: the rule of every
//! field (`@requires`, `@authenticated`, `@platformOperator`, or public) and the type of every
//! field. The schema builds one [`Declared`] and hands it to the guards, the catalog and null
//! propagation as data, so that what is enforced is what the SDL, introspection and the
//! catalog show, and none of them reads the schema back.

use std::collections::HashMap;

use async_graphql::Positioned;
use async_graphql::parser::types::{
    ConstDirective, ServiceDocument, TypeKind, TypeSystemDefinition,
};

use crate::authz::{Requirement, require};

/// The only fields anyone may call without a declared requirement.
pub const PUBLIC_FIELDS: &[(&str, &str)] = &[
    ("Query", "viewer"),
    ("Query", "permissionCatalog"),
    ("Mutation", "login"),
    ("Mutation", "refreshSession"),
    ("Mutation", "acceptInvitation"),
    ("Query", "ssoSignIn"),
    ("Mutation", "exchangeSsoCode"),
    ("Mutation", "verifyMfa"),
];

/// Types without identity of their own (pages, edges, values): their fields are as visible as
/// the guarded field that returned them.
pub const VALUE_TYPES: &[&str] = &[
    "PageInfo",
    "MembershipConnection",
    "MembershipEdge",
    "AuditEventConnection",
    "InvitationConnection",
    "InvitationEdge",
    "ListConnection",
    "ListEdge",
    "ListEntry",
    "ListEntryConnection",
    "ListEntryEdge",
    "ListEntriesChange",
    "AuditEventEdge",
    "PermissionGrant",
    "AuthPayload",
    "License",
    "PermissionCatalog",
    "CatalogResource",
    "CatalogDependency",
    "CatalogRole",
    "CatalogFeature",
    "CatalogGuard",
    "ApiKeyConnection",
    "ApiKeyEdge",
    "ServiceAccountConnection",
    "ServiceAccountEdge",
    "ScimGroupConnection",
    "ScimGroupEdge",
    "ScimSettings",
    "IssuedApiKey",
    "IssuedWebhookEndpoint",
    "WebhookDeliveryConnection",
    "WebhookDeliveryEdge",
    "WebhookAttempt",
    "AuditCheckpoint",
    "AuditCheckpointConnection",
    "AuditCheckpointEdge",
    "SsoConnection",
    "SamlConnection",
    "X509Certificate",
    "LdapDirectory",
    "CertificateTrust",
    "SamlServiceProvider",
    "OrganizationDomain",
    "MfaChallenge",
    "TotpEnrollment",
    "MfaFactor",
    "SecurityKeyRegistered",
];

/// What a field declares, in the one place it is declared: its `@requires` (or its type's),
/// `@authenticated`, `@platformOperator`, or nothing for [`PUBLIC_FIELDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Public,
    Authenticated(Account),
    PlatformOperator,
    Requires(Need),
}

impl Rule {
    /// Whether an API key is refused here: on the person's account operations, the sign-ins
    /// and sensitive changes, and what only platform operators do. `mutation` says whether the
    /// field is a root mutation (which acts on a person's account unless it is
    /// organization-scoped).
    pub fn refuses_keys(self, mutation: bool) -> bool {
        match self {
            Rule::Public => mutation,
            Rule::Authenticated(account) => mutation || account.person || account.step_up,
            Rule::PlatformOperator => true,
            Rule::Requires(need) => need.step_up,
        }
    }

    /// Whether the field needs a recent second factor of a person who has one.
    pub fn steps_up(self) -> bool {
        match self {
            Rule::Authenticated(account) => account.step_up,
            Rule::Requires(need) => need.step_up,
            _ => false,
        }
    }
}

/// `@authenticated` as a value: whether the field is the person's alone, and whether it is a
/// sensitive change that needs a recent second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Account {
    pub person: bool,
    pub step_up: bool,
}

/// Any signed-in viewer, the viewer's own account (`@authenticated`).
pub const SIGNED_IN: Account = Account {
    person: false,
    step_up: false,
};
/// The person, never an API key (`@authenticated(person: true)`).
pub const PERSON: Account = Account {
    person: true,
    step_up: false,
};
/// A sensitive change of the person's account (`@authenticated(person: true, stepUp: true)`).
pub const STEPPED_UP: Account = Account {
    person: true,
    step_up: true,
};

/// `@requires` as a value: a requirement and the ways around it the field allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub requirement: Requirement,
    pub or_self: bool,
    pub or_partner: bool,
    pub or_member: bool,
    /// A person with a recent second factor (see [`step_up`]), never an API key.
    pub step_up: bool,
}

/// The declaration of a field or type: `directive = Requires::apply(need(require::MEMBER_READ))`.
pub const fn need(requirement: Requirement) -> Need {
    Need {
        requirement,
        or_self: false,
        or_partner: false,
        or_member: false,
        step_up: false,
    }
}

impl Need {
    pub const fn or_self(self) -> Self {
        Self {
            or_self: true,
            ..self
        }
    }

    pub const fn or_partner(self) -> Self {
        Self {
            or_partner: true,
            ..self
        }
    }

    pub const fn or_member(self) -> Self {
        Self {
            or_member: true,
            ..self
        }
    }

    /// A sensitive change: keys, sign-in settings, the organization's requirements.
    pub const fn step_up(self) -> Self {
        Self {
            step_up: true,
            ..self
        }
    }
}

/// The schema's declarations, read from its SDL.
#[derive(Debug, Default)]
pub struct Declared {
    /// Every `(type, field, rule)`, in the SDL's order.
    rules: Vec<(String, String, Rule)>,
    by_field: HashMap<String, HashMap<String, Rule>>,
    /// The declared type (as written in the SDL, `[Role!]`) of every field of every object and
    /// interface type.
    field_types: HashMap<String, HashMap<String, String>>,
}

impl Declared {
    /// Reads the declarations of the schema whose SDL is `document`.
    pub fn read(document: &ServiceDocument) -> Self {
        let rules = rules_of(document);
        let mut by_field: HashMap<String, HashMap<String, Rule>> = HashMap::new();
        for (ty, field, rule) in &rules {
            by_field
                .entry(ty.clone())
                .or_default()
                .insert(field.clone(), *rule);
        }
        Self {
            rules,
            by_field,
            field_types: field_types_of(document),
        }
    }

    /// The rule `type_name.field` declares, if any.
    pub fn rule(&self, type_name: &str, field: &str) -> Option<Rule> {
        self.by_field.get(type_name)?.get(field).copied()
    }

    /// Every `(type, field, rule)` the schema declares; a type's `@requires` applies to its
    /// fields without their own. Fields of [`VALUE_TYPES`] have none.
    pub fn rules(&self) -> &[(String, String, Rule)] {
        &self.rules
    }

    /// The fields of `type_name` that declare `orPartner`.
    pub fn partner_fields(&self, type_name: &str) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|(ty, _, rule)| {
                ty == type_name && matches!(rule, Rule::Requires(need) if need.or_partner)
            })
            .map(|(_, field, _)| field.as_str())
            .collect()
    }

    /// The declared type of `type_name.field`, as the SDL writes it.
    pub fn field_type(&self, type_name: &str, field: &str) -> Option<&str> {
        self.field_types
            .get(type_name)?
            .get(field)
            .map(String::as_str)
    }
}

fn field_types_of(document: &ServiceDocument) -> HashMap<String, HashMap<String, String>> {
    let mut types: HashMap<String, HashMap<String, String>> = HashMap::new();
    for definition in &document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let fields = match &ty.node.kind {
            TypeKind::Object(object) => &object.fields,
            TypeKind::Interface(interface) => &interface.fields,
            _ => continue,
        };
        let of_type = types.entry(ty.node.name.node.to_string()).or_default();
        for field in fields {
            of_type.insert(
                field.node.name.node.to_string(),
                field.node.ty.node.to_string(),
            );
        }
    }
    types
}

fn rules_of(document: &ServiceDocument) -> Vec<(String, String, Rule)> {
    let mut rules = Vec::new();
    for definition in &document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let TypeKind::Object(object) = &ty.node.kind else {
            continue;
        };
        let type_name = ty.node.name.node.to_string();
        if VALUE_TYPES.contains(&type_name.as_str()) {
            continue;
        }
        let type_rule = rule_of(&ty.node.directives);
        for field in &object.fields {
            let field_name = field.node.name.node.to_string();
            let rule = if PUBLIC_FIELDS.contains(&(type_name.as_str(), field_name.as_str())) {
                Some(Rule::Public)
            } else {
                rule_of(&field.node.directives).or(type_rule)
            };
            if let Some(rule) = rule {
                rules.push((type_name.clone(), field_name, rule));
            }
        }
    }
    rules
}

fn rule_of(directives: &[Positioned<ConstDirective>]) -> Option<Rule> {
    directives.iter().find_map(|directive| {
        let arg = |name: &str| {
            directive
                .node
                .get_argument(name)
                .map(|value| value.node.to_string().trim_matches('"').to_owned())
        };
        let flag = |name: &str| arg(name).as_deref() == Some("true");
        match directive.node.name.node.as_str() {
            "requires" => {
                let requirement = require::named(&arg("resource")?, &arg("level")?)?;
                Some(Rule::Requires(Need {
                    requirement,
                    or_self: flag("orSelf"),
                    or_partner: flag("orPartner"),
                    or_member: flag("orMember"),
                    step_up: flag("stepUp"),
                }))
            }
            "authenticated" => Some(Rule::Authenticated(Account {
                person: flag("person"),
                step_up: flag("stepUp"),
            })),
            "platformOperator" => Some(Rule::PlatformOperator),
            _ => None,
        }
    })
}
