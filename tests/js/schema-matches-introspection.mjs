// Compares the committed SDL with what the live server answers to introspection, as tools see
// them: both are built into graphql-js schemas, sorted, and printed; the two texts must be the
// same byte for byte.
//
// Usage: node schema-matches-introspection.mjs <server-url> <schema.graphql>
// Exit status 0 when they agree, 1 with a line-by-line difference when they do not.

import { readFileSync } from 'node:fs';
import {
  buildClientSchema,
  buildSchema,
  getIntrospectionQuery,
  lexicographicSortSchema,
  printSchema,
} from 'graphql';

const [server, sdlPath] = process.argv.slice(2);
if (!server || !sdlPath) {
  console.error('usage: node schema-matches-introspection.mjs <server-url> <schema.graphql>');
  process.exit(2);
}

const response = await fetch(new URL('/graphql', server), {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
  body: JSON.stringify({
    query: getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: false,
      inputValueDeprecation: true,
    }),
  }),
});
const result = await response.json();
if (response.status !== 200 || result.errors) {
  console.error(`introspection failed with ${response.status}: ${JSON.stringify(result)}`);
  process.exit(1);
}

const print = (schema) => printSchema(lexicographicSortSchema(schema));
const live = print(buildClientSchema(result.data));
const committed = print(buildSchema(readFileSync(sdlPath, 'utf8')));

if (live === committed) {
  console.log(`the committed SDL and introspection agree (${live.split('\n').length} lines)`);
  process.exit(0);
}
const liveLines = live.split('\n');
const committedLines = committed.split('\n');
let shown = 0;
for (let i = 0; i < Math.max(liveLines.length, committedLines.length) && shown < 40; i++) {
  if (liveLines[i] !== committedLines[i]) {
    console.log(`line ${i + 1}:\n  introspection: ${liveLines[i] ?? '(none)'}\n  schema.graphql: ${committedLines[i] ?? '(none)'}`);
    shown++;
  }
}
console.log('the committed SDL and introspection differ');
process.exit(1);
