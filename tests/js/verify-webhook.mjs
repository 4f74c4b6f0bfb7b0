// Verifies a webhook delivery the way a receiver would: its `v1` signatures with the
// `standardwebhooks` reference library (one verification per secret the endpoint has), and its
// `v1a` Ed25519 signature against the key Charter publishes at /.well-known/jwks.json under the
// id its `webhook-key-id` header names. A copy
// of the body with one byte changed must fail both.
//
// Usage: node verify-webhook.mjs <server-url> <delivery.json>
// where the file holds { "secrets": ["whsec_…"], "headers": { "webhook-id": …, … }, "body": "…" }.
// Prints { v1: [true|"error", …], v1a: true|"error", tampered: { v1: …, v1a: … } } as one line.

import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';

const [server, file] = process.argv.slice(2);
if (!server || !file) {
  console.error('usage: node verify-webhook.mjs <server-url> <delivery.json>');
  process.exit(2);
}
const delivery = JSON.parse(readFileSync(file, 'utf8'));

const v1 = (body) =>
  delivery.secrets.map((secret) => {
    try {
      new Webhook(secret).verify(body, delivery.headers);
      return true;
    } catch (error) {
      return String(error.message ?? error);
    }
  });

const jwksResponse = await fetch(new URL('/.well-known/jwks.json', server));
if (!jwksResponse.ok) {
  console.error(`jwks: HTTP ${jwksResponse.status}`);
  process.exit(1);
}
const { keys } = await jwksResponse.json();
const v1a = (body) => {
  const signatures = delivery.headers['webhook-signature']
    .split(' ')
    .filter((part) => part.startsWith('v1a,'))
    .map((part) => Buffer.from(part.slice(4), 'base64'));
  if (signatures.length === 0) return 'no v1a signature';
  const signed = Buffer.from(
    `${delivery.headers['webhook-id']}.${delivery.headers['webhook-timestamp']}.${body}`,
  );
  const keyId = delivery.headers['webhook-key-id'];
  const ok = keys
    .filter((jwk) => jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && jwk.kid === keyId)
    .some((jwk) => {
      const key = createPublicKey({ key: jwk, format: 'jwk' });
      return signatures.some((signature) => verify(null, signed, key, signature));
    });
  return ok || `the published key ${keyId} does not verify the v1a signature`;
};

const tampered = delivery.body.length > 0
  ? delivery.body.slice(0, -1) + (delivery.body.endsWith('}') ? ' ' : '}')
  : 'x';
console.log(JSON.stringify({
  v1: v1(delivery.body),
  v1a: v1a(delivery.body),
  tampered: { v1: v1(tampered), v1a: v1a(tampered) },
}));
