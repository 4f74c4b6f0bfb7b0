//! Selections read once per list: which fields a list's items are asked for, under which
//! response keys, with fragments applied, so that rows of plain values can be answered in one
//! pass instead of a future per field (see `GrantList` and the planned member page).
//!
//! `@skip` and `@include` are applied to the document before execution, so they need nothing
//! here; a selection carrying any other directive, or a field with arguments, is not planned.

use async_graphql::parser::types::{Selection, SelectionSet};
use async_graphql::{ContextSelectionSet, Name, Pos};

/// One response key of a selection: the field it asks for and every selection set asked of it
/// under that key (validation has made sure they ask the same field), merged in order.
pub(crate) struct Asked<'a> {
    pub key: Name,
    pub name: &'a str,
    pub pos: Pos,
    pub sets: Vec<&'a SelectionSet>,
}

/// The fields `sets` ask of an object of type `type_name`, by response key in the order each
/// key is first asked (the order of the answer), fragments applied where their type condition
/// holds for `type_name`. None when a selection carries a directive or a field has arguments:
/// the generic path answers those.
pub(crate) fn collect<'a>(
    ctx: &ContextSelectionSet<'a>,
    type_name: &str,
    sets: &[&'a SelectionSet],
) -> Option<Vec<Asked<'a>>> {
    let mut asked = Vec::new();
    for set in sets {
        collect_into(ctx, type_name, set, &mut asked)?;
    }
    Some(asked)
}

fn collect_into<'a>(
    ctx: &ContextSelectionSet<'a>,
    type_name: &str,
    set: &'a SelectionSet,
    asked: &mut Vec<Asked<'a>>,
) -> Option<()> {
    for selection in &set.items {
        if !selection.node.directives().is_empty() {
            return None;
        }
        let (condition, inner) = match &selection.node {
            Selection::Field(field) => {
                let field = &field.node;
                if !field.arguments.is_empty() {
                    return None;
                }
                let key = field.response_key().node.clone();
                let sets = match asked.iter_mut().find(|known| known.key == key) {
                    Some(known) => &mut known.sets,
                    None => {
                        asked.push(Asked {
                            key,
                            name: field.name.node.as_str(),
                            pos: selection.pos,
                            sets: Vec::new(),
                        });
                        &mut asked.last_mut()?.sets
                    }
                };
                if !field.selection_set.node.items.is_empty() {
                    sets.push(&field.selection_set.node);
                }
                continue;
            }
            Selection::FragmentSpread(spread) => {
                let fragment = ctx
                    .query_env
                    .fragments
                    .get(&spread.node.fragment_name.node)?;
                (
                    Some(fragment.node.type_condition.node.on.node.as_str()),
                    &fragment.node.selection_set.node,
                )
            }
            Selection::InlineFragment(fragment) => (
                fragment
                    .node
                    .type_condition
                    .as_ref()
                    .map(|condition| condition.node.on.node.as_str()),
                &fragment.node.selection_set.node,
            ),
        };
        if condition.is_none_or(|condition| applies(ctx, condition, type_name)) {
            collect_into(ctx, type_name, inner, asked)?;
        }
    }
    Some(())
}

/// Whether a fragment on `condition` applies to an object of `type_name`, as async-graphql's
/// executor decides it for the generic path: the type itself, or an interface it implements.
/// (A fragment on a union the type belongs to is not applied there, though the specification
/// would; a planned answer is the generic path's, whichever it is.)
fn applies(ctx: &ContextSelectionSet<'_>, condition: &str, type_name: &str) -> bool {
    condition == type_name
        || ctx
            .schema_env
            .registry
            .implements
            .get(type_name)
            .is_some_and(|interfaces| interfaces.contains(condition))
}
