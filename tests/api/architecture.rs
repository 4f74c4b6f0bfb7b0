//! The rules of the code's layout that the compiler does not check: graphql/ never reaches the
//! database, and every change goes through the one write path.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("a source directory") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The lines of the files under `dir` (outside comments) that contain one of `words`.
fn lines_naming(dir: &str, words: &[&str], except: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for file in rust_files(&root.join(dir)) {
        let relative = file.strip_prefix(root).unwrap().display().to_string();
        if except.contains(&relative.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if words.iter().any(|word| code.contains(word)) {
                found.push(format!("{relative}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn graphql_never_names_the_database() {
    let found = lines_naming(
        "src/graphql",
        &[
            "sea_orm",
            "entity::",
            "DatabaseConnection",
            "DatabaseTransaction",
            "ConnectionTrait",
            "state().db",
            ".db,",
            "&db",
        ],
        &[],
    );
    assert!(
        found.is_empty(),
        "graphql/ reaches the database; go through a service and its capability:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_change_goes_through_the_one_write_path() {
    let found = lines_naming(
        "src",
        &["begin_write(", "audit::record(", ".commit()", "record(&txn"],
        &["src/db.rs", "src/services/scope.rs"],
    );
    assert!(
        found.is_empty(),
        "a change builds its own transaction; use services::scope::write or OrgChange::write:\n{}",
        found.join("\n")
    );
}

#[test]
fn services_do_not_check_again_what_the_gate_checked() {
    let found = lines_naming(
        "src/services",
        &[".require(require::", "access.require("],
        &[],
    );
    assert!(
        found.is_empty(),
        "a service re-checks a requirement its field already declares:\n{}",
        found.join("\n")
    );
}

#[test]
fn resolvers_state_no_rule_the_schema_does_not_declare() {
    // Step-up and "a person, not a key" are declared on the field (`@requires(…, stepUp)`,
    // `@authenticated(person, stepUp)`) and enforced by the gate alone, where the SDL and the
    // catalog see them.
    let found = lines_naming(
        "src/graphql",
        &["require_recent(", "not_a_key(", "step_up(ctx)"],
        &["src/graphql/guards.rs"],
    );
    assert!(
        found.is_empty(),
        "a resolver checks a rule its field does not declare; declare it on the field:\n{}",
        found.join("\n")
    );
}
