//! PATCH (RFC 7644 §3.5.2) on a resource's JSON: the operations read from the request (the
//! shapes Okta and Microsoft Entra send included: `"op": "Replace"`, a path-less value object,
//! `"active": "False"`), then applied in order to the stored resource. The result is checked
//! as a whole by [`super::document::Shape::check`], as a PUT body would be, so PATCH and PUT
//! cannot disagree on what a resource may hold.

use serde_json::{Map, Value};

use super::document::{Shape, shown};
use super::error::{ScimError, ScimType};
use super::filter::{self, AttrPath, CompareOp, Filter};
use super::schema::{self, Attr, MAX_OPERATIONS, Mutability};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub op: Op,
    pub path: Option<AttrPath>,
    pub value: Option<Value>,
}

fn bad(scim_type: ScimType, detail: impl Into<String>) -> ScimError {
    ScimError::bad_request(scim_type, detail)
}

/// The operations of a PATCH body.
pub fn parse(body: &Value) -> Result<Vec<Operation>, ScimError> {
    let object = body
        .as_object()
        .ok_or_else(|| bad(ScimType::InvalidSyntax, "the body is not a JSON object"))?;
    let names_patch = filter::member(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|schemas| schemas.iter().any(|s| s.as_str() == Some(schema::PATCH_OP)));
    if !names_patch {
        return Err(bad(
            ScimType::InvalidSyntax,
            format!("`schemas` does not name {}", schema::PATCH_OP),
        ));
    }
    let operations = object
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("Operations"))
        .and_then(|(_, value)| value.as_array())
        .ok_or_else(|| bad(ScimType::InvalidSyntax, "`Operations` is not a list"))?;
    if operations.is_empty() {
        return Err(bad(ScimType::InvalidValue, "`Operations` is empty"));
    }
    if operations.len() > MAX_OPERATIONS {
        return Err(bad(
            ScimType::InvalidValue,
            format!("a PATCH carries at most {MAX_OPERATIONS} operations"),
        ));
    }
    operations.iter().map(operation).collect()
}

fn operation(item: &Value) -> Result<Operation, ScimError> {
    let op = filter::member(item, "op")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(ScimType::InvalidSyntax, "an operation has no `op`"))?;
    let op = match op.to_ascii_lowercase().as_str() {
        "add" => Op::Add,
        "replace" => Op::Replace,
        "remove" => Op::Remove,
        _ => {
            return Err(bad(
                ScimType::InvalidSyntax,
                format!("`{}` is not an operation", shown(op)),
            ));
        }
    };
    let path = match filter::member(item, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.is_empty() => None,
        Some(Value::String(text)) => Some(
            filter::parse_path(text).map_err(|invalid| bad(ScimType::InvalidPath, invalid.0))?,
        ),
        Some(_) => return Err(bad(ScimType::InvalidPath, "`path` is not a string")),
    };
    let value = filter::member(item, "value").cloned();
    match (op, &path, &value) {
        (Op::Remove, None, _) => Err(bad(ScimType::NoTarget, "a remove needs a `path`")),
        (Op::Add | Op::Replace, _, None) => Err(bad(
            ScimType::InvalidValue,
            "an add or replace needs a `value`",
        )),
        (Op::Add | Op::Replace, None, Some(value)) if !value.is_object() => Err(bad(
            ScimType::InvalidValue,
            "an operation without a `path` needs an object `value`",
        )),
        _ => Ok(Operation { op, path, value }),
    }
}

/// Applies `operations` in order to `resource`, the stored resource's JSON.
pub fn apply(
    shape: &Shape,
    resource: &mut Map<String, Value>,
    operations: &[Operation],
) -> Result<(), ScimError> {
    for operation in operations {
        match &operation.path {
            Some(path) => at_path(
                shape,
                resource,
                operation.op,
                path,
                operation.value.as_ref(),
            )?,
            None => {
                let Some(Value::Object(values)) = &operation.value else {
                    continue;
                };
                for (name, value) in values {
                    if ["id", "meta", "schemas"]
                        .iter()
                        .any(|n| n.eq_ignore_ascii_case(name))
                    {
                        continue;
                    }
                    let path = filter::parse_path(name)
                        .map_err(|invalid| bad(ScimType::InvalidPath, invalid.0))?;
                    at_path(shape, resource, operation.op, &path, Some(value))?;
                }
            }
        }
    }
    Ok(())
}

/// The container a path's attribute lives in (the resource, or its extension's object), and
/// the attribute's catalog entry. A path naming the extension itself is its whole object.
enum Target<'s> {
    Attribute(&'s Attr, Option<&'static str>),
    Extension(&'static str),
    ExternalId,
}

fn target<'s>(shape: &'s Shape, path: &AttrPath) -> Result<Target<'s>, ScimError> {
    let unknown = || {
        bad(
            ScimType::InvalidPath,
            format!("`{}` is not an attribute", shown(&path.name)),
        )
    };
    if let Some((urn, attributes)) = shape.extension {
        let whole = path
            .schema
            .as_deref()
            .is_some_and(|schema| format!("{schema}:{}", path.name).eq_ignore_ascii_case(urn));
        if whole || path.name.eq_ignore_ascii_case(urn) {
            return Ok(Target::Extension(urn));
        }
        if path
            .schema
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(urn))
        {
            let attr = schema::find(attributes, &path.name).ok_or_else(unknown)?;
            return Ok(Target::Attribute(attr, Some(urn)));
        }
    }
    if let Some(schema) = path.schema.as_deref()
        && !schema.eq_ignore_ascii_case(shape.core)
    {
        return Err(unknown());
    }
    if path.name.eq_ignore_ascii_case("externalId") {
        return Ok(Target::ExternalId);
    }
    if ["id", "meta", "schemas"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(&path.name))
    {
        return Err(bad(
            ScimType::Mutability,
            format!("`{}` is read-only", shown(&path.name)),
        ));
    }
    let attr = schema::find(shape.attributes, &path.name).ok_or_else(unknown)?;
    if attr.mutability == Mutability::ReadOnly {
        return Err(bad(
            ScimType::Mutability,
            format!("`{}` is read-only", attr.name),
        ));
    }
    Ok(Target::Attribute(attr, None))
}

fn at_path(
    shape: &Shape,
    resource: &mut Map<String, Value>,
    op: Op,
    path: &AttrPath,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let (attr, container) = match target(shape, path)? {
        Target::ExternalId => {
            set_simple(resource, "externalId", op, value);
            return Ok(());
        }
        Target::Extension(urn) => return on_extension(resource, urn, op, value),
        Target::Attribute(attr, Some(urn)) => (attr, object_at(resource, urn)),
        Target::Attribute(attr, None) => (attr, resource),
    };
    let name = attr.name;
    if path.filter.is_none() && path.sub.is_none() {
        match (attr.multi, op) {
            (true, Op::Add) => append(container, name, value),
            (false, Op::Add | Op::Replace) if attr.sub.is_empty() => {
                set_simple(container, name, op, value)
            }
            (false, Op::Add | Op::Replace) => merge_object(container, name, value),
            (true, Op::Remove) if value.is_some() => remove_listed(container, name, value),
            (true, Op::Replace) | (_, Op::Remove) => set_simple(container, name, op, value),
        }
        return Ok(());
    }
    if !attr.multi {
        // `name.givenName`: a sub-attribute of a single complex attribute.
        let sub = path.sub.as_deref().unwrap_or_default();
        let object = object_at(container, name);
        set_simple(object, sub, op, value);
        if object.is_empty() {
            container.remove(name);
        }
        return Ok(());
    }
    on_values(container, name, op, path, value)
}

/// An operation on a whole extension object: removed, or its members set.
fn on_extension(
    resource: &mut Map<String, Value>,
    urn: &str,
    op: Op,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    match (op, value) {
        (Op::Remove, _) => {
            resource.remove(urn);
        }
        (_, Some(Value::Object(values))) => {
            let object = object_at(resource, urn);
            for (name, value) in values {
                object.insert(name.clone(), value.clone());
            }
        }
        _ => {
            return Err(bad(
                ScimType::InvalidValue,
                format!("`{urn}` takes an object"),
            ));
        }
    }
    Ok(())
}

/// An add, replace or remove on the values of multi-valued `name` a value filter selects (all
/// of them without one), or on a sub-attribute of each.
fn on_values(
    container: &mut Map<String, Value>,
    name: &str,
    op: Op,
    path: &AttrPath,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let values = array_at(container, name);
    let selected = |item: &Value| {
        path.filter
            .as_ref()
            .is_none_or(|f| filter::matches(f, item))
    };
    let any = values.iter().any(selected);
    match (op, path.sub.as_deref()) {
        (Op::Remove, None) => values.retain(|item| !selected(item)),
        (Op::Remove, Some(sub)) => {
            for item in values.iter_mut().filter(|item| selected(item)) {
                if let Value::Object(object) = item {
                    object.retain(|key, _| !key.eq_ignore_ascii_case(sub));
                }
            }
        }
        (_, sub) if !any => values.push(created(name, path, sub, value)?),
        (_, Some(sub)) => {
            for item in values.iter_mut().filter(|item| selected(item)) {
                if let (Value::Object(object), Some(value)) = (item, value) {
                    object.retain(|key, _| !key.eq_ignore_ascii_case(sub));
                    object.insert(sub.to_owned(), value.clone());
                }
            }
        }
        (_, None) => {
            let Some(Value::Object(replacement)) = value else {
                return Err(bad(
                    ScimType::InvalidValue,
                    format!("`{name}` takes an object"),
                ));
            };
            for item in values.iter_mut().filter(|item| selected(item)) {
                if let Value::Object(object) = item {
                    object.extend(replacement.clone());
                }
            }
        }
    }
    if values.is_empty() {
        container.remove(name);
    }
    Ok(())
}

/// The value an add or replace creates when nothing matches its path: a filter of `eq`
/// comparisons describes it (Entra's `emails[type eq "work"].value`); anything else has no
/// target.
fn created(
    name: &str,
    path: &AttrPath,
    sub: Option<&str>,
    value: Option<&Value>,
) -> Result<Value, ScimError> {
    let mut created = path.filter.as_deref().and_then(equalities).ok_or_else(|| {
        bad(
            ScimType::NoTarget,
            format!("no value of `{name}` matches the path"),
        )
    })?;
    match (sub, value) {
        (Some(sub), Some(value)) => {
            created.insert(sub.to_owned(), value.clone());
        }
        (None, Some(Value::Object(values))) => created.extend(values.clone()),
        _ => {
            return Err(bad(
                ScimType::InvalidValue,
                format!("`{name}` takes an object"),
            ));
        }
    }
    Ok(Value::Object(created))
}

/// The values of multi-valued `name` in `container`, made an empty list when missing.
fn array_at<'a>(container: &'a mut Map<String, Value>, name: &str) -> &'a mut Vec<Value> {
    if !container.get(name).is_some_and(Value::is_array) {
        container.insert(name.to_owned(), Value::Array(vec![]));
    }
    match container.get_mut(name) {
        Some(Value::Array(values)) => values,
        _ => unreachable!("a list was just put there"),
    }
}

/// The sub-attribute values a filter made only of `eq` comparisons joined by `and` names.
fn equalities(filter: &Filter) -> Option<Map<String, Value>> {
    match filter {
        Filter::And(left, right) => {
            let mut out = equalities(left)?;
            out.extend(equalities(right)?);
            Some(out)
        }
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.filter.is_none() && path.sub.is_none() => {
            let value = match value {
                filter::Value::String(text) => Value::String(text.clone()),
                filter::Value::Bool(b) => Value::Bool(*b),
                _ => return None,
            };
            Some(Map::from_iter([(path.name.clone(), value)]))
        }
        _ => None,
    }
}

/// The object at `name` in `container`, made when missing or not an object.
fn object_at<'a>(container: &'a mut Map<String, Value>, name: &str) -> &'a mut Map<String, Value> {
    let key = container
        .keys()
        .find(|key| key.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_owned());
    if !container.get(&key).is_some_and(Value::is_object) {
        container.insert(key.clone(), Value::Object(Map::new()));
    }
    match container.get_mut(&key) {
        Some(Value::Object(object)) => object,
        _ => unreachable!("an object was just put there"),
    }
}

/// Sets or removes a member of `container` named `name` (any case).
fn set_simple(container: &mut Map<String, Value>, name: &str, op: Op, value: Option<&Value>) {
    container.retain(|key, _| !key.eq_ignore_ascii_case(name));
    if op != Op::Remove
        && let Some(value) = value
    {
        container.insert(name.to_owned(), value.clone());
    }
}

/// Merges the members of an object `value` into the complex attribute `name`.
fn merge_object(container: &mut Map<String, Value>, name: &str, value: Option<&Value>) {
    match value {
        Some(Value::Object(values)) => {
            let object = object_at(container, name);
            for (key, value) in values {
                object.retain(|existing, _| !existing.eq_ignore_ascii_case(key));
                object.insert(key.clone(), value.clone());
            }
        }
        // Not an object: the check afterwards refuses it with the attribute's name.
        other => set_simple(container, name, Op::Replace, other),
    }
}

/// Removes from multi-valued `name` the values `value` lists, matched by their `value`
/// sub-attribute: Microsoft Entra removes group members so (`"path": "members"` with a list).
fn remove_listed(container: &mut Map<String, Value>, name: &str, value: Option<&Value>) {
    let listed: Vec<&Value> = match value {
        Some(Value::Array(values)) => values.iter().collect(),
        Some(value) => vec![value],
        None => vec![],
    };
    let gone: Vec<&Value> = listed
        .iter()
        .filter_map(|item| filter::member(item, "value"))
        .collect();
    if let Some(Value::Array(values)) = container
        .iter_mut()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, values)| values)
    {
        values.retain(|item| !filter::member(item, "value").is_some_and(|v| gone.contains(&v)));
    }
    if container
        .get(name)
        .is_some_and(|values| values.as_array().is_some_and(Vec::is_empty))
    {
        container.remove(name);
    }
}

/// Adds the values in `value` to multi-valued `name`, skipping those already there.
fn append(container: &mut Map<String, Value>, name: &str, value: Option<&Value>) {
    let added: Vec<Value> = match value {
        Some(Value::Array(values)) => values.clone(),
        Some(value) => vec![value.clone()],
        None => vec![],
    };
    let key = container
        .keys()
        .find(|key| key.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_owned());
    let values = container.entry(key).or_insert_with(|| Value::Array(vec![]));
    if !values.is_array() {
        *values = Value::Array(vec![]);
    }
    if let Value::Array(values) = values {
        for value in added {
            if !values.contains(&value) {
                values.push(value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::document::{GROUP, USER};

    fn patched(shape: &Shape, resource: Value, body: Value) -> Result<Value, ScimError> {
        let mut resource = resource.as_object().unwrap().clone();
        apply(shape, &mut resource, &parse(&body)?)?;
        Ok(Value::Object(shape.check(&Value::Object(resource))?))
    }

    fn body(operations: Value) -> Value {
        json!({ "schemas": [schema::PATCH_OP], "Operations": operations })
    }

    fn ada() -> Value {
        json!({
            "schemas": [schema::USER],
            "userName": "ada@example.com",
            "active": true,
            "emails": [{ "value": "ada@example.com", "type": "work", "primary": true }],
            "name": { "givenName": "Ada", "familyName": "Lovelace" },
        })
    }

    #[test]
    fn the_shapes_okta_and_entra_send_apply() {
        // Okta: a path-less replace.
        let okta = body(json!([{ "op": "replace", "value": { "id": "x", "active": false } }]));
        assert_eq!(patched(&USER, ada(), okta).unwrap()["active"], false);
        // Entra: capitalised ops, strings for booleans, value-path filters.
        let entra = body(json!([
            { "op": "Replace", "path": "active", "value": "False" },
            { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ada@lab.example.com" },
            { "op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100" },
            { "op": "Replace", "path": "name.familyName", "value": "Byron" },
            { "op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Research" },
        ]));
        let user = patched(&USER, ada(), entra).unwrap();
        assert_eq!(user["active"], false);
        assert_eq!(user["emails"][0]["value"], "ada@lab.example.com");
        assert_eq!(
            user["phoneNumbers"],
            json!([{ "type": "mobile", "value": "+1 555 0100" }])
        );
        assert_eq!(user["name"]["familyName"], "Byron");
        assert_eq!(user[schema::ENTERPRISE_USER]["department"], "Research");
        let removed = body(json!([
            { "op": "remove", "path": "emails[type eq \"work\"]" },
            { "op": "remove", "path": "name.givenName" },
        ]));
        let user = patched(&USER, ada(), removed).unwrap();
        assert!(user.get("emails").is_none());
        assert_eq!(user["name"], json!({ "familyName": "Lovelace" }));
    }

    #[test]
    fn group_members_are_added_and_removed_in_bulk() {
        let group = json!({ "schemas": [schema::GROUP], "displayName": "Analysts", "members": [{ "value": "a" }] });
        let values: Vec<Value> = (0..5000)
            .map(|n| json!({ "value": format!("m{n}") }))
            .collect();
        let add = body(json!([{ "op": "add", "path": "members", "value": values }]));
        let grown = patched(&GROUP, group.clone(), add).unwrap();
        assert_eq!(grown["members"].as_array().unwrap().len(), 5001);
        let remove = body(json!([
            { "op": "remove", "path": "members[value eq \"a\"]" },
            { "op": "Remove", "path": "members[value eq \"not there\"]" },
        ]));
        let shrunk = patched(&GROUP, group.clone(), remove).unwrap();
        assert!(shrunk.get("members").is_none());
        // Entra lists the members it removes as the value of a `members` remove.
        let entra = body(
            json!([{ "op": "Remove", "path": "members", "value": [{ "value": "m1" }, { "value": "m7" }] }]),
        );
        let mut stored = grown.clone();
        stored["schemas"] = json!([schema::GROUP]);
        let thinned = patched(&GROUP, stored, entra).unwrap();
        let left = thinned["members"].as_array().unwrap();
        assert_eq!(left.len(), 4999);
        assert!(!left.contains(&json!({ "value": "m1" })));
    }

    #[test]
    fn bad_operations_are_refused_with_the_rfcs_types() {
        let refused = |operations: Value| patched(&USER, ada(), body(operations)).unwrap_err();
        let kind = |operations: Value| refused(operations).scim_type;
        assert_eq!(
            kind(json!([{ "op": "move", "path": "active" }])),
            Some(ScimType::InvalidSyntax)
        );
        assert_eq!(kind(json!([{ "op": "remove" }])), Some(ScimType::NoTarget));
        assert_eq!(
            kind(json!([{ "op": "replace", "path": "id", "value": "x" }])),
            Some(ScimType::Mutability)
        );
        assert_eq!(
            kind(json!([{ "op": "replace", "path": "groups", "value": [] }])),
            Some(ScimType::Mutability)
        );
        assert_eq!(
            kind(json!([{ "op": "replace", "path": "shoeSize", "value": 9 }])),
            Some(ScimType::InvalidPath)
        );
        assert_eq!(
            kind(json!([{ "op": "replace", "path": "emails[type eq", "value": "x" }])),
            Some(ScimType::InvalidPath)
        );
        assert_eq!(
            kind(
                json!([{ "op": "replace", "path": "emails[value co \"zzz\"].type", "value": "home" }])
            ),
            Some(ScimType::NoTarget)
        );
        assert_eq!(
            kind(json!([{ "op": "replace", "path": "displayName", "value": "a\u{0}" }])),
            Some(ScimType::InvalidValue)
        );
        let many: Vec<Value> = (0..10_000)
            .map(|_| json!({ "op": "replace", "path": "title", "value": "x" }))
            .collect();
        assert!(refused(Value::Array(many)).detail.contains("at most"));
        assert_eq!(kind(json!([])), Some(ScimType::InvalidValue));
        assert_eq!(
            parse(&json!({ "Operations": [] })).unwrap_err().scim_type,
            Some(ScimType::InvalidSyntax)
        );
    }
}
