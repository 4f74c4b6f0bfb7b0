//! What Charter's SCIM service speaks, stated once: the attributes of its User and Group
//! resources (which the input is checked against and the `Schemas` endpoint publishes), and
//! the discovery documents of RFC 7644 §4.

use serde_json::{Value, json};

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const SERVICE_PROVIDER_CONFIG: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// The most results one page lists.
pub const MAX_PAGE: u64 = 200;
/// The most operations one PATCH carries.
pub const MAX_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Boolean,
    Reference,
    Complex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadWrite,
    ReadOnly,
    Immutable,
}

/// One attribute of a resource's schema.
#[derive(Debug)]
pub struct Attr {
    pub name: &'static str,
    pub kind: Kind,
    pub multi: bool,
    pub required: bool,
    pub mutability: Mutability,
    pub case_exact: bool,
    pub sub: &'static [Attr],
}

const fn text(name: &'static str) -> Attr {
    Attr {
        name,
        kind: Kind::String,
        multi: false,
        required: false,
        mutability: Mutability::ReadWrite,
        case_exact: false,
        sub: &[],
    }
}

const fn flag(name: &'static str) -> Attr {
    Attr {
        kind: Kind::Boolean,
        ..text(name)
    }
}

const fn reference(name: &'static str) -> Attr {
    Attr {
        kind: Kind::Reference,
        case_exact: true,
        ..text(name)
    }
}

const fn complex(name: &'static str, sub: &'static [Attr]) -> Attr {
    Attr {
        kind: Kind::Complex,
        sub,
        ..text(name)
    }
}

const fn many(name: &'static str, sub: &'static [Attr]) -> Attr {
    Attr {
        multi: true,
        ..complex(name, sub)
    }
}

const VALUE_TYPE_PRIMARY: &[Attr] = &[
    text("value"),
    text("display"),
    text("type"),
    flag("primary"),
];

/// The User resource's core attributes (`id`, `externalId` and `meta` are common to both).
pub const USER_ATTRIBUTES: &[Attr] = &[
    Attr {
        required: true,
        ..text("userName")
    },
    complex(
        "name",
        &[
            text("formatted"),
            text("familyName"),
            text("givenName"),
            text("middleName"),
            text("honorificPrefix"),
            text("honorificSuffix"),
        ],
    ),
    text("displayName"),
    text("nickName"),
    text("title"),
    text("userType"),
    text("preferredLanguage"),
    text("locale"),
    text("timezone"),
    flag("active"),
    many("emails", VALUE_TYPE_PRIMARY),
    many("phoneNumbers", VALUE_TYPE_PRIMARY),
    many(
        "addresses",
        &[
            text("formatted"),
            text("streetAddress"),
            text("locality"),
            text("region"),
            text("postalCode"),
            text("country"),
            text("type"),
            flag("primary"),
        ],
    ),
    Attr {
        mutability: Mutability::ReadOnly,
        ..many(
            "groups",
            &[
                Attr {
                    mutability: Mutability::ReadOnly,
                    ..text("value")
                },
                Attr {
                    mutability: Mutability::ReadOnly,
                    ..reference("$ref")
                },
                Attr {
                    mutability: Mutability::ReadOnly,
                    ..text("display")
                },
            ],
        )
    },
];

/// The enterprise extension's attributes (RFC 7643 §4.3), kept as the client set them.
pub const ENTERPRISE_ATTRIBUTES: &[Attr] = &[
    text("employeeNumber"),
    text("costCenter"),
    text("organization"),
    text("division"),
    text("department"),
    complex(
        "manager",
        &[text("value"), reference("$ref"), text("displayName")],
    ),
];

/// The Group resource's attributes.
pub const GROUP_ATTRIBUTES: &[Attr] = &[
    Attr {
        required: true,
        ..text("displayName")
    },
    many(
        "members",
        &[
            Attr {
                mutability: Mutability::Immutable,
                case_exact: true,
                ..text("value")
            },
            Attr {
                mutability: Mutability::Immutable,
                ..reference("$ref")
            },
            // Taken from the request and ignored: a member is the user its value names.
            Attr {
                mutability: Mutability::ReadOnly,
                ..text("display")
            },
            Attr {
                mutability: Mutability::ReadOnly,
                ..text("type")
            },
        ],
    ),
];

/// The catalog attribute named `name` (any case).
pub fn find<'a>(attributes: &'a [Attr], name: &str) -> Option<&'a Attr> {
    attributes
        .iter()
        .find(|attr| attr.name.eq_ignore_ascii_case(name))
}

fn describe(attr: &Attr) -> Value {
    let kind = match attr.kind {
        Kind::String => "string",
        Kind::Boolean => "boolean",
        Kind::Reference => "reference",
        Kind::Complex => "complex",
    };
    let mutability = match attr.mutability {
        Mutability::ReadWrite => "readWrite",
        Mutability::ReadOnly => "readOnly",
        Mutability::Immutable => "immutable",
    };
    let unique = if attr.name == "userName" || (attr.name == "displayName" && attr.required) {
        "server"
    } else {
        "none"
    };
    let mut out = json!({
        "name": attr.name,
        "type": kind,
        "multiValued": attr.multi,
        "description": attr.name,
        "required": attr.required,
        "caseExact": attr.case_exact,
        "mutability": mutability,
        "returned": "default",
        "uniqueness": unique,
    });
    if attr.kind == Kind::Reference {
        out["referenceTypes"] = json!(if attr.name == "$ref" {
            vec!["User", "Group"]
        } else {
            vec!["external"]
        });
    }
    if attr.kind == Kind::Complex {
        out["subAttributes"] = Value::Array(attr.sub.iter().map(describe).collect());
    }
    out
}

fn schema(base: &str, id: &str, name: &str, attributes: &[Attr]) -> Value {
    json!({
        "schemas": [SCHEMA],
        "id": id,
        "name": name,
        "description": name,
        "attributes": attributes.iter().map(describe).collect::<Vec<_>>(),
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{id}") },
    })
}

/// The schemas served, in the order `/Schemas` lists them.
pub fn schemas(base: &str) -> Vec<Value> {
    vec![
        schema(base, USER, "User", USER_ATTRIBUTES),
        schema(
            base,
            ENTERPRISE_USER,
            "EnterpriseUser",
            ENTERPRISE_ATTRIBUTES,
        ),
        schema(base, GROUP, "Group", GROUP_ATTRIBUTES),
    ]
}

/// The resource types served.
pub fn resource_types(base: &str) -> Vec<Value> {
    let kind = |name: &str, endpoint: &str, schema: &str, extensions: Value| {
        json!({
            "schemas": [RESOURCE_TYPE],
            "id": name,
            "name": name,
            "endpoint": endpoint,
            "description": name,
            "schema": schema,
            "schemaExtensions": extensions,
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{name}") },
        })
    };
    vec![
        kind(
            "User",
            "/Users",
            USER,
            json!([{ "schema": ENTERPRISE_USER, "required": false }]),
        ),
        kind("Group", "/Groups", GROUP, json!([])),
    ]
}

/// What the service supports (RFC 7643 §5).
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG],
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": MAX_PAGE },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": false },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "API key",
            "description": "A Charter API key of a service account whose role manages members, \
                            as `Authorization: Bearer <key>`",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })
}

/// A list response of `resources`, the `start_index`th (1-based) of `total`.
pub fn list(resources: Vec<Value>, start_index: u64, total: u64) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}
