//! A resource as a client sent it (a POST or PUT body, or a stored resource a PATCH changed),
//! checked against the catalog of [`super::schema`]: every attribute known, of its type,
//! bounded and free of control characters, and named as the catalog names it (SCIM names are
//! case-insensitive). What is read-only is dropped, as RFC 7644 §3.5.1 asks.

use serde_json::{Map, Value};

use super::error::{ScimError, ScimType};
use super::schema::{self, Attr, Kind, Mutability};

/// The longest string value, in characters.
pub const MAX_TEXT: usize = 1024;
/// The most values of one multi-valued attribute of a user.
pub const MAX_USER_VALUES: usize = 50;
/// The most members one group document lists.
pub const MAX_GROUP_MEMBERS: usize = 100_000;
/// The most bytes of attributes kept for one user.
pub const MAX_STORED: usize = 32 * 1024;

/// The shape of one resource type: its core schema and attributes, its extension if any, and
/// how many values a multi-valued attribute may hold.
#[derive(Clone, Copy)]
pub struct Shape {
    pub core: &'static str,
    pub attributes: &'static [Attr],
    pub extension: Option<(&'static str, &'static [Attr])>,
    pub max_values: usize,
}

pub const USER: Shape = Shape {
    core: schema::USER,
    attributes: schema::USER_ATTRIBUTES,
    extension: Some((schema::ENTERPRISE_USER, schema::ENTERPRISE_ATTRIBUTES)),
    max_values: MAX_USER_VALUES,
};

pub const GROUP: Shape = Shape {
    core: schema::GROUP,
    attributes: schema::GROUP_ATTRIBUTES,
    extension: None,
    max_values: MAX_GROUP_MEMBERS,
};

/// Attributes every resource has, which the server sets.
const COMMON_READ_ONLY: [&str; 3] = ["id", "meta", "schemas"];

fn syntax(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request(ScimType::InvalidSyntax, detail)
}

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request(ScimType::InvalidValue, detail)
}

/// A name from the request, bounded and printable, for an error's detail.
pub fn shown(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(60).collect()
}

impl Shape {
    /// The checked attributes of `resource`: canonical names, declared types, read-only ones
    /// dropped, `externalId` kept; the extension's under its URN. `schemas` must name the
    /// core schema.
    pub fn check(&self, resource: &Value) -> Result<Map<String, Value>, ScimError> {
        let object = resource
            .as_object()
            .ok_or_else(|| syntax("the body is not a JSON object"))?;
        let schemas = schema_list(object)?;
        if !schemas.iter().any(|s| s.eq_ignore_ascii_case(self.core)) {
            return Err(syntax(format!("`schemas` does not name {}", self.core)));
        }
        let mut out = Map::new();
        for (name, value) in object {
            if COMMON_READ_ONLY
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name))
                || (self.core == schema::USER && name.eq_ignore_ascii_case("password"))
            {
                // Read-only, or a password Charter never takes from a provisioning client.
                continue;
            }
            if name.eq_ignore_ascii_case("externalId") {
                if let Some(id) = string_value("externalId", value)? {
                    out.insert("externalId".to_owned(), Value::String(id));
                }
                continue;
            }
            if let Some((urn, attributes)) = self.extension
                && name.eq_ignore_ascii_case(urn)
            {
                let checked = self.check_object(urn, attributes, value)?;
                if !checked.is_empty() {
                    out.insert(urn.to_owned(), Value::Object(checked));
                }
                continue;
            }
            let attr = schema::find(self.attributes, name)
                .ok_or_else(|| syntax(format!("`{}` is not an attribute", shown(name))))?;
            if attr.mutability == Mutability::ReadOnly {
                continue;
            }
            if let Some(value) = self.check_value(attr, attr.name, value)? {
                out.insert(attr.name.to_owned(), value);
            }
        }
        for attr in self.attributes.iter().filter(|attr| attr.required) {
            if !out.contains_key(attr.name) {
                return Err(invalid(format!("`{}` is required", attr.name)));
            }
        }
        Ok(out)
    }

    fn check_object(
        &self,
        at: &str,
        attributes: &[Attr],
        value: &Value,
    ) -> Result<Map<String, Value>, ScimError> {
        let object = match value {
            Value::Object(object) => object,
            Value::Null => return Ok(Map::new()),
            _ => return Err(invalid(format!("`{}` is not an object", shown(at)))),
        };
        let mut out = Map::new();
        for (name, value) in object {
            if name.eq_ignore_ascii_case("schemas") {
                continue;
            }
            let attr = schema::find(attributes, name).ok_or_else(|| {
                syntax(format!(
                    "`{}.{}` is not an attribute",
                    shown(at),
                    shown(name)
                ))
            })?;
            if let Some(value) = self.check_value(attr, attr.name, value)? {
                out.insert(attr.name.to_owned(), value);
            }
        }
        Ok(out)
    }

    /// `value` as `attr` holds it; none when it is null or empty (unassigned).
    fn check_value(
        &self,
        attr: &Attr,
        at: &str,
        value: &Value,
    ) -> Result<Option<Value>, ScimError> {
        if value.is_null() {
            return Ok(None);
        }
        if attr.multi {
            let items: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                single => vec![single],
            };
            if items.len() > self.max_values {
                return Err(invalid(format!(
                    "`{at}` holds more than {} values",
                    self.max_values
                )));
            }
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let one = Attr {
                    multi: false,
                    ..*attr
                };
                if let Some(value) = self.check_value(&one, at, item)? {
                    out.push(value);
                }
            }
            return Ok((!out.is_empty()).then_some(Value::Array(out)));
        }
        match attr.kind {
            Kind::String | Kind::Reference => Ok(string_value(at, value)?.map(Value::String)),
            Kind::Boolean => boolean(at, value).map(|b| Some(Value::Bool(b))),
            Kind::Complex => {
                let object = self.check_object(at, attr.sub, value)?;
                Ok((!object.is_empty()).then_some(Value::Object(object)))
            }
        }
    }
}

/// The `schemas` member: a list of strings.
fn schema_list(object: &Map<String, Value>) -> Result<Vec<&str>, ScimError> {
    let found = object
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("schemas"))
        .map(|(_, value)| value)
        .ok_or_else(|| syntax("`schemas` is missing"))?;
    let items = found
        .as_array()
        .ok_or_else(|| syntax("`schemas` is not a list"))?;
    items
        .iter()
        .map(|item| {
            item.as_str()
                .ok_or_else(|| syntax("`schemas` holds a value that is not a string"))
        })
        .collect()
}

/// A string attribute's value: bounded, without control characters; none when empty.
pub fn string_value(at: &str, value: &Value) -> Result<Option<String>, ScimError> {
    let text = match value {
        Value::String(text) => text,
        Value::Null => return Ok(None),
        _ => return Err(invalid(format!("`{}` is not a string", shown(at)))),
    };
    if text.chars().count() > MAX_TEXT {
        return Err(invalid(format!(
            "`{}` is longer than {MAX_TEXT} characters",
            shown(at)
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid(format!("`{}` holds control characters", shown(at))));
    }
    Ok((!text.is_empty()).then(|| text.clone()))
}

/// A boolean, or the strings `"True"` and `"False"` (any case) Microsoft Entra sends.
pub fn boolean(at: &str, value: &Value) -> Result<bool, ScimError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(invalid(format!("`{}` is not a boolean", shown(at)))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_user_is_checked_and_named_as_the_catalog_names_it() {
        let body = json!({
            "schemas": [schema::USER, schema::ENTERPRISE_USER],
            "id": "ignored",
            "USERNAME": "ada@example.com",
            "name": { "GivenName": "Ada", "familyName": null },
            "emails": { "value": "ada@example.com", "type": "work", "primary": "True" },
            "active": "False",
            "externalId": "00u1",
            "password": "never kept",
            "groups": [{ "value": "read-only" }],
            schema::ENTERPRISE_USER: { "department": "Research" },
        });
        let checked = USER.check(&body).unwrap();
        assert_eq!(checked["userName"], "ada@example.com");
        assert_eq!(checked["name"], json!({ "givenName": "Ada" }));
        assert_eq!(checked["emails"][0]["primary"], true);
        assert_eq!(checked["active"], false);
        assert_eq!(checked["externalId"], "00u1");
        assert_eq!(checked[schema::ENTERPRISE_USER]["department"], "Research");
        for dropped in ["id", "password", "groups", "schemas"] {
            assert!(!checked.contains_key(dropped), "{dropped}");
        }
    }

    #[test]
    fn bad_users_are_refused_with_the_rfcs_types() {
        let refused = |body: Value| USER.check(&body).unwrap_err();
        let base = |extra: (&str, Value)| {
            let mut body = json!({ "schemas": [schema::USER], "userName": "a@example.com" });
            body[extra.0] = extra.1;
            body
        };
        assert_eq!(
            refused(json!({ "userName": "a@example.com" })).scim_type,
            Some(ScimType::InvalidSyntax)
        );
        assert_eq!(
            refused(base(("favouriteColour", json!("blue")))).scim_type,
            Some(ScimType::InvalidSyntax)
        );
        let long = refused(base(("displayName", json!("x".repeat(1 << 20)))));
        assert_eq!(long.scim_type, Some(ScimType::InvalidValue));
        assert!(long.detail.contains("displayName"));
        let nul = refused(base(("displayName", json!("a\u{0}b"))));
        assert!(nul.detail.contains("control"));
        assert_eq!(
            refused(base(("active", json!("maybe")))).scim_type,
            Some(ScimType::InvalidValue)
        );
        let many: Vec<Value> = (0..51)
            .map(|n| json!({ "value": format!("+1{n}") }))
            .collect();
        assert!(
            refused(base(("phoneNumbers", Value::Array(many))))
                .detail
                .contains("more than")
        );
        assert!(
            refused(json!({ "schemas": [schema::USER] }))
                .detail
                .contains("userName")
        );
    }
}
