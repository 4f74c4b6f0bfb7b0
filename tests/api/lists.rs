//! User-defined lists: validation per kind, all-or-nothing batches, paging, sharing with
//! partner organizations (read-only, never re-shared, revoked at once) and the text exports.

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, org_id};

const CREATE: &str = "mutation($o: ID!, $n: String!, $k: ListKind!) { createList(input: {organizationId: $o, name: $n, kind: $k}) { id name kind entryCount shared } }";
const ADD: &str = "mutation($l: ID!, $e: [ListEntryInput!]!) { addListEntries(input: {listId: $l, entries: $e}) { entryCount entriesChange { changed skipped } } }";
const REMOVE: &str = "mutation($l: ID!, $v: [String!]!) { removeListEntries(input: {listId: $l, values: $v}) { entryCount entriesChange { changed skipped } } }";
const ENTRIES: &str = "query($l: ID!, $first: Int, $after: String, $search: String) { node(id: $l) { ... on List { entryCount entries(first: $first, after: $after, search: $search) { totalCount pageInfo { hasNextPage endCursor } edges { node { value note addedBy { email } } } } } } }";
const SHARE: &str =
    "mutation($l: ID!, $s: Boolean!) { setListShared(id: $l, shared: $s) { shared } }";
const PARTNER: &str = "mutation($o: ID!, $p: ID!) { addSharePartner(organizationId: $o, partnerOrganizationId: $p) { sharePartners { id publicId name } } }";
const UNPARTNER: &str = "mutation($o: ID!, $p: ID!) { removeSharePartner(organizationId: $o, partnerOrganizationId: $p) { sharePartners { id } } }";
const SHARED_LISTS: &str = "query($o: ID!) { organization(id: $o) { sharedLists(first: 50) { totalCount edges { node { id name shared owner { id name publicId } entryCount entries(first: 10) { edges { node { value addedBy { email } } } } } } } } }";

async fn create_list(app: &TestApp, token: &str, org: &str, name: &str, kind: &str) -> String {
    let body = app
        .gql(
            Some(token),
            CREATE,
            json!({ "o": org, "n": name, "k": kind }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["createList"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn add(app: &TestApp, token: &str, list: &str, values: &[&str]) -> Value {
    let entries: Vec<Value> = values.iter().map(|v| json!({ "value": v })).collect();
    app.gql(Some(token), ADD, json!({ "l": list, "e": entries }))
        .await
}

fn values(body: &Value) -> Vec<String> {
    body["data"]["node"]["entries"]["edges"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|edge| edge["node"]["value"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn each_kind_takes_only_its_own_values_and_keeps_them_normalized() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let org = org_id(&app.create_org(&alice, "Acme").await);
    let token = app.login("alice@example.com").await.access_token;
    let cases: [(&str, &str, &str, &str); 7] = [
        ("IP", " 2001:0DB8:0:0:0:0:0:1 ", "2001:db8::1", "10.0.0.0/8"),
        ("CIDR", "10.0.0.0/8", "10.0.0.0/8", "10.0.0.1/8"),
        (
            "DOMAIN",
            "Bücher.Example.",
            "xn--bcher-kva.example",
            "http://example.com/",
        ),
        (
            "URL",
            "HTTPS://Example.COM",
            "https://example.com/",
            "ftp://example.com/",
        ),
        (
            "HASH",
            "D41D8CD98F00B204E9800998ECF8427E",
            "d41d8cd98f00b204e9800998ecf8427e",
            "d41d8cd98f00b204e9800998ecf8427",
        ),
        (
            "EMAIL",
            "Mallory@Example.COM",
            "mallory@example.com",
            "mallory",
        ),
        (
            "TEXT",
            "  Buy cheap pills  ",
            "Buy cheap pills",
            "bell\u{7}",
        ),
    ];
    for (kind, good, normalized, bad) in cases {
        let list = create_list(&app, &token, &org, &format!("{kind} list"), kind).await;
        let body = add(&app, &token, &list, &[good]).await;
        assert!(body["errors"].is_null(), "{kind}: {body}");
        let listed = app.gql(Some(&token), ENTRIES, json!({ "l": list })).await;
        assert_eq!(values(&listed), vec![normalized.to_owned()], "{kind}");

        // One bad value among good ones: INVALID_INPUT naming it, and nothing written.
        let body = add(&app, &token, &list, &["", bad, good]).await;
        assert_eq!(error_code(&body), "INVALID_INPUT", "{kind}: {body}");
        let error = &body["errors"][0]["extensions"];
        assert_eq!(error["field"], "entries");
        assert_eq!(error["invalidValues"]["count"], 2, "{kind}: {body}");
        let refused = error["invalidValues"]["values"].as_array().unwrap();
        assert_eq!(refused[0]["index"], 0);
        assert_eq!(refused[1]["index"], 1);
        assert_eq!(refused[1]["value"], bad);
        assert!(refused[1]["reason"].as_str().unwrap().len() > 3);
        let listed = app.gql(Some(&token), ENTRIES, json!({ "l": list })).await;
        assert_eq!(listed["data"]["node"]["entryCount"], 1, "{kind}: {listed}");
    }
}

#[tokio::test]
async fn batches_are_all_or_nothing_skip_what_is_present_and_page_in_value_order() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let org = org_id(&app.create_org(&alice, "Acme").await);
    let token = app.login("alice@example.com").await.access_token;
    let list = create_list(&app, &token, &org, "Blocked", "IP").await;

    // 150 bad values: the error lists the first 100 and counts them all.
    let mut batch: Vec<String> = (0..150).map(|i| format!("not-an-ip-{i}")).collect();
    batch.push("192.0.2.1".into());
    let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
    let body = add(&app, &token, &list, &refs).await;
    assert_eq!(error_code(&body), "INVALID_INPUT");
    let invalid = &body["errors"][0]["extensions"]["invalidValues"];
    assert_eq!(invalid["count"], 150);
    assert_eq!(invalid["values"].as_array().unwrap().len(), 100);

    let too_many: Vec<String> = (0..10_001)
        .map(|i| format!("10.0.{}.{}", i / 256, i % 256))
        .collect();
    let refs: Vec<&str> = too_many.iter().map(String::as_str).collect();
    let body = add(&app, &token, &list, &refs).await;
    assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");

    // 10,000 at once is allowed; repeats within the call and values already present are
    // skipped and counted.
    let body = add(&app, &token, &list, &refs[..10_000]).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(body["data"]["addListEntries"]["entryCount"], 10_000);
    let body = add(&app, &token, &list, &["10.0.0.1", "10.0.0.1", "192.0.2.9"]).await;
    assert_eq!(
        body["data"]["addListEntries"]["entriesChange"],
        json!({ "changed": 1, "skipped": 2 }),
        "{body}"
    );
    assert_eq!(body["data"]["addListEntries"]["entryCount"], 10_001);
    let body = app
        .gql(
            Some(&token),
            REMOVE,
            json!({ "l": list, "v": ["192.0.2.9", "192.0.2.10", "10.0.0.2"] }),
        )
        .await;
    assert_eq!(
        body["data"]["removeListEntries"]["entriesChange"],
        json!({ "changed": 2, "skipped": 1 }),
        "{body}"
    );
    assert_eq!(body["data"]["removeListEntries"]["entryCount"], 9_999);

    // Pages in byte order of the value, every entry once; a prefix search narrows them.
    let body = app
        .gql(
            Some(&token),
            ENTRIES,
            json!({ "l": list, "first": 3, "search": "10.0.1" }),
        )
        .await;
    assert_eq!(
        values(&body),
        ["10.0.1.0", "10.0.1.1", "10.0.1.10"],
        "{body}"
    );
    // 10.0.1.x and 10.0.10.x to 10.0.19.x.
    assert_eq!(body["data"]["node"]["entries"]["totalCount"], 11 * 256);
    assert_eq!(
        body["data"]["node"]["entries"]["edges"][0]["node"]["addedBy"]["email"],
        "alice@example.com"
    );
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let body = app
            .gql(
                Some(&token),
                ENTRIES,
                json!({ "l": list, "first": 100, "after": after, "search": "10.0.3" }),
            )
            .await;
        seen.extend(values(&body));
        let page = &body["data"]["node"]["entries"]["pageInfo"];
        if !page["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = page["endCursor"].as_str().map(str::to_owned);
    }
    let mut expected: Vec<String> = too_many[..10_000]
        .iter()
        .filter(|v| v.starts_with("10.0.3"))
        .cloned()
        .collect();
    expected.sort();
    assert_eq!(seen, expected);

    // One list asked for with two different pages in one query keeps them apart.
    let body = app
        .gql(
            Some(&token),
            "query($l: ID!) { node(id: $l) { ... on List { a: entries(first: 2) { edges { node { value } } } b: entries(first: 2, search: \"10.0.39.\") { edges { node { value } } } } } }",
            json!({ "l": list }),
        )
        .await;
    let page = |alias: &str| -> Vec<String> {
        body["data"]["node"][alias]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|edge| edge["node"]["value"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(page("a"), ["10.0.0.0", "10.0.0.1"]);
    assert_eq!(page("b"), ["10.0.39.0", "10.0.39.1"]);

    // Names are unique per organization, whatever their case.
    let body = app
        .gql(
            Some(&token),
            CREATE,
            json!({ "o": org, "n": "BLOCKED", "k": "DOMAIN" }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
}

/// Acme shares a list with Globex; Initech is no partner.
struct Sharing {
    app: TestApp,
    acme: String,
    globex: String,
    globex_model: entity::organization::Model,
    list: String,
    alice: String,
    bob: String,
    carol: String,
}

async fn sharing() -> Sharing {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let carol = app.create_user("carol@example.com").await;
    let acme = app.create_org(&alice, "Acme").await;
    let globex = app.create_org(&bob, "Globex").await;
    app.create_org(&carol, "Initech").await;
    let alice_token = app.login("alice@example.com").await.access_token;
    let list = create_list(&app, &alice_token, &org_id(&acme), "Botnet", "DOMAIN").await;
    let body = add(
        &app,
        &alice_token,
        &list,
        &["evil.example", "worse.example"],
    )
    .await;
    assert!(body["errors"].is_null(), "{body}");
    Sharing {
        acme: org_id(&acme),
        globex: org_id(&globex),
        globex_model: globex,
        list,
        alice: alice_token,
        bob: app.login("bob@example.com").await.access_token,
        carol: app.login("carol@example.com").await.access_token,
        app,
    }
}

impl Sharing {
    async fn shared_with_globex(&self) -> Value {
        self.app
            .gql(Some(&self.bob), SHARED_LISTS, json!({ "o": self.globex }))
            .await
    }

    async fn share(&self, shared: bool) {
        let body = self
            .app
            .gql(
                Some(&self.alice),
                SHARE,
                json!({ "l": self.list, "s": shared }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
    }

    async fn partner(&self, add: bool) -> Value {
        self.app
            .gql(
                Some(&self.alice),
                if add { PARTNER } else { UNPARTNER },
                json!({ "o": self.acme, "p": self.globex }),
            )
            .await
    }
}

#[tokio::test]
async fn partners_read_shared_lists_but_cannot_change_or_reshare_them() {
    let s = sharing().await;
    // Not shared yet, nor a partner: Globex sees nothing, and the list is NOT_FOUND to it.
    let body = s.shared_with_globex().await;
    assert_eq!(
        body["data"]["organization"]["sharedLists"]["totalCount"], 0,
        "{body}"
    );
    s.share(true).await;
    let body = s.shared_with_globex().await;
    assert_eq!(body["data"]["organization"]["sharedLists"]["totalCount"], 0);
    let body = s.partner(true).await;
    assert!(body["errors"].is_null(), "{body}");
    let partners = &body["data"]["addSharePartner"]["sharePartners"];
    assert_eq!(partners[0]["id"], s.globex);
    assert_eq!(partners[0]["name"], "Globex");
    let again = s.partner(true).await;
    assert_eq!(
        again["data"]["addSharePartner"]["sharePartners"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "picking a partner twice changes nothing: {again}"
    );

    let body = s.shared_with_globex().await;
    assert!(body["errors"].is_null(), "{body}");
    let shared = &body["data"]["organization"]["sharedLists"];
    assert_eq!(shared["totalCount"], 1);
    let node = &shared["edges"][0]["node"];
    assert_eq!(node["id"], s.list);
    assert_eq!(node["owner"]["id"], s.acme);
    assert_eq!(node["owner"]["name"], "Acme");
    assert_eq!(node["entryCount"], 2);
    assert_eq!(node["entries"]["edges"][0]["node"]["value"], "evil.example");
    assert!(
        node["entries"]["edges"][0]["node"]["addedBy"].is_null(),
        "who added an entry stays inside its organization"
    );
    // The owner's other fields stay private to its members. `license` is non-null, so its
    // refusal nulls the nearest nullable position: `owner` is non-null too, and so is the list's
    // `node` up to `node(id:)` itself.
    let body = s
        .app
        .gql(
            Some(&s.bob),
            "query($l: ID!) { node(id: $l) { ... on List { owner { name license { seats } } } } }",
            json!({ "l": s.list }),
        )
        .await;
    assert!(body["data"]["node"].is_null(), "{body}");
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    assert_eq!(
        body["errors"][0]["path"],
        json!(["node", "owner", "license"])
    );

    // Read-only: every change and re-sharing is FORBIDDEN, and nothing changes.
    let changes = [
        (
            ADD,
            json!({ "l": s.list, "e": [{ "value": "mine.example" }] }),
        ),
        (REMOVE, json!({ "l": s.list, "v": ["evil.example"] })),
        (SHARE, json!({ "l": s.list, "s": false })),
        (
            "mutation($l: ID!) { updateList(input: {listId: $l, name: \"Ours\"}) { name } }",
            json!({ "l": s.list }),
        ),
        (
            "mutation($l: ID!) { deleteList(id: $l) }",
            json!({ "l": s.list }),
        ),
    ];
    for (mutation, variables) in &changes {
        let body = s.app.gql(Some(&s.bob), mutation, variables.clone()).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{mutation}: {body}");
    }
    // Globex cannot pass it on: its own partners see only Globex's own shared lists.
    let dave = s.app.create_user("dave@example.com").await;
    let hooli = s.app.create_org(&dave, "Hooli").await;
    let body = s
        .app
        .gql(
            Some(&s.bob),
            PARTNER,
            json!({ "o": s.globex, "p": hooli.public_id }),
        )
        .await;
    assert!(
        body["errors"].is_null(),
        "a partner named by its public id: {body}"
    );
    let dave_token = s.app.login("dave@example.com").await.access_token;
    let body = s
        .app
        .gql(
            Some(&dave_token),
            SHARED_LISTS,
            json!({ "o": org_id(&hooli) }),
        )
        .await;
    assert_eq!(
        body["data"]["organization"]["sharedLists"]["totalCount"], 0,
        "{body}"
    );
    let body = s
        .app
        .gql(Some(&dave_token), ENTRIES, json!({ "l": s.list }))
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");

    // No partner at all: exactly as a list that does not exist.
    let body = s
        .app
        .gql(Some(&s.carol), ENTRIES, json!({ "l": s.list }))
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let body = s
        .app
        .gql(
            Some(&s.carol),
            ADD,
            json!({ "l": s.list, "e": [{ "value": "x.example" }] }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");

    let entries = s
        .app
        .gql(Some(&s.alice), ENTRIES, json!({ "l": s.list }))
        .await;
    assert_eq!(entries["data"]["node"]["entryCount"], 2, "{entries}");
}

#[tokio::test]
async fn unsharing_removing_a_partner_or_leaving_hides_shared_lists_on_the_next_request() {
    let s = sharing().await;
    s.share(true).await;
    s.partner(true).await;
    let erin = s.app.create_user("erin@example.com").await;
    let globex = s.globex_model.clone();
    s.app.add_member(&erin, &globex, "read_only_user").await;
    let erin_token = s.app.login("erin@example.com").await.access_token;
    let visible =
        |body: &Value| body["data"]["node"]["entryCount"] == 2 && body["errors"].is_null();
    let body = s
        .app
        .gql(Some(&erin_token), ENTRIES, json!({ "l": s.list }))
        .await;
    assert!(visible(&body), "{body}");

    s.share(false).await;
    let body = s
        .app
        .gql(Some(&erin_token), ENTRIES, json!({ "l": s.list }))
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "unshared: {body}");
    assert_eq!(
        s.shared_with_globex().await["data"]["organization"]["sharedLists"]["totalCount"],
        0
    );

    s.share(true).await;
    let body = s
        .app
        .gql(Some(&erin_token), ENTRIES, json!({ "l": s.list }))
        .await;
    assert!(visible(&body), "{body}");
    let body = s.partner(false).await;
    assert!(body["errors"].is_null(), "{body}");
    let body = s
        .app
        .gql(Some(&erin_token), ENTRIES, json!({ "l": s.list }))
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "partner removed: {body}");

    // A member removed from the receiving organization, still holding an old token.
    s.partner(true).await;
    let body = s
        .app
        .gql(Some(&erin_token), ENTRIES, json!({ "l": s.list }))
        .await;
    assert!(visible(&body), "{body}");
    let membership =
        charter::services::store::records::membership(s.app.state.database(), erin.id, globex.id)
            .await
            .unwrap()
            .unwrap();
    let body = s
        .app
        .gql(
            Some(&s.bob),
            "mutation($m: ID!) { removeMember(membershipId: $m) }",
            json!({ "m": charter::graphql::ids::NodeId::Membership(membership.id).to_id().0 }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let body = s
        .app
        .gql(Some(&erin_token), ENTRIES, json!({ "l": s.list }))
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "removed member: {body}");
    let body = s
        .app
        .gql(Some(&erin_token), SHARED_LISTS, json!({ "o": s.globex }))
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let response = s
        .app
        .client
        .get(format!("{}/lists/{}.txt", s.app.address, s.list))
        .bearer_auth(&erin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn share_partners_must_exist_and_differ_from_the_organization() {
    let s = sharing().await;
    let body = s
        .app
        .gql(Some(&s.alice), PARTNER, json!({ "o": s.acme, "p": s.acme }))
        .await;
    assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");
    let missing = charter::graphql::ids::NodeId::Organization(uuid::Uuid::now_v7())
        .to_id()
        .0;
    for partner in [missing.as_str(), "ORG-0000-0000"] {
        let body = s
            .app
            .gql(
                Some(&s.alice),
                PARTNER,
                json!({ "o": s.acme, "p": partner }),
            )
            .await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{partner}: {body}");
    }
    // Only with `list_sharing: manage` in the organization.
    let body = s
        .app
        .gql(Some(&s.bob), PARTNER, json!({ "o": s.acme, "p": s.globex }))
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
}

#[tokio::test]
async fn lists_download_as_text_and_csv_with_the_same_token() {
    let s = sharing().await;
    let body = s
        .app
        .gql(
            Some(&s.alice),
            "mutation($l: ID!) { addListEntries(input: {listId: $l, entries: [{value: \"a.example\", note: \"seen, twice \\\"here\\\"\"}]}) { entryCount } }",
            json!({ "l": s.list }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let get = |path: String, token: Option<String>| {
        let mut request = s.app.client.get(format!("{}{path}", s.app.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let response = get(format!("/lists/{}.txt", s.list), Some(s.alice.clone()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        response.text().await.unwrap(),
        "a.example\nevil.example\nworse.example\n"
    );
    let response = get(format!("/lists/{}.csv", s.list), Some(s.alice.clone()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(lines[0], "value,note,added_at");
    assert!(
        lines[1].starts_with("a.example,\"seen, twice \"\"here\"\"\","),
        "{csv}"
    );
    assert_eq!(
        lines.len(),
        5,
        "a header, three entries and the final line end: {csv}"
    );

    for (path, token, status) in [
        (format!("/lists/{}.txt", s.list), None, 401),
        (
            format!("/lists/{}.txt", s.list),
            Some("garbage".to_owned()),
            401,
        ),
        (format!("/lists/{}.txt", s.list), Some(s.carol.clone()), 404),
        (format!("/lists/{}.txt", s.list), Some(s.bob.clone()), 404),
        (format!("/lists/{}.pdf", s.list), Some(s.alice.clone()), 404),
        (
            "/lists/not-an-id.txt".to_owned(),
            Some(s.alice.clone()),
            404,
        ),
    ] {
        let response = get(path.clone(), token).await.unwrap();
        assert_eq!(response.status(), status, "{path}");
    }
    // A cell a spreadsheet would run as a formula is quoted in CSV, kept as is in text.
    let text = create_list(&s.app, &s.alice, &s.acme, "Phrases", "TEXT").await;
    let body = add(
        &s.app,
        &s.alice,
        &text,
        &["=HYPERLINK(\"http://x.example\")", "plain"],
    )
    .await;
    assert!(body["errors"].is_null(), "{body}");
    let csv = get(format!("/lists/{text}.csv"), Some(s.alice.clone()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("\r\n\"'=HYPERLINK(\"\"http://x.example\"\")\",,"),
        "{csv}"
    );
    let txt = get(format!("/lists/{text}.txt"), Some(s.alice.clone()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(txt, "=HYPERLINK(\"http://x.example\")\nplain\n");

    s.share(true).await;
    s.partner(true).await;
    let response = get(format!("/lists/{}.txt", s.list), Some(s.bob.clone()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "a partner reads the shared list");
    assert_eq!(response.text().await.unwrap().lines().count(), 3);
}
