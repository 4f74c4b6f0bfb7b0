// A SAML 2.0 identity provider (samlify, the Node implementation), driven by the Rust tests: it
// prints its own metadata and a signed login Response as a real provider would post it to the
// service provider's ACS. The test sets every value the provider would fill in (request id,
// audience, destination, times) so that each check has a case; what it alters afterwards, it
// alters in the signed XML itself.
//
// Usage: node saml-idp.mjs <params.json>
// where the file holds { key, cert, entityId, ssoUrl, sp: { entityId, acs },
//   response?: { id, inResponseTo, nameId, audience, destination, recipient, issueInstant,
//                notBefore, notOnOrAfter, signResponse, commentAt } }.
// With `request` (a redirect URL carrying an AuthnRequest), it also reads that request.
// Prints { metadata, request?, response?: <base64 SAMLResponse>, xml?: <its XML> } as one line.

import { readFileSync } from 'node:fs';
import saml from 'samlify';

// The provider side validates nothing it receives here; the checks under test are Charter's.
saml.setSchemaValidator({ validate: () => Promise.resolve('skipped') });

const params = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

const idp = saml.IdentityProvider({
  entityID: params.entityId,
  privateKey: params.key,
  signingCert: params.cert,
  isAssertionEncrypted: false,
  singleSignOnService: [{ Binding: REDIRECT, Location: params.ssoUrl }],
  nameIDFormat: ['urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress'],
});
const sp = saml.ServiceProvider({
  entityID: params.sp.entityId,
  wantAssertionsSigned: true,
  wantMessageSigned: Boolean(params.response?.signResponse),
  assertionConsumerService: [{ Binding: POST, Location: params.sp.acs }],
});

const out = { metadata: idp.getMetadata() };
if (params.request) {
  // A service provider's AuthnRequest, as the browser brings it (HTTP-Redirect binding).
  const query = Object.fromEntries(new URL(params.request).searchParams);
  const { extract } = await idp.parseLoginRequest(sp, 'redirect', { query });
  out.request = { ...extract.request, issuer: extract.issuer, relayState: query.RelayState };
}
if (params.response) {
  const r = params.response;
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
    NameIDFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    NameID: r.nameId,
    InResponseTo: r.inResponseTo,
    AuthnStatement: '',
    AttributeStatement: '',
  };
  const { context } = await idp.createLoginResponse(
    sp,
    { extract: { request: { id: r.inResponseTo } } },
    'post',
    { email: r.nameId },
    (template) => {
      let context = saml.SamlLib.replaceTagsByValue(template, values);
      // A comment inside the NameID, signed with it: `alice@acme.example<!---->.evil.example`.
      if (typeof r.commentAt === 'number') {
        const escaped = context.indexOf(`>${r.nameId}</saml:NameID>`) + 1;
        context = `${context.slice(0, escaped + r.commentAt)}<!---->${context.slice(escaped + r.commentAt)}`;
      }
      return { id: values.ID, context };
    },
  );
  out.response = context;
  out.xml = Buffer.from(context, 'base64').toString('utf8');
}
console.log(JSON.stringify(out));
