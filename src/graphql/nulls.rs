//! Null propagation as the GraphQL specification states it: a field that errors is present in
//! `data` as `null` when its type is nullable, and otherwise makes its nearest nullable
//! ancestor `null` (the whole `data`, when every position up to the root is non-null).
//!
//! async-graphql leaves an errored field out of its parent's object instead. After execution,
//! [`propagate`] follows the path of each field error through the operation and the schema's
//! field types, and writes the null where the specification puts it. It works on the response
//! alone, so resolving a field costs nothing extra (an extension watching every field would
//! put each one through its hook).

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::{Name, PathSegment, Response, Value};

use super::declared::Declared;

/// Writes the nulls of the specification into `response` for each error with a path, as
/// `document`'s operation `operation_name` selected the fields.
pub fn propagate(
    declared: &Declared,
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    response: &mut Response,
) {
    if response.errors.is_empty() {
        return;
    }
    let Some((root, selection)) = operation(document, operation_name) else {
        return;
    };
    let data = &mut response.data;
    for path in response.errors.iter().map(|error| &error.path) {
        if path.is_empty() {
            continue;
        }
        let Some(positions) = positions(declared, document, root, selection, path) else {
            continue;
        };
        match positions.iter().rev().find(|(_, nullable)| *nullable) {
            Some((len, _)) => set_null(data, &path[..*len]),
            None => *data = Value::Null,
        }
    }
}

/// The root type and selection of the operation that ran.
fn operation<'d>(
    document: &'d ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<(&'static str, &'d SelectionSet)> {
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => operation,
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name)?,
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next()?
        }
        _ => return None,
    };
    let root = match operation.node.ty {
        OperationType::Mutation => "Mutation",
        _ => "Query",
    };
    Some((root, &operation.node.selection_set.node))
}

/// Each position along `path` (the length of its prefix) with whether it may be null: every
/// field, and every list item under a field.
fn positions(
    types: &Declared,
    document: &ExecutableDocument,
    root: &str,
    selection: &SelectionSet,
    path: &[PathSegment],
) -> Option<Vec<(usize, bool)>> {
    let mut positions = Vec::with_capacity(path.len());
    let mut parent = root.to_owned();
    let mut selection = selection;
    let mut levels: Vec<bool> = Vec::new();
    let mut level = 0;
    for (index, segment) in path.iter().enumerate() {
        match segment {
            PathSegment::Field(key) => {
                let (field, owner) = find_field(document, selection, &parent, key)?;
                let declared = types.field_type(&owner, field.name.node.as_str())?;
                levels = nullability(declared);
                level = 0;
                parent = base_type(declared).to_owned();
                selection = &field.selection_set.node;
            }
            PathSegment::Index(_) => level += 1,
        }
        positions.push((index + 1, levels.get(level).copied().unwrap_or(true)));
    }
    Some(positions)
}

/// The field whose response key is `key` in `selection` (through fragments), with the type
/// that declares it (a fragment's type condition, or `parent`).
fn find_field<'d>(
    document: &'d ExecutableDocument,
    selection: &'d SelectionSet,
    parent: &str,
    key: &str,
) -> Option<(&'d async_graphql::parser::types::Field, String)> {
    for item in &selection.items {
        let found = match &item.node {
            Selection::Field(field) if field.node.response_key().node.as_str() == key => {
                return Some((&field.node, parent.to_owned()));
            }
            Selection::Field(_) => None,
            Selection::FragmentSpread(spread) => {
                let fragment = document.fragments.get(&spread.node.fragment_name.node)?;
                let on = fragment.node.type_condition.node.on.node.as_str();
                find_field(document, &fragment.node.selection_set.node, on, key)
            }
            Selection::InlineFragment(inline) => {
                let on = inline
                    .node
                    .type_condition
                    .as_ref()
                    .map_or(parent, |condition| condition.node.on.node.as_str());
                find_field(document, &inline.node.selection_set.node, on, key)
            }
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// The named type under a type's list and non-null wrappers.
fn base_type(declared: &str) -> &str {
    declared.trim_matches(|c| c == '[' || c == ']' || c == '!')
}

/// The nullability of each position of a type, outermost first: `[Role!]` is
/// `[true, false]` (the list may be null, its items may not).
fn nullability(type_name: &str) -> Vec<bool> {
    let mut levels = Vec::new();
    let mut rest = type_name.trim();
    loop {
        let (inner, nullable) = match rest.strip_suffix('!') {
            Some(inner) => (inner, false),
            None => (rest, true),
        };
        levels.push(nullable);
        match inner
            .strip_prefix('[')
            .and_then(|inner| inner.strip_suffix(']'))
        {
            Some(item) => rest = item.trim(),
            None => return levels,
        }
    }
}

/// Makes the position `path` of `data` null: an object's key (added when the failed field
/// left it out) or a list's item. A position under a value already null is left alone.
fn set_null(data: &mut Value, path: &[PathSegment]) {
    let Some((last, parents)) = path.split_last() else {
        *data = Value::Null;
        return;
    };
    if parents.is_empty() && *data == Value::Null {
        *data = Value::Object(Default::default());
    }
    let mut value = data;
    for segment in parents {
        value = match (segment, value) {
            (PathSegment::Field(key), Value::Object(object)) => {
                match object.get_mut(key.as_str()) {
                    Some(child) => child,
                    None => return,
                }
            }
            (PathSegment::Index(index), Value::List(items)) => match items.get_mut(*index) {
                Some(child) => child,
                None => return,
            },
            _ => return,
        };
    }
    match (last, value) {
        (PathSegment::Field(key), Value::Object(object)) => {
            object.insert(Name::new(key), Value::Null);
        }
        (PathSegment::Index(index), Value::List(items)) => {
            if let Some(item) = items.get_mut(*index) {
                *item = Value::Null;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullability_reads_each_wrapper_outermost_first() {
        assert_eq!(nullability("Role"), vec![true]);
        assert_eq!(nullability("Role!"), vec![false]);
        assert_eq!(nullability("[Role!]"), vec![true, false]);
        assert_eq!(nullability("[[Role]!]!"), vec![false, false, true]);
        assert_eq!(base_type("[[Role]!]!"), "Role");
    }

    fn object(pairs: &[(&str, Value)]) -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(key, value)| (Name::new(key), value.clone()))
                .collect(),
        )
    }

    fn path(segments: &[&str]) -> Vec<PathSegment> {
        segments
            .iter()
            .map(|segment| match segment.parse() {
                Ok(index) => PathSegment::Index(index),
                Err(_) => PathSegment::Field((*segment).to_owned()),
            })
            .collect()
    }

    #[test]
    fn a_null_is_added_where_the_failed_field_was_left_out() {
        let mut data = object(&[("viewer", object(&[("id", Value::from("1"))]))]);
        set_null(&mut data, &path(&["viewer", "name"]));
        assert_eq!(
            data,
            object(&[(
                "viewer",
                object(&[("id", Value::from("1")), ("name", Value::Null)])
            )])
        );
    }

    #[test]
    fn a_list_item_becomes_null_and_positions_under_a_null_are_left_alone() {
        let item = |a: i32| object(&[("a", a.into())]);
        let mut data = object(&[("list", Value::List(vec![item(1), item(2)]))]);
        set_null(&mut data, &path(&["list", "1"]));
        assert_eq!(
            data,
            object(&[("list", Value::List(vec![item(1), Value::Null]))])
        );
        set_null(&mut data, &path(&["list", "1", "a"]));
        assert_eq!(
            data,
            object(&[("list", Value::List(vec![item(1), Value::Null]))])
        );
    }

    #[test]
    fn a_root_field_gets_its_null_even_when_data_is_null() {
        let mut data = Value::Null;
        set_null(&mut data, &path(&["organization"]));
        assert_eq!(data, object(&[("organization", Value::Null)]));
    }

    #[test]
    fn positions_follow_aliases_and_fragments_to_the_declared_types() {
        let document = async_graphql::parser::parse_query(
            "query { viewer { m: memberships(first: 1) { edges { node { ...N } } } } } \
             fragment N on Membership { organization { name } }",
        )
        .unwrap();
        let (root, selection) = operation(&document, None).unwrap();
        let sdl = async_graphql::parser::parse_schema(crate::graphql::sdl()).unwrap();
        let types = &Declared::read(&sdl);
        let positions = positions(
            types,
            &document,
            root,
            selection,
            &path(&["viewer", "m", "edges", "0", "node", "organization", "name"]),
        )
        .unwrap();
        let declared = |ty: &str, field: &str| types.field_type(ty, field).unwrap().to_owned();
        let expected = [
            nullability(&declared("Query", "viewer"))[0],
            nullability(&declared("Viewer", "memberships"))[0],
            nullability(&declared("MembershipConnection", "edges"))[0],
            nullability(&declared("MembershipConnection", "edges"))[1],
            nullability(&declared("MembershipEdge", "node"))[0],
            nullability(&declared("Membership", "organization"))[0],
            nullability(&declared("Organization", "name"))[0],
        ];
        let found: Vec<bool> = positions.iter().map(|(_, nullable)| *nullable).collect();
        assert_eq!(found, expected);
        assert_eq!(positions.last().unwrap().0, 7);
    }
}
