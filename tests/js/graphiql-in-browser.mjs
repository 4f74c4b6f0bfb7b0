// Opens /graphiql in headless Chromium, runs a query through GraphiQL's editor and checks the
// answer shown in its result pane. Fails when the page asks anything of a host other than the
// server's, breaks its Content-Security-Policy, or logs an error.
//
// Usage: node graphiql-in-browser.mjs <server-url> [screenshot.png]
// CHROMIUM names the browser (default /usr/bin/chromium).

import { launch } from './chromium.mjs';

const [server, screenshot] = process.argv.slice(2);
if (!server) {
  console.error('usage: node graphiql-in-browser.mjs <server-url> [screenshot.png]');
  process.exit(2);
}
const origin = new URL(server).origin;
const QUERY = '{ permissionCatalog { resources { key } } }';
// A resource every policy declares, so it is in the answer whatever the policy.
const EXPECTED = '"key": "audit_log"';

const problems = [];
const { context, close } = await launch('graphiql');
try {
  // Every request the page makes goes through here: only the server's own origin is let out.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) {
      return route.continue();
    }
    problems.push(`request to another host: ${url}`);
    return route.abort();
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
    });
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (message) => {
    if (message.type() === 'error') {
      problems.push(`console error: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    problems.push(`failed request: ${request.url()} (${request.failure()?.errorText})`);
  });

  const response = await page.goto(`${origin}/graphiql`, { waitUntil: 'networkidle' });
  if (response.status() !== 200) {
    throw new Error(`/graphiql answered ${response.status()}`);
  }
  const editor = page.locator('.graphiql-query-editor .CodeMirror');
  await editor.waitFor({ timeout: 15000 });
  // CodeMirror 5 keeps its instance on its wrapper element; typing would fight its
  // auto-closing brackets.
  await editor.evaluate((element, query) => element.CodeMirror.setValue(query), QUERY);
  await page.locator('.graphiql-execute-button').click();
  const result = page.locator('.graphiql-response .CodeMirror');
  await result.filter({ hasText: EXPECTED }).waitFor({ timeout: 15000 });
  const shown = await result.evaluate((element) => element.CodeMirror.getValue());
  console.log(`result pane: ${shown.replace(/\s+/g, ' ')}`);
  // A dialog: GraphiQL adds an inline <style> to lock scrolling, which the CSP must allow.
  await page.locator('[aria-label="Open settings dialog"]').click();
  await page.getByRole('dialog').getByText('Clear storage').waitFor({ timeout: 5000 });
  await page.keyboard.press('Escape');
  if (screenshot) {
    await page.screenshot({ path: screenshot });
  }
  // Late arrivals: a violation or an error reported after the answer.
  await page.waitForTimeout(300);
} catch (error) {
  problems.push(`GraphiQL did not answer the query: ${error.message.split('\n')[0]}`);
} finally {
  await close();
}

for (const problem of problems) {
  console.log(problem);
}
if (problems.length > 0) {
  console.log(`GraphiQL failed: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log('GraphiQL ran the query from its own assets, within its CSP');
