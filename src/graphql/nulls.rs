//! Null propagation as the GraphQL specification states it: a field that errors is present in
//! `data` as `null` when its type is nullable, and otherwise makes its nearest nullable
//! ancestor `null` (the whole `data`, when every position up to the root is non-null).
//!
//! async-graphql leaves an errored field out of its parent's object instead. This extension
//! watches every field: it records the fields that failed, and when their parent finishes it
//! writes the nulls where the specification puts them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextResolve, ResolveInfo,
};
use async_graphql::{Name, QueryPathNode, QueryPathSegment, Response, ServerResult, Value};

/// The schema extension; each request gets its own record of failed fields.
pub struct SpecNulls;

impl ExtensionFactory for SpecNulls {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Propagation::default())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Index(usize),
    Name(String),
}

/// A field that failed, or that became null because a non-null field under it failed.
#[derive(Debug)]
struct Failure {
    path: Vec<Segment>,
    nullable: bool,
}

#[derive(Default)]
struct Propagation {
    any: AtomicBool,
    failures: Mutex<Vec<Failure>>,
}

impl Propagation {
    fn record(&self, path: Vec<Segment>, nullable: bool) {
        self.lock().push(Failure { path, nullable });
        self.any.store(true, Ordering::Release);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Failure>> {
        self.failures
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Takes the failures of the fields directly under `parent` (through list indices), as
    /// (indices, response key, nullable).
    fn take_children(&self, parent: &[Segment]) -> Vec<(Vec<usize>, String, bool)> {
        let mut failures = self.lock();
        let mut children = Vec::new();
        failures.retain(|failure| match child_of(parent, &failure.path) {
            Some((indices, key)) => {
                children.push((indices, key, failure.nullable));
                false
            }
            None => true,
        });
        children
    }
}

/// `(indices, key)` when `path` is `parent`, then list indices, then one field.
fn child_of(parent: &[Segment], path: &[Segment]) -> Option<(Vec<usize>, String)> {
    let rest = path.strip_prefix(parent)?;
    let (Segment::Name(key), indices) = rest.split_last()? else {
        return None;
    };
    let indices = indices
        .iter()
        .map(|segment| match segment {
            Segment::Index(index) => Some(*index),
            Segment::Name(_) => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some((indices, key.clone()))
}

fn path_of(node: &QueryPathNode<'_>) -> Vec<Segment> {
    let mut path = Vec::new();
    let mut current = Some(node);
    while let Some(node) = current {
        path.push(match node.segment {
            QueryPathSegment::Index(index) => Segment::Index(index),
            QueryPathSegment::Name(name) => Segment::Name(name.to_owned()),
        });
        current = node.parent;
    }
    path.reverse();
    path
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

/// The value at `indices` under `value`, when it is there.
fn position<'v>(mut value: &'v mut Value, indices: &[usize]) -> Option<&'v mut Value> {
    for index in indices {
        value = match value {
            Value::List(items) => items.get_mut(*index)?,
            _ => return None,
        };
    }
    Some(value)
}

/// Applies the failures of `value`'s own fields. Returns `false` when a non-null field failed
/// with no nullable position between it and `value`, which must then itself become null.
fn settle(value: &mut Value, levels: &[bool], children: Vec<(Vec<usize>, String, bool)>) -> bool {
    for (indices, key, nullable) in children {
        if nullable {
            if let Some(Value::Object(object)) = position(value, &indices) {
                object.entry(Name::new(key)).or_insert(Value::Null);
            }
            continue;
        }
        // The innermost nullable position from the failed field's object outwards.
        let depth = indices.len().min(levels.len().saturating_sub(1));
        match (0..=depth).rev().find(|level| levels[*level]) {
            Some(level) => {
                if let Some(target) = position(value, &indices[..level]) {
                    *target = Value::Null;
                }
            }
            None => return false,
        }
    }
    true
}

#[async_graphql::async_trait::async_trait]
impl Extension for Propagation {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let path_node = info.path_node;
        let return_type = info.return_type;
        let result = next.run(ctx, info).await;
        match result {
            Err(error) => {
                self.record(path_of(path_node), nullability(return_type)[0]);
                Err(error)
            }
            Ok(Some(mut value)) if self.any.load(Ordering::Acquire) => {
                let path = path_of(path_node);
                let children = self.take_children(&path);
                if children.is_empty() {
                    return Ok(Some(value));
                }
                let levels = nullability(return_type);
                if !settle(&mut value, &levels, children) {
                    // This field is non-null and now null: its parent settles it in turn.
                    self.record(path, false);
                    value = Value::Null;
                }
                Ok(Some(value))
            }
            other => other,
        }
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        if !self.any.load(Ordering::Acquire) {
            return response;
        }
        let roots = self.take_children(&[]);
        if roots.iter().any(|(_, _, nullable)| !nullable) {
            response.data = Value::Null;
            return response;
        }
        if response.data == Value::Null {
            response.data = Value::Object(Default::default());
        }
        if let Value::Object(data) = &mut response.data {
            for (_, key, _) in roots {
                data.entry(Name::new(key)).or_insert(Value::Null);
            }
        }
        response
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
    }

    fn object(pairs: &[(&str, Value)]) -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(key, value)| (Name::new(key), value.clone()))
                .collect(),
        )
    }

    #[test]
    fn a_failed_nullable_field_becomes_a_null_entry() {
        let mut value = object(&[("id", Value::from("1"))]);
        assert!(settle(
            &mut value,
            &[true],
            vec![(vec![], "name".into(), true)]
        ));
        assert_eq!(
            value,
            object(&[("id", Value::from("1")), ("name", Value::Null)])
        );
    }

    #[test]
    fn a_failed_non_null_field_nulls_its_nullable_list_item() {
        let mut value = Value::List(vec![object(&[("a", 1.into())]), object(&[("a", 2.into())])]);
        assert!(settle(
            &mut value,
            &[false, true],
            vec![(vec![1], "b".into(), false)]
        ));
        assert_eq!(
            value,
            Value::List(vec![object(&[("a", 1.into())]), Value::Null])
        );
    }

    #[test]
    fn a_failed_non_null_field_with_no_nullable_position_nulls_its_parent() {
        let mut value = Value::List(vec![object(&[("a", 1.into())])]);
        assert!(!settle(
            &mut value,
            &[false, false],
            vec![(vec![0], "b".into(), false)]
        ));
        let mut value = object(&[("a", 1.into())]);
        assert!(settle(
            &mut value,
            &[true],
            vec![(vec![], "b".into(), false)]
        ));
        assert_eq!(value, Value::Null);
    }

    #[test]
    fn only_direct_children_are_taken() {
        let name = |n: &str| Segment::Name(n.to_owned());
        let parent = vec![name("viewer")];
        assert_eq!(
            child_of(&parent, &[name("viewer"), Segment::Index(2), name("id")]),
            Some((vec![2], "id".to_owned()))
        );
        assert_eq!(
            child_of(&parent, &[name("viewer"), name("user"), name("id")]),
            None
        );
        assert_eq!(child_of(&parent, &[name("other"), name("id")]), None);
    }
}
