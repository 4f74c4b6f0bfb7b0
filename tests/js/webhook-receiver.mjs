// A webhook receiver on loopback, as a customer would run one: every request is verified with
// the `standardwebhooks` reference library (its `v1` signature, against each secret the test
// gave) and its `v1a` Ed25519 signature against the key of Charter's live
// /.well-known/jwks.json that its `webhook-key-id` names; then it answers as the test scripts it.
//
// Usage: node webhook-receiver.mjs <charter-url>
// Prints {"port": N} once listening on 127.0.0.1. Then:
//   POST /hook      a delivery: recorded, verified, answered with the scripted status
//   POST /control   {"secrets": [...], "status": 200, "delayMs": 0, "retryAfter": "5"}
//   GET  /received  every delivery so far:
//                   [{ id, type, keyId, v1, v1a, status, answered, body }]
// It exits when its standard input closes (the test ended).

import { createServer } from 'node:http';
import { createPublicKey, verify } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

const [charter] = process.argv.slice(2);
if (!charter) {
  console.error('usage: node webhook-receiver.mjs <charter-url>');
  process.exit(2);
}

let script = { secrets: [], status: 200, delayMs: 0, retryAfter: null };
const received = [];

const read = (request) =>
  new Promise((resolve, reject) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });

const v1 = (body, headers) =>
  script.secrets.some((secret) => {
    try {
      new Webhook(secret).verify(body, headers);
      return true;
    } catch {
      return false;
    }
  });

const v1a = async (body, headers, keyId) => {
  const response = await fetch(new URL('/.well-known/jwks.json', charter));
  const { keys } = await response.json();
  const signed = Buffer.from(
    `${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`,
  );
  const signatures = (headers['webhook-signature'] ?? '')
    .split(' ')
    .filter((part) => part.startsWith('v1a,'))
    .map((part) => Buffer.from(part.slice(4), 'base64'));
  return keys
    .filter((jwk) => jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && jwk.kid === keyId)
    .some((jwk) => {
      const key = createPublicKey({ key: jwk, format: 'jwk' });
      return signatures.some((signature) => verify(null, signed, key, signature));
    });
};

const server = createServer(async (request, response) => {
  const body = await read(request);
  if (request.method === 'POST' && request.url === '/control') {
    script = { ...script, ...JSON.parse(body) };
    response.writeHead(204).end();
    return;
  }
  if (request.method === 'GET' && request.url === '/received') {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(received));
    return;
  }
  const headers = {
    'webhook-id': request.headers['webhook-id'],
    'webhook-timestamp': request.headers['webhook-timestamp'],
    'webhook-signature': request.headers['webhook-signature'],
  };
  let type = null;
  try {
    type = JSON.parse(body).type;
  } catch {}
  const keyId = request.headers['webhook-key-id'];
  const entry = {
    id: headers['webhook-id'],
    type,
    keyId,
    contentType: request.headers['content-type'],
    v1: v1(body, headers),
    v1a: await v1a(body, headers, keyId).catch((error) => String(error)),
    status: script.status,
    answered: false,
    body,
  };
  received.push(entry);
  const { status, delayMs, retryAfter } = script;
  if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  const extra = retryAfter ? { 'retry-after': String(retryAfter) } : {};
  response.writeHead(status, extra);
  response.end('{"received":true}');
  entry.answered = !response.destroyed;
});

server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
