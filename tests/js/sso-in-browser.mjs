// Runs a single sign-on in headless Chromium: opens Charter's start URL, signs in at the
// OpenID provider's login page and consents, and follows the redirects back to `return_to`.
// With `-` as the login, the provider asks nothing (a SAML provider whose page posts the
// Response to Charter's ACS by itself), and the browser only has to come back.
// Prints `returned <url>` with the URL the browser ended on (which carries the one-time code),
// and fails when the page asks anything of a host other than loopback or the dance loops.
//
// Usage: node sso-in-browser.mjs <start-url> <return-url-prefix> <login>
// CHROMIUM names the browser (default /usr/bin/chromium).

import { launch } from './chromium.mjs';

const [start, returnPrefix, login] = process.argv.slice(2);
if (!start || !returnPrefix || !login) {
  console.error('usage: node sso-in-browser.mjs <start-url> <return-url-prefix> <login>');
  process.exit(2);
}

const { context, close } = await launch('sso');
let failed = false;
try {
  // Charter and the provider both listen on loopback; nothing else may be asked.
  await context.route('**/*', (route) => {
    const host = new URL(route.request().url()).hostname;
    if (host === '127.0.0.1' || host === 'localhost') {
      return route.continue();
    }
    console.error(`request to another host: ${route.request().url()}`);
    failed = true;
    return route.abort();
  });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(start);
  if (login === '-') {
    await page.waitForURL((url) => url.href.startsWith(returnPrefix), { timeout: 20000 }).catch(() => {});
  }
  for (let step = 0; login !== '-' && step < 10 && !page.url().startsWith(returnPrefix); step += 1) {
    await page.waitForLoadState('load');
    if (page.url().startsWith(returnPrefix)) {
      break;
    }
    const submit = page.locator('button[type=submit]').first();
    if ((await page.locator('input[name=login]').count()) > 0) {
      console.log(`login page at ${new URL(page.url()).origin}`);
      await page.fill('input[name=login]', login);
      await page.fill('input[name=password]', 'any password');
    } else {
      console.log(`consent page at ${new URL(page.url()).origin}`);
    }
    await Promise.all([page.waitForNavigation(), submit.click()]);
  }
  if (!page.url().startsWith(returnPrefix)) {
    console.error(`the browser did not come back: it is at ${page.url()}`);
    console.error(await page.content());
    failed = true;
  } else {
    console.log(`returned ${page.url()}`);
  }
  const cookies = await context.cookies();
  console.log(`cookies: ${cookies.map((c) => `${c.name}@${c.domain}${c.path}`).join(' ')}`);
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
