// Registers a security key in headless Chromium with its DevTools virtual authenticator, then
// signs in with it: the page (one of Charter's, on its WebAuthn origin) asks Charter's GraphQL
// for the ceremonies' options and answers them with navigator.credentials. Prints
// `signed in <access token>` when the second sign-in's verifyMfa succeeded.
//
// Usage: node webauthn-in-browser.mjs <page-url> <access-token> <email> <password>
// CHROMIUM names the browser (default /usr/bin/chromium).

import { launch, virtualAuthenticator } from './chromium.mjs';

const [pageUrl, token, email, password] = process.argv.slice(2);
if (!pageUrl || !token || !email || !password) {
  console.error('usage: node webauthn-in-browser.mjs <page-url> <access-token> <email> <password>');
  process.exit(2);
}

const { context, close } = await launch('webauthn');
let failed = false;
try {
  // Nothing but the server's own origin may be asked.
  const origin = new URL(pageUrl).origin;
  await context.route('**/*', (route) => {
    if (new URL(route.request().url()).origin === origin) {
      return route.continue();
    }
    console.error(`request to another host: ${route.request().url()}`);
    failed = true;
    return route.abort();
  });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(pageUrl);
  const { cdp, authenticatorId } = await virtualAuthenticator(context, page);
  console.log(`virtual authenticator ${authenticatorId}`);
  const result = await page.evaluate(
    async ([token, email, password]) => {
      const gql = async (query, variables, bearer) => {
        const headers = { 'content-type': 'application/json' };
        if (bearer) headers.authorization = `Bearer ${bearer}`;
        const response = await fetch('/graphql', {
          method: 'POST',
          headers,
          body: JSON.stringify({ query, variables }),
        });
        const body = await response.json();
        if (body.errors) throw new Error(JSON.stringify(body.errors));
        return body.data;
      };
      const begun = await gql('mutation { beginSecurityKeyRegistration(name: "Virtual key") }', {}, token);
      const creation = JSON.parse(begun.beginSecurityKeyRegistration);
      const created = await navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(creation.publicKey),
      });
      const finished = await gql(
        'mutation($r: String!) { finishSecurityKeyRegistration(response: $r) { factor { kind } recoveryCodes } }',
        { r: JSON.stringify(created.toJSON()) },
        token,
      );
      const login = await gql(
        'mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { accessToken mfaChallenge { token webauthnOptions } } }',
        { e: email, p: password },
      );
      const request = JSON.parse(login.login.mfaChallenge.webauthnOptions);
      const asserted = await navigator.credentials.get({
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(request.publicKey),
      });
      const verified = await gql(
        'mutation($c: String!, $w: String) { verifyMfa(input: {challenge: $c, webauthnResponse: $w}) { accessToken } }',
        { c: login.login.mfaChallenge.token, w: JSON.stringify(asserted.toJSON()) },
      );
      return {
        registered: finished.finishSecurityKeyRegistration.factor.kind,
        codes: finished.finishSecurityKeyRegistration.recoveryCodes.length,
        tokenBeforeFactor: login.login.accessToken,
        access: verified.verifyMfa.accessToken,
      };
    },
    [token, email, password],
  );
  console.log(`registered a ${result.registered} key with ${result.codes} recovery codes`);
  if (result.tokenBeforeFactor !== null) {
    console.error('the login gave tokens before the second factor');
    failed = true;
  }
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  console.log(`the authenticator holds ${credentials.length} credential(s), sign count ${credentials[0]?.signCount}`);
  console.log(`signed in ${result.access}`);
} catch (error) {
  console.error(`WebAuthn in the browser failed: ${error.message}`);
  failed = true;
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
