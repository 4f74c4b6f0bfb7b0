//! SCIM resources in and out: a checked document read into a service's input, a user or group
//! rendered as the client sees it, the `attributes`/`excludedAttributes` projection, and the
//! split of a filter into what the database answers and what is checked on each resource.

use serde_json::{Map, Value, json};

use crate::domain::{DisplayName, Email};
use crate::scim::document::{self, MAX_STORED, string_value};
use crate::scim::error::{ScimError, ScimType};
use crate::scim::filter::{self, AttrPath, CompareOp, Filter};
use crate::scim::schema;
use crate::services::organization::scim::groups::{GroupFilter, GroupInput, ScimGroup};
use crate::services::organization::scim::users::{ScimUser, UserFilter, UserInput};

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request(ScimType::InvalidValue, detail)
}

/// The user a checked document describes.
pub fn user_input(mut checked: Map<String, Value>) -> Result<UserInput, ScimError> {
    let user_name = checked
        .remove("userName")
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default();
    let email = Email::parse("userName", &user_name)
        .map_err(|_| invalid("`userName` must be an email address"))?;
    // `active` stays among the kept attributes when the client assigned it, as `true`: its
    // value is the membership's suspension, so a suspension alone changes no attribute.
    // Unassigned (never set, or removed), the member is active and it is shown unassigned.
    let active = match checked.get_mut("active") {
        Some(value) => std::mem::replace(value, Value::Bool(true))
            .as_bool()
            .unwrap_or(true),
        None => true,
    };
    let external_id = external_id(checked.remove("externalId"))?;
    let display_name = display_name(&checked, &email);
    let attributes = Value::Object(checked).to_string();
    if attributes.len() > MAX_STORED {
        return Err(invalid(format!(
            "the user's attributes take more than {MAX_STORED} bytes"
        )));
    }
    Ok(UserInput {
        email,
        active,
        external_id,
        display_name,
        attributes,
    })
}

fn external_id(value: Option<Value>) -> Result<Option<String>, ScimError> {
    let id = match value {
        Some(value) => string_value("externalId", &value)?,
        None => None,
    };
    if id.as_ref().is_some_and(|id| id.len() > 255) {
        return Err(invalid("`externalId` is longer than 255 bytes"));
    }
    Ok(id)
}

/// The name a new identity gets: `displayName`, else `name.formatted`, else given and family
/// names, else the email's local part.
fn display_name(checked: &Map<String, Value>, email: &Email) -> String {
    let name = checked.get("name");
    let part = |key: &str| name.and_then(|n| n.get(key)).and_then(Value::as_str);
    let joined = [part("givenName"), part("familyName")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let candidates = [
        checked.get("displayName").and_then(Value::as_str),
        part("formatted"),
        Some(joined.as_str()),
        email.as_str().split('@').next(),
    ];
    candidates
        .into_iter()
        .flatten()
        .find_map(|candidate| DisplayName::parse("displayName", candidate).ok())
        .map_or_else(|| email.as_str().to_owned(), DisplayName::into_inner)
}

/// The group a checked document describes; member values must be user ids.
pub fn group_input(mut checked: Map<String, Value>) -> Result<GroupInput, ScimError> {
    let display_name = checked
        .remove("displayName")
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default();
    if display_name.chars().count() > 255 {
        return Err(invalid("`displayName` is longer than 255 characters"));
    }
    let external_id = external_id(checked.remove("externalId"))?;
    let members = match checked.remove("members") {
        Some(Value::Array(members)) => members,
        _ => vec![],
    };
    let members = members
        .iter()
        .map(|member| {
            let value = member
                .get("value")
                .and_then(Value::as_str)
                .unwrap_or_default();
            uuid::Uuid::parse_str(value).map_err(|_| {
                invalid(format!(
                    "`members` holds `{}`, which is not a user's id",
                    document::shown(value)
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(GroupInput {
        display_name,
        external_id,
        members,
    })
}

/// A user as the client sees it.
pub fn render_user(base: &str, user: &ScimUser) -> Value {
    let member = &user.membership;
    let mut out = member
        .scim_attributes
        .as_deref()
        .and_then(|text| serde_json::from_str::<Map<String, Value>>(text).ok())
        .unwrap_or_default();
    let mut schemas = vec![schema::USER];
    if out.contains_key(schema::ENTERPRISE_USER) {
        schemas.push(schema::ENTERPRISE_USER);
    }
    out.insert("schemas".into(), json!(schemas));
    out.insert("id".into(), json!(member.id));
    if let Some(id) = &member.scim_external_id {
        out.insert("externalId".into(), json!(id));
    }
    out.insert("userName".into(), json!(user.email));
    if member.suspended_at.is_some() || out.contains_key("active") {
        out.insert("active".into(), json!(member.suspended_at.is_none()));
    }
    if !user.groups.is_empty() {
        let groups: Vec<Value> = user
            .groups
            .iter()
            .map(|(id, name)| json!({ "value": id, "display": name, "$ref": format!("{base}/Groups/{id}") }))
            .collect();
        out.insert("groups".into(), Value::Array(groups));
    }
    let modified = member.scim_updated_at.unwrap_or(member.created_at);
    out.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": member.created_at.to_rfc3339(),
            "lastModified": modified.to_rfc3339(),
            "location": format!("{base}/Users/{}", member.id),
        }),
    );
    Value::Object(out)
}

/// A group as the client sees it; its members only when they were read.
pub fn render_group(base: &str, group: &ScimGroup) -> Value {
    let model = &group.group;
    let mut out = json!({
        "schemas": [schema::GROUP],
        "id": model.id,
        "displayName": model.display_name,
        "meta": {
            "resourceType": "Group",
            "created": model.created_at.to_rfc3339(),
            "lastModified": model.updated_at.to_rfc3339(),
            "location": format!("{base}/Groups/{}", model.id),
        },
    });
    if let Some(id) = &model.external_id {
        out["externalId"] = json!(id);
    }
    if !group.members.is_empty() {
        out["members"] = group
            .members
            .iter()
            .map(|id| json!({ "value": id, "$ref": format!("{base}/Users/{id}") }))
            .collect();
    }
    out
}

/// The `attributes` or `excludedAttributes` a request lists.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    only: Vec<AttrPath>,
    excluded: Vec<AttrPath>,
}

impl Projection {
    pub fn parse(only: Option<&str>, excluded: Option<&str>) -> Result<Self, ScimError> {
        let paths = |text: Option<&str>| -> Result<Vec<AttrPath>, ScimError> {
            text.unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|part| !part.is_empty())
                .take(100)
                .map(|part| {
                    filter::parse_path(part)
                        .map_err(|err| ScimError::bad_request(ScimType::InvalidPath, err.0))
                })
                .collect()
        };
        Ok(Self {
            only: paths(only)?,
            excluded: paths(excluded)?,
        })
    }

    /// Whether the projection leaves `name` out (groups' members are not read then).
    pub fn leaves_out(&self, name: &str) -> bool {
        let named = |paths: &[AttrPath]| {
            paths
                .iter()
                .any(|path| path.sub.is_none() && path.name.eq_ignore_ascii_case(name))
        };
        named(&self.excluded)
            || (!self.only.is_empty()
                && !self.only.iter().any(|p| p.name.eq_ignore_ascii_case(name)))
    }

    /// `resource` with only what the projection keeps (`id`, `schemas` and `meta` always).
    pub fn apply(&self, resource: Value) -> Value {
        let Value::Object(mut object) = resource else {
            return resource;
        };
        let always = |key: &str| {
            ["id", "schemas", "meta"]
                .iter()
                .any(|k| k.eq_ignore_ascii_case(key))
        };
        if !self.only.is_empty() {
            object.retain(|key, value| {
                always(key) || self.only.iter().any(|path| keep(path, key, value))
            });
        }
        for path in &self.excluded {
            if always(&path.name) {
                continue;
            }
            match &path.sub {
                None => object.retain(|key, _| !key.eq_ignore_ascii_case(&path.name)),
                Some(sub) => {
                    if let Some(Value::Object(inner)) = object
                        .iter_mut()
                        .find(|(key, _)| key.eq_ignore_ascii_case(&path.name))
                        .map(|(_, value)| value)
                    {
                        inner.retain(|key, _| !key.eq_ignore_ascii_case(sub));
                    }
                }
            }
        }
        Value::Object(object)
    }
}

/// Whether `path` keeps `key`; a sub-attribute path narrows a complex value to that part.
fn keep(path: &AttrPath, key: &str, value: &mut Value) -> bool {
    let named = match &path.schema {
        Some(urn) => urn.eq_ignore_ascii_case(key) || path.name.eq_ignore_ascii_case(key),
        None => path.name.eq_ignore_ascii_case(key),
    };
    if named && let (Some(sub), Value::Object(inner)) = (&path.sub, value) {
        inner.retain(|name, _| name.eq_ignore_ascii_case(sub));
    }
    named
}

/// What a user filter's top-level `and` terms ask the database (`userName eq`, `externalId
/// eq`, `active eq`), and whether those terms are the whole filter.
pub fn user_prefilter(filter: &Filter) -> (UserFilter, bool) {
    let mut out = UserFilter::default();
    let mut whole = true;
    for term in conjuncts(filter) {
        match equality(term) {
            Some(("username", filter::Value::String(v))) => out.user_name = Some(v.clone()),
            Some(("externalid", filter::Value::String(v))) => out.external_id = Some(v.clone()),
            Some(("active", filter::Value::Bool(b))) => out.active = Some(*b),
            _ => whole = false,
        }
    }
    (out, whole)
}

/// The same for groups: `displayName eq`, `externalId eq`.
pub fn group_prefilter(filter: &Filter) -> (GroupFilter, bool) {
    let mut out = GroupFilter::default();
    let mut whole = true;
    for term in conjuncts(filter) {
        match equality(term) {
            Some(("displayname", filter::Value::String(v))) => out.display_name = Some(v.clone()),
            Some(("externalid", filter::Value::String(v))) => out.external_id = Some(v.clone()),
            _ => whole = false,
        }
    }
    (out, whole)
}

fn conjuncts(filter: &Filter) -> Vec<&Filter> {
    match filter {
        Filter::And(left, right) => {
            let mut out = conjuncts(left);
            out.extend(conjuncts(right));
            out
        }
        other => vec![other],
    }
}

/// `attr eq value` on a core attribute without a sub-attribute: its lowercase name and value.
fn equality(term: &Filter) -> Option<(&'static str, &filter::Value)> {
    let Filter::Compare {
        path,
        op: CompareOp::Eq,
        value,
    } = term
    else {
        return None;
    };
    if path.filter.is_some() || path.sub.is_some() {
        return None;
    }
    if path.schema.as_deref().is_some_and(|s| {
        !s.eq_ignore_ascii_case(schema::USER) && !s.eq_ignore_ascii_case(schema::GROUP)
    }) {
        return None;
    }
    ["username", "externalid", "active", "displayname"]
        .into_iter()
        .find(|name| path.name.eq_ignore_ascii_case(name))
        .map(|name| (name, value))
}
