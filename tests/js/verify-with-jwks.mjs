// Verifies a session's access token the way another service would, with an independent JOSE
// implementation (`jose`): against the key set each given Charter process publishes at
// /.well-known/jwks.json, for the issuer and audience, EdDSA only, and current.
//
// Usage: node verify-with-jwks.mjs <token> <issuer> <audience> <server-url>...
// Prints one line of JSON: [{ server, ok: true, kid } | { server, ok: false, code }], one
// entry per server, in order. Exit status 0 whatever the verdicts (the test reads them).

import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

const [token, issuer, audience, ...servers] = process.argv.slice(2);
if (!token || !issuer || !audience || servers.length === 0) {
  console.error('usage: node verify-with-jwks.mjs <token> <issuer> <audience> <server-url>...');
  process.exit(2);
}

const { kid } = decodeProtectedHeader(token);
const verdicts = [];
for (const server of servers) {
  const response = await fetch(new URL('/.well-known/jwks.json', server));
  if (!response.ok) {
    verdicts.push({ server, ok: false, code: `HTTP ${response.status}` });
    continue;
  }
  const keys = createLocalJWKSet(await response.json());
  try {
    await jwtVerify(token, keys, { issuer, audience, algorithms: ['EdDSA'], typ: 'JWT' });
    verdicts.push({ server, ok: true, kid });
  } catch (err) {
    verdicts.push({ server, ok: false, code: err.code ?? String(err) });
  }
}
console.log(JSON.stringify(verdicts));
