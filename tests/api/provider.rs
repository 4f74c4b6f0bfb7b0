//! A real OpenID provider on loopback for the single-sign-on tests: npm's `oidc-provider`, run
//! by `tests/js/oidc-provider.mjs` with the clients and accounts a test gives it, and a person
//! signing in there, driven over HTTP.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;
use url::Url;

/// The provider, listening on `issuer` (`http://127.0.0.1:<port>`) until dropped.
pub struct OidcProvider {
    pub issuer: String,
    child: Child,
    /// What the provider printed on standard error, kept for failure messages. A file rather
    /// than a pipe, which would stop the provider once full.
    stderr: NamedTempFile,
    _config: NamedTempFile,
}

impl OidcProvider {
    /// Starts a provider that knows `clients` (id, secret, redirect URI; each may use
    /// client_secret_basic or client_secret_post) and `accounts` (login, email, whether the
    /// provider verified the email; the name is the login). `None` after saying why when node
    /// is missing (outside CI only).
    pub async fn start(
        clients: &[(&str, &str, &str)],
        accounts: &[(&str, &str, bool)],
    ) -> Option<OidcProvider> {
        Self::start_claiming(clients, accounts, &[]).await
    }

    /// [`Self::start`], with the `amr` the provider claims of some logins' sign-ins (what a
    /// provider its administrator controls says of anyone).
    pub async fn start_claiming(
        clients: &[(&str, &str, &str)],
        accounts: &[(&str, &str, bool)],
        amr: &[(&str, &[&str])],
    ) -> Option<OidcProvider> {
        if let Err(missing) = crate::node::node_tools() {
            crate::node::skip_or_fail(&missing);
            return None;
        }
        let config = serde_json::json!({
            "clients": clients
                .iter()
                .map(|(id, secret, redirect)| serde_json::json!({
                    "client_id": id,
                    "client_secret": secret,
                    "redirect_uris": [redirect],
                }))
                .collect::<Vec<_>>(),
            "accounts": accounts
                .iter()
                .map(|(login, email, verified)| ((*login).to_owned(), serde_json::json!({
                    "email": email,
                    "email_verified": verified,
                    "name": login,
                    "amr": amr.iter().find(|(l, _)| l == login).map(|(_, methods)| methods),
                })))
                .collect::<serde_json::Map<_, _>>(),
        });
        tokio::task::spawn_blocking(move || Self::spawn(&config))
            .await
            .expect("the provider's thread ends")
            .map(Some)
            .unwrap_or_else(|err| panic!("{err}"))
    }

    fn spawn(config: &Value) -> Result<OidcProvider, String> {
        crate::node::install_packages()?;
        let mut config_file = NamedTempFile::new().map_err(|err| err.to_string())?;
        config_file
            .write_all(config.to_string().as_bytes())
            .map_err(|err| err.to_string())?;
        let stdout = NamedTempFile::new().map_err(|err| err.to_string())?;
        let stderr = NamedTempFile::new().map_err(|err| err.to_string())?;
        let dir = crate::node::js_dir();
        let child = Command::new("node")
            .arg(dir.join("oidc-provider.mjs"))
            .arg(config_file.path())
            .current_dir(&dir)
            // Kept open: the script exits when it closes, so a provider never outlives its test
            // process, even one that is killed.
            .stdin(Stdio::piped())
            .stdout(stdout.reopen().map_err(|err| err.to_string())?)
            .stderr(stderr.reopen().map_err(|err| err.to_string())?)
            .spawn()
            .map_err(|err| format!("node oidc-provider.mjs could not start: {err}"))?;
        let mut provider = OidcProvider {
            issuer: String::new(),
            child,
            stderr,
            _config: config_file,
        };
        // The script prints its one line once it listens; two RSA keys come first, which takes
        // a while on a busy machine.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let printed = std::fs::read_to_string(stdout.path()).unwrap_or_default();
            if let Some(line) = printed.lines().find(|line| line.starts_with("issuer ")) {
                provider.issuer = line["issuer ".len()..].trim().to_owned();
                return Ok(provider);
            }
            if let Ok(Some(status)) = provider.child.try_wait() {
                return Err(format!(
                    "oidc-provider.mjs exited ({status}) before listening:\n{printed}{}",
                    provider.stderr_text()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "oidc-provider.mjs printed no issuer within 20 s:\n{printed}{}",
                    provider.stderr_text()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The provider's origin: a redirect to any other is the way out of the provider.
    pub fn origin(&self) -> url::Origin {
        Url::parse(&self.issuer)
            .expect("the issuer is a URL")
            .origin()
    }

    /// What the provider printed on standard error so far.
    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }

    /// Makes the provider misbehave: `{"jwks": "foreign"}` publishes only a key it does not
    /// sign with, `{"nonce": "tamper"}` swaps the nonce of the authorization requests that
    /// follow; `"normal"` undoes either.
    pub async fn set_mode(&self, body: Value) {
        let answer = reqwest::Client::new()
            .post(format!("{}/__test/mode", self.issuer))
            .json(&body)
            .send()
            .await
            .expect("the provider answers");
        assert_eq!(answer.status(), 204, "{:?}", answer.text().await);
    }

    /// Signs in at the provider as `login` (any password) in `browser` (a client with a cookie
    /// store that does not follow redirects), starting from `authorize_url`: follows redirects,
    /// fills the login form and grants consent, until a redirect leaves the provider. Returns
    /// where that redirect points: the relying party's callback with `code` and `state` (or an
    /// `error`). Panics if the provider does not accept `login`.
    pub async fn sign_in(
        &self,
        browser: &reqwest::Client,
        authorize_url: &str,
        login: &str,
    ) -> String {
        let origin = self.origin();
        let mut url = Url::parse(authorize_url).expect("the authorization URL is a URL");
        assert_eq!(
            url.origin(),
            origin,
            "{authorize_url} is not at the provider"
        );
        // The form to post to `url`, or None to get it.
        let mut form: Option<Vec<(String, String)>> = None;
        let mut logins = 0;
        for _ in 0..20 {
            let request = match form.take() {
                Some(fields) => browser.post(url.clone()).form(&fields),
                None => browser.get(url.clone()),
            };
            let answer = request
                .send()
                .await
                .unwrap_or_else(|err| panic!("{url}: {err}"));
            let status = answer.status();
            if status.is_redirection() {
                let location = answer
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or_else(|| panic!("{url} answered {status} without a Location"))
                    .to_owned();
                let next = url
                    .join(&location)
                    .unwrap_or_else(|err| panic!("{url} redirected to {location:?}: {err}"));
                if next.origin() != origin {
                    return next.to_string();
                }
                url = next;
                continue;
            }
            let body = answer.text().await.unwrap_or_default();
            let Some(page) = Form::parse(&body).filter(|_| status == 200) else {
                panic!(
                    "signing in as {login}: {url} answered {status}, neither a redirect nor a form:\n{body}\n{}",
                    self.stderr_text()
                );
            };
            let mut fields = page.hidden;
            match fields
                .iter()
                .find(|(name, _)| name == "prompt")
                .map(|(_, v)| v.as_str())
            {
                Some("login") => {
                    logins += 1;
                    assert!(
                        logins == 1,
                        "the provider does not accept the login {login}:\n{body}"
                    );
                    fields.push(("login".to_owned(), login.to_owned()));
                    fields.push(("password".to_owned(), "any password".to_owned()));
                }
                Some("consent") => {}
                _ => {
                    panic!("signing in as {login}: {url} shows a form of no known prompt:\n{body}")
                }
            }
            url = url
                .join(&page.action)
                .unwrap_or_else(|err| panic!("the form's action {:?}: {err}", page.action));
            form = Some(fields);
        }
        panic!(
            "signing in as {login}: still at the provider after 20 steps, at {url}\n{}",
            self.stderr_text()
        );
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The one form of a provider page: where it posts, and its hidden fields.
pub(crate) struct Form {
    pub action: String,
    pub hidden: Vec<(String, String)>,
}

impl Form {
    /// Reads the page's first `<form>` with the few attributes the provider's pages use. Not an
    /// HTML parser: the pages are the test script's own.
    pub fn parse(html: &str) -> Option<Form> {
        let start = html.find("<form")?;
        let end = start + html[start..].find("</form>")?;
        let form = &html[start..end];
        let action = attribute(&form[..form.find('>')?], "action")?;
        let hidden = form
            .split("<input")
            .skip(1)
            .filter_map(|input| {
                let tag = &input[..input.find('>')?];
                (attribute(tag, "type")? == "hidden")
                    .then(|| Some((attribute(tag, "name")?, attribute(tag, "value")?)))?
            })
            .collect();
        Some(Form { action, hidden })
    }
}

/// The value of `name="…"` in a tag, its character references decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let value = &tag[start..start + tag[start..].find('"')?];
    Some(unescape(value))
}

fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const VERIFIER: &str = "a-code-verifier-of-at-least-forty-three-characters";

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn test_provider() -> Option<OidcProvider> {
    OidcProvider::start(
        &[("rp", "rp-secret", REDIRECT)],
        &[("alice", "alice@example.test", true)],
    )
    .await
}

async fn discovery(provider: &OidcProvider) -> Value {
    let url = format!("{}/.well-known/openid-configuration", provider.issuer);
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// What a relying party would send the browser to: code flow, S256 PKCE.
fn authorize_url(discovery: &Value, nonce: &str) -> String {
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER));
    let mut url = Url::parse(discovery["authorization_endpoint"].as_str().unwrap()).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "rp")
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid email")
        .append_pair("state", "the-state")
        .append_pair("nonce", nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    url.into()
}

/// Redeems the callback's code: the ID token's claims, unverified.
async fn id_token_claims(discovery: &Value, callback: &str) -> Value {
    let query: std::collections::HashMap<_, _> = Url::parse(callback)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let tokens: Value = reqwest::Client::new()
        .post(discovery["token_endpoint"].as_str().unwrap())
        .basic_auth("rp", Some("rp-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", query["code"].as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id_token = tokens["id_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{tokens}"));
    let payload = id_token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn kid(jwks_uri: &str) -> String {
    let jwks: Value = reqwest::get(jwks_uri).await.unwrap().json().await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1, "{jwks}");
    jwks["keys"][0]["kid"].as_str().unwrap().to_owned()
}

/// The harness against the real provider alone: discovery, a sign-in with PKCE, the token
/// exchange, and the test hook that swaps the published key.
#[tokio::test]
async fn the_provider_signs_a_person_in_with_pkce() {
    let Some(provider) = test_provider().await else {
        return;
    };
    assert!(
        provider.issuer.starts_with("http://127.0.0.1:"),
        "{}",
        provider.issuer
    );
    let discovery = discovery(&provider).await;
    assert_eq!(discovery["issuer"], provider.issuer.as_str());
    let jwks_uri = discovery["jwks_uri"].as_str().unwrap().to_owned();
    assert!(jwks_uri.starts_with(&provider.issuer), "{discovery}");
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );

    let callback = provider
        .sign_in(&browser(), &authorize_url(&discovery, "the-nonce"), "alice")
        .await;
    assert!(callback.starts_with(&format!("{REDIRECT}?")), "{callback}");
    let query: std::collections::HashMap<_, _> = Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(query["state"], "the-state", "{callback}");
    assert_eq!(query["iss"], provider.issuer, "{callback}");
    let claims = id_token_claims(&discovery, &callback).await;
    assert_eq!(claims["email"], "alice@example.test", "{claims}");
    assert_eq!(claims["email_verified"], true, "{claims}");
    assert_eq!(claims["nonce"], "the-nonce", "{claims}");
    assert_eq!(claims["sub"], "alice", "{claims}");
    assert_eq!(claims["aud"], "rp", "{claims}");

    let published = kid(&jwks_uri).await;
    provider
        .set_mode(serde_json::json!({ "jwks": "foreign" }))
        .await;
    let foreign = kid(&jwks_uri).await;
    assert_ne!(published, foreign);
    provider
        .set_mode(serde_json::json!({ "jwks": "normal" }))
        .await;
    assert_eq!(kid(&jwks_uri).await, published);
}

/// The nonce hook, a second sign-in in the same browser (no forms: the provider remembers),
/// and a login the provider does not know.
#[tokio::test]
async fn the_provider_swaps_nonces_and_refuses_unknown_logins() {
    let Some(provider) = test_provider().await else {
        return;
    };
    let discovery = discovery(&provider).await;
    let alices = browser();
    provider
        .set_mode(serde_json::json!({ "nonce": "tamper" }))
        .await;
    let callback = provider
        .sign_in(&alices, &authorize_url(&discovery, "sent"), "alice")
        .await;
    let nonce = id_token_claims(&discovery, &callback).await["nonce"].clone();
    assert!(nonce.is_string() && nonce != "sent", "{nonce}");
    provider
        .set_mode(serde_json::json!({ "nonce": "normal" }))
        .await;
    let again = provider
        .sign_in(&alices, &authorize_url(&discovery, "sent"), "alice")
        .await;
    assert_eq!(id_token_claims(&discovery, &again).await["nonce"], "sent");

    // A browser of its own: the provider would remember alice in hers.
    let url = authorize_url(&discovery, "n");
    let refused = tokio::spawn(async move { provider.sign_in(&browser(), &url, "mallory").await });
    let panic = refused
        .await
        .expect_err("an unknown login is not signed in")
        .into_panic();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("does not accept the login mallory"),
        "{message}"
    );
}

#[test]
fn forms_are_read_with_their_hidden_fields() {
    let form = Form::parse(
        "<p>x</p><form autocomplete=\"off\" action=\"/interaction/a&amp;b\" method=\"post\">\n\
         <input type=\"hidden\" name=\"prompt\" value=\"login\"/>\n\
         <input required type=\"text\" name=\"login\"/></form>",
    )
    .unwrap();
    assert_eq!(form.action, "/interaction/a&b");
    assert_eq!(form.hidden, [("prompt".to_owned(), "login".to_owned())]);
    assert_eq!(unescape("&#60;&#x3e;&bogus"), "<>&bogus");
}
