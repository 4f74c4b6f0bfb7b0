// Gets a token with the OAuth client-credentials grant and verifies it the way another service
// would (the README's recipe), with an independent JOSE implementation: the endpoints come from
// the authorization server's metadata (RFC 8414), the keys from its JWKS, and `jose` checks the
// header's `typ: at+jwt` (RFC 9068), the EdDSA signature, the issuer, the audience and the
// lifetime. Given a session's access token too, it checks that the recipe refuses it: same
// keys, issuer and audience, but the header says `JWT`.
//
// Usage: node verify-client-token.mjs <server-url> <client-id> <client-secret> <audience> [<session-token>]
// Prints the verified claims (and why the session token was refused) as one line of JSON; exit
// status 1 when anything fails.

import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

const [server, clientId, clientSecret, audience, sessionToken] = process.argv.slice(2);
if (!server || !clientId || !clientSecret || !audience) {
  console.error('usage: node verify-client-token.mjs <server-url> <client-id> <client-secret> <audience> [<session-token>]');
  process.exit(2);
}

const fail = (message) => {
  console.error(message);
  process.exit(1);
};

const metadataResponse = await fetch(new URL('/.well-known/oauth-authorization-server', server));
if (!metadataResponse.ok) fail(`metadata: HTTP ${metadataResponse.status}`);
const metadata = await metadataResponse.json();
if (!metadata.grant_types_supported?.includes('client_credentials')) {
  fail(`the metadata does not offer client_credentials: ${JSON.stringify(metadata)}`);
}

// RFC 6749 §2.3.1: each part form-urlencoded, then HTTP Basic.
const basic = Buffer.from(
  `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`,
).toString('base64');
const tokenResponse = await fetch(metadata.token_endpoint, {
  method: 'POST',
  headers: {
    authorization: `Basic ${basic}`,
    'content-type': 'application/x-www-form-urlencoded',
  },
  body: new URLSearchParams({ grant_type: 'client_credentials' }),
});
const issued = await tokenResponse.json();
if (!tokenResponse.ok) fail(`token endpoint: HTTP ${tokenResponse.status} ${JSON.stringify(issued)}`);
if (issued.token_type !== 'Bearer') fail(`token_type is ${issued.token_type}`);

const header = decodeProtectedHeader(issued.access_token);
const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri));
// The recipe: a client-credentials token is an OAuth access token (`typ: at+jwt`), signed with
// EdDSA by a key of the JWKS, for this issuer and audience, and current.
const recipe = {
  typ: 'at+jwt',
  issuer: metadata.issuer,
  audience,
  algorithms: ['EdDSA'],
  requiredClaims: ['sub', 'exp', 'iat'],
};
let payload;
try {
  ({ payload } = await jwtVerify(issued.access_token, jwks, recipe));
} catch (err) {
  fail(`jose refused the token: ${err.code ?? ''} ${err.message}`);
}

let refused = null;
if (sessionToken) {
  try {
    await jwtVerify(sessionToken, jwks, recipe);
    fail('the recipe accepted a session access token as a client-credentials token');
  } catch (err) {
    refused = { code: err.code, claim: err.claim ?? null, message: err.message };
  }
}
console.log(JSON.stringify({ header, payload, expires_in: issued.expires_in, scope: issued.scope, refused }));

// The same token with its signature altered must be refused.
const [head, body, signature] = issued.access_token.split('.');
const flipped = signature[0] === 'A' ? 'B' : 'A';
try {
  await jwtVerify(`${head}.${body}.${flipped}${signature.slice(1)}`, jwks, {
    issuer: metadata.issuer,
    audience,
  });
  fail('jose accepted a token whose signature was altered');
} catch (err) {
  if (err.code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') {
    fail(`an altered signature failed for another reason: ${err.code} ${err.message}`);
  }
}
