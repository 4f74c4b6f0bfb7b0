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

/// Whether `code` holds `word` as a word of its own: `entity::` is not in `identity::`.
fn names(code: &str, word: &str) -> bool {
    let starts_a_word = word.starts_with(|c: char| c.is_alphanumeric() || c == '_');
    code.match_indices(word).any(|(at, _)| {
        !starts_a_word
            || !code[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// A source file's code: what comes before its test module, without `//` comments.
fn code_of(text: &str) -> String {
    text.split("#[cfg(test)]")
        .next()
        .unwrap_or_default()
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The lines of the files under `dir` (outside comments) that contain one of `words`.
fn lines_naming(dir: &str, words: &[&str], except: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for file in rust_files(&root.join(dir)) {
        let relative = file.strip_prefix(root).unwrap().display().to_string();
        if except.iter().any(|skip| relative.starts_with(skip)) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if words.iter().any(|word| names(code, word)) {
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
        &["src/db.rs", "src/services/store/scope.rs"],
    );
    assert!(
        found.is_empty(),
        "a change builds its own transaction; use services::store::scope::write or OrgChange::write:\n{}",
        found.join("\n")
    );
}

/// The write statements of `src/` (outside comments and test modules) whose executor is not
/// the write path's transaction, and how many write statements were seen.
fn writes_outside_the_write_path(except: &[&str]) -> (Vec<String>, usize) {
    const WRITES: &[&str] = &[
        ".exec(",
        ".exec_with_returning(",
        ".exec_without_returning(",
        ".insert(",
        ".update(",
        ".delete(",
        ".save(",
        ".execute(",
        ".execute_unprepared(",
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (mut found, mut seen) = (Vec::new(), 0);
    for file in rust_files(&root.join("src")) {
        let relative = file.strip_prefix(root).unwrap().display().to_string();
        if except.contains(&relative.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = code_of(&text);
        for write in WRITES {
            for (at, _) in code.match_indices(write) {
                // The argument, up to its closing parenthesis, whitespace removed.
                let mut depth = 1;
                let argument: String = code[at + write.len()..]
                    .chars()
                    .take_while(|c| {
                        depth += match c {
                            '(' => 1,
                            ')' => -1,
                            _ => 0,
                        };
                        depth > 0
                    })
                    .filter(|c| !c.is_whitespace())
                    .collect();
                let executor = argument.trim_start_matches(['&', '*']);
                let on_a_connection = executor.contains("db") || executor.contains("conn");
                if executor == "txn" || executor == "tx.txn" || on_a_connection {
                    seen += 1;
                }
                if on_a_connection {
                    let line = code[..at].lines().count();
                    found.push(format!("{relative}:{line}: {write}{argument})"));
                }
            }
        }
    }
    (found, seen)
}

#[test]
fn every_write_runs_in_the_write_path_or_claims_a_single_use_row() {
    // A write executes on the transaction the write path hands out (`scope::write` and its
    // kin, `OrgChange::write`); a single-use row is taken with `scope::claim_once`.
    let (found, seen) = writes_outside_the_write_path(&[
        // The write path's own transaction, and the start-up lock.
        "src/db.rs",
        // The write path itself and `claim_once`.
        "src/services/store/scope.rs",
        // The keys: their fingerprints and first keys, written at start-up under the start-up
        // lock before any request; a rotation (a compare-and-set on the next key's row) and
        // re-sealing (a write only where the row still holds what was read), by the key
        // refresh or `charter keys`. auth/ stands below the services' write path.
        "src/auth/key_record.rs",
        "src/auth/key_store.rs",
        "src/auth/signing_keys.rs",
        "src/auth/resealing.rs",
    ]);
    assert!(seen > 80, "every write statement is seen: {seen}");
    assert!(
        found.is_empty(),
        "a write runs on a bare connection; put it in scope::write (write_unrecorded for a \
         row nobody changes), or claim a single-use row with scope::claim_once:\n{}",
        found.join("\n")
    );
    // The check sees a bare connection where there is one.
    let (in_the_path, _) = writes_outside_the_write_path(&[]);
    assert!(
        in_the_path
            .iter()
            .any(|write| write.starts_with("src/services/store/scope.rs")),
        "{in_the_path:?}"
    );
}

#[test]
fn the_database_connection_stays_in_the_services() {
    // `AppState`'s connection is private to services/; `database()` is the seam the suite and
    // the benchmarks arrange rows through, never the code's.
    let found = lines_naming(
        "src",
        &[".database()", "state.db", "app.db"],
        &["src/services"],
    );
    assert!(
        found.is_empty(),
        "code outside the services reaches the connection; call a service:\n{}",
        found.join("\n")
    );
}

/// The public service functions that take a connection, each with why it is public rather
/// than reached through a capability.
const PUBLIC_WITH_A_CONNECTION: &[(&str, &str)] = &[
    (
        "services/store/scope.rs: write",
        "the write path: it opens the transaction",
    ),
    (
        "services/store/scope.rs: record",
        "the write path, for events alone",
    ),
    (
        "services/store/scope.rs: enter",
        "the suite's and the benchmarks' way to act as a viewer",
    ),
    (
        "services/store/records.rs: membership",
        "the suite reads memberships it arranged",
    ),
    (
        "services/identity/users.rs: find_by_email",
        "the suite reads accounts it arranged",
    ),
    (
        "services/identity/users.rs: create",
        "the suite and the benchmarks make accounts in their writes",
    ),
    (
        "services/audit/append.rs: record",
        "the audit tests write events beside the write path to tamper with",
    ),
    (
        "services/audit/search.rs: page",
        "the audit benchmark pages a seeded chain",
    ),
    (
        "services/organization/memberships.rs: pages_for_organizations",
        "the members benchmark",
    ),
    (
        "services/organization/roles.rs: sync_predefined",
        "the benchmarks seed the predefined roles",
    ),
];

#[test]
fn a_public_service_function_takes_a_capability_not_a_connection() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let connection = |parameter: &str| {
        let kind = parameter
            .split_once(": &")
            .map(|(_, kind)| kind)
            .unwrap_or_default();
        [
            "impl ConnectionTrait",
            "impl sea_orm::ConnectionTrait",
            "DatabaseConnection",
            "sea_orm::DatabaseConnection",
            "DatabaseTransaction",
            "sea_orm::DatabaseTransaction",
        ]
        .contains(&kind.trim())
    };
    let mut found = std::collections::BTreeSet::new();
    let mut public = 0;
    for file in rust_files(&root.join("services")) {
        let module = file.strip_prefix(&root).unwrap().display().to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        let stripped = code_of(&text);
        let code = stripped.as_str();
        for (at, _) in code.match_indices("pub ") {
            let rest = &code[at + 4..];
            let rest = rest.strip_prefix("async ").unwrap_or(rest);
            let Some(rest) = rest.strip_prefix("fn ") else {
                continue;
            };
            if code[..at].ends_with("(crate)") || !code[..at].ends_with(|c: char| c.is_whitespace())
            {
                continue;
            }
            public += 1;
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let Some(open) = rest.find('(') else { continue };
            let mut depth = 0;
            let parameters: String = rest[open..]
                .chars()
                .take_while(|c| {
                    depth += match c {
                        '(' | '<' => 1,
                        ')' | '>' => -1,
                        _ => 0,
                    };
                    depth > 0
                })
                .collect();
            if parameters[1..]
                .split(',')
                .any(|parameter| connection(parameter.trim()))
            {
                found.insert(format!("{module}: {name}"));
            }
        }
    }
    assert!(
        public > 100,
        "every public service function is seen: {public}"
    );
    let listed: std::collections::BTreeSet<String> = PUBLIC_WITH_A_CONNECTION
        .iter()
        .map(|(function, _)| (*function).to_owned())
        .collect();
    let unlisted: Vec<&String> = found.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "public service functions that take a connection; take a capability (OrgScope, \
         OrgChange, OwnAccount, AppState), narrow them to pub(crate), or list them with a \
         reason:\n{unlisted:#?}"
    );
    let stale: Vec<&String> = listed.difference(&found).collect();
    assert!(
        stale.is_empty(),
        "listed but no longer public with a connection: {stale:#?}"
    );
}

#[test]
fn a_refusal_is_worded_once() {
    // Each of these is an `authz::Refusal`, with its one code and one wording.
    let found = lines_naming(
        "src",
        &[
            "sign in again\"",
            "\"sign in first",
            "never handed out by single sign-on",
            "is not a role of this organization",
            "not_found(\"role\")",
        ],
        &["src/authz/refusal.rs"],
    );
    assert!(
        found.is_empty(),
        "a refusal worded by hand; use its authz::Refusal:\n{}",
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

/// The modules of `src/` (as paths: `services/sso/flow`; `` for the crate root) and the modules
/// each one names in its `use` lines and `crate::`/`super::` paths, outside comments and test
/// modules.
fn import_graph() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    use std::collections::{BTreeMap, BTreeSet};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let module_of = |file: &Path| -> String {
        let relative = file.strip_prefix(&root).unwrap().with_extension("");
        let mut parts: Vec<String> = relative
            .iter()
            .map(|part| part.to_string_lossy().into_owned())
            .collect();
        if parts.last().is_some_and(|last| last == "mod") {
            parts.pop();
        }
        if parts == ["lib"] || parts == ["main"] {
            parts.clear();
        }
        parts.join("/")
    };
    let files = rust_files(&root);
    let modules: BTreeSet<String> = files.iter().map(|file| module_of(file)).collect();
    // The longest module that `path` (segments after crate:: or super::) names from `base`.
    let resolve = |base: Vec<&str>, segments: &[&str]| -> Option<String> {
        (0..=segments.len()).rev().find_map(|take| {
            let mut parts = base.clone();
            parts.extend_from_slice(&segments[..take]);
            let candidate = parts.join("/");
            modules.contains(&candidate).then_some(candidate)
        })
    };
    let mut graph = BTreeMap::new();
    for file in &files {
        let module = module_of(file);
        let text = std::fs::read_to_string(file).unwrap();
        let code = code_of(&text);
        let mut names = BTreeSet::new();
        let words: Vec<&str> = code
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .filter(|word| word.starts_with("crate::") || word.starts_with("super::"))
            .collect();
        for word in words {
            let segments: Vec<&str> = word.split("::").filter(|s| !s.is_empty()).collect();
            let (base, rest): (Vec<&str>, &[&str]) = if segments[0] == "crate" {
                (vec![], &segments[1..])
            } else {
                let mut base: Vec<&str> = if module.is_empty() {
                    vec![]
                } else {
                    module.split('/').collect()
                };
                let mut rest = &segments[..];
                while rest.first() == Some(&"super") {
                    base.pop();
                    rest = &rest[1..];
                }
                (base, rest)
            };
            if let Some(target) = resolve(base, rest)
                && target != module
            {
                names.insert(target);
            }
        }
        // `use super::{a, b::c}`: the names inside braces after a path.
        for statement in code.split("use ").skip(1) {
            let Some(statement) = statement.split(';').next() else {
                continue;
            };
            let statement: String = statement.split_whitespace().collect();
            let Some((prefix, inner)) = statement.split_once("::{") else {
                continue;
            };
            if !(prefix.starts_with("crate") || prefix.starts_with("super")) {
                continue;
            }
            for item in inner.trim_end_matches('}').split(',') {
                let item = item.split("::{").next().unwrap_or_default();
                let path = format!("{prefix}::{item}");
                let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
                let (base, rest): (Vec<&str>, Vec<&str>) = if segments[0] == "crate" {
                    (vec![], segments[1..].to_vec())
                } else {
                    let mut base: Vec<&str> = if module.is_empty() {
                        vec![]
                    } else {
                        module.split('/').collect()
                    };
                    let mut rest = segments.clone();
                    while rest.first() == Some(&"super") {
                        base.pop();
                        rest.remove(0);
                    }
                    (base, rest)
                };
                if let Some(target) = resolve(base, &rest)
                    && target != module
                {
                    names.insert(target);
                }
            }
        }
        graph.insert(module, names);
    }
    graph
}

/// The import circles of `graph`: its strongly connected components of more than one module.
fn circles(
    graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Vec<Vec<String>> {
    use std::collections::BTreeSet;
    // Two modules are in one circle when each reaches the other.
    let reach = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut pending = vec![from.clone()];
        while let Some(module) = pending.pop() {
            for next in graph.get(&module).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    pending.push(next.clone());
                }
            }
        }
        seen
    };
    let reached: std::collections::BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|module| (module, reach(module))).collect();
    let mut placed = BTreeSet::new();
    let mut found = Vec::new();
    for module in graph.keys() {
        if placed.contains(module) {
            continue;
        }
        let circle: Vec<String> = reached[module]
            .iter()
            .filter(|other| reached[*other].contains(module))
            .cloned()
            .collect();
        if circle.len() > 1 {
            placed.extend(circle.iter().cloned());
            found.push(circle);
        }
    }
    found
}

#[test]
fn src_has_no_import_circle() {
    let graph = import_graph();
    assert!(
        graph.len() > 50,
        "the graph holds every module: {}",
        graph.len()
    );
    // The graph sees imports: the schema names its roots, braces included.
    assert!(graph["graphql/schema"].contains("graphql/mutation"));
    assert!(graph["graphql/guards"].contains("graphql/declared"));
    let found = circles(&graph);
    assert!(
        found.is_empty(),
        "modules that import each other, directly or around a circle; put what they share in \
         a room below both:\n{found:#?}"
    );
}

/// What each room of `src/` may not stand on: the rooms above it.
const ROOMS_ABOVE: &[(&str, &[&str])] = &[
    // Who you are is read by everything; it reads no use case.
    ("auth", &["services", "graphql", "http"]),
    ("authz", &["services", "graphql", "http"]),
    // The floor under the gate and the audit log: records, capabilities, the write path.
    (
        "services/store",
        &[
            "services/identity",
            "services/organization",
            "services/bootstrap",
        ],
    ),
    (
        "services/audit",
        &[
            "services/identity",
            "services/organization",
            "services/bootstrap",
        ],
    ),
    // Signing in may read records and write through the gate, never an organization's use cases.
    (
        "services/identity",
        &["services/organization", "services/bootstrap"],
    ),
    ("services/organization", &["services/bootstrap"]),
    ("services", &["graphql", "http", "cli"]),
];

#[test]
fn each_room_stands_only_on_the_rooms_below_it() {
    let graph = import_graph();
    let within =
        |module: &str, room: &str| module == room || module.starts_with(&format!("{room}/"));
    // The test sees the rooms it speaks of.
    for (room, above) in ROOMS_ABOVE {
        for name in std::iter::once(room).chain(above.iter()) {
            assert!(
                graph.keys().any(|module| within(module, name)),
                "no module in {name}"
            );
        }
    }
    assert!(graph["services/organization/api_keys"].contains("services/identity/keys"));
    let mut found = Vec::new();
    for (module, names) in &graph {
        for (room, above) in ROOMS_ABOVE {
            if !within(module, room) {
                continue;
            }
            for name in names {
                if above.iter().any(|upper| within(name, upper)) {
                    found.push(format!("{module} -> {name}"));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "a room reaches up into one that stands on it; move what both need down:\n{}",
        found.join("\n")
    );
}

/// The functions of `src/` with their length in lines, from their signature to their closing
/// brace (a function's body closes at its own indentation).
fn function_lengths() -> Vec<(usize, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for file in rust_files(&root.join("src")) {
        let relative = file.strip_prefix(root).unwrap().display().to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut index = 0;
        while index < lines.len() {
            let line = lines[index];
            let code = line.trim_start();
            let indent = &line[..line.len() - code.len()];
            let signature = [
                "fn ",
                "async fn ",
                "pub fn ",
                "pub async fn ",
                "pub(crate) fn ",
            ]
            .iter()
            .any(|start| code.starts_with(start))
                || (code.starts_with("pub(") && code.contains(" fn "));
            if !signature {
                index += 1;
                continue;
            }
            let mut open = index;
            while open < lines.len()
                && !lines[open].trim_end().ends_with('{')
                && !lines[open].trim_end().ends_with(';')
            {
                open += 1;
            }
            if open >= lines.len() || lines[open].trim_end().ends_with(';') {
                index = open + 1;
                continue;
            }
            let close = (open + 1..lines.len())
                .find(|&at| lines[at] == format!("{indent}}}"))
                .unwrap_or(lines.len() - 1);
            found.push((close - index + 1, format!("{relative}:{}", index + 1)));
            index = close + 1;
        }
    }
    found
}

#[test]
fn no_function_runs_to_eighty_lines_and_few_to_sixty() {
    let lengths = function_lengths();
    assert!(
        lengths.len() > 500,
        "every function is seen: {}",
        lengths.len()
    );
    let long: Vec<&(usize, String)> = lengths.iter().filter(|(lines, _)| *lines >= 80).collect();
    assert!(
        long.is_empty(),
        "functions of 80 lines or more; split them by what each part does:\n{long:#?}"
    );
    let longish: Vec<&(usize, String)> = lengths.iter().filter(|(lines, _)| *lines >= 60).collect();
    assert!(
        longish.len() <= 5,
        "more than five functions of 60 lines or more; split one:\n{longish:#?}"
    );
}
