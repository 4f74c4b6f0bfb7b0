// A SAML 2.0 identity provider (samlify, the Node implementation), driven by the Rust tests.
//
// One-shot: `node saml-idp.mjs <params.json>` prints its own metadata and a signed login
// Response as a real provider would post it to the service provider's ACS. The test sets every
// value the provider would fill in (request id, audience, destination, times) so that each check
// has a case; what it alters afterwards, it alters in the signed XML itself. The file holds
// { key, cert, entityId, ssoUrl, sp: { entityId, acs },
//   response?: { id, inResponseTo, nameId, audience, destination, recipient, issueInstant,
//                notBefore, notOnOrAfter, signResponse, commentAt, attributes, authnContext } }.
// With `request` (a redirect URL carrying an AuthnRequest), it also reads that request.
// Prints { metadata, request?, response?: <base64 SAMLResponse>, xml?: <its XML> } as one line.
//
// Served: `node saml-idp.mjs --serve <params.json>` (no `ssoUrl`) listens on loopback as the
// provider a browser meets: `GET /sso` takes an AuthnRequest (HTTP-Redirect binding), signs the
// current person in without asking and answers the page that posts the Response to the ACS
// (HTTP-POST binding, submitted by a script as real providers do, or by hand); `GET /unsolicited
// ?RelayState=` posts a Response nobody asked for (IdP-initiated). `POST /control` with JSON
// sets the person ({ nameId, attributes, authnContext }) or the signing key ({ key, cert }).
// Prints { metadata, sso } as one line, then serves until it is killed.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import saml from 'samlify';

// The provider side validates nothing it receives here; the checks under test are Charter's.
saml.setSchemaValidator({ validate: () => Promise.resolve('skipped') });

const serve = process.argv[2] === '--serve';
const params = JSON.parse(readFileSync(process.argv[serve ? 3 : 2], 'utf8'));
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

function provider(key, cert, ssoUrl) {
  return saml.IdentityProvider({
    entityID: params.entityId,
    privateKey: key,
    signingCert: cert,
    isAssertionEncrypted: false,
    singleSignOnService: [{ Binding: REDIRECT, Location: ssoUrl }],
    nameIDFormat: [EMAIL_FORMAT],
  });
}

function serviceProvider(signResponse) {
  return saml.ServiceProvider({
    entityID: params.sp.entityId,
    wantAssertionsSigned: true,
    wantMessageSigned: Boolean(signResponse),
    assertionConsumerService: [{ Binding: POST, Location: params.sp.acs }],
  });
}

const escapeXml = (text) =>
  String(text).replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

function attributeStatement(attributes) {
  const entries = Object.entries(attributes ?? {});
  if (entries.length === 0) {
    return '';
  }
  const each = entries.map(
    ([name, value]) =>
      `<saml:Attribute Name="${escapeXml(name)}"><saml:AttributeValue xsi:type="xs:string">${escapeXml(value)}</saml:AttributeValue></saml:Attribute>`,
  );
  return `<saml:AttributeStatement>${each.join('')}</saml:AttributeStatement>`;
}

function authnStatement(context, at) {
  if (!context) {
    return '';
  }
  return `<saml:AuthnStatement AuthnInstant="${at}" SessionIndex="_s${randomUUID()}"><saml:AuthnContext><saml:AuthnContextClassRef>${escapeXml(context)}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`;
}

// A Response signed by `idp` as `r` asks; an unsolicited one (no `inResponseTo`) states no
// InResponseTo at all.
async function signedResponse(idp, r) {
  const values = {
    ID: `_r${r.id}`,
    AssertionID: `_a${r.id}`,
    Destination: r.destination,
    Audience: r.audience,
    SubjectRecipient: r.recipient,
    Issuer: params.entityId,
    IssueInstant: r.issueInstant,
    StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
    ConditionsNotBefore: r.notBefore,
    ConditionsNotOnOrAfter: r.notOnOrAfter,
    SubjectConfirmationDataNotOnOrAfter: r.notOnOrAfter,
    NameIDFormat: r.nameIdFormat ?? EMAIL_FORMAT,
    NameID: r.nameId,
    InResponseTo: r.inResponseTo ?? '',
  };
  const { context } = await idp.createLoginResponse(
    serviceProvider(r.signResponse),
    { extract: { request: { id: r.inResponseTo } } },
    'post',
    { email: r.nameId },
    (template) => {
      let xml = r.inResponseTo ? template : template.replaceAll(' InResponseTo="{InResponseTo}"', '');
      // Statements are XML of their own (the value replacement would escape them).
      xml = xml
        .replace('{AuthnStatement}', authnStatement(r.authnContext, r.issueInstant))
        .replace('{AttributeStatement}', attributeStatement(r.attributes));
      xml = saml.SamlLib.replaceTagsByValue(xml, values);
      // A comment inside the NameID, signed with it: `alice@acme.example<!---->.evil.example`.
      if (typeof r.commentAt === 'number') {
        const escaped = xml.indexOf(`>${r.nameId}</saml:NameID>`) + 1;
        xml = `${xml.slice(0, escaped + r.commentAt)}<!---->${xml.slice(escaped + r.commentAt)}`;
      }
      return { id: values.ID, context: xml };
    },
  );
  return context;
}

function oneShot() {
  return (async () => {
    const idp = provider(params.key, params.cert, params.ssoUrl);
    const out = { metadata: idp.getMetadata() };
    if (params.request) {
      // A service provider's AuthnRequest, as the browser brings it (HTTP-Redirect binding).
      const query = Object.fromEntries(new URL(params.request).searchParams);
      const { extract } = await idp.parseLoginRequest(serviceProvider(false), 'redirect', { query });
      out.request = { ...extract.request, issuer: extract.issuer, relayState: query.RelayState };
    }
    if (params.response) {
      out.response = await signedResponse(idp, params.response);
      out.xml = Buffer.from(out.response, 'base64').toString('utf8');
    }
    console.log(JSON.stringify(out));
  })();
}

// The page a provider answers a sign-in with: a form posting the Response to the ACS,
// submitted by its script (a button for a client that runs none).
function postingPage(response, relayState) {
  const relay = relayState === undefined ? '' : `<input type="hidden" name="RelayState" value="${escapeXml(relayState)}">`;
  return `<!doctype html><html><body><form method="post" action="${escapeXml(params.sp.acs)}">` +
    `<input type="hidden" name="SAMLResponse" value="${escapeXml(response)}">${relay}` +
    '<button type="submit">Continue</button></form>' +
    '<script>document.forms[0].submit()</script></body></html>';
}

function serveProvider() {
  const signer = { key: params.key, cert: params.cert };
  let person = { nameId: params.nameId ?? 'nobody@example.invalid' };
  const now = (minutes) => new Date(Date.now() + minutes * 60000).toISOString();
  // What the provider fills in, then what the test set: the person, and any value it wants
  // wrong (audience, destination, times in minutes from now as `notBeforeIn`/`expiresIn`).
  const answer = (inResponseTo) => ({
    id: randomUUID().replaceAll('-', ''),
    inResponseTo,
    audience: params.sp.entityId,
    destination: params.sp.acs,
    recipient: params.sp.acs,
    issueInstant: now(0),
    notBefore: now(person.notBeforeIn ?? -1),
    notOnOrAfter: now(person.expiresIn ?? 5),
    ...person,
  });
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const ssoUrl = `http://127.0.0.1:${server.address().port}/sso`;
    try {
      if (req.method === 'POST' && url.pathname === '/control') {
        let body = '';
        for await (const chunk of req) body += chunk;
        const change = JSON.parse(body);
        if (change.key) {
          Object.assign(signer, { key: change.key, cert: change.cert });
        } else {
          person = change;
        }
        res.writeHead(204).end();
        return;
      }
      const idp = provider(signer.key, signer.cert, ssoUrl);
      let page;
      if (url.pathname === '/sso') {
        const query = Object.fromEntries(url.searchParams);
        const { extract } = await idp.parseLoginRequest(serviceProvider(false), 'redirect', { query });
        page = postingPage(await signedResponse(idp, answer(extract.request.id)), query.RelayState);
      } else if (url.pathname === '/unsolicited') {
        page = postingPage(await signedResponse(idp, answer(undefined)), url.searchParams.get('RelayState') ?? undefined);
      } else {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err));
    }
  });
  server.listen(0, '127.0.0.1', () => {
    const sso = `http://127.0.0.1:${server.address().port}/sso`;
    console.log(JSON.stringify({ metadata: provider(signer.key, signer.cert, sso).getMetadata(), sso }));
  });
}

if (serve) {
  // The test holds stdin open: the provider never outlives it.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
  serveProvider();
} else {
  await oneShot();
}
