//! Free text at the boundary: control characters, invisible formatting characters and huge
//! values are refused with INVALID_INPUT naming the field, the same on SQLite and PostgreSQL,
//! for every string argument and input field of the schema; ids holding them name nothing.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::{TestApp, arguments_of_type, org_id};

/// What an argument must answer when it holds a refused value.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// One line of free text: INVALID_INPUT naming the field for control characters and for a
    /// megabyte; a bidirectional control is allowed (never INTERNAL).
    Line(&'static str),
    /// A name: as [`Expect::Line`], and a bidirectional control is refused too.
    Name(&'static str),
    /// An id (global or public): INVALID_INPUT naming the field, or NOT_FOUND, as an id that
    /// names nothing.
    Id(&'static str),
    /// A password offered for a check: only its length is bounded (a megabyte is
    /// INVALID_INPUT naming the field); its characters are compared, never stored.
    OfferedPassword(&'static str),
}

/// One argument of the schema: where it sits (`Type.field(argument.inputField)`), what it must
/// answer, and a request whose `@BAD` is replaced by the value under test.
struct Case {
    path: &'static str,
    expect: Expect,
    query: &'static str,
    variables: Value,
}

fn case(path: &'static str, expect: Expect, query: &'static str, variables: Value) -> Case {
    Case {
        path,
        expect,
        query,
        variables,
    }
}

/// A copy of `value` with `@BAD` replaced by `bad` in every string.
fn substitute(value: &Value, bad: &str) -> Value {
    match value {
        Value::String(text) => Value::String(text.replace("@BAD", bad)),
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, bad)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, bad)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Ids of objects the cases need, all in alice's organization.
struct Ids {
    org: String,
    list: String,
    role: String,
    membership: String,
    service_account: String,
    webhook: String,
    scim_group: String,
}

#[rustfmt::skip]
fn cases(ids: &Ids) -> Vec<Case> {
    use Expect::*;
    let o = &ids.org;
    let l = &ids.list;
    let r = &ids.role;
    let m = &ids.membership;
    let sa = &ids.service_account;
    let w = &ids.webhook;
    let scim_group = &ids.scim_group;
    vec![
        case("Query.organization(id)", Id("id"), "query($v: ID!) { organization(id: $v) { id } }", json!({ "v": "@BAD" })),
        case("Query.node(id)", Id("id"), "query($v: ID!) { node(id: $v) { id } }", json!({ "v": "@BAD" })),
        case("Query.checkPermission(organizationId)", Id("organizationId"), "query($v: ID!) { checkPermission(organizationId: $v, resource: \"list\", level: \"read\") }", json!({ "v": "@BAD" })),
        case("Query.checkPermission(userId)", Id("userId"), "query($o: ID!, $v: ID) { checkPermission(organizationId: $o, userId: $v, resource: \"list\", level: \"read\") }", json!({ "o": o, "v": "@BAD" })),
        case("Query.checkPermission(resource)", Line("resource"), "query($o: ID!, $v: String!) { checkPermission(organizationId: $o, resource: $v, level: \"read\") }", json!({ "o": o, "v": "@BAD" })),
        case("Query.checkPermission(level)", Line("level"), "query($o: ID!, $v: String!) { checkPermission(organizationId: $o, resource: \"list\", level: $v) }", json!({ "o": o, "v": "@BAD" })),
        case("Viewer.memberships(after)", Line("after"), "query($v: String) { viewer { memberships(after: $v) { totalCount } } }", json!({ "v": "@BAD" })),
        case("Viewer.securityEvents(after)", Line("after"), "query($v: String) { viewer { securityEvents(after: $v) { edges { cursor } } } }", json!({ "v": "@BAD" })),
        case("Viewer.permissions(organizationId)", Id("organizationId"), "query($v: ID!) { viewer { permissions(organizationId: $v) { level } } }", json!({ "v": "@BAD" })),
        case("Organization.members(after)", Line("after"), "query($o: ID!, $v: String) { organization(id: $o) { members(after: $v) { totalCount } } }", json!({ "o": o, "v": "@BAD" })),
        case("Organization.members(filter.roleId)", Id("filter.roleId"), "query($o: ID!, $v: ID) { organization(id: $o) { members(filter: {roleId: $v}) { totalCount } } }", json!({ "o": o, "v": "@BAD" })),
        case("Organization.members(filter.search)", Line("filter.search"), "query($o: ID!, $v: String) { organization(id: $o) { members(filter: {search: $v}) { totalCount } } }", json!({ "o": o, "v": "@BAD" })),
        case("Organization.auditLog(search)", Line("search"), "query($o: ID!, $v: String) { organization(id: $o) { auditLog(search: $v) { edges { cursor } } } }", json!({ "o": o, "v": "abc@BADdef" })),
        case("Organization.auditLog(action)", Line("action"), "query($o: ID!, $v: String) { organization(id: $o) { auditLog(action: $v) { edges { cursor } } } }", json!({ "o": o, "v": "@BAD" })),
        case("Organization.auditLog(actorId)", Id("actorId"), "query($o: ID!, $v: ID) { organization(id: $o) { auditLog(actorId: $v) { edges { cursor } } } }", json!({ "o": o, "v": "@BAD" })),
        case("Organization.auditCheckpoints(after)", Line("after"), "query($o: ID!, $v: String) { organization(id: $o) { auditCheckpoints(after: $v) { totalCount } } }", json!({ "o": o, "v": "@BAD" })),
        case("WebhookEndpoint.deliveries(after)", Line("after"), "query($o: ID!, $v: String) { organization(id: $o) { webhookEndpoints { deliveries(after: $v) { totalCount } } } }", json!({ "o": o, "v": "@BAD" })),
        case("Mutation.createWebhookEndpoint(input.organizationId)", Id("organizationId"), "mutation($v: ID!) { createWebhookEndpoint(input: {organizationId: $v, url: \"https://93.184.216.34/a\", events: [\"*\"]}) { secret } }", json!({ "v": "@BAD" })),
        case("Mutation.createWebhookEndpoint(input.url)", Line("url"), "mutation($o: ID!, $v: String!) { createWebhookEndpoint(input: {organizationId: $o, url: $v, events: [\"*\"]}) { secret } }", json!({ "o": o, "v": "https://93.184.216.34/@BAD" })),
        case("Mutation.createWebhookEndpoint(input.events)", Line("events"), "mutation($o: ID!, $v: String!) { createWebhookEndpoint(input: {organizationId: $o, url: \"https://93.184.216.34/a\", events: [$v]}) { secret } }", json!({ "o": o, "v": "member.added@BAD" })),
        case("Mutation.createWebhookEndpoint(input.description)", Line("description"), "mutation($o: ID!, $v: String) { createWebhookEndpoint(input: {organizationId: $o, url: \"https://93.184.216.34/a\", events: [\"*\"], description: $v}) { secret } }", json!({ "o": o, "v": "abc@BADdef" })),
        case("Mutation.updateWebhookEndpoint(input.id)", Id("id"), "mutation($v: ID!) { updateWebhookEndpoint(input: {id: $v, enabled: true}) { id } }", json!({ "v": "@BAD" })),
        case("Mutation.updateWebhookEndpoint(input.url)", Line("url"), "mutation($w: ID!, $v: String) { updateWebhookEndpoint(input: {id: $w, url: $v}) { id } }", json!({ "w": w, "v": "https://93.184.216.34/@BAD" })),
        case("Mutation.updateWebhookEndpoint(input.events)", Line("events"), "mutation($w: ID!, $v: String!) { updateWebhookEndpoint(input: {id: $w, events: [$v]}) { id } }", json!({ "w": w, "v": "member.added@BAD" })),
        case("Mutation.updateWebhookEndpoint(input.description)", Line("description"), "mutation($w: ID!, $v: String) { updateWebhookEndpoint(input: {id: $w, description: $v}) { id } }", json!({ "w": w, "v": "abc@BADdef" })),
        case("Mutation.deleteWebhookEndpoint(id)", Id("id"), "mutation($v: ID!) { deleteWebhookEndpoint(id: $v) }", json!({ "v": "@BAD" })),
        case("Mutation.rotateWebhookSecret(id)", Id("id"), "mutation($v: ID!) { rotateWebhookSecret(id: $v) { secret } }", json!({ "v": "@BAD" })),
        case("Mutation.sendTestWebhook(endpointId)", Id("endpointId"), "mutation($v: ID!) { sendTestWebhook(endpointId: $v) { id } }", json!({ "v": "@BAD" })),
        case("Mutation.replayWebhookEvents(endpointId)", Id("endpointId"), "mutation($v: ID!) { replayWebhookEvents(endpointId: $v, from: \"2020-01-01T00:00:00Z\") }", json!({ "v": "@BAD" })),
        case("Mutation.retryWebhookDelivery(id)", Id("id"), "mutation($v: ID!) { retryWebhookDelivery(id: $v) { id } }", json!({ "v": "@BAD" })),
        case("Organization.auditLog(after)", Line("after"), "query($o: ID!, $v: String) { organization(id: $o) { auditLog(after: $v) { edges { cursor } } } }", json!({ "o": o, "v": "@BAD" })),
        case("Organization.invitations(after)", Line("after"), "query($o: ID!, $v: String) { organization(id: $o) { invitations(after: $v) { totalCount } } }", json!({ "o": o, "v": "@BAD" })),
        case("Organization.lists(after)", Line("after"), "query($o: ID!, $v: String) { organization(id: $o) { lists(after: $v) { totalCount } } }", json!({ "o": o, "v": "@BAD" })),
        case("Organization.sharedLists(after)", Line("after"), "query($o: ID!, $v: String) { organization(id: $o) { sharedLists(after: $v) { totalCount } } }", json!({ "o": o, "v": "@BAD" })),
        case("List.entries(search)", Line("search"), "query($l: ID!, $v: String) { node(id: $l) { ... on List { entries(search: $v) { totalCount } } } }", json!({ "l": l, "v": "@BAD" })),
        case("List.entries(after)", Line("after"), "query($l: ID!, $v: String) { node(id: $l) { ... on List { entries(after: $v) { totalCount } } } }", json!({ "l": l, "v": "@BAD" })),
        case("Mutation.login(input.email)", Line("email"), "mutation($v: String!) { login(input: {email: $v, password: \"correct-horse-battery\"}) { accessToken } }", json!({ "v": "alice@BAD@example.com" })),
        case("Mutation.login(input.password)", OfferedPassword("password"), "mutation($v: String!) { login(input: {email: \"alice@example.com\", password: $v}) { accessToken } }", json!({ "v": "@BAD" })),
        case("Mutation.login(input.organizationId)", Id("organizationId"), "mutation($v: ID) { login(input: {email: \"alice@example.com\", password: \"correct-horse-battery\", organizationId: $v}) { accessToken } }", json!({ "v": "@BAD" })),
        case("Mutation.refreshSession(refreshToken)", Line("refreshToken"), "mutation($v: String!) { refreshSession(refreshToken: $v) { accessToken } }", json!({ "v": "@BAD" })),
        case("Mutation.switchOrganization(organizationId)", Id("organizationId"), "mutation($v: ID!) { switchOrganization(organizationId: $v) { accessToken } }", json!({ "v": "@BAD" })),
        case("Mutation.setDefaultOrganization(organizationId)", Id("organizationId"), "mutation($v: ID!) { setDefaultOrganization(organizationId: $v) { user { id } } }", json!({ "v": "@BAD" })),
        case("Mutation.createOrganization(input.name)", Name("name"), "mutation($v: String!) { createOrganization(input: {name: $v}) { id } }", json!({ "v": "Globex@BAD" })),
        case("Mutation.updateOrganization(input.organizationId)", Id("organizationId"), "mutation($v: ID!) { updateOrganization(input: {organizationId: $v, name: \"Acme\"}) { id } }", json!({ "v": "@BAD" })),
        case("Mutation.updateOrganization(input.name)", Name("name"), "mutation($o: ID!, $v: String!) { updateOrganization(input: {organizationId: $o, name: $v}) { id } }", json!({ "o": o, "v": "Acme@BAD" })),
        case("Mutation.createRole(input.organizationId)", Id("organizationId"), "mutation($v: ID!) { createRole(input: {organizationId: $v, name: \"Viewer\", grants: []}) { id } }", json!({ "v": "@BAD" })),
        case("Mutation.createRole(input.name)", Name("name"), "mutation($o: ID!, $v: String!) { createRole(input: {organizationId: $o, name: $v, grants: []}) { id } }", json!({ "o": o, "v": "Reader@BAD" })),
        case("Mutation.createRole(input.description)", Line("description"), "mutation($o: ID!, $v: String) { createRole(input: {organizationId: $o, name: \"Described\", description: $v, grants: []}) { id } }", json!({ "o": o, "v": "abc@BADdef" })),
        case("Mutation.createRole(input.grants.resource)", Line("grants"), "mutation($o: ID!, $v: String!) { createRole(input: {organizationId: $o, name: \"Granting\", grants: [{resource: $v, level: \"read\"}]}) { id } }", json!({ "o": o, "v": "@BAD" })),
        case("Mutation.createRole(input.grants.level)", Line("grants"), "mutation($o: ID!, $v: String!) { createRole(input: {organizationId: $o, name: \"Granting\", grants: [{resource: \"list\", level: $v}]}) { id } }", json!({ "o": o, "v": "@BAD" })),
        case("Mutation.updateRole(input.id)", Id("id"), "mutation($v: ID!) { updateRole(input: {id: $v, name: \"Renamed\"}) { id } }", json!({ "v": "@BAD" })),
        case("Mutation.updateRole(input.name)", Name("name"), "mutation($r: ID!, $v: String) { updateRole(input: {id: $r, name: $v}) { id } }", json!({ "r": r, "v": "Analyst@BAD" })),
        case("Mutation.updateRole(input.description)", Line("description"), "mutation($r: ID!, $v: String) { updateRole(input: {id: $r, description: $v}) { id } }", json!({ "r": r, "v": "abc@BADdef" })),
        case("Mutation.updateRole(input.grants.resource)", Line("grants"), "mutation($r: ID!, $v: String!) { updateRole(input: {id: $r, grants: [{resource: $v, level: \"read\"}]}) { id } }", json!({ "r": r, "v": "@BAD" })),
        case("Mutation.updateRole(input.grants.level)", Line("grants"), "mutation($r: ID!, $v: String!) { updateRole(input: {id: $r, grants: [{resource: \"list\", level: $v}]}) { id } }", json!({ "r": r, "v": "@BAD" })),
        case("Mutation.deleteRole(id)", Id("id"), "mutation($v: ID!) { deleteRole(id: $v) }", json!({ "v": "@BAD" })),
        case("Mutation.createList(input.organizationId)", Id("organizationId"), "mutation($v: ID!) { createList(input: {organizationId: $v, name: \"L\", kind: TEXT}) { id } }", json!({ "v": "@BAD" })),
        case("Mutation.createList(input.name)", Name("name"), "mutation($o: ID!, $v: String!) { createList(input: {organizationId: $o, name: $v, kind: TEXT}) { id } }", json!({ "o": o, "v": "Blocklist@BAD" })),
        case("Mutation.createList(input.description)", Line("description"), "mutation($o: ID!, $v: String) { createList(input: {organizationId: $o, name: \"Described\", kind: TEXT, description: $v}) { id } }", json!({ "o": o, "v": "abc@BADdef" })),
        case("Mutation.updateList(input.listId)", Id("listId"), "mutation($v: ID!) { updateList(input: {listId: $v, name: \"L\"}) { id } }", json!({ "v": "@BAD" })),
        case("Mutation.updateList(input.name)", Name("name"), "mutation($l: ID!, $v: String) { updateList(input: {listId: $l, name: $v}) { id } }", json!({ "l": l, "v": "Allowlist@BAD" })),
        case("Mutation.updateList(input.description)", Line("description"), "mutation($l: ID!, $v: String) { updateList(input: {listId: $l, description: $v}) { id } }", json!({ "l": l, "v": "abc@BADdef" })),
        case("Mutation.addListEntries(input.listId)", Id("listId"), "mutation($v: ID!) { addListEntries(input: {listId: $v, entries: [{value: \"x\"}]}) { id } }", json!({ "v": "@BAD" })),
        case("Mutation.addListEntries(input.entries.value)", Line("entries"), "mutation($l: ID!, $v: String!) { addListEntries(input: {listId: $l, entries: [{value: $v}]}) { id } }", json!({ "l": l, "v": "abc@BADdef" })),
        case("Mutation.addListEntries(input.entries.note)", Line("entries"), "mutation($l: ID!, $v: String) { addListEntries(input: {listId: $l, entries: [{value: \"noted\", note: $v}]}) { id } }", json!({ "l": l, "v": "abc@BADdef" })),
        case("Mutation.removeListEntries(input.listId)", Id("listId"), "mutation($v: ID!) { removeListEntries(input: {listId: $v, values: [\"x\"]}) { id } }", json!({ "v": "@BAD" })),
        case("Mutation.removeListEntries(input.values)", Line("values"), "mutation($l: ID!, $v: String!) { removeListEntries(input: {listId: $l, values: [$v]}) { id } }", json!({ "l": l, "v": "abc@BADdef" })),
        case("Mutation.setListShared(id)", Id("id"), "mutation($v: ID!) { setListShared(id: $v, shared: true) { id } }", json!({ "v": "@BAD" })),
        case("Mutation.deleteList(id)", Id("id"), "mutation($v: ID!) { deleteList(id: $v) }", json!({ "v": "@BAD" })),
        case("Mutation.addSharePartner(organizationId)", Id("organizationId"), "mutation($v: ID!, $p: ID!) { addSharePartner(organizationId: $v, partnerOrganizationId: $p) { id } }", json!({ "v": "@BAD", "p": "ORG-0000-0000" })),
        case("Mutation.addSharePartner(partnerOrganizationId)", Id("partnerOrganizationId"), "mutation($o: ID!, $v: ID!) { addSharePartner(organizationId: $o, partnerOrganizationId: $v) { id } }", json!({ "o": o, "v": "ORG-@BAD" })),
        case("Mutation.removeSharePartner(organizationId)", Id("organizationId"), "mutation($v: ID!, $p: ID!) { removeSharePartner(organizationId: $v, partnerOrganizationId: $p) { id } }", json!({ "v": "@BAD", "p": "ORG-0000-0000" })),
        case("Mutation.removeSharePartner(partnerOrganizationId)", Id("partnerOrganizationId"), "mutation($o: ID!, $v: ID!) { removeSharePartner(organizationId: $o, partnerOrganizationId: $v) { id } }", json!({ "o": o, "v": "ORG-@BAD" })),
        case("Mutation.setOrganizationLicense(input.organization)", Id("organization"), "mutation($v: String!) { setOrganizationLicense(input: {organization: $v, seats: 5}) { seats } }", json!({ "v": "ORG-@BAD" })),
        case("Mutation.setOrganizationLicense(input.addFeatures)", Line("addFeatures"), "mutation($o: String!, $v: String!) { setOrganizationLicense(input: {organization: $o, addFeatures: [$v]}) { seats } }", json!({ "o": o, "v": "@BAD" })),
        case("Mutation.setOrganizationLicense(input.removeFeatures)", Line("removeFeatures"), "mutation($o: String!, $v: String!) { setOrganizationLicense(input: {organization: $o, removeFeatures: [$v]}) { seats } }", json!({ "o": o, "v": "@BAD" })),
        case("Mutation.assignRole(input.membershipId)", Id("membershipId"), "mutation($r: ID!, $v: ID!) { assignRole(input: {membershipId: $v, roleId: $r}) { id } }", json!({ "r": r, "v": "@BAD" })),
        case("Mutation.assignRole(input.roleId)", Id("roleId"), "mutation($m: ID!, $v: ID!) { assignRole(input: {membershipId: $m, roleId: $v}) { id } }", json!({ "m": m, "v": "@BAD" })),
        case("Mutation.removeMember(membershipId)", Id("membershipId"), "mutation($v: ID!) { removeMember(membershipId: $v) }", json!({ "v": "@BAD" })),
        case("Mutation.leaveOrganization(organizationId)", Id("organizationId"), "mutation($v: ID!) { leaveOrganization(organizationId: $v) }", json!({ "v": "@BAD" })),
        case("Mutation.changePassword(input.currentPassword)", OfferedPassword("currentPassword"), "mutation($v: String!) { changePassword(input: {currentPassword: $v, newPassword: \"lantern orbit mosaic thistle\"}) }", json!({ "v": "@BAD" })),
        case("Mutation.changePassword(input.newPassword)", Line("newPassword"), "mutation($v: String!) { changePassword(input: {currentPassword: \"not the password\", newPassword: $v}) }", json!({ "v": "lantern orbit @BAD mosaic" })),
        case("Mutation.updateProfile(input.displayName)", Name("displayName"), "mutation($v: String!) { updateProfile(input: {displayName: $v}) { id } }", json!({ "v": "Alice@BAD" })),
        case("Mutation.setUserDisabled(email)", Line("email"), "mutation($v: String!) { setUserDisabled(email: $v, disabled: false) }", json!({ "v": "bob@BAD@example.com" })),
        case("Mutation.inviteMember(input.organizationId)", Id("organizationId"), "mutation($r: ID!, $v: ID!) { inviteMember(input: {organizationId: $v, email: \"carol@example.com\", roleId: $r}) { id } }", json!({ "r": r, "v": "@BAD" })),
        case("Mutation.inviteMember(input.email)", Line("email"), "mutation($o: ID!, $r: ID!, $v: String!) { inviteMember(input: {organizationId: $o, email: $v, roleId: $r}) { id } }", json!({ "o": o, "r": r, "v": "carol@BAD@example.com" })),
        case("Mutation.inviteMember(input.roleId)", Id("roleId"), "mutation($o: ID!, $v: ID!) { inviteMember(input: {organizationId: $o, email: \"carol@example.com\", roleId: $v}) { id } }", json!({ "o": o, "v": "@BAD" })),
        case("Mutation.revokeInvitation(id)", Id("id"), "mutation($v: ID!) { revokeInvitation(id: $v) { id } }", json!({ "v": "@BAD" })),
        case("Mutation.acceptInvitation(input.token)", Line("token"), "mutation($v: String!) { acceptInvitation(input: {token: $v}) { accessToken } }", json!({ "v": "chi_@BAD" })),
        case("Mutation.acceptInvitation(input.displayName)", Name("displayName"), "mutation($v: String) { acceptInvitation(input: {token: \"chi_unknown\", displayName: $v, password: \"lantern orbit mosaic\"}) { accessToken } }", json!({ "v": "Carol@BAD" })),
        case("Organization.serviceAccounts(after)", Line("after"), "query($o: ID!, $v: String) { organization(id: $o) { serviceAccounts(after: $v) { totalCount } } }", json!({ "o": o, "v": "@BAD" })),
        case("Organization.apiKeys(after)", Line("after"), "query($o: ID!, $v: String) { organization(id: $o) { apiKeys(after: $v) { totalCount } } }", json!({ "o": o, "v": "@BAD" })),
        case("Mutation.createServiceAccount(input.organizationId)", Id("organizationId"), "mutation($r: ID!, $v: ID!) { createServiceAccount(input: {organizationId: $v, name: \"Bot\", roleId: $r}) { id } }", json!({ "r": r, "v": "@BAD" })),
        case("Mutation.createServiceAccount(input.name)", Name("name"), "mutation($o: ID!, $r: ID!, $v: String!) { createServiceAccount(input: {organizationId: $o, name: $v, roleId: $r}) { id } }", json!({ "o": o, "r": r, "v": "Bot@BAD" })),
        case("Mutation.createServiceAccount(input.description)", Line("description"), "mutation($o: ID!, $r: ID!, $v: String) { createServiceAccount(input: {organizationId: $o, name: \"Described bot\", description: $v, roleId: $r}) { id } }", json!({ "o": o, "r": r, "v": "abc@BADdef" })),
        case("Mutation.createServiceAccount(input.roleId)", Id("roleId"), "mutation($o: ID!, $v: ID!) { createServiceAccount(input: {organizationId: $o, name: \"Bot\", roleId: $v}) { id } }", json!({ "o": o, "v": "@BAD" })),
        case("Mutation.updateServiceAccount(input.id)", Id("id"), "mutation($v: ID!) { updateServiceAccount(input: {id: $v, name: \"Bot\"}) { id } }", json!({ "v": "@BAD" })),
        case("Mutation.updateServiceAccount(input.name)", Name("name"), "mutation($s: ID!, $v: String) { updateServiceAccount(input: {id: $s, name: $v}) { id } }", json!({ "s": sa, "v": "Bot@BAD" })),
        case("Mutation.updateServiceAccount(input.description)", Line("description"), "mutation($s: ID!, $v: String) { updateServiceAccount(input: {id: $s, description: $v}) { id } }", json!({ "s": sa, "v": "abc@BADdef" })),
        case("Mutation.deleteServiceAccount(id)", Id("id"), "mutation($v: ID!) { deleteServiceAccount(id: $v) }", json!({ "v": "@BAD" })),
        case("Mutation.createApiKey(input.organizationId)", Id("organizationId"), "mutation($v: ID!) { createApiKey(input: {organizationId: $v, name: \"CI\", grants: []}) { secret } }", json!({ "v": "@BAD" })),
        case("Mutation.createApiKey(input.serviceAccountId)", Id("serviceAccountId"), "mutation($o: ID!, $v: ID) { createApiKey(input: {organizationId: $o, serviceAccountId: $v, name: \"CI\", grants: []}) { secret } }", json!({ "o": o, "v": "@BAD" })),
        case("Mutation.createApiKey(input.name)", Name("name"), "mutation($o: ID!, $v: String!) { createApiKey(input: {organizationId: $o, name: $v, grants: []}) { secret } }", json!({ "o": o, "v": "CI@BAD" })),
        case("Mutation.createApiKey(input.grants.resource)", Line("grants"), "mutation($o: ID!, $v: String!) { createApiKey(input: {organizationId: $o, name: \"CI\", grants: [{resource: $v, level: \"read\"}]}) { secret } }", json!({ "o": o, "v": "@BAD" })),
        case("Mutation.createApiKey(input.grants.level)", Line("grants"), "mutation($o: ID!, $v: String!) { createApiKey(input: {organizationId: $o, name: \"CI\", grants: [{resource: \"list\", level: $v}]}) { secret } }", json!({ "o": o, "v": "@BAD" })),
        case("Mutation.revokeApiKey(id)", Id("id"), "mutation($v: ID!) { revokeApiKey(id: $v) { id } }", json!({ "v": "@BAD" })),
        case("Mutation.rotateApiKey(id)", Id("id"), "mutation($v: ID!) { rotateApiKey(id: $v) { secret } }", json!({ "v": "@BAD" })),
        // An issuer that is no URL: an accepted value never reaches the network.
        case("Mutation.configureScim(input.organizationId)", Id("organizationId"), "mutation($v: ID!, $r: ID!) { configureScim(input: {organizationId: $v, defaultRoleId: $r}) { __typename } }", json!({ "v": "@BAD", "r": r })),
        case("Mutation.configureScim(input.defaultRoleId)", Id("defaultRoleId"), "mutation($o: ID!, $v: ID!) { configureScim(input: {organizationId: $o, defaultRoleId: $v}) { __typename } }", json!({ "o": o, "v": "@BAD" })),
        case("Mutation.setScimGroupRole(input.groupId)", Id("groupId"), "mutation($v: ID!) { setScimGroupRole(input: {groupId: $v, roleId: null}) { __typename } }", json!({ "v": "@BAD" })),
        case("Mutation.setScimGroupRole(input.roleId)", Id("roleId"), "mutation($g: ID!, $v: ID) { setScimGroupRole(input: {groupId: $g, roleId: $v}) { __typename } }", json!({ "g": scim_group, "v": "@BAD" })),
        case("Organization.scimGroups(after)", Line("after"), "query($o: ID!, $v: String) { organization(id: $o) { scimGroups(after: $v) { totalCount } } }", json!({ "o": o, "v": "@BAD" })),
        case("Mutation.configureCertificateSignIn(input.organizationId)", Id("organizationId"), "mutation($v: ID!) { configureCertificateSignIn(input: {organizationId: $v, authorities: []}) { enabled } }", json!({ "v": "@BAD" })),
        case("Mutation.configureCertificateSignIn(input.defaultRoleId)", Id("defaultRoleId"), "mutation($o: ID!, $v: ID) { configureCertificateSignIn(input: {organizationId: $o, authorities: [], defaultRoleId: $v}) { enabled } }", json!({ "o": o, "v": "@BAD" })),
        case("Mutation.configureCertificateSignIn(input.authorities)", Line("authorities"), "mutation($o: ID!, $v: String!) { configureCertificateSignIn(input: {organizationId: $o, authorities: [$v]}) { enabled } }", json!({ "o": o, "v": "c@BAD" })),
        case("Mutation.configureCertificateSignIn(input.crls)", Line("crls"), "mutation($o: ID!, $v: String!) { configureCertificateSignIn(input: {organizationId: $o, authorities: [], crls: [$v]}) { enabled } }", json!({ "o": o, "v": "c@BAD" })),
        case("Mutation.configureCertificateSignIn(input.crlUrl)", Line("crlUrl"), "mutation($o: ID!, $v: String) { configureCertificateSignIn(input: {organizationId: $o, authorities: [], crlUrl: $v}) { enabled } }", json!({ "o": o, "v": "https://10.0.0.1/@BAD" })),
        case("Mutation.configureLdap(input.url)", Line("url"), "mutation($o: ID!, $v: String!) { configureLdap(input: {organizationId: $o, url: $v, bindDn: \"cn=a\", bindPassword: \"p\", baseDn: \"dc=a\"}) { enabled } }", json!({ "o": o, "v": "ldap://no-tls/@BAD" })),
        case("Mutation.configureLdap(input.bindDn)", Line("bindDn"), "mutation($o: ID!, $v: String!) { configureLdap(input: {organizationId: $o, url: \"ldap://no-tls\", bindDn: $v, bindPassword: \"p\", baseDn: \"dc=a\"}) { enabled } }", json!({ "o": o, "v": "cn=@BAD" })),
        case("Mutation.configureLdap(input.bindPassword)", Line("bindPassword"), "mutation($o: ID!, $v: String!) { configureLdap(input: {organizationId: $o, url: \"ldap://no-tls\", bindDn: \"cn=a\", bindPassword: $v, baseDn: \"dc=a\"}) { enabled } }", json!({ "o": o, "v": "p@BAD" })),
        case("Mutation.configureLdap(input.baseDn)", Line("baseDn"), "mutation($o: ID!, $v: String!) { configureLdap(input: {organizationId: $o, url: \"ldap://no-tls\", bindDn: \"cn=a\", bindPassword: \"p\", baseDn: $v}) { enabled } }", json!({ "o": o, "v": "dc=@BAD" })),
        case("Mutation.configureLdap(input.userFilter)", Line("userFilter"), "mutation($o: ID!, $v: String) { configureLdap(input: {organizationId: $o, url: \"ldap://no-tls\", bindDn: \"cn=a\", bindPassword: \"p\", baseDn: \"dc=a\", userFilter: $v}) { enabled } }", json!({ "o": o, "v": "(mail={email})@BAD" })),
        case("Mutation.configureLdap(input.emailAttribute)", Line("emailAttribute"), "mutation($o: ID!, $v: String) { configureLdap(input: {organizationId: $o, url: \"ldap://no-tls\", bindDn: \"cn=a\", bindPassword: \"p\", baseDn: \"dc=a\", emailAttribute: $v}) { enabled } }", json!({ "o": o, "v": "mail@BAD" })),
        case("Mutation.configureLdap(input.groupFilter)", Line("groupFilter"), "mutation($o: ID!, $v: String) { configureLdap(input: {organizationId: $o, url: \"ldap://no-tls\", bindDn: \"cn=a\", bindPassword: \"p\", baseDn: \"dc=a\", groupFilter: $v}) { enabled } }", json!({ "o": o, "v": "(a=b)@BAD" })),
        case("Mutation.configureLdap(input.caCertificate)", Line("caCertificate"), "mutation($o: ID!, $v: String) { configureLdap(input: {organizationId: $o, url: \"ldap://no-tls\", bindDn: \"cn=a\", bindPassword: \"p\", baseDn: \"dc=a\", caCertificate: $v}) { enabled } }", json!({ "o": o, "v": "c@BAD" })),
        case("Mutation.configureLdap(input.organizationId)", Id("organizationId"), "mutation($v: ID!) { configureLdap(input: {organizationId: $v, url: \"ldap://no-tls\", bindDn: \"cn=a\", bindPassword: \"p\", baseDn: \"dc=a\"}) { enabled } }", json!({ "v": "@BAD" })),
        case("Mutation.configureLdap(input.defaultRoleId)", Id("defaultRoleId"), "mutation($o: ID!, $v: ID) { configureLdap(input: {organizationId: $o, url: \"ldap://no-tls\", bindDn: \"cn=a\", bindPassword: \"p\", baseDn: \"dc=a\", defaultRoleId: $v}) { enabled } }", json!({ "o": o, "v": "@BAD" })),
        case("Mutation.configureSamlSso(input.organizationId)", Id("organizationId"), "mutation($v: ID!) { configureSamlSso(input: {organizationId: $v, idpEntityId: \"i\", ssoUrl: \"no-url\", certificates: [\"c\"]}) { enabled } }", json!({ "v": "@BAD" })),
        case("Mutation.configureSamlSso(input.metadataXml)", Line("metadataXml"), "mutation($o: ID!, $v: String) { configureSamlSso(input: {organizationId: $o, metadataXml: $v}) { enabled } }", json!({ "o": o, "v": "<x>@BAD</x>" })),
        case("Mutation.configureSamlSso(input.metadataUrl)", Line("metadataUrl"), "mutation($o: ID!, $v: String) { configureSamlSso(input: {organizationId: $o, metadataUrl: $v}) { enabled } }", json!({ "o": o, "v": "https://10.0.0.1/@BAD" })),
        case("Mutation.configureSamlSso(input.idpEntityId)", Line("idpEntityId"), "mutation($o: ID!, $v: String) { configureSamlSso(input: {organizationId: $o, idpEntityId: $v, ssoUrl: \"no-url\", certificates: [\"c\"]}) { enabled } }", json!({ "o": o, "v": "i@BAD" })),
        case("Mutation.configureSamlSso(input.ssoUrl)", Line("ssoUrl"), "mutation($o: ID!, $v: String) { configureSamlSso(input: {organizationId: $o, idpEntityId: \"i\", ssoUrl: $v, certificates: [\"c\"]}) { enabled } }", json!({ "o": o, "v": "https://idp.example/@BAD" })),
        case("Mutation.configureSamlSso(input.certificates)", Line("certificates"), "mutation($o: ID!, $v: String!) { configureSamlSso(input: {organizationId: $o, idpEntityId: \"i\", ssoUrl: \"https://idp.example/sso\", certificates: [$v]}) { enabled } }", json!({ "o": o, "v": "c@BAD" })),
        case("Mutation.configureSamlSso(input.emailAttribute)", Line("emailAttribute"), "mutation($o: ID!, $v: String) { configureSamlSso(input: {organizationId: $o, idpEntityId: \"i\", ssoUrl: \"no-url\", certificates: [\"c\"], emailAttribute: $v}) { enabled } }", json!({ "o": o, "v": "mail@BAD" })),
        case("Mutation.configureSamlSso(input.defaultRoleId)", Id("defaultRoleId"), "mutation($o: ID!, $v: ID) { configureSamlSso(input: {organizationId: $o, idpEntityId: \"i\", ssoUrl: \"no-url\", certificates: [\"c\"], defaultRoleId: $v}) { enabled } }", json!({ "o": o, "v": "@BAD" })),
        case("Mutation.configureSso(input.organizationId)", Id("organizationId"), "mutation($v: ID!) { configureSso(input: {organizationId: $v, issuer: \"no-url\", clientId: \"c\", clientSecret: \"s\"}) { enabled } }", json!({ "v": "@BAD" })),
        case("Mutation.configureSso(input.issuer)", Line("issuer"), "mutation($o: ID!, $v: String!) { configureSso(input: {organizationId: $o, issuer: $v, clientId: \"c\", clientSecret: \"s\"}) { enabled } }", json!({ "o": o, "v": "@BAD" })),
        case("Mutation.configureSso(input.clientId)", Line("clientId"), "mutation($o: ID!, $v: String!) { configureSso(input: {organizationId: $o, issuer: \"no-url\", clientId: $v, clientSecret: \"s\"}) { enabled } }", json!({ "o": o, "v": "c@BAD" })),
        case("Mutation.configureSso(input.clientSecret)", Line("clientSecret"), "mutation($o: ID!, $v: String) { configureSso(input: {organizationId: $o, issuer: \"no-url\", clientId: \"c\", clientSecret: $v}) { enabled } }", json!({ "o": o, "v": "s@BAD" })),
        case("Mutation.configureSso(input.defaultRoleId)", Id("defaultRoleId"), "mutation($o: ID!, $v: ID) { configureSso(input: {organizationId: $o, issuer: \"no-url\", clientId: \"c\", clientSecret: \"s\", defaultRoleId: $v}) { enabled } }", json!({ "o": o, "v": "@BAD" })),
        case("Mutation.disableSso(organizationId)", Id("organizationId"), "mutation($v: ID!) { disableSso(organizationId: $v) { enabled } }", json!({ "v": "@BAD" })),
        case("Mutation.addOrganizationDomain(organizationId)", Id("organizationId"), "mutation($v: ID!) { addOrganizationDomain(organizationId: $v, domain: \"acme.test\") { id } }", json!({ "v": "@BAD" })),
        case("Mutation.addOrganizationDomain(domain)", Line("domain"), "mutation($o: ID!, $v: String!) { addOrganizationDomain(organizationId: $o, domain: $v) { id } }", json!({ "o": o, "v": "acme@BAD.test" })),
        case("Mutation.verifyOrganizationDomain(id)", Id("id"), "mutation($v: ID!) { verifyOrganizationDomain(id: $v) { id } }", json!({ "v": "@BAD" })),
        case("Mutation.removeOrganizationDomain(id)", Id("id"), "mutation($v: ID!) { removeOrganizationDomain(id: $v) }", json!({ "v": "@BAD" })),
        case("Mutation.exchangeSsoCode(code)", Line("code"), "mutation($v: String!) { exchangeSsoCode(code: $v) { accessToken } }", json!({ "v": "csc_@BAD" })),
        case("Mutation.exchangeSsoCode(password)", OfferedPassword("password"), "mutation($v: String) { exchangeSsoCode(code: \"csc_unknown\", password: $v) { accessToken } }", json!({ "v": "@BAD" })),
        case("Mutation.verifyMfa(input.challenge)", Line("challenge"), "mutation($v: String!) { verifyMfa(input: {challenge: $v, totpCode: \"123456\"}) { accessToken } }", json!({ "v": "cmc_@BAD" })),
        case("Mutation.verifyMfa(input.totpCode)", Line("totpCode"), "mutation($v: String) { verifyMfa(input: {challenge: \"cmc_x\", totpCode: $v}) { accessToken } }", json!({ "v": "12@BAD34" })),
        case("Mutation.verifyMfa(input.recoveryCode)", Line("recoveryCode"), "mutation($v: String) { verifyMfa(input: {challenge: \"cmc_x\", recoveryCode: $v}) { accessToken } }", json!({ "v": "AB@BADCD" })),
        case("Mutation.confirmTotpEnrollment(code)", Line("code"), "mutation($v: String!) { confirmTotpEnrollment(code: $v) }", json!({ "v": "12@BAD34" })),
        case("Mutation.removeTotp(code)", Line("code"), "mutation($v: String!) { removeTotp(code: $v) }", json!({ "v": "12@BAD34" })),
        case("Mutation.setOrganizationMfaRequirement(organizationId)", Id("organizationId"), "mutation($v: ID!) { setOrganizationMfaRequirement(organizationId: $v, required: false) { id } }", json!({ "v": "@BAD" })),
        case("Mutation.beginSecurityKeyRegistration(name)", Name("name"), "mutation($v: String!) { beginSecurityKeyRegistration(name: $v) }", json!({ "v": "Key@BAD" })),
        case("Mutation.finishSecurityKeyRegistration(response)", Line("response"), "mutation($v: String!) { finishSecurityKeyRegistration(response: $v) { factor { id } } }", json!({ "v": "{@BAD}" })),
        case("Mutation.removeSecurityKey(id)", Id("id"), "mutation($v: ID!) { removeSecurityKey(id: $v) }", json!({ "v": "@BAD" })),
        case("Mutation.verifyMfa(input.webauthnResponse)", Line("webauthnResponse"), "mutation($v: String) { verifyMfa(input: {challenge: \"cmc_x\", webauthnResponse: $v}) { accessToken } }", json!({ "v": "{@BAD}" })),
        case("Mutation.resetUserMfa(email)", Line("email"), "mutation($v: String!) { resetUserMfa(email: $v) }", json!({ "v": "alice@BAD@example.com" })),
        case("Query.ssoSignIn(email)", Line("email"), "query($v: String!) { ssoSignIn(email: $v) }", json!({ "v": "alice@BAD@example.com" })),
        case("Mutation.acceptInvitation(input.password)", OfferedPassword("password"), "mutation($v: String) { acceptInvitation(input: {token: \"chi_unknown\", displayName: \"Carol\", password: $v}) { accessToken } }", json!({ "v": "@BAD" })),
    ]
}

/// Alice owns Acme (licensed for custom roles, with a text list and a custom role) and is a
/// platform operator.
async fn fixture() -> (TestApp, String, Ids) {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    charter::services::identity::users::set_operator(
        &app.state,
        &charter::services::audit::Actor::command_line(),
        &charter::domain::Email::parse("email", &alice.email).unwrap(),
        true,
    )
    .await
    .unwrap();
    let org = app.create_org(&alice, "Acme").await;
    app.license_custom_roles(&org).await;
    let token = app.login("alice@example.com").await.access_token;
    let o = org_id(&org);
    let body = app
        .gql(
            Some(&token),
            "mutation($o: ID!) {
               createList(input: {organizationId: $o, name: \"Notes\", kind: TEXT}) { id }
               createRole(input: {organizationId: $o, name: \"Analyst\", grants: [{resource: \"list\", level: \"read\"}]}) { id }
             }",
            json!({ "o": o }),
        )
        .await;
    let list = body["data"]["createList"]["id"]
        .as_str()
        .expect("a list")
        .to_owned();
    let role = body["data"]["createRole"]["id"]
        .as_str()
        .expect("a role")
        .to_owned();
    let body = app
        .gql(
            Some(&token),
            "{ viewer { memberships { nodes { id } } } }",
            json!({}),
        )
        .await;
    let membership = body["data"]["viewer"]["memberships"]["nodes"][0]["id"]
        .as_str()
        .expect("alice's membership")
        .to_owned();
    let body = app
        .gql(
            Some(&token),
            "mutation($o: ID!, $r: ID!) {
               createServiceAccount(input: {organizationId: $o, name: \"Deploy bot\", roleId: $r}) { id }
               createApiKey(input: {organizationId: $o, name: \"Laptop\", grants: []}) { apiKey { id } }
               createWebhookEndpoint(input: {organizationId: $o, url: \"https://93.184.216.34/hook\", events: [\"*\"]}) { endpoint { id } }
             }",
            json!({ "o": o, "r": role }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let webhook = body["data"]["createWebhookEndpoint"]["endpoint"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let ids = Ids {
        org: o,
        list,
        role,
        membership,
        service_account: body["data"]["createServiceAccount"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        webhook,
        scim_group: crate::scim::scim_group(&app, org.id, "Analysts").await,
    };
    (app, token, ids)
}

#[tokio::test]
async fn every_text_argument_refuses_control_characters_invisible_names_and_megabytes() {
    let (app, token, ids) = fixture().await;
    let cases = cases(&ids);

    // The table covers every text argument of the schema: a new one must say what it refuses.
    let covered: BTreeSet<String> = cases.iter().map(|c| c.path.to_owned()).collect();
    let schema = arguments_of_type(&app, &["String", "ID"]).await;
    let missing: Vec<_> = schema.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "text arguments without a case: {missing:?}"
    );
    let unknown: Vec<_> = covered.difference(&schema).collect();
    assert!(
        unknown.is_empty(),
        "cases for arguments the schema lacks: {unknown:?}"
    );

    let megabyte = "x".repeat(1 << 20);
    let values: [(&str, &str); 4] = [
        ("a NUL byte", "\u{0}"),
        ("an escape character", "\u{1b}[31m"),
        ("a bidirectional override", "\u{202E}"),
        ("a megabyte", &megabyte),
    ];
    let mut failures = Vec::new();
    for case in &cases {
        for (what, bad) in values {
            let variables = substitute(&case.variables, bad);
            let body = app.gql(Some(&token), case.query, variables).await;
            let error = &body["errors"][0];
            let code = error["extensions"]["code"].as_str().unwrap_or("none");
            let field = error["extensions"]["field"].as_str();
            let invalid = |name: &str| code == "INVALID_INPUT" && field == Some(name);
            let bidi = what == "a bidirectional override";
            let control = !bidi && what != "a megabyte";
            let ok = code != "INTERNAL"
                && match case.expect {
                    Expect::Line(name) => bidi || invalid(name),
                    Expect::Name(name) => invalid(name),
                    Expect::Id(name) => invalid(name) || code == "NOT_FOUND",
                    Expect::OfferedPassword(name) => control || bidi || invalid(name),
                };
            if !ok {
                let shown: String = body.to_string().chars().take(300).collect();
                failures.push(format!("{} with {what}: {shown}", case.path));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} refusals went wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn descriptions_keep_line_feeds_and_tabs_but_not_carriage_returns() {
    let (app, token, ids) = fixture().await;
    let update = "mutation($l: ID!, $v: String) { updateList(input: {listId: $l, description: $v}) { description } }";
    let body = app
        .gql(
            Some(&token),
            update,
            json!({ "l": ids.list, "v": "first line\n\tindented" }),
        )
        .await;
    assert_eq!(
        body["data"]["updateList"]["description"], "first line\n\tindented",
        "{body}"
    );
    let body = app
        .gql(
            Some(&token),
            update,
            json!({ "l": ids.list, "v": "first line\r\nsecond" }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "INVALID_INPUT",
        "{body}"
    );
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "description",
        "{body}"
    );
}
