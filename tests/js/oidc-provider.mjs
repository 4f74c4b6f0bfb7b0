// A real OpenID provider (oidc-provider) on 127.0.0.1 for the single-sign-on tests.
//
//   node oidc-provider.mjs <config.json>
//
// config.json: { "clients": [{ "client_id", "client_secret", "redirect_uris": [...],
//                               "token_endpoint_auth_method" (default client_secret_basic) }],
//                "accounts": { "<login>": { "email", "email_verified", "name", "amr" } } }
//
// An account's optional `amr` (e.g. ["pwd", "mfa"]) is what the provider says its sign-in used:
// the ID token carries it, as an attacker's provider would claim it of anyone.
//
// Prints `issuer http://127.0.0.1:<port>` once it listens, and exits when its standard input
// closes (the test process ended or dropped it) or on SIGTERM.
//
// Signing in: the authorization endpoint redirects to /interaction/<uid>, a form that posts
// `prompt=login`, `login` and `password` (any password) back to /interaction/<uid>; then a
// consent form there posts `prompt=consent`, granting what the client asked for. These are the
// forms of oidc-provider's devInteractions, served by this script instead because devInteractions
// signs in any login at all, and the provider then fails with a server_error on a login that
// findAccount does not know. Here an unknown login gets the login form again.
//
// Only this script has the test hooks below, which make the provider misbehave so that the
// relying party's checks can be seen to work: POST /__test/mode with a JSON body
//   {"jwks": "foreign"}  the jwks_uri publishes only another key, so ID tokens no longer verify;
//   {"nonce": "tamper"}  authorization requests reach the provider with another nonce;
// and "normal" to undo either. Answers 204.

import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';

import Provider from 'oidc-provider';

// Standard output carries only the issuer line: the provider's notices go with its warnings.
console.info = console.error;

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

// Paths fixed here so that the hooks know which requests to change.
const AUTHORIZATION_PATH = '/auth';
const JWKS_PATH = '/jwks';
const INTERACTION_PATH = /^\/interaction\/([\w-]+)$/;

// Our own keys rather than the provider's generated development key, so that the "foreign" key
// is certain to differ in its kid.
function signingKey(kid) {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
}
const providerKey = signingKey(`provider-${crypto.randomUUID()}`);
const foreignKey = signingKey(`foreign-${crypto.randomUUID()}`);
const publicPart = ({ kty, n, e, kid, use, alg }) => ({ kty, n, e, kid, use, alg });

const mode = { jwks: 'normal', nonce: 'normal' };

// The issuer names the port, so the server listens before the provider exists.
const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: config.clients.map((client) => ({
    client_id: client.client_id,
    client_secret: client.client_secret,
    redirect_uris: client.redirect_uris,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    // Registered as basic, but oidc-provider takes the secret by either basic or post.
    token_endpoint_auth_method: client.token_endpoint_auth_method ?? 'client_secret_basic',
  })),
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  responseTypes: ['code'],
  // oidc-provider 9 knows only S256; by default it requires PKCE of public clients only.
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile'],
  claims: {
    // `amr` goes with the ID token whenever the sign-in has it (an account's configured `amr`).
    openid: ['sub', 'amr'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // By default the claims of the requested scopes go to the userinfo endpoint only, since an
  // access token is issued too; the relying party reads them from the ID token.
  conformIdTokenClaims: false,
  async findAccount(ctx, id) {
    const account = accountOf(id);
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: account.email,
          email_verified: account.email_verified,
          name: account.name,
        };
      },
    };
  },
  jwks: { keys: [providerKey] },
  // Plain http works: the provider sets `secure` on its cookies only for https requests.
  cookies: { keys: ['charter-test-cookie-key'] },
  routes: { authorization: AUTHORIZATION_PATH, jwks: JWKS_PATH },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});

// Otherwise a failure inside the provider shows only as "server_error" on its error page.
provider.on('server_error', (ctx, err) => console.error('server_error:', err));

function accountOf(login) {
  return Object.hasOwn(config.accounts, login) ? config.accounts[login] : undefined;
}

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, uid, prompt, fields, message = '') {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!DOCTYPE html><html><head><title>${prompt}</title></head><body>${message}
<form autocomplete="off" action="/interaction/${escape(uid)}" method="post">
<input type="hidden" name="prompt" value="${prompt}"/>
${fields}<button type="submit">Continue</button>
</form></body></html>`);
}

const LOGIN_FIELDS = '<input required type="text" name="login"/>\n'
  + '<input required type="password" name="password"/>\n';

function formBody(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

async function interaction(req, res, uid) {
  const {
    prompt, params, session, grantId,
  } = await provider.interactionDetails(req, res);
  if (req.method === 'GET') {
    if (prompt.name === 'login') return page(res, uid, 'login', LOGIN_FIELDS);
    return page(res, uid, 'consent', `<p>${escape(params.client_id)} asks for ${escape(params.scope)}</p>\n`);
  }

  const form = new URLSearchParams(await formBody(req));
  if (form.get('prompt') !== prompt.name) {
    return page(res, uid, prompt.name, prompt.name === 'login' ? LOGIN_FIELDS : '', '<p>out of step</p>');
  }
  if (prompt.name === 'login') {
    const login = form.get('login') ?? '';
    if (!accountOf(login)) {
      return page(res, uid, 'login', LOGIN_FIELDS, `<p>unknown login ${escape(login)}</p>`);
    }
    const { amr } = accountOf(login);
    return provider.interactionFinished(req, res, { login: { accountId: login, amr } }, {
      mergeWithLastSubmission: false,
    });
  }

  // Consent: grant whatever the provider found missing, as devInteractions does.
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const { details } = prompt;
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, {
    mergeWithLastSubmission: true,
  });
}

const callback = provider.callback();

server.on('request', (req, res) => {
  const url = new URL(req.url, issuer);

  if (req.method === 'POST' && url.pathname === '/__test/mode') {
    formBody(req).then((body) => {
      Object.assign(mode, JSON.parse(body));
      res.writeHead(204).end();
    }).catch((err) => res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err)));
    return;
  }

  if (mode.jwks === 'foreign' && req.method === 'GET' && url.pathname === JWKS_PATH) {
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
    res.end(JSON.stringify({ keys: [publicPart(foreignKey)] }));
    return;
  }

  // The provider reads the query from req.url, so changing it here is as if the browser had
  // sent another nonce. (Only the query of GET requests: the relying party redirects.)
  if (mode.nonce === 'tamper' && url.pathname === AUTHORIZATION_PATH && url.searchParams.has('nonce')) {
    url.searchParams.set('nonce', crypto.randomBytes(16).toString('base64url'));
    req.url = url.pathname + url.search;
  }

  const uid = INTERACTION_PATH.exec(url.pathname)?.[1];
  if (uid && (req.method === 'GET' || req.method === 'POST')) {
    interaction(req, res, uid).catch((err) => {
      console.error('interaction:', err);
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`interaction failed: ${err}`);
    });
    return;
  }

  callback(req, res);
});

process.stdout.write(`issuer ${issuer}\n`);

// Die with the test process: its end of our standard input closes when it exits or drops us.
const stop = () => process.exit(0);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
