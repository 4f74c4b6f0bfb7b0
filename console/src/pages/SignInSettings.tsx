// Sign-in settings: the organization's single sign-on (OpenID Connect or SAML), its claimed
// email domains with the DNS record that proves each, enforcement, and whether members need a
// second factor.
import { useState } from 'react';
import type { FormEvent } from 'react';
import { Checkbox } from 'react-aria-components';
import { request, useQuery } from '../api';
import { graphql } from '../gql';
import type { SignInSettingsPageQuery } from '../gql/graphql';
import { useStepUp } from '../mfa';
import { useSession } from '../session';
import { rolesWithin } from './Members';
import { ActionButton, Button, ErrorNote, Field, ScrollBox, Select, fieldError, formatDate } from '../ui';

const SettingsQuery = graphql(`
  query SignInSettingsPage($organizationId: ID!, $withRoles: Boolean!) {
    organization(id: $organizationId) {
      id
      mfaRequired
      roles @include(if: $withRoles) {
        id
        key
        name
        predefined
        seatClass
        grants {
          resource
          level
        }
      }
      sso {
        protocol
        issuer
        clientId
        enabled
        enforced
        jitProvisioning
        startUrl
        updatedAt
        defaultRole {
          id
          name
        }
        domains {
          id
          domain
          verified
          verifiedAt
          txtRecordName
          txtRecordValue
        }
        saml {
          idpEntityId
          ssoUrl
          serviceProvider {
            entityId
            acsUrl
            metadataUrl
          }
        }
        ldap {
          url
        }
      }
    }
  }
`);

const ConfigureOidc = graphql(`
  mutation ConsoleConfigureSso($input: ConfigureSsoInput!) {
    configureSso(input: $input) {
      enabled
    }
  }
`);

const ConfigureSaml = graphql(`
  mutation ConsoleConfigureSamlSso($input: ConfigureSamlSsoInput!) {
    configureSamlSso(input: $input) {
      enabled
    }
  }
`);

const DisableSso = graphql(`
  mutation ConsoleDisableSso($organizationId: ID!) {
    disableSso(organizationId: $organizationId) {
      enabled
    }
  }
`);

const AddDomain = graphql(`
  mutation ConsoleAddOrganizationDomain($organizationId: ID!, $domain: String!) {
    addOrganizationDomain(organizationId: $organizationId, domain: $domain) {
      id
    }
  }
`);

const VerifyDomain = graphql(`
  mutation ConsoleVerifyOrganizationDomain($id: ID!) {
    verifyOrganizationDomain(id: $id) {
      id
      verified
    }
  }
`);

const RemoveDomain = graphql(`
  mutation ConsoleRemoveOrganizationDomain($id: ID!) {
    removeOrganizationDomain(id: $id)
  }
`);

const SetMfaRequirement = graphql(`
  mutation ConsoleSetOrganizationMfaRequirement($organizationId: ID!, $required: Boolean!) {
    setOrganizationMfaRequirement(organizationId: $organizationId, required: $required) {
      id
      mfaRequired
    }
  }
`);

type Organization = NonNullable<SignInSettingsPageQuery['organization']>;

export function SignInSettingsPage() {
  const session = useSession();
  const run = useStepUp();
  const organizationId = session.organization!.id;
  const withRoles = session.access.can('Organization', 'roles').allowed;
  const query = useQuery(SettingsQuery, { organizationId, withRoles });
  const data: Organization | null = query.data?.organization ?? null;
  const load = query.reload;
  const [failure, setError] = useState<unknown>(null);
  const error = failure ?? query.error;
  const [notice, setNotice] = useState<string | null>(null);
  const [domain, setDomain] = useState('');
  const manage = (field: string) => session.access.can('Mutation', field);

  const act = (operation: () => Promise<unknown>, message: string) => {
    setError(null);
    return run(operation)
      .then(() => {
        setNotice(message);
        load();
      })
      .catch(setError);
  };

  const sso = data?.sso;
  const roles = rolesWithin(session, data?.roles ?? [], { owner: false });
  return (
    <>
      <h1>Sign-in settings</h1>
      <ErrorNote error={error} />
      {notice && (
        <p role="status" className="notice">
          {notice}
        </p>
      )}
      <div className="cards">
        <section className="card stack" aria-labelledby="mfa-heading">
          <h2 id="mfa-heading">Second factor</h2>
          <p>{data?.mfaRequired ? 'Members must have checked a second factor to see anything here.' : 'Members may sign in without a second factor.'}</p>
          <div className="row">
            <ActionButton
              action="setOrganizationMfaRequirement"
              decision={manage('setOrganizationMfaRequirement')}
              onPress={() =>
                void act(
                  () => request(SetMfaRequirement, { organizationId, required: !data?.mfaRequired }),
                  data?.mfaRequired ? 'A second factor is no longer required.' : 'A second factor is now required.',
                )
              }
            >
              {data?.mfaRequired ? 'Stop requiring a second factor' : 'Require a second factor'}
            </ActionButton>
          </div>
        </section>
        <section className="card stack" aria-labelledby="sso-heading">
          <h2 id="sso-heading">Single sign-on</h2>
          {sso?.protocol ? (
            <dl className="facts">
              <dt>Protocol</dt>
              <dd>{sso.protocol}</dd>
              <dt>State</dt>
              <dd>{sso.enabled ? `On${sso.enforced ? ', enforced for verified domains' : ''}` : 'Off'}</dd>
              {sso.issuer && (
                <>
                  <dt>Issuer</dt>
                  <dd>{sso.issuer}</dd>
                </>
              )}
              {sso.saml && (
                <>
                  <dt>Identity provider</dt>
                  <dd>{sso.saml.idpEntityId}</dd>
                  {sso.saml.serviceProvider && (
                    <>
                      <dt>Metadata for the provider</dt>
                      <dd>
                        <code>{sso.saml.serviceProvider.metadataUrl}</code>
                      </dd>
                    </>
                  )}
                </>
              )}
              <dt>New people</dt>
              <dd>{sso.jitProvisioning ? `Join with ${sso.defaultRole?.name ?? 'the default role'}` : 'Need an invitation'}</dd>
            </dl>
          ) : (
            <p>Not configured.</p>
          )}
          {sso?.enabled && (
            <div className="row">
              <ActionButton action="disableSso" decision={manage('disableSso')} variant="danger" onPress={() => void act(() => request(DisableSso, { organizationId }), 'Single sign-on is off.')}>
                Turn single sign-on off
              </ActionButton>
            </div>
          )}
        </section>
      </div>
      <section aria-labelledby="domains-heading">
        <h2 id="domains-heading">Email domains</h2>
        <p>Publish each domain's TXT record in its DNS, then verify it: people of verified domains sign in through your provider.</p>
        <ScrollBox label="Email domains">
          <table>
            <thead>
              <tr>
                <th scope="col">Domain</th>
                <th scope="col">TXT record to publish</th>
                <th scope="col">Verified</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sso?.domains.map((claimed) => (
                <tr key={claimed.id} data-domain={claimed.domain}>
                  <td>{claimed.domain}</td>
                  <td>
                    <code>{claimed.txtRecordName}</code> with the value <code data-testid="txt-value">{claimed.txtRecordValue}</code>
                  </td>
                  <td>{claimed.verified ? formatDate(claimed.verifiedAt) : 'Not yet'}</td>
                  <td className="actions">
                    {!claimed.verified && (
                      <ActionButton action="verifyOrganizationDomain" decision={manage('verifyOrganizationDomain')} label={`Verify ${claimed.domain}`} onPress={() => void act(() => request(VerifyDomain, { id: claimed.id }), `${claimed.domain} was checked.`)}>
                        Verify
                      </ActionButton>
                    )}
                    <ActionButton action="removeOrganizationDomain" decision={manage('removeOrganizationDomain')} variant="danger" label={`Remove ${claimed.domain}`} onPress={() => void act(() => request(RemoveDomain, { id: claimed.id }), `${claimed.domain} was given up.`)}>
                      Remove
                    </ActionButton>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollBox>
        {manage('addOrganizationDomain').allowed && (
          <form
            className="row"
            onSubmit={(event) => {
              event.preventDefault();
              void act(() => request(AddDomain, { organizationId, domain: domain.trim() }), `${domain.trim()} was claimed: publish its TXT record.`).then(() => setDomain(''));
            }}
          >
            <Field label="Domain to claim" value={domain} onChange={setDomain} error={fieldError(error, 'domain')} />
            <Button type="submit" data-action="addOrganizationDomain">
              Claim domain
            </Button>
          </form>
        )}
      </section>
      {manage('configureSso').allowed && (
        <div className="cards">
          <OidcForm roles={roles} current={sso ?? null} onSave={(input, message) => act(() => request(ConfigureOidc, { input: { ...input, organizationId } }), message)} error={error} />
          <SamlForm roles={roles} onSave={(input, message) => act(() => request(ConfigureSaml, { input: { ...input, organizationId } }), message)} error={error} />
        </div>
      )}
    </>
  );
}

interface Common {
  defaultRoleId: string | null;
  jitProvisioning: boolean;
  enforced: boolean;
}

function CommonFields(props: { roles: Array<{ id: string; name: string }>; value: Common; onChange: (value: Common) => void }) {
  return (
    <>
      <Select label="Role for new people" value={props.value.defaultRoleId} options={props.roles.map((role) => ({ id: role.id, label: role.name }))} onChange={(id) => props.onChange({ ...props.value, defaultRoleId: id })} />
      <Checkbox className="checkbox" isSelected={props.value.jitProvisioning} onChange={(jitProvisioning) => props.onChange({ ...props.value, jitProvisioning })}>
        People of verified domains join at their first sign-in
      </Checkbox>
      <Checkbox className="checkbox" isSelected={props.value.enforced} onChange={(enforced) => props.onChange({ ...props.value, enforced })}>
        Enforce: people of verified domains must sign in through the provider
      </Checkbox>
    </>
  );
}

function OidcForm(props: {
  roles: Array<{ id: string; name: string }>;
  current: Organization['sso'] | null;
  onSave: (input: { issuer: string; clientId: string; clientSecret: string | null } & Common, message: string) => void;
  error: unknown;
}) {
  const [issuer, setIssuer] = useState(props.current?.issuer ?? '');
  const [clientId, setClientId] = useState(props.current?.clientId ?? '');
  const [secret, setSecret] = useState('');
  const [common, setCommon] = useState<Common>({ defaultRoleId: props.current?.defaultRole?.id ?? null, jitProvisioning: props.current?.jitProvisioning ?? false, enforced: props.current?.enforced ?? false });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    props.onSave({ issuer, clientId, clientSecret: secret || null, ...common }, 'Single sign-on with OpenID Connect is on.');
  };
  return (
    <form className="card stack" aria-labelledby="oidc-heading" onSubmit={submit}>
      <h2 id="oidc-heading">OpenID Connect</h2>
      <Field label="Issuer URL" value={issuer} onChange={setIssuer} isRequired error={fieldError(props.error, 'issuer')} />
      <Field label="Client id" value={clientId} onChange={setClientId} isRequired error={fieldError(props.error, 'clientId')} />
      <Field label="Client secret" type="password" value={secret} onChange={setSecret} description="Required the first time; left empty, the stored one is kept." error={fieldError(props.error, 'clientSecret')} />
      <CommonFields roles={props.roles} value={common} onChange={setCommon} />
      <div className="row">
        <Button type="submit" variant="primary" data-action="configureSso">
          Save OpenID Connect
        </Button>
      </div>
    </form>
  );
}

function SamlForm(props: { roles: Array<{ id: string; name: string }>; onSave: (input: { metadataXml: string | null; metadataUrl: string | null; allowIdpInitiated: boolean } & Common, message: string) => void; error: unknown }) {
  const [metadataUrl, setMetadataUrl] = useState('');
  const [metadataXml, setMetadataXml] = useState('');
  const [common, setCommon] = useState<Common>({ defaultRoleId: null, jitProvisioning: false, enforced: false });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    props.onSave({ metadataXml: metadataXml.trim() || null, metadataUrl: metadataXml.trim() ? null : metadataUrl.trim() || null, allowIdpInitiated: false, ...common }, 'Single sign-on with SAML is on.');
  };
  return (
    <form className="card stack" aria-labelledby="saml-heading" onSubmit={submit}>
      <h2 id="saml-heading">SAML 2.0</h2>
      <Field label="Metadata URL" value={metadataUrl} onChange={setMetadataUrl} description="https://, fetched now; or paste the metadata below." error={fieldError(props.error, 'metadataUrl')} />
      <Field label="Metadata XML" value={metadataXml} onChange={setMetadataXml} multiline error={fieldError(props.error, 'metadataXml')} />
      <CommonFields roles={props.roles} value={common} onChange={setCommon} />
      <div className="row">
        <Button type="submit" variant="primary" data-action="configureSamlSso">
          Save SAML
        </Button>
      </div>
    </form>
  );
}
