//! The committed SDL and the rule that every field declares what it needs.

use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
use charter::graphql::guards::{PUBLIC_FIELDS, VALUE_TYPES};

#[test]
fn schema_graphql_is_generated_from_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql is committed");
    let generated = charter::graphql::sdl();
    assert!(
        committed == generated,
        "schema.graphql is out of date; regenerate it with `cargo run -- schema > schema.graphql`"
    );
}

fn has_requirement(
    directives: &[async_graphql::Positioned<async_graphql::parser::types::ConstDirective>],
) -> bool {
    directives.iter().any(|d| {
        matches!(
            d.node.name.node.as_str(),
            "requires" | "authenticated" | "platformOperator"
        )
    })
}

#[test]
fn every_field_declares_a_requirement_or_is_on_the_public_list() {
    let document = async_graphql::parser::parse_schema(charter::graphql::sdl()).unwrap();
    let mut undeclared = Vec::new();
    let mut public_seen = Vec::new();
    for definition in &document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let type_name = ty.node.name.node.as_str();
        let TypeKind::Object(object) = &ty.node.kind else {
            continue;
        };
        if VALUE_TYPES.contains(&type_name) {
            continue;
        }
        let type_declared = has_requirement(&ty.node.directives);
        for field in &object.fields {
            let field_name = field.node.name.node.as_str();
            if PUBLIC_FIELDS.contains(&(type_name, field_name)) {
                public_seen.push((type_name, field_name));
                continue;
            }
            if !type_declared && !has_requirement(&field.node.directives) {
                undeclared.push(format!("{type_name}.{field_name}"));
            }
        }
    }
    assert!(
        undeclared.is_empty(),
        "fields without a requirement: {undeclared:?}"
    );
    assert_eq!(
        public_seen.len(),
        PUBLIC_FIELDS.len(),
        "every public field exists"
    );
}

#[test]
fn every_declared_requirement_names_a_resource_and_level_of_the_policy() {
    let sdl = charter::graphql::sdl();
    let policy = charter::authz::Policy::built_in();
    let document = async_graphql::parser::parse_schema(&sdl).unwrap();
    let mut checked = 0;
    let mut check = |directives: &[async_graphql::Positioned<
        async_graphql::parser::types::ConstDirective,
    >]| {
        for directive in directives.iter().filter(|d| d.node.name.node == "requires") {
            let arg = |name: &str| {
                directive
                    .node
                    .get_argument(name)
                    .map(|v| v.node.to_string().trim_matches('"').to_owned())
                    .unwrap()
            };
            let (resource, level) = (arg("resource"), arg("level"));
            assert!(
                policy.level_of(&resource, &level).is_some(),
                "@requires({resource}, {level}) is not in the policy"
            );
            checked += 1;
        }
    };
    for definition in &document.definitions {
        if let TypeSystemDefinition::Type(ty) = definition {
            check(&ty.node.directives);
            if let TypeKind::Object(object) = &ty.node.kind {
                for field in &object.fields {
                    check(&field.node.directives);
                }
            }
        }
    }
    assert!(checked >= 5, "only {checked} requirements found");
}

/// What tools read two ways, the committed SDL and the live server's introspection, describe
/// one schema: graphql-js builds both, sorts them, and their printed forms must be identical.
#[tokio::test]
async fn committed_sdl_and_live_introspection_describe_the_same_schema() {
    let app = crate::helpers::TestApp::spawn().await;
    let sdl = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let Some(run) =
        crate::node::run_script("schema-matches-introspection.mjs", &[&app.address, sdl]).await
    else {
        return;
    };
    println!("{}", run.output);
    assert!(run.success, "SDL against introspection:\n{}", run.output);
}
