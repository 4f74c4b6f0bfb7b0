// Runs graphql-http's audit of the GraphQL-over-HTTP specification against a live server and
// prints every result. Fails when any MUST (status "error") or SHOULD (status "warn") does not
// pass; a MAY that does not pass ("notice") is printed only.
//
// Usage: node graphql-over-http-audit.mjs <server-url>

import { auditServer } from 'graphql-http';

const [server] = process.argv.slice(2);
if (!server) {
  console.error('usage: node graphql-over-http-audit.mjs <server-url>');
  process.exit(2);
}

const results = await auditServer({ url: new URL('/graphql', server).toString() });
const failed = [];
for (const result of results) {
  if (result.status === 'ok') {
    console.log(`ok      ${result.name}`);
    continue;
  }
  const body = await result.response.text().catch(() => '');
  console.log(`${result.status.padEnd(7)} ${result.name}\n        ${result.reason}\n        status ${result.response.status}: ${body.slice(0, 300)}`);
  if (result.status !== 'notice') {
    failed.push(result.name);
  }
}
const musts = results.filter((result) => result.name.startsWith('MUST')).length;
const shoulds = results.filter((result) => result.name.startsWith('SHOULD')).length;
console.log(`${results.length} audits (${musts} MUST, ${shoulds} SHOULD); ${failed.length} MUST or SHOULD not passed`);
process.exit(failed.length === 0 ? 0 : 1);
