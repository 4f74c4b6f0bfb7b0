//! The preset policies of `examples/policies/` and the built-in policy, checked cell by cell
//! against the customers' source documents, whose tables are transcribed here from the documents
//! (not from the TOML), so that a wrong grant in a policy file fails a test.

use charter::authz::{Policy, SeatClass};

fn threat_stack() -> Policy {
    Policy::from_toml(include_str!("../../examples/policies/threat-stack.toml"))
        .expect("examples/policies/threat-stack.toml is a valid policy")
}

fn threatstop() -> Policy {
    Policy::from_toml(include_str!("../../examples/policies/threatstop.toml"))
        .expect("examples/policies/threatstop.toml is a valid policy")
}

fn threatq() -> Policy {
    Policy::from_toml(include_str!("../../examples/policies/threatq.toml"))
        .expect("examples/policies/threatq.toml is a valid policy")
}

/// The built-in policy and its copy in `examples/policies/`: both must match ThreatConnect.
fn threatconnect_policies() -> [(&'static str, Policy); 2] {
    [
        ("built-in policy", Policy::built_in()),
        (
            "examples/policies/threatconnect.toml",
            Policy::from_toml(include_str!("../../examples/policies/threatconnect.toml"))
                .expect("examples/policies/threatconnect.toml is a valid policy"),
        ),
    ]
}

/// The level a predefined role holds on a resource, by name.
fn granted(policy: &charter::authz::Policy, role: &str, resource: &str) -> String {
    let role = policy
        .role_by_key(role)
        .unwrap_or_else(|| panic!("role {role}"));
    policy
        .describe(&role.grants)
        .find(|(r, _)| *r == resource)
        .map(|(_, l)| l.to_owned())
        .unwrap_or_else(|| panic!("resource {resource}"))
}

/// Whether a predefined role holds `resource` at `level` or above.
fn passes(policy: &Policy, role: &str, resource: &str, level: &str) -> bool {
    let (resource_index, level_index) = policy
        .level_of(resource, level)
        .unwrap_or_else(|| panic!("resource `{resource}` has no level `{level}`"));
    policy
        .role_by_key(role)
        .unwrap_or_else(|| panic!("role {role}"))
        .grants
        .allows(resource_index, level_index)
}

/// The key of the predefined role the document calls `name`.
fn role_named(policy: &Policy, name: &str) -> String {
    policy
        .roles()
        .iter()
        .find(|role| role.name == name)
        .unwrap_or_else(|| panic!("no role is named {name:?}"))
        .key
        .clone()
}

fn resource<'a>(policy: &'a Policy, key: &str) -> &'a charter::authz::policy::Resource {
    policy
        .resources()
        .iter()
        .find(|resource| resource.key == key)
        .unwrap_or_else(|| panic!("resource {key}"))
}

fn top_level(policy: &Policy, key: &str) -> String {
    resource(policy, key).levels.last().unwrap().clone()
}

/// Asserts every cell of a document table: `columns` maps each column heading, in the document's
/// order, to its resource; each row is a role's name and its cells in that order. Returns the
/// number of cells checked.
fn assert_table<const N: usize>(
    policy: &Policy,
    columns: [(&str, &str); N],
    rows: &[(&str, [&str; N])],
) -> usize {
    for (heading, key) in columns {
        assert_eq!(resource(policy, key).name, heading, "column of `{key}`");
    }
    let mut cells = 0;
    for (role_name, cells_of_row) in rows {
        let role = role_named(policy, role_name);
        for ((heading, key), expected) in columns.iter().zip(cells_of_row) {
            assert_eq!(
                granted(policy, &role, key),
                *expected,
                "{role_name} / {heading}"
            );
            cells += 1;
        }
    }
    cells
}

// ===================================================================== ThreatConnect
// threatconnect-organization-roles.txt, tables 2-5, rows and columns in the document's order.

const TC_TABLE_2_COLUMNS: [(&str, &str); 7] = [
    ("Invite", "tc_invite"),
    ("Membership", "tc_membership"),
    ("Settings", "tc_settings"),
    ("Users", "tc_users"),
    ("Apps", "tc_apps"),
    ("Attribute Type", "tc_attribute_type"),
    ("Security Label", "tc_security_label"),
];
const TC_TABLE_2: [(&str, [&str; 7]); 6] = [
    (
        "Read Only User",
        ["None", "Read", "Read", "None", "None", "Read", "Read"],
    ),
    (
        "Standard User",
        ["None", "Read", "Read", "None", "None", "Read", "Create"],
    ),
    (
        "Sharing User",
        ["None", "Read", "Read", "None", "None", "Read", "Create"],
    ),
    (
        "Organization Administrator",
        [
            "Allowed",
            "Read",
            "Full",
            "Full",
            "App Builder release allowed",
            "Full",
            "Full",
        ],
    ),
    (
        "App Developer",
        [
            "None",
            "Read",
            "Read",
            "None",
            "App Builder build allowed",
            "Read",
            "Create",
        ],
    ),
    (
        "Read Only Commenter",
        ["None", "Read", "Read", "None", "None", "Read", "Read"],
    ),
];

const TC_TABLE_3_COLUMNS: [(&str, &str); 5] = [
    ("Attribute", "tc_attribute"),
    ("Indicator, Group, Track, Victim", "tc_indicator"),
    ("Tag", "tc_tag"),
    ("Copy Data", "tc_copy_data"),
    ("Post", "tc_post"),
];
const TC_TABLE_3: [(&str, [&str; 5]); 6] = [
    ("Read Only User", ["Read", "Read", "Read", "None", "Read"]),
    ("Standard User", ["Full", "Full", "Full", "None", "Create"]),
    (
        "Sharing User",
        ["Full", "Full", "Full", "Allowed", "Create"],
    ),
    (
        "Organization Administrator",
        ["Full", "Full", "Full", "Allowed", "Full"],
    ),
    ("App Developer", ["Full", "Full", "Full", "None", "Create"]),
    (
        "Read Only Commenter",
        ["Read", "Read", "Read", "None", "Create"],
    ),
];

const TC_TABLE_4_COLUMNS: [(&str, &str); 9] = [
    ("Case", "tc_case"),
    ("Case Tag", "tc_case_tag"),
    ("Open Case", "tc_open_case"),
    ("Note", "tc_note"),
    ("Timeline", "tc_timeline"),
    ("Template", "tc_template"),
    ("Task", "tc_task"),
    ("Artifact", "tc_artifact"),
    ("Case Attribute", "tc_case_attribute"),
];
const TC_TABLE_4: [(&str, [&str; 9]); 6] = [
    (
        "Read Only User",
        [
            "Read", "Read", "None", "Read", "Read", "Read", "Read", "Read", "Read",
        ],
    ),
    (
        "Standard User",
        [
            "Edit",
            "Edit All",
            "Create All",
            "Create",
            "Create",
            "Edit",
            "Edit All",
            "Edit All",
            "Full",
        ],
    ),
    (
        "Sharing User",
        [
            "Edit",
            "Edit All",
            "Create All",
            "Create",
            "Create",
            "Edit",
            "Edit All",
            "Edit All",
            "Full",
        ],
    ),
    (
        "Organization Administrator",
        [
            "Full",
            "Edit All",
            "Create All",
            "Full",
            "Full",
            "Full",
            "Full",
            "Delete All",
            "Full",
        ],
    ),
    (
        "App Developer",
        [
            "None", "None", "None", "None", "None", "None", "None", "None", "None",
        ],
    ),
    (
        "Read Only Commenter",
        [
            "Read", "Read", "None", "Create", "Read", "Read", "Read", "Read", "Read",
        ],
    ),
];

const TC_TABLE_5_COLUMNS: [(&str, &str); 2] = [
    ("Playbook User Actions", "tc_playbook_user_actions"),
    ("Playbook", "tc_playbook"),
];
const TC_TABLE_5: [(&str, [&str; 2]); 6] = [
    ("Read Only User", ["None", "Read"]),
    ("Standard User", ["Execute", "Full"]),
    ("Sharing User", ["Execute", "Full"]),
    ("Organization Administrator", ["Execute", "Full"]),
    ("App Developer", ["Execute", "Full"]),
    ("Read Only Commenter", ["None", "Read"]),
];

fn assert_threatconnect_table<const N: usize>(
    table: &str,
    columns: [(&str, &str); N],
    rows: &[(&str, [&str; N])],
) {
    for (which, policy) in threatconnect_policies() {
        let cells = assert_table(&policy, columns, rows);
        assert_eq!(cells, 6 * N, "{table} gives 6 roles x {N} columns");
        println!("ThreatConnect {table} ({which}): {cells} cells checked");
    }
}

#[test]
fn threatconnect_table_2_organization_administration_matches_cell_by_cell() {
    assert_threatconnect_table("table 2", TC_TABLE_2_COLUMNS, &TC_TABLE_2);
}

#[test]
fn threatconnect_table_3_threat_intelligence_matches_cell_by_cell() {
    assert_threatconnect_table("table 3", TC_TABLE_3_COLUMNS, &TC_TABLE_3);
}

#[test]
fn threatconnect_table_4_workflow_matches_cell_by_cell() {
    assert_threatconnect_table("table 4", TC_TABLE_4_COLUMNS, &TC_TABLE_4);
}

#[test]
fn threatconnect_table_5_playbooks_matches_cell_by_cell() {
    assert_threatconnect_table("table 5", TC_TABLE_5_COLUMNS, &TC_TABLE_5);
}

#[test]
fn threatconnect_has_the_six_organization_roles_of_table_1_plus_an_owner() {
    for (which, policy) in threatconnect_policies() {
        let mut names: Vec<_> = policy.roles().iter().map(|r| r.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "App Developer",
                "Organization Administrator",
                "Owner",
                "Read Only Commenter",
                "Read Only User",
                "Sharing User",
                "Standard User",
            ],
            "{which}"
        );
        assert_eq!(policy.owner_role().name, "Owner", "{which}");
    }
}

#[test]
fn threatconnect_read_only_roles_take_free_seats_and_the_others_licensed() {
    // Table 1: Read Only User and Read Only Commenter accounts are free ("customers may create
    // an unlimited number ... for free"); the others are "licensed user accounts".
    let seats = [
        ("Read Only User", SeatClass::Free),
        ("Standard User", SeatClass::Licensed),
        ("Sharing User", SeatClass::Licensed),
        ("Organization Administrator", SeatClass::Licensed),
        ("App Developer", SeatClass::Licensed),
        ("Read Only Commenter", SeatClass::Free),
    ];
    for (which, policy) in threatconnect_policies() {
        for (name, seat_class) in seats {
            let key = role_named(&policy, name);
            let role = policy.role_by_key(&key).unwrap();
            assert_eq!(role.seat_class, seat_class, "{which}: {name}");
        }
    }
}

#[test]
fn threatconnect_charter_resources_follow_the_document_columns() {
    // The mapping documented at the top of default_policy.toml, checked role by role: a
    // Charter resource is held exactly when the ThreatConnect column it stands for is.
    for (which, policy) in threatconnect_policies() {
        for role in policy.roles().iter().filter(|role| !role.owner) {
            let key = role.key.as_str();
            let column = |resource: &str, level: &str| granted(&policy, key, resource) == level;
            let admin = column("tc_users", "Full");
            let checks = [
                ("invitation", "send", column("tc_invite", "Allowed")),
                (
                    "organization",
                    "read",
                    column("tc_settings", "Read") || column("tc_settings", "Full"),
                ),
                ("organization", "edit", column("tc_settings", "Full")),
                ("member", "read", column("tc_membership", "Read")),
                ("member", "manage", admin),
                ("role", "manage", admin),
                ("audit_log", "read", admin),
                ("sso", "manage", admin),
                ("api_key", "manage", admin),
                ("list", "read", !column("tc_indicator", "None")),
                ("list", "full", column("tc_indicator", "Full")),
                ("list_sharing", "manage", column("tc_copy_data", "Allowed")),
            ];
            for (resource, level, expected) in checks {
                assert_eq!(
                    passes(&policy, key, resource, level),
                    expected,
                    "{which}: {} {resource} `{level}`",
                    role.name
                );
            }
        }
    }
}

#[test]
fn threatconnect_example_file_is_the_built_in_policy() {
    assert_eq!(
        include_str!("../../examples/policies/threatconnect.toml"),
        include_str!("../../src/authz/default_policy.toml"),
        "copy src/authz/default_policy.toml to examples/policies/threatconnect.toml"
    );
}

// ======================================================================= Threat Stack
// threat-stack-owner-vs-user-privileges.txt: each privilege line, tab by tab, in the document's
// order, with the (resource, level) pairs it needs. A line both columns list is SHARED; a line
// only the Organization Owner column lists is OWNER_ONLY. Repeated lines are kept, so the
// counts are the document's line counts.

/// A privilege line of the document and every (resource, level) it needs.
type Privilege = (&'static str, &'static [(&'static str, &'static str)]);

const OWNER_ONLY: &[Privilege] = &[
    // General Settings Tab
    (
        "Add or modify the Organization Name",
        &[("organization", "edit")],
    ),
    (
        "Access the Alert Settings section",
        &[("ts_alert_settings", "view")],
    ),
    (
        "Enable / disable automatic dismissal of Severity 3 alerts",
        &[("ts_alert_settings", "edit")],
    ),
    (
        "Modify the frequency at which Severity 3 alerts are dismissed",
        &[("ts_alert_settings", "edit")],
    ),
    // Users Tab
    (
        "Revoke an account's access to your Threat Stack CSP organization",
        &[("member", "manage")],
    ),
    (
        "Promote a user account to the organization owner account",
        &[("member", "manage")],
    ),
    // Authentication Tab
    ("Access the Authentication tab", &[("sso", "read")]),
    (
        "Enable / disable Single Sign-On (SSO) for the Threat Stack CSP organization",
        &[("sso", "manage")],
    ),
    (
        "Modify SSO for the Threat Stack CSP organization",
        &[("sso", "manage")],
    ),
    // Application Keys Tab
    (
        "Reset the organization's deployment key",
        &[("ts_deployment_key", "reset")],
    ),
    // Integrations Tab
    (
        "Add, view, modify, and delete PagerDuty account integrations",
        &[("ts_pagerduty", "manage")],
    ),
    // Billing Tab
    (
        "Add or update payment information",
        &[("ts_billing", "edit")],
    ),
];

const SHARED: &[Privilege] = &[
    // Navigation Tabs
    ("View the left navigation pane", &[("organization", "read")]),
    ("Switch organizations", &[("organization", "read")]),
    ("Access the Dashboard tab", &[("ts_dashboard", "view")]),
    (
        "Access the Config Audit tab",
        &[("ts_config_audit", "view")],
    ),
    ("Access the Servers tab", &[("ts_servers", "view")]),
    ("Access the Alerts tab", &[("ts_alerts", "view")]),
    ("Access the Events tab", &[("ts_events", "view")]),
    ("Access the Rules tab", &[("ts_rules", "view")]),
    ("Access the Audit Log tab", &[("audit_log", "read")]),
    (
        "Access the Applications tab",
        &[("ts_applications", "view")],
    ),
    ("Access the Settings tab", &[("organization", "read")]),
    ("View the top navigation pane", &[("organization", "read")]),
    (
        "View the title of the currently selected left navigation tab",
        &[("organization", "read")],
    ),
    ("View your account avatar", &[("organization", "read")]),
    (
        "View the email address associated with your account",
        &[("organization", "read")],
    ),
    (
        "Log out of the Threat Stack CSP",
        &[("organization", "read")],
    ),
    ("Access the Support menu", &[("organization", "read")]),
    ("Open a Support ticket", &[("organization", "read")]),
    (
        "View the status of the Threat Stack CSP",
        &[("organization", "read")],
    ),
    (
        "Access Help and Documentation about the Threat Stack CSP",
        &[("organization", "read")],
    ),
    (
        "View the Threat Stack CSP's terms of service",
        &[("organization", "read")],
    ),
    (
        "View the Threat Stack CSP's privacy policy",
        &[("organization", "read")],
    ),
    // Dashboard Tab
    ("Access the Dashboard tab", &[("ts_dashboard", "view")]),
    (
        "View the New Alerts in the Last 24 Hours pane",
        &[("ts_dashboard", "view")],
    ),
    (
        "Access the Alerts tab > Severity 1 tab",
        &[("ts_alerts", "view")],
    ),
    (
        "Access the Alerts tab > Severity 2 tab",
        &[("ts_alerts", "view")],
    ),
    (
        "View the Vulnerable Servers pane",
        &[("ts_dashboard", "view")],
    ),
    (
        "View the Servers tab > Online Servers tab",
        &[("ts_servers", "view")],
    ),
    (
        "View the Coverage Analysis pane",
        &[("ts_dashboard", "view")],
    ),
    (
        "View the Severity 1 Alerts Generated This Week pane",
        &[("ts_dashboard", "view")],
    ),
    (
        "Access the Alerts tab > Severity 1 tab",
        &[("ts_alerts", "view")],
    ),
    (
        "View the Severity 2 Alerts Generated This Week pane",
        &[("ts_dashboard", "view")],
    ),
    (
        "Access the Alerts tab > Severity 2 tab",
        &[("ts_alerts", "view")],
    ),
    // Config Audit Tab
    (
        "Access the Config Audit tab",
        &[("ts_config_audit", "view")],
    ),
    (
        "Run a configuration audit assessment",
        &[("ts_config_audit", "run")],
    ),
    (
        "View results of a configuration audit assessment",
        &[("ts_config_audit", "view")],
    ),
    // Servers Tab
    ("Access the Servers tab", &[("ts_servers", "view")]),
    ("Access the Online Servers tab", &[("ts_servers", "view")]),
    (
        "View servers with out of date Agents",
        &[("ts_servers", "view")],
    ),
    ("View servers with high CVE", &[("ts_servers", "view")]),
    ("Search for servers", &[("ts_servers", "view")]),
    (
        "View server names, vulnerabilities, instance IDs, regions, instance types, key pairs, IP addresses, uptime, and Agent information",
        &[("ts_servers", "view")],
    ),
    (
        "Sort by server names, vulnerabilities, instance IDs, regions, instance types, key pairs, uptime, or Agent information",
        &[("ts_servers", "view")],
    ),
    (
        "Add Threat Stack Agent series 1.x or 2.x to a server",
        &[("ts_servers", "manage")],
    ),
    (
        "Select one or multiple server(s)",
        &[("ts_servers", "view")],
    ),
    (
        "Revoke one or multiple server(s)",
        &[("ts_servers", "manage")],
    ),
    (
        "Filter displayed servers by vulnerability severity, AWS EC2 tags, Ruleset, and/or Threat Stack Agent version",
        &[("ts_servers", "view")],
    ),
    ("Access the Offline Servers tab", &[("ts_servers", "view")]),
    (
        "View servers with out of date (no longer supported) Agents",
        &[("ts_servers", "view")],
    ),
    ("View servers with high CVE", &[("ts_servers", "view")]),
    ("Search for servers", &[("ts_servers", "view")]),
    (
        "View server names, vulnerabilities, instance IDs, regions, instance types, key pairs, IP addresses, last seen, and Agent information",
        &[("ts_servers", "view")],
    ),
    (
        "Sort by server names, vulnerabilities, instance IDs, regions, instance types, key pairs, last seen, or Agent information",
        &[("ts_servers", "view")],
    ),
    (
        "Add Threat Stack Agent series 1.x or 2.x to a server",
        &[("ts_servers", "manage")],
    ),
    (
        "Select one or multiple server(s)",
        &[("ts_servers", "view")],
    ),
    (
        "Revoke one or multiple server(s)",
        &[("ts_servers", "manage")],
    ),
    (
        "Filter displayed servers by CVE, vulnerability severity, or AWS EC2 tags",
        &[("ts_servers", "view")],
    ),
    ("Access the All EC2 Servers tab", &[("ts_servers", "view")]),
    ("View non-monitored instances", &[("ts_servers", "view")]),
    ("Search for instances", &[("ts_servers", "view")]),
    (
        "View whether or not a Threat Stack Agent is installed on the instance, the instance name, the instance ID, the instance type, the instance region, the instance key pair, the instance's external IP address, and the instance's internal IP address",
        &[("ts_servers", "view")],
    ),
    (
        "Sort by whether or not a Threat Stack Agent is installed on the instance, the instance name, the instance ID, the instance type, the instance region, the instance key pair, the instance's external IP address, or the instance's internal IP address",
        &[("ts_servers", "view")],
    ),
    (
        "Filter displayed servers by EC2 monitored state, EC2 key name, and/or EC2 instance type",
        &[("ts_servers", "view")],
    ),
    (
        "Access the Vulnerabilities tab",
        &[("ts_vulnerabilities", "view")],
    ),
    (
        "View active vulnerabilities",
        &[("ts_vulnerabilities", "view")],
    ),
    (
        "View vulnerable packages, CVEs, vectors, servers affected, and vulnerability severity",
        &[("ts_vulnerabilities", "view")],
    ),
    (
        "Select one or multiple vulnerability(ies)",
        &[("ts_vulnerabilities", "view")],
    ),
    (
        "Suppress a vulnerability for business reasons, false positive, compensating control in place, or other",
        &[("ts_vulnerabilities", "suppress")],
    ),
    (
        "Suppress all vulnerabilities related to a specific CVE for business reasons, false positive, compensating control in place, or other",
        &[("ts_vulnerabilities", "suppress")],
    ),
    (
        "Filter vulnerabilities by CVE, package, attack vector, and/or severity level",
        &[("ts_vulnerabilities", "view")],
    ),
    (
        "View suppressed vulnerabilities",
        &[("ts_vulnerabilities", "view")],
    ),
    (
        "View suppressed vulnerability packages, CVEs, date and time of suppression, and reason for suppression",
        &[("ts_vulnerabilities", "view")],
    ),
    (
        "Select one or multiple suppressed vulnerability(ies)",
        &[("ts_vulnerabilities", "view")],
    ),
    (
        "Remove suppressions from vulnerabilities",
        &[("ts_vulnerabilities", "suppress")],
    ),
    // Alerts Tab
    ("Access the Alerts tab", &[("ts_alerts", "view")]),
    (
        "Access the Alerts Histogram section",
        &[("ts_alerts", "view")],
    ),
    (
        "Select a time range / clear the time range on the Alerts Histogram",
        &[("ts_alerts", "view")],
    ),
    ("Filter alerts by title", &[("ts_alerts", "view")]),
    (
        "Change the displayed number of alerts that match the selected filters",
        &[("ts_alerts", "view")],
    ),
    ("View alerts by group", &[("ts_alerts", "view")]),
    (
        "View the number of alerts in a group, the title of the group, and the trend line for those alerts over the previous seven calendar days",
        &[("ts_alerts", "view")],
    ),
    ("View subgroups of alerts", &[("ts_alerts", "view")]),
    (
        "View the number of alerts in a subgroup and the title of the subgroup",
        &[("ts_alerts", "view")],
    ),
    (
        "Select one or multiple subgroup(s)",
        &[("ts_alerts", "view")],
    ),
    (
        "Dismiss all alerts in a subgroup for no reason, business operation, normal per company policy, required temporarily / for testing and maintenance, or for other reasons",
        &[("ts_alerts", "dismiss")],
    ),
    (
        "Suppress all alerts in a subgroup",
        &[("ts_alerts", "dismiss")],
    ),
    ("View alerts in a list", &[("ts_alerts", "view")]),
    (
        "View an alert's severity, title, and last date and time of the alert",
        &[("ts_alerts", "view")],
    ),
    (
        "Sort alerts by severity, title, or last alert date and time",
        &[("ts_alerts", "view")],
    ),
    (
        "Dismiss an alert for no reason, business operation, normal per company policy, required temporarily / for testing and maintenance, or for other reasons",
        &[("ts_alerts", "dismiss")],
    ),
    (
        "Suppress one or multiple alert(s)",
        &[("ts_alerts", "dismiss")],
    ),
    ("View details of an alert", &[("ts_alerts", "view")]),
    ("View the JSON for an alert", &[("ts_alerts", "view")]),
    (
        "View or modify the rule associated with the alert",
        &[("ts_alerts", "view"), ("ts_rules", "edit")],
    ),
    (
        "View AWS EC2 tags associated with an alert",
        &[("ts_alerts", "view")],
    ),
    (
        "View events that contributed to an alert",
        &[("ts_alerts", "view"), ("ts_events", "view")],
    ),
    (
        "Filter alerts by rule, by AWS EC2 tag, and/or by Ruleset",
        &[("ts_alerts", "view")],
    ),
    // Events Tab
    ("Access the Events tab", &[("ts_events", "view")]),
    ("Access the All Raw Events tab", &[("ts_events", "view")]),
    (
        "View a list of supported query keys and operators",
        &[("ts_events", "view")],
    ),
    (
        "Enter a query to search for specific events",
        &[("ts_events", "view")],
    ),
    (
        "Pick the date and time within which to display events",
        &[("ts_events", "view")],
    ),
    ("Browse events by page", &[("ts_events", "view")]),
    ("View event metadata", &[("ts_events", "view")]),
    ("Add event metadata to a query", &[("ts_events", "view")]),
    (
        "Create a rule from an event",
        &[("ts_events", "view"), ("ts_rules", "edit")],
    ),
    ("View the JSON for an event", &[("ts_events", "view")]),
    (
        "Add an event to the My Event Queue tab",
        &[("ts_events", "view")],
    ),
    ("Access the My Event Queue tab", &[("ts_events", "view")]),
    (
        "View a list of supported query keys and operators",
        &[("ts_events", "view")],
    ),
    (
        "Enter a query to search for specific events",
        &[("ts_events", "view")],
    ),
    (
        "Pick the date and time within which to display events",
        &[("ts_events", "view")],
    ),
    ("Browse events by page", &[("ts_events", "view")]),
    ("View event metadata", &[("ts_events", "view")]),
    ("Add event metadata to a query", &[("ts_events", "view")]),
    ("View the JSON for an event", &[("ts_events", "view")]),
    (
        "Remove an event from the My Event Queue tab",
        &[("ts_events", "view")],
    ),
    // Rules Tab
    ("Access the Rules tab", &[("ts_rules", "view")]),
    ("Enable / disable Rulesets", &[("ts_rules", "edit")]),
    ("View Rulesets", &[("ts_rules", "view")]),
    ("View Ruleset details", &[("ts_rules", "view")]),
    (
        "View servers using the Ruleset, along with their server name, the specific Ruleset(s) applied, and the last time the server sent a hearbeat",
        &[("ts_rules", "view")],
    ),
    (
        "Search for servers that use the Ruleset",
        &[("ts_rules", "view")],
    ),
    (
        "Assign / remove servers from the Ruleset",
        &[("ts_rules", "edit")],
    ),
    ("Add / modify Rulesets", &[("ts_rules", "edit")]),
    (
        "Delete Rulesets(except the Base Ruleset, which cannot be deleted)",
        &[("ts_rules", "edit")],
    ),
    ("Enable / disable rules", &[("ts_rules", "edit")]),
    (
        "Add rules to the Threat Stack CSP, including Linux Host, FIM, CloudTrail, Threat Intelligence, Windows Host, Kubernetes Audit, and/or Kubernetes Config",
        &[("ts_rules", "edit")],
    ),
    ("Clone rules", &[("ts_rules", "edit")]),
    ("Add alert triggers to rules", &[("ts_rules", "edit")]),
    (
        "Assign severity levels to alert triggers",
        &[("ts_rules", "edit")],
    ),
    (
        "Assign AWS EC2 inclusion / exclusion tags to rules",
        &[("ts_rules", "edit")],
    ),
    ("Add filters to rules", &[("ts_rules", "edit")]),
    ("Add suppressions to rules", &[("ts_rules", "edit")]),
    (
        "Assign / remove rules from a Ruleset",
        &[("ts_rules", "edit")],
    ),
    ("Modify rules in a Ruleset", &[("ts_rules", "edit")]),
    ("Delete rules from a Ruleset", &[("ts_rules", "edit")]),
    // Audit Log Tab
    ("Access the Audit Log tab", &[("audit_log", "read")]),
    (
        "Pick the date and time within which to display audit logs",
        &[("audit_log", "read")],
    ),
    ("Search for specific audit logs", &[("audit_log", "read")]),
    ("Browse pages of audit logs", &[("audit_log", "read")]),
    ("View audit logs", &[("audit_log", "read")]),
    (
        "View the following information associated with an audit log: email address of the user that triggered the audit action, the source of the audit action, the audit action, a description of the audit action, and the date and time at which the audit action occurred",
        &[("audit_log", "read")],
    ),
    ("View the JSON for an audit log", &[("audit_log", "read")]),
    // Settings Tab
    ("Access the Settings tab", &[("organization", "read")]),
    // General Settings Tab
    (
        "Access the General Settings tab",
        &[("organization", "read")],
    ),
    (
        "Access the General Settings section",
        &[("organization", "read")],
    ),
    (
        "Add or modify the Full Name for the Threat Stack CSP account",
        &[("organization", "read")],
    ),
    (
        "Enroll in Multi-Factor Authentication",
        &[("organization", "read")],
    ),
    (
        "Change the current Threat Stack CSP account's password",
        &[("organization", "read")],
    ),
    (
        "Access the Notification Settings section",
        &[("ts_notification_settings", "view")],
    ),
    (
        "Enable / disable email alerts",
        &[("ts_notification_settings", "edit")],
    ),
    (
        "Receive daily email reports for: alerts, FIM, vulnerabilities, consolodated compliance information",
        &[("ts_notification_settings", "edit")],
    ),
    (
        "Receive email reports for Configuration Auditing, per assessment",
        &[("ts_notification_settings", "edit")],
    ),
    (
        "Modify the number of daily email reports to which the Threat Stack CSP account subscribes",
        &[("ts_notification_settings", "edit")],
    ),
    (
        "Access the Scheduled Assessments section",
        &[("ts_scheduled_assessments", "view")],
    ),
    (
        "Enable / disable daily configuration audit assessments",
        &[("ts_scheduled_assessments", "edit")],
    ),
    (
        "Modify the date and time at which configuration audit assessments occur",
        &[("ts_scheduled_assessments", "edit")],
    ),
    // Users Tab
    ("Access the Users tab", &[("member", "read")]),
    (
        "Send email invitations to people to join your Threat Stack CSP organization",
        &[("invitation", "send")],
    ),
    (
        "View a list of usernames, email addresses, roles, and creation dates for all organization owner and user accounts",
        &[("member", "read"), ("role", "read")],
    ),
    (
        "Sort by usernames, email addresses, roles, and creation dates for all organization owner and user accounts",
        &[("member", "read"), ("role", "read")],
    ),
    // Application Keys Tab
    ("Access the Application Keys tab", &[("api_key", "read")]),
    (
        "Access the Deployment Key section",
        &[("ts_deployment_key", "view")],
    ),
    (
        "View and copy the organization's deployment key",
        &[("ts_deployment_key", "view")],
    ),
    ("Access the REST API Key section", &[("api_key", "read")]),
    (
        "View and copy the organization's REST API key",
        &[("api_key", "read")],
    ),
    (
        "Reset the organization's REST API key",
        &[("api_key", "manage")],
    ),
    (
        "View and copy the organization's ID",
        &[("organization", "read")],
    ),
    (
        "View and copy the user account's user ID",
        &[("organization", "read")],
    ),
    // Integrations Tab
    (
        "Access the Integrations tab",
        &[("ts_integrations", "view")],
    ),
    (
        "Access the AWS Accounts section",
        &[("ts_integrations", "view")],
    ),
    (
        "Add, view, modify, and delete AWS account integrations",
        &[("ts_integrations", "manage")],
    ),
    ("Access the PagerDuty section", &[("ts_pagerduty", "view")]),
    ("Access the Slack section", &[("ts_integrations", "view")]),
    (
        "Add, view, modify, and delete Slack account integrations",
        &[("ts_integrations", "manage")],
    ),
    (
        "Access the VictorOps section",
        &[("ts_integrations", "view")],
    ),
    (
        "Add, view, modify, and delete VictorOps account integrations",
        &[("ts_integrations", "manage")],
    ),
    (
        "Access the Webhook API section",
        &[("ts_integrations", "view"), ("webhook", "read")],
    ),
    (
        "Add, view, modify, and delete webhook integrations",
        &[("ts_integrations", "manage"), ("webhook", "manage")],
    ),
    // Billing Tab
    ("Access the Billing tab", &[("ts_billing", "view")]),
    ("View payment information", &[("ts_billing", "view")]),
    // REST API V2 information
    ("Access the Rest API V2 overview", &[("api_key", "read")]),
    (
        "Access the Rest API V2 authentication information",
        &[("api_key", "read")],
    ),
    (
        "Access the Rest API V2 time range information",
        &[("api_key", "read")],
    ),
    (
        "Access the Rest API V2 pagination information",
        &[("api_key", "read")],
    ),
    (
        "Access the Rest API V2 rate limit information",
        &[("api_key", "read")],
    ),
    (
        "Access the Rest API V2 HTTP status code overview",
        &[("api_key", "read")],
    ),
    // Agent Endpoints and Models
    (
        "Access Agent endpoints and models",
        &[("ts_servers", "view")],
    ),
    ("Access GET List Agents endpoint", &[("ts_servers", "view")]),
    (
        "Access GET Get an Agent endpoint",
        &[("ts_servers", "view")],
    ),
    ("Access Agent model", &[("ts_servers", "view")]),
    // Alert Endpoints and Models
    (
        "Access Alert endpoints and models",
        &[("ts_alerts", "view")],
    ),
    (
        "Access Alerts overview information",
        &[("ts_alerts", "view")],
    ),
    ("Access GET List Alerts endpoint", &[("ts_alerts", "view")]),
    ("Access GET Get an Alert endpoint", &[("ts_alerts", "view")]),
    (
        "Access GET Get Count of Active Alerts by Severity endpoint",
        &[("ts_alerts", "view")],
    ),
    (
        "Access GET Get Events for an Alert endpoint",
        &[("ts_alerts", "view")],
    ),
    (
        "Access POST Dismiss Alerts endpoint",
        &[("ts_alerts", "dismiss")],
    ),
    ("Access Alert model", &[("ts_alerts", "view")]),
    (
        "Access Alert Severity Count model",
        &[("ts_alerts", "view")],
    ),
    (
        "Access Dismiss Alert by ID model",
        &[("ts_alerts", "dismiss")],
    ),
    (
        "Access Dismiss Alert by Query Parameters model",
        &[("ts_alerts", "dismiss")],
    ),
    // Audit Log Endpoints and Models
    (
        "Access Audit Logs endpoints and models",
        &[("audit_log", "read")],
    ),
    ("Access GET Audit Logs endpoint", &[("audit_log", "read")]),
    ("Access Audit Log model", &[("audit_log", "read")]),
    // Data Portability Endpoints and Models
    (
        "Access Data Portability endpoints and models",
        &[("ts_data_portability", "view")],
    ),
    (
        "Access GET List S3 Export Enrollment endpoint",
        &[("ts_data_portability", "view")],
    ),
    (
        "Access PUT Update S3 Export Enrollment endpoint",
        &[("ts_data_portability", "manage")],
    ),
    (
        "Access DELETE Delete S3 Export Enrollment endpoint",
        &[("ts_data_portability", "manage")],
    ),
    (
        "Access S3 Export Enrollment model",
        &[("ts_data_portability", "view")],
    ),
    (
        "Access Update S3 Export Enrollment model",
        &[("ts_data_portability", "manage")],
    ),
    // Rulesets and Rules Endpoints and Models
    (
        "Access Rulesets and Rules endpoints and models",
        &[("ts_rules", "view")],
    ),
    (
        "Access Rules and Rulesets overview information",
        &[("ts_rules", "view")],
    ),
    ("Access GET List Rulesets endpoint", &[("ts_rules", "view")]),
    ("Access GET Get a Ruleset endpoint", &[("ts_rules", "view")]),
    (
        "Access GET List Rules for a Ruleset endpoint",
        &[("ts_rules", "view")],
    ),
    (
        "Access GET Get a Rule for a Ruleset endpoint",
        &[("ts_rules", "view")],
    ),
    (
        "Access GET List Active Agents for Rulests endpoint",
        &[("ts_rules", "view")],
    ),
    (
        "Access GET Get Tags for a Rule endpoint",
        &[("ts_rules", "view")],
    ),
    (
        "Access POST Create Ruleset endpoint",
        &[("ts_rules", "edit")],
    ),
    ("Access POST Create Rules endpoint", &[("ts_rules", "edit")]),
    (
        "Access POST Set Tags for a Rule endpoint",
        &[("ts_rules", "edit")],
    ),
    (
        "Access PUT Update Ruleset endpoint",
        &[("ts_rules", "edit")],
    ),
    ("Access PUT Update Rule endpoint", &[("ts_rules", "edit")]),
    (
        "Access PUT Update Rule Suppression endpoint",
        &[("ts_rules", "edit")],
    ),
    (
        "Access DELETE Delete Ruleset endpoint",
        &[("ts_rules", "edit")],
    ),
    (
        "Access DELETE Delete Rule endpoint",
        &[("ts_rules", "edit")],
    ),
    ("Access IDS Rule model", &[("ts_rules", "view")]),
    ("Access IDS Rule Response model", &[("ts_rules", "view")]),
    ("Access File Rule model", &[("ts_rules", "view")]),
    ("Access File Rule Response model", &[("ts_rules", "view")]),
    (
        "Access Kubernetes Audit Rule model",
        &[("ts_rules", "view")],
    ),
    (
        "Access Kubernetes Audit Rule Response model",
        &[("ts_rules", "view")],
    ),
    (
        "Access Kubernetes Config Rule model",
        &[("ts_rules", "view")],
    ),
    (
        "Access Kubernetes Config Rule Response model",
        &[("ts_rules", "view")],
    ),
    ("Access Ruleset model", &[("ts_rules", "view")]),
    ("Access Windows Rule model", &[("ts_rules", "view")]),
    (
        "Access Windows Rule Response model",
        &[("ts_rules", "view")],
    ),
    // EC2 Instance Endpoints and Models
    (
        "Access EC2 Instances endpoints and models",
        &[("ts_servers", "view")],
    ),
    (
        "Access EC2 Instance overview information",
        &[("ts_servers", "view")],
    ),
    (
        "Access GET List AWS EC2 Instances endpoint",
        &[("ts_servers", "view")],
    ),
    ("Access EC2 Instance model", &[("ts_servers", "view")]),
    // CVE Vulnerabilities Endpoints and Models
    (
        "Access CVE Vulnerabilities endpoints and models",
        &[("ts_vulnerabilities", "view")],
    ),
    (
        "Access CVE Vulnerabilities overview information",
        &[("ts_vulnerabilities", "view")],
    ),
    (
        "Access GET List Vulnerabilities endpoint",
        &[("ts_vulnerabilities", "view")],
    ),
    (
        "Access GET List Affected Servers by CVE endpoint",
        &[("ts_vulnerabilities", "view")],
    ),
    (
        "Access GET List Vulnerabilities by Package endpoint",
        &[("ts_vulnerabilities", "view")],
    ),
    (
        "Access GET List Suppressions with Details endpoint",
        &[("ts_vulnerabilities", "view")],
    ),
    (
        "Access Suppressed CVE Reason model",
        &[("ts_vulnerabilities", "view")],
    ),
    (
        "Access Vulnerable Server model",
        &[("ts_vulnerabilities", "view")],
    ),
    ("Access CVE model", &[("ts_vulnerabilities", "view")]),
    // Alert Webhooks API
    (
        "Access Alert Webhooks API information",
        &[("ts_integrations", "view")],
    ),
    ("Access Webooks overview", &[("ts_integrations", "view")]),
    (
        "Access Webooks setup information",
        &[("ts_integrations", "view")],
    ),
    (
        "Access Webhooks Payload model",
        &[("ts_integrations", "view")],
    ),
    (
        "Access Webooks security information",
        &[("ts_integrations", "view")],
    ),
    (
        "Access Webooks retries information",
        &[("ts_integrations", "view")],
    ),
    (
        "Access Webook endpoints information",
        &[("ts_integrations", "view")],
    ),
];

/// Lines the document lists in both columns, and lines only the owner column lists.
const THREAT_STACK_SHARED_LINES: usize = 259;
const THREAT_STACK_OWNER_ONLY_LINES: usize = 12;

fn holds(policy: &Policy, role: &str, needs: &[(&str, &str)]) -> bool {
    needs
        .iter()
        .all(|(resource, level)| passes(policy, role, resource, level))
}

#[test]
fn threat_stack_has_exactly_the_owner_and_the_user_role() {
    let policy = threat_stack();
    let roles: Vec<_> = policy.roles().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(roles, ["Organization Owner", "Organization User"]);
    assert_eq!(policy.owner_role().key, "organization_owner");
}

#[test]
fn threat_stack_owner_holds_every_privilege_of_both_columns() {
    let policy = threat_stack();
    let mut cells = 0;
    for (privilege, needs) in OWNER_ONLY.iter().chain(SHARED) {
        assert!(
            holds(&policy, "organization_owner", needs),
            "Organization Owner: {privilege}"
        );
        cells += 1;
    }
    assert_eq!(
        cells,
        THREAT_STACK_SHARED_LINES + THREAT_STACK_OWNER_ONLY_LINES
    );
    println!("Threat Stack, Organization Owner: {cells} privileges checked");
}

#[test]
fn threat_stack_user_holds_exactly_the_privileges_both_columns_list() {
    let policy = threat_stack();
    let mut cells = 0;
    for (privilege, needs) in SHARED {
        assert!(
            holds(&policy, "organization_user", needs),
            "Organization User lacks a privilege both columns list: {privilege}"
        );
        cells += 1;
    }
    for (privilege, needs) in OWNER_ONLY {
        assert!(
            !holds(&policy, "organization_user", needs),
            "Organization User holds an owner-only privilege: {privilege}"
        );
        cells += 1;
    }
    assert_eq!(SHARED.len(), THREAT_STACK_SHARED_LINES);
    assert_eq!(OWNER_ONLY.len(), THREAT_STACK_OWNER_ONLY_LINES);
    assert_eq!(
        cells,
        THREAT_STACK_SHARED_LINES + THREAT_STACK_OWNER_ONLY_LINES
    );
    println!("Threat Stack, Organization User: {cells} privileges checked");
}

#[test]
fn threat_stack_user_holds_no_level_that_no_shared_privilege_needs() {
    // The user's grants are exactly what the shared lines need: no extra power slipped in.
    let policy = threat_stack();
    let user = policy.role_by_key("organization_user").unwrap();
    for (key, level) in policy.describe(&user.grants) {
        if level == resource(&policy, key).levels[0] {
            continue;
        }
        assert!(
            SHARED
                .iter()
                .any(|(_, needs)| needs.contains(&(key, level))),
            "Organization User holds {key} `{level}`, which no shared privilege needs"
        );
    }
}

// ============================================================================ ThreatQ
// threatq-action-permissions.txt: the action permission table, group by group, in the
// document's order. Each permission option is one resource, except two rows whose contents
// the document cuts off and the preset splits (see the top of threatq.toml).

const TQ_ACTION_PERMISSIONS: &[(&str, &str, &[&str])] = &[
    ("Administrative Functions", "Edit Exports", &["tq_exports"]),
    (
        "Administrative Functions",
        "View Job Management",
        &["tq_job_management"],
    ),
    (
        "Administrative Functions",
        "Edit Notification Settings",
        &["tq_notification_settings"],
    ),
    (
        "Administrative Functions",
        "Edit Report Options",
        &["tq_report_options"],
    ),
    (
        "Administrative Functions",
        "Edit System Configurations",
        &["tq_system_configurations"],
    ),
    (
        "Administrative Functions",
        "Edit User Management",
        &["tq_user_management"],
    ),
    (
        "Administrative Functions",
        "View Audit Log",
        &["tq_audit_log"],
    ),
    ("Artifact Management", "Dashboards", &["tq_dashboards"]),
    (
        "Artifact Management",
        "Data Collections",
        &["tq_data_collections"],
    ),
    (
        "Artifact Management",
        "Investigations",
        &["tq_investigations"],
    ),
    ("Objects & Context", "Objects", &["tq_objects"]),
    (
        "Objects & Context",
        "Individual Object Context and Actions",
        &[
            "tq_attributes",
            "tq_descriptions",
            "tq_relationships",
            "tq_sources",
            "tq_tags",
        ],
    ),
    (
        "Objects & Context",
        "Bulk Object Management",
        &["tq_bulk_changes", "tq_bulk_manual_import"],
    ),
    (
        "Data Controls",
        "Edit Indicator Expiration",
        &["tq_indicator_expiration"],
    ),
    (
        "Data Controls",
        "Edit Data Retention Policy",
        &["tq_data_retention_policy"],
    ),
    ("Data Controls", "Edit Scoring", &["tq_scoring"]),
    ("Data Controls", "Edit TLP", &["tq_tlp"]),
    ("Data Controls", "Edit Whitelisting", &["tq_whitelisting"]),
    (
        "Integrations",
        "Install & Uninstall Integrations",
        &["tq_install_integrations"],
    ),
    (
        "Integrations",
        "Edit Integration Configurations",
        &["tq_integration_configurations"],
    ),
    ("Integrations", "Run Operations", &["tq_run_operations"]),
    (
        "Orchestration",
        "Edit Orchestration Workflows",
        &["tq_orchestration_workflows"],
    ),
    (
        "Orchestration",
        "Run Manual Workflows",
        &["tq_manual_workflows"],
    ),
    (
        "Data Exchange",
        "Edit Data Exchange Feeds",
        &["tq_data_exchange_feeds"],
    ),
];

/// Permissions the document names inside another permission's text: "Sources" (Object
/// Creation and Object Context Permissions, Edit TLP) and "Manage Object Sub-types" (Edit Scoring).
const TQ_NAMED_IN_TEXT: &[(&str, &str)] = &[
    ("Sources", "tq_sources"),
    ("Manage Object Sub-types", "tq_object_subtypes"),
];

/// The document's dependencies: "a user role that includes the Edit TLP permission also
/// requires the Edit Sources permission"; "to edit indicator scoring, you must also have
/// permission to Manage Object Sub-types".
const TQ_DOCUMENT_DEPENDENCIES: &[(&str, &str, &str, &str)] = &[
    ("tq_tlp", "Edit", "tq_sources", "Create, Edit, Delete"),
    ("tq_scoring", "Edit", "tq_object_subtypes", "Manage"),
];

/// Features of the document: "displayed only if your ThreatQ instance has a ... license".
const TQ_LICENSED: &[(&str, &str)] = &[
    ("tq_investigations", "tqi"),
    ("tq_orchestration_workflows", "tqo"),
    ("tq_manual_workflows", "tqo"),
    ("tq_data_exchange_feeds", "tqx"),
];

/// Levels that view or do nothing; any other level edits data or settings.
const VIEWING_LEVELS: &[&str] = &["none", "None", "read", "View", "View Only"];

#[test]
fn threatq_every_action_permission_of_the_document_is_a_resource_of_its_group() {
    let policy = threatq();
    let mut accounted = Vec::new();
    for (group, option, keys) in TQ_ACTION_PERMISSIONS {
        for key in *keys {
            let resource = resource(&policy, key);
            assert_eq!(resource.group, *group, "{option}");
            if keys.len() == 1 {
                assert_eq!(resource.name, *option);
            }
            accounted.push(*key);
        }
    }
    for (name, key) in TQ_NAMED_IN_TEXT {
        assert_eq!(resource(&policy, key).name, *name);
        accounted.push(*key);
    }
    assert_eq!(
        TQ_ACTION_PERMISSIONS.len(),
        24,
        "the document's 24 permission options"
    );
    // And nothing else: every ThreatQ resource stands for something the document names.
    for resource in policy.resources().iter().filter(|r| r.group != "Charter") {
        assert!(
            accounted.contains(&resource.key.as_str()),
            "{} is not in the document",
            resource.key
        );
    }
}

#[test]
fn threatq_has_the_four_default_user_roles() {
    let policy = threatq();
    let names: Vec<_> = policy.roles().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Maintenance",
            "Administrator",
            "Primary Contributor",
            "Read Only"
        ]
    );
}

#[test]
fn threatq_maintenance_and_administrator_can_edit_all_data() {
    // "Members have access to the entire ThreatQ user interface and can edit all data."
    let policy = threatq();
    let mut cells = 0;
    for name in ["Maintenance", "Administrator"] {
        let role = role_named(&policy, name);
        for resource in policy.resources() {
            assert_eq!(
                granted(&policy, &role, &resource.key),
                top_level(&policy, &resource.key),
                "{name} / {}",
                resource.key
            );
            cells += 1;
        }
    }
    assert_eq!(cells, 2 * policy.resources().len());
    println!("ThreatQ, Maintenance and Administrator: {cells} cells checked");
}

#[test]
fn threatq_read_only_cannot_edit_any_data() {
    // "Members cannot edit any data." The viewing it keeps is this preset's assumption (the
    // document's "Members can:" list is cut off): objects, their context and shared artifacts.
    let policy = threatq();
    let role = role_named(&policy, "Read Only");
    let mut cells = 0;
    for resource in policy.resources() {
        let level = granted(&policy, &role, &resource.key);
        assert!(
            VIEWING_LEVELS.contains(&level.as_str()),
            "Read Only holds {} `{level}`",
            resource.key
        );
        cells += 1;
    }
    for key in [
        "tq_objects",
        "tq_sources",
        "tq_dashboards",
        "tq_data_collections",
    ] {
        assert!(
            passes(&policy, &role, key, "View Only"),
            "Read Only views {key}"
        );
    }
    assert_eq!(cells, policy.resources().len());
    println!("ThreatQ, Read Only: {cells} cells checked");
}

#[test]
fn threatq_primary_contributor_contributes_data_but_does_not_administer() {
    // The document's "Members can:" list is cut off; the preset's assumption is that a Primary
    // Contributor creates and edits objects, their context and artifacts, and administers nothing.
    let policy = threatq();
    let role = role_named(&policy, "Primary Contributor");
    let contributes = [
        ("tq_objects", "Create, Edit, Delete"),
        ("tq_attributes", "Create, Edit, Delete"),
        ("tq_descriptions", "Create, Edit, Delete"),
        ("tq_relationships", "Create, Edit, Delete"),
        ("tq_sources", "Create, Edit, Delete"),
        ("tq_tags", "Create, Edit, Delete"),
        ("tq_dashboards", "Create, Edit, Delete"),
        ("tq_data_collections", "Create, Edit, Delete"),
        ("tq_investigations", "Create, Edit, Delete"),
    ];
    let administers = [
        ("tq_exports", "Edit"),
        ("tq_job_management", "View"),
        ("tq_notification_settings", "Edit"),
        ("tq_report_options", "Edit"),
        ("tq_system_configurations", "Edit"),
        ("tq_user_management", "Edit"),
        ("tq_install_integrations", "Allowed"),
        ("tq_integration_configurations", "Edit"),
        ("organization", "edit"),
        ("member", "manage"),
        ("invitation", "send"),
        ("role", "manage"),
        ("sso", "manage"),
        ("api_key", "manage"),
    ];
    for (key, level) in contributes {
        assert!(
            passes(&policy, &role, key, level),
            "Primary Contributor: {key} `{level}`"
        );
    }
    for (key, level) in administers {
        assert!(
            !passes(&policy, &role, key, level),
            "Primary Contributor: {key} `{level}`"
        );
    }
    let cells = contributes.len() + administers.len();
    println!("ThreatQ, Primary Contributor: {cells} cells checked");
}

#[test]
fn threatq_every_default_role_satisfies_the_documents_interdependent_permissions() {
    let policy = threatq();
    let declared: Vec<_> = policy
        .dependencies()
        .iter()
        .map(|d| {
            let resource = &policy.resources()[d.resource];
            let requires = &policy.resources()[d.requires.0];
            (
                resource.key.as_str(),
                resource.levels[d.level as usize].as_str(),
                requires.key.as_str(),
                requires.levels[d.requires.1 as usize].as_str(),
            )
        })
        .collect();
    let mut cells = 0;
    for dependency in TQ_DOCUMENT_DEPENDENCIES {
        assert!(declared.contains(dependency), "{dependency:?} is declared");
        let (resource, level, requires, required) = *dependency;
        for role in policy.roles() {
            if passes(&policy, &role.key, resource, level) {
                assert!(
                    passes(&policy, &role.key, requires, required),
                    "{} holds {resource} `{level}` without {requires} `{required}`",
                    role.name
                );
            }
            cells += 1;
        }
    }
    println!("ThreatQ, interdependent permissions: {cells} cells checked");
}

#[test]
fn threatq_licensed_modules_take_effect_only_with_their_feature() {
    let policy = threatq();
    for feature in ["tqi", "tqo", "tqx"] {
        assert!(
            policy.features().iter().any(|f| f.key == feature),
            "feature {feature} is declared"
        );
    }
    for resource in policy.resources() {
        let expected = TQ_LICENSED
            .iter()
            .find(|(key, _)| *key == resource.key)
            .map(|(_, feature)| *feature);
        assert_eq!(resource.feature.as_deref(), expected, "{}", resource.key);
    }
}

// ========================================================================= ThreatSTOP
// threatstop-rbac-multi-org.txt has no table; what it states about roles, transcribed as
// (statement, role, resource, level, whether the role holds it).

const TSTOP_STATEMENTS: &[(&str, &str, &str, &str, bool)] = &[
    // "Organizations are the entities that contain the ThreatSTOP features (policies,
    // devices, user-defined lists...)"; Full Admin replaces the legacy Admin access level.
    (
        "Full Admin edits policies",
        "Full Admin",
        "tstop_policies",
        "edit",
        true,
    ),
    (
        "Full Admin edits devices",
        "Full Admin",
        "tstop_devices",
        "edit",
        true,
    ),
    (
        "Full Admin edits user-defined lists",
        "Full Admin",
        "list",
        "full",
        true,
    ),
    // "The user/role assignment page to manage the list of users with access to your
    // organization account"
    (
        "Full Admin manages users",
        "Full Admin",
        "member",
        "manage",
        true,
    ),
    (
        "Full Admin assigns roles",
        "Full Admin",
        "role",
        "manage",
        true,
    ),
    (
        "Full Admin adds users",
        "Full Admin",
        "invitation",
        "send",
        true,
    ),
    // "User-Defined Lists > Shared Access": which organizations lists are shared with.
    (
        "Full Admin chooses list sharing",
        "Full Admin",
        "list_sharing",
        "manage",
        true,
    ),
    // "The Audit Log is reached via the Analysis > Audit Log menu entry."
    (
        "Full Admin reads the audit log",
        "Full Admin",
        "audit_log",
        "read",
        true,
    ),
    // Reporter replaces the legacy Reporter access level: it reports and changes nothing.
    (
        "Reporter views policies",
        "Reporter",
        "tstop_policies",
        "view",
        true,
    ),
    (
        "Reporter views devices",
        "Reporter",
        "tstop_devices",
        "view",
        true,
    ),
    (
        "Reporter views user-defined lists",
        "Reporter",
        "list",
        "read",
        true,
    ),
    (
        "Reporter views reports",
        "Reporter",
        "tstop_reports",
        "view",
        true,
    ),
    (
        "Reporter does not edit policies",
        "Reporter",
        "tstop_policies",
        "edit",
        false,
    ),
    (
        "Reporter does not edit devices",
        "Reporter",
        "tstop_devices",
        "edit",
        false,
    ),
    (
        "Reporter does not create lists",
        "Reporter",
        "list",
        "create",
        false,
    ),
    (
        "Reporter does not share lists",
        "Reporter",
        "list_sharing",
        "manage",
        false,
    ),
    (
        "Reporter does not manage users",
        "Reporter",
        "member",
        "manage",
        false,
    ),
    (
        "Reporter does not add users",
        "Reporter",
        "invitation",
        "send",
        false,
    ),
    (
        "Reporter does not assign roles",
        "Reporter",
        "role",
        "manage",
        false,
    ),
];

#[test]
fn threatstop_has_five_predefined_roles_with_full_admin_and_reporter() {
    let policy = threatstop();
    assert_eq!(policy.roles().len(), 5, "\"the five predefined roles\"");
    assert_eq!(policy.owner_role().name, "Full Admin");
    role_named(&policy, "Reporter");
}

#[test]
fn threatstop_roles_the_document_does_not_name_say_so() {
    let policy = threatstop();
    for role in policy.roles() {
        if role.name == "Full Admin" || role.name == "Reporter" {
            continue;
        }
        let description = role.description.as_deref().unwrap_or_default();
        assert!(
            description.starts_with("Not named by the ThreatSTOP document"),
            "{}: {description}",
            role.name
        );
    }
}

#[test]
fn threatstop_full_admin_and_reporter_match_the_document_statement_by_statement() {
    let policy = threatstop();
    let mut cells = 0;
    for (statement, role_name, resource, level, expected) in TSTOP_STATEMENTS {
        let role = role_named(&policy, role_name);
        assert_eq!(
            passes(&policy, &role, resource, level),
            *expected,
            "{statement}"
        );
        cells += 1;
    }
    println!("ThreatSTOP: {cells} statements checked");
}

#[test]
fn threatstop_reporter_changes_nothing() {
    let policy = threatstop();
    let role = role_named(&policy, "Reporter");
    for resource in policy.resources() {
        let level = granted(&policy, &role, &resource.key);
        assert!(
            ["none", "read", "view"].contains(&level.as_str()),
            "Reporter holds {} `{level}`",
            resource.key
        );
    }
}

#[test]
fn threatstop_custom_roles_are_left_to_the_built_in_license_feature() {
    // "This feature is enabled by a new SKU": Charter's own `custom_roles` feature; the preset
    // gates no resource behind a feature of its own.
    let policy = threatstop();
    assert!(policy.features().iter().any(|f| f.key == "custom_roles"));
    assert!(policy.resources().iter().all(|r| r.feature.is_none()));
}

// ======================================================================= All policies

fn all_policies() -> Vec<(&'static str, Policy, &'static str)> {
    let [(_, built_in), (_, threatconnect)] = threatconnect_policies();
    vec![
        ("built-in policy", built_in, "tc_"),
        ("threatconnect.toml", threatconnect, "tc_"),
        ("threat-stack.toml", threat_stack(), "ts_"),
        ("threatstop.toml", threatstop(), "tstop_"),
        ("threatq.toml", threatq(), "tq_"),
    ]
}

#[test]
fn every_policy_declares_charters_resources_in_the_charter_group_with_their_levels() {
    for (which, policy, _) in all_policies() {
        for (key, levels) in charter::authz::policy::BUILT_IN_RESOURCES {
            let resource = resource(&policy, key);
            assert_eq!(resource.group, "Charter", "{which}: {key}");
            assert_eq!(resource.levels[0], "none", "{which}: {key}");
            // The built-in levels appear in their order, lowest first.
            let positions: Vec<_> = levels
                .iter()
                .map(|level| {
                    resource
                        .levels
                        .iter()
                        .position(|l| l == level)
                        .unwrap_or_else(|| panic!("{which}: {key} lacks `{level}`"))
                })
                .collect();
            assert!(positions.is_sorted(), "{which}: {key} levels out of order");
        }
    }
}

#[test]
fn every_preset_names_its_system_and_source_documents() {
    let presets = [
        (
            threat_stack(),
            "Threat Stack",
            "threat-stack-owner-vs-user-privileges.txt",
        ),
        (threatstop(), "ThreatSTOP", "threatstop-rbac-multi-org.txt"),
        (
            threatq(),
            "ThreatQ",
            "threatq-default-user-roles.txt, threatq-action-permissions.txt",
        ),
    ];
    for (policy, name, source) in presets {
        assert_eq!(policy.name, name);
        assert_eq!(policy.source.as_deref(), Some(source), "{name}");
    }
}

#[test]
fn every_preset_resource_carries_its_presets_prefix() {
    for (which, policy, prefix) in all_policies() {
        for resource in policy.resources().iter().filter(|r| r.group != "Charter") {
            assert!(
                resource.key.starts_with(prefix),
                "{which}: {}",
                resource.key
            );
        }
    }
}

#[test]
fn no_predefined_role_of_any_policy_breaks_a_dependency() {
    for (which, policy, _) in all_policies() {
        for role in policy.roles() {
            for dependency in policy.dependencies() {
                if role.grants.allows(dependency.resource, dependency.level) {
                    assert!(
                        role.grants
                            .allows(dependency.requires.0, dependency.requires.1),
                        "{which}: {} breaks a dependency on {}",
                        role.key,
                        policy.resources()[dependency.resource].key
                    );
                }
            }
        }
    }
}

#[test]
fn each_preset_gives_webhooks_to_whom_its_document_gives_integrations() {
    // (policy, roles that manage webhook endpoints, roles that do not see them)
    let [(_, built_in), (_, threatconnect)] = threatconnect_policies();
    let cases: [(&str, Policy, &[&str], &[&str]); 5] = [
        // Threat Stack: both columns add, view, modify and delete webhook integrations.
        (
            "threat-stack.toml",
            threat_stack(),
            &["organization_owner", "organization_user"],
            &[],
        ),
        // ThreatQ: Install & Uninstall Integrations and Edit Integration Configurations.
        (
            "threatq.toml",
            threatq(),
            &["maintenance", "administrator"],
            &["primary_contributor", "read_only"],
        ),
        // ThreatConnect and ThreatSTOP: the administrators, like single sign-on and API keys.
        (
            "built-in policy",
            built_in,
            &["owner", "organization_administrator"],
            &[
                "sharing_user",
                "standard_user",
                "app_developer",
                "read_only_user",
                "read_only_commenter",
            ],
        ),
        (
            "threatconnect.toml",
            threatconnect,
            &["owner", "organization_administrator"],
            &["standard_user", "read_only_user"],
        ),
        (
            "threatstop.toml",
            threatstop(),
            &["full_admin"],
            &["reporter", "policy_admin", "device_admin", "user_admin"],
        ),
    ];
    for (which, policy, managers, others) in cases {
        for role in managers {
            assert!(
                passes(&policy, role, "webhook", "manage"),
                "{which}: {role} manages webhooks"
            );
        }
        for role in others {
            assert_eq!(granted(&policy, role, "webhook"), "none", "{which}: {role}");
        }
    }
    // In ThreatQ a custom role manages webhooks only with both Integrations permissions, and,
    // as in every policy, reads webhooks only if it reads the audit log they carry.
    let threatq = threatq();
    let needs: Vec<String> = threatq
        .dependencies()
        .iter()
        .filter(|dependency| threatq.resources()[dependency.resource].key == "webhook")
        .map(|dependency| threatq.resources()[dependency.requires.0].key.clone())
        .collect();
    assert_eq!(
        needs,
        [
            "tq_install_integrations",
            "tq_integration_configurations",
            "audit_log"
        ]
    );
}
