//! The command line, run as a user would.

use std::process::Command;

fn charter(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_charter"));
    command
        .arg("--data-dir")
        .arg(data_dir)
        // These commands run on the embedded database whatever the test run uses.
        .env("DATABASE_URL", "")
        .env_remove("CHARTER_CONFIG")
        .env_remove("CHARTER_POLICY");
    command
}

/// Bootstraps root@example.com as owner of Acme in `data_dir`; returns Acme's public id.
fn bootstrap_acme(data_dir: &std::path::Path) -> String {
    let output = charter(data_dir)
        .args([
            "bootstrap",
            "--email",
            "root@example.com",
            "--organization",
            "Acme",
        ])
        .env("CHARTER_BOOTSTRAP_PASSWORD", "a-long-enough-password")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    stdout
        .split(['(', ')'])
        .nth(1)
        .expect("the public id is printed")
        .to_owned()
}

#[test]
fn charter_schema_prints_the_committed_sdl() {
    let dir = tempfile::tempdir().unwrap();
    let output = charter(dir.path()).arg("schema").output().unwrap();
    assert!(output.status.success());
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), committed);
}

#[test]
fn migrate_creates_the_database_and_runs_again_harmlessly() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let output = charter(dir.path()).arg("migrate").output().unwrap();
        assert!(output.status.success(), "{output:?}");
    }
    assert!(dir.path().join("charter.db").exists());
}

#[test]
fn bootstrap_creates_an_owner_with_the_given_or_a_generated_password() {
    let dir = tempfile::tempdir().unwrap();
    let output = charter(dir.path())
        .args([
            "bootstrap",
            "--email",
            "root@example.com",
            "--organization",
            "Acme",
        ])
        .env("CHARTER_BOOTSTRAP_PASSWORD", "a-long-enough-password")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("root@example.com") && stdout.contains("Acme"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("password"),
        "a given password is not printed"
    );

    let output = charter(dir.path())
        .args([
            "bootstrap",
            "--email",
            "second@example.com",
            "--organization",
            "Globex",
        ])
        .env_remove("CHARTER_BOOTSTRAP_PASSWORD")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let generated = stdout
        .lines()
        .find_map(|line| line.strip_prefix("password (shown once): "))
        .expect("a generated password is printed once");
    assert!(generated.len() >= 16);

    let again = charter(dir.path())
        .args([
            "bootstrap",
            "--email",
            "ROOT@example.com",
            "--organization",
            "Other",
        ])
        .env("CHARTER_BOOTSTRAP_PASSWORD", "a-long-enough-password")
        .output()
        .unwrap();
    assert!(!again.status.success(), "the same email twice is refused");
}

#[test]
fn policy_check_accepts_the_built_in_policy_and_reports_problems() {
    let dir = tempfile::tempdir().unwrap();
    let good = concat!(env!("CARGO_MANIFEST_DIR"), "/src/authz/default_policy.toml");
    let output = charter(dir.path())
        .args(["policy", "check", good])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[roles]]\nkey = \"owner\"\nname = \"Owner\"\nseat_class = \"licensed\"\nowner = true\n",
    )
    .unwrap();
    let output = charter(dir.path())
        .args(["policy", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("built-in resource `organization` is missing"),
        "{stderr}"
    );
}

#[test]
fn start_up_with_a_bad_policy_fails_with_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let source = charter::authz::Policy::built_in_source().replace(
        "tc_playbook = \"Full\"\n\n[[roles]]\nkey = \"sharing_user\"",
        "tc_playbook = \"Everything\"\n\n[[roles]]\nkey = \"sharing_user\"",
    );
    std::fs::write(&bad, source).unwrap();
    let output = charter(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--policy"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("resource `tc_playbook` has no level `Everything`")
            && stderr.contains("line "),
        "{stderr}"
    );
}

#[test]
fn operators_are_flagged_and_licenses_changed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let public_id = bootstrap_acme(dir.path());

    let output = charter(dir.path())
        .args([
            "org",
            "license",
            "--organization",
            &public_id,
            "--seats",
            "50",
        ])
        .args([
            "--feature",
            "custom_roles",
            "--free-read-only-seats",
            "false",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("50 seats") && stdout.contains("[custom_roles]"),
        "{stdout}"
    );
    assert!(stdout.contains("not allowed"), "{stdout}");

    let output = charter(dir.path())
        .args([
            "org",
            "license",
            "--organization",
            &public_id,
            "--feature",
            "teleport",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("unknown feature `teleport`")
    );

    let output = charter(dir.path())
        .args(["user", "operator", "--email", "ROOT@example.com"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(
        String::from_utf8(output.stdout)
            .unwrap()
            .contains("is a platform operator")
    );
}

#[test]
fn every_preset_passes_policy_check() {
    let dir = tempfile::tempdir().unwrap();
    for preset in ["threat-stack", "threatconnect", "threatstop", "threatq"] {
        let path = format!(
            "{}/examples/policies/{preset}.toml",
            env!("CARGO_MANIFEST_DIR")
        );
        let output = charter(dir.path())
            .args(["policy", "check", &path])
            .output()
            .unwrap();
        assert!(output.status.success(), "{preset}: {output:?}");
    }
}

#[test]
fn audit_verify_export_and_purge_work_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let public_id = bootstrap_acme(dir.path());
    let output = charter(dir.path())
        .args([
            "org",
            "license",
            "--organization",
            &public_id,
            "--seats",
            "30",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");

    let output = charter(dir.path())
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(
        String::from_utf8(output.stdout)
            .unwrap()
            .starts_with("ok: ")
    );

    let output = charter(dir.path())
        .args(["audit", "export", "--organization", &public_id])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    let actions: Vec<&str> = lines
        .iter()
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec!["organization.created", "organization.license_changed"]
    );
    assert_eq!(lines[1]["payload"]["after"]["seats"], 30);

    let output = charter(dir.path())
        .args(["audit", "purge"])
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "purge needs --before or a retention"
    );
    let output = charter(dir.path())
        .args(["audit", "purge", "--before", "2999-01-01T00:00:00Z"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let output = charter(dir.path())
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");

    // Tampering is reported with the event and a failing exit code.
    let db = dir.path().join("charter.db");
    let tamper = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"update audit_events set description='x' where action='audit.purged'\"); c.commit()",
        ])
        .arg(&db)
        .status();
    if tamper.is_ok_and(|status| status.success()) {
        let output = charter(dir.path())
            .args(["audit", "verify"])
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains("does not match its hash"), "{stderr}");
    }
}

/// The internal id of the organization with `public_id` in `data_dir`'s embedded database.
fn internal_id(data_dir: &std::path::Path, public_id: &str) -> uuid::Uuid {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let url = format!("sqlite://{}", data_dir.join("charter.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let db = sea_orm::Database::connect(&url).await.unwrap();
        entity::organization::Entity::find()
            .filter(entity::organization::Column::PublicId.eq(public_id))
            .one(&db)
            .await
            .unwrap()
            .expect("the bootstrapped organization")
            .id
    })
}

#[test]
fn a_license_is_changed_naming_the_organization_by_its_graphql_public_or_internal_id() {
    let dir = tempfile::tempdir().unwrap();
    let public_id = bootstrap_acme(dir.path());
    let internal = internal_id(dir.path(), &public_id);
    let global = charter::graphql::ids::NodeId::Organization(internal)
        .to_id()
        .0;
    for (seats, reference) in [
        ("31", global.clone()),
        ("32", public_id.clone()),
        ("33", internal.to_string()),
    ] {
        let output = charter(dir.path())
            .args([
                "org",
                "license",
                "--organization",
                &reference,
                "--seats",
                seats,
            ])
            .output()
            .unwrap();
        assert!(output.status.success(), "{reference}: {output:?}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(
            stdout.contains(&format!("{seats} seats")),
            "{reference}: {stdout}"
        );
    }
    // A global id of another kind names no organization.
    let user = charter::graphql::ids::NodeId::User(internal).to_id().0;
    let output = charter(dir.path())
        .args(["org", "license", "--organization", &user, "--seats", "34"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("no organization")
    );
}

#[tokio::test]
async fn an_operator_resets_a_users_second_factors_from_the_command_line() {
    use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, PaginatorTrait, Set};
    let dir = tempfile::tempdir().unwrap();
    bootstrap_acme(dir.path());
    let url = format!(
        "sqlite://{}?mode=rw",
        dir.path().join("charter.db").display()
    );
    let db = sea_orm::Database::connect(&url).await.unwrap();
    let root = entity::user::Entity::find()
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    entity::mfa_factor::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        user_id: Set(root.id),
        kind: Set("webauthn".to_owned()),
        name: Set("Lost key".to_owned()),
        secret_sealed: Set(None),
        credential: Set(Some("{}".to_owned())),
        confirmed_at: Set(Some(chrono::Utc::now())),
        last_used_step: Set(None),
        created_at: Set(chrono::Utc::now()),
        last_used_at: Set(None),
    }
    .insert(&db)
    .await
    .unwrap();
    db.execute_unprepared("UPDATE users SET mfa_enabled = 1")
        .await
        .unwrap();
    db.close().await.unwrap();

    let output = charter(dir.path())
        .args(["user", "reset-mfa", "--email", "root@example.com"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("1 second factor(s) removed"), "{stdout}");
    let db = sea_orm::Database::connect(&url).await.unwrap();
    assert_eq!(
        entity::mfa_factor::Entity::find().count(&db).await.unwrap(),
        0
    );
    let root = entity::user::Entity::find()
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert!(!root.mfa_enabled);
    db.close().await.unwrap();

    let unknown = charter(dir.path())
        .args(["user", "reset-mfa", "--email", "nobody@example.com"])
        .output()
        .unwrap();
    assert!(!unknown.status.success());
}
