//! GraphiQL at /graphiql: served from the binary, under a strict Content-Security-Policy, and
//! working in a real browser with no network beyond the server.

use crate::helpers::TestApp;
use crate::node;

/// The asset URLs the page names, in its order.
fn asset_urls(page: &str) -> Vec<String> {
    page.split(['"', '\''])
        .filter(|part| part.starts_with("/graphiql/assets/"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn graphiql_page_runs_only_its_own_scripts_and_cannot_be_framed() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!("{}/graphiql", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["x-frame-options"], "DENY");
    let csp = headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    for wanted in [
        "default-src 'self'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(directives.contains(&wanted), "{wanted} in {csp}");
    }
    let page = response.text().await.unwrap();
    assert!(
        !page.contains("https://") && !page.contains("http://"),
        "the page names no other host:\n{page}"
    );
    let scripts = page.matches("<script").count();
    assert_eq!(
        scripts,
        page.matches("<script src=\"/graphiql/assets/").count(),
        "no inline script:\n{page}"
    );
    assert_eq!(
        scripts, 4,
        "React, ReactDOM, GraphiQL and the start-up script"
    );
}

#[tokio::test]
async fn graphiql_assets_have_their_content_types_and_are_cached_for_good() {
    let app = TestApp::spawn().await;
    let page = app
        .client
        .get(format!("{}/graphiql", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let urls = asset_urls(&page);
    assert_eq!(urls.len(), 6, "{urls:?}");
    for url in &urls {
        let response = app
            .client
            .get(format!("{}{url}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let content_type = response.headers()["content-type"].to_str().unwrap();
        let expected = if url.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else {
            "text/css; charset=utf-8"
        };
        assert_eq!(content_type, expected, "{url}");
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable",
            "{url}"
        );
        assert!(!response.bytes().await.unwrap().is_empty(), "{url}");
    }
    // The digest in the path is the content's: another digest is not this file.
    let graphiql = urls
        .iter()
        .find(|url| url.ends_with("/graphiql.min.js"))
        .unwrap();
    let stale = format!(
        "{}/graphiql/assets/000000000000/graphiql.min.js",
        app.address
    );
    assert_ne!(graphiql, &stale);
    let response = app.client.get(stale).send().await.unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn graphiql_runs_a_query_in_a_browser_without_leaving_the_server() {
    if let Err(missing) = node::chromium() {
        node::skip_or_fail(&missing);
        return;
    }
    let app = TestApp::spawn().await;
    let Some(run) = node::run_script("graphiql-in-browser.mjs", &[&app.address]).await else {
        return;
    };
    println!("{}", run.output);
    assert!(run.success, "GraphiQL in Chromium:\n{}", run.output);
    assert!(
        run.output.contains(r#""key": "audit_log""#),
        "the result pane shows the answer:\n{}",
        run.output
    );
}
