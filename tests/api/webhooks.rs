//! Webhook deliveries as a receiver verifies them: the Standard Webhooks reference library for
//! the shared-secret signatures, the published JWKS for the Ed25519 one.

use charter::webhooks::signature::{Secret, headers};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::node;

#[tokio::test]
async fn a_delivery_verifies_with_the_reference_library_and_the_published_keys() {
    let app = TestApp::spawn().await;
    // Mid-rotation an endpoint signs with both secrets; a secret it does not hold verifies
    // nothing.
    let (current, previous, stranger) =
        (Secret::generate(), Secret::generate(), Secret::generate());
    let body = json!({
        "id": "0193a1b2-0000-7000-8000-000000000001",
        "type": "member.role_changed",
        "data": { "email": "bob@example.com", "émoji": "🔑" },
    })
    .to_string();
    let signed = headers(
        "msg_0193a1b2-0000-7000-8000-000000000001",
        chrono::Utc::now(),
        body.as_bytes(),
        &[current.clone(), previous.clone()],
        app.state.tokens.keys().current(),
    );
    assert_eq!(
        signed.signature.split(' ').count(),
        3,
        "{}",
        signed.signature
    );
    let delivery = json!({
        "secrets": [current.expose(), previous.expose(), stranger.expose()],
        "headers": {
            "webhook-id": signed.id,
            "webhook-timestamp": signed.timestamp.to_string(),
            "webhook-signature": signed.signature,
        },
        "body": body,
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("delivery.json");
    std::fs::write(&file, delivery.to_string()).unwrap();
    let Some(run) = node::run_script(
        "verify-webhook.mjs",
        &[&app.address, file.to_str().unwrap()],
    )
    .await
    else {
        return;
    };
    assert!(run.success, "verify-webhook.mjs:\n{}", run.output);
    let verified: Value = serde_json::from_str(run.output.trim()).expect(&run.output);
    assert_eq!(
        verified["v1"],
        json!([true, true, "No matching signature found"]),
        "{verified}"
    );
    assert_eq!(verified["v1a"], true, "{verified}");
    // One byte of the body changed: nothing verifies.
    assert!(
        verified["tampered"]["v1"]
            .as_array()
            .unwrap()
            .iter()
            .all(|answer| answer != &json!(true)),
        "{verified}"
    );
    assert_ne!(verified["tampered"]["v1a"], true, "{verified}");
}
