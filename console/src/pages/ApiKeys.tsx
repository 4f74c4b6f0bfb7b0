// API keys and service accounts: keys listed (every key with `api_key: read`, else the
// viewer's own), created for the viewer or a service account within the viewer's grants (the
// secret shown once), revoked and rotated; service accounts created with a role and deleted.
import { useState } from 'react';
import type { FormEvent } from 'react';
import { request, useQuery } from '../api';
import { GrantEditor, grantsFrom, levelsFrom, missingDependencies } from '../grants';
import type { Levels } from '../grants';
import { graphql } from '../gql';
import type { ApiKeysPageQuery } from '../gql/graphql';
import { useStepUp } from '../mfa';
import { useSession } from '../session';
import { ActionButton, Button, DialogBox, ErrorNote, Field, Pager, ScrollBox, SecretOnce, Select, fieldError, formatDate, usePages } from '../ui';
import { rolesWithin } from './Members';

const ApiKeysQuery = graphql(`
  query ApiKeysPage(
    $organizationId: ID!
    $first: Int!
    $after: String
    $withOwners: Boolean!
    $withRoles: Boolean!
  ) {
    organization(id: $organizationId) {
      id
      apiKeys(first: $first, after: $after) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        nodes {
          id
          clientId
          name
          prefix
          createdAt
          expiresAt
          lastUsedAt
          revokedAt
          owner @include(if: $withOwners) {
            __typename
            ... on User {
              id
              email
            }
            ... on ServiceAccount {
              id
              name
            }
          }
        }
      }
      serviceAccounts(first: 100) @include(if: $withOwners) {
        nodes {
          id
          name
          description
          membership {
            id
            role {
              id
              name
            }
          }
        }
      }
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
    }
  }
`);

const CreateApiKey = graphql(`
  mutation ConsoleCreateApiKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      secret
      apiKey {
        id
        name
        clientId
      }
    }
  }
`);

const RevokeApiKey = graphql(`
  mutation ConsoleRevokeApiKey($id: ID!) {
    revokeApiKey(id: $id) {
      id
      revokedAt
    }
  }
`);

const RotateApiKey = graphql(`
  mutation ConsoleRotateApiKey($id: ID!) {
    rotateApiKey(id: $id) {
      secret
      apiKey {
        id
        name
      }
    }
  }
`);

const CreateServiceAccount = graphql(`
  mutation ConsoleCreateServiceAccount($input: CreateServiceAccountInput!) {
    createServiceAccount(input: $input) {
      id
      name
    }
  }
`);

const DeleteServiceAccount = graphql(`
  mutation ConsoleDeleteServiceAccount($id: ID!) {
    deleteServiceAccount(id: $id)
  }
`);

type Organization = NonNullable<ApiKeysPageQuery['organization']>;
type Key = NonNullable<Organization['apiKeys']>['nodes'][number];

export function ApiKeysPage() {
  const session = useSession();
  const runChange = useStepUp();
  const organizationId = session.organization!.id;
  const viewerId = session.viewer.user.id;
  const withOwners = session.access.can('Organization', 'serviceAccounts').allowed;
  const withRoles = session.access.can('Organization', 'roles').allowed;
  const pages = usePages();
  const [failure, setError] = useState<unknown>(null);
  const [creating, setCreating] = useState(false);
  const [creatingAccount, setCreatingAccount] = useState(false);
  const [secret, setSecret] = useState<{ name: string; clientId?: string; value: string } | null>(null);

  const query = useQuery(ApiKeysQuery, { organizationId, first: 25, after: pages.after, withOwners, withRoles });
  const data = query.data?.organization ?? null;
  const load = query.reload;
  const error = failure ?? query.error;

  const keys = data?.apiKeys;
  // A key is the viewer's own when they hold it; without `member: read` only own keys are listed.
  const ownKey = (key: Key) => !withOwners || (key.owner?.__typename === 'User' && key.owner.id === viewerId);

  const holderName = (key: Key) => {
    if (!key.owner) return withOwners ? '—' : 'You';
    return key.owner.__typename === 'User' ? key.owner.email : `${key.owner.name} (service account)`;
  };

  return (
    <>
      <div className="page-head">
        <h1>API keys</h1>
        <ActionButton
          action="createApiKey"
          decision={session.access.can('Mutation', 'createApiKey', { self: true })}
          variant="primary"
          onPress={() => setCreating(true)}
        >
          New API key
        </ActionButton>
      </div>
      <ErrorNote error={error} />
      {secret && (
        <SecretOnce
          label={`The secret of ${secret.name}${secret.clientId ? ` (client id ${secret.clientId})` : ''}.`}
          value={secret.value}
        />
      )}
      <ScrollBox label="API keys">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Prefix</th>
              <th scope="col">Holder</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys?.nodes.map((key) => {
              const own = ownKey(key);
              const revoked = key.revokedAt ? 'the key is revoked' : null;
              return (
                <tr key={key.id} data-key={key.name}>
                  <td>{key.name}</td>
                  <td>
                    <code>{key.prefix}</code>
                  </td>
                  <td>{holderName(key)}</td>
                  <td>{formatDate(key.createdAt)}</td>
                  <td>{key.revokedAt ? `Revoked ${formatDate(key.revokedAt)}` : key.expiresAt ? formatDate(key.expiresAt) : 'Never'}</td>
                  <td>{formatDate(key.lastUsedAt)}</td>
                  <td className="actions">
                    <ActionButton
                      action="rotateApiKey"
                      decision={session.access.can('Mutation', 'rotateApiKey', { self: own })}
                      label={`Rotate ${key.name}`}
                      unavailable={revoked}
                      onPress={() => {
                        setError(null);
                        runChange(() => request(RotateApiKey, { id: key.id }))
                          .then((answer) => {
                            setSecret({ name: answer.rotateApiKey.apiKey.name, value: answer.rotateApiKey.secret });
                            load();
                          })
                          .catch(setError);
                      }}
                    >
                      Rotate
                    </ActionButton>
                    <ActionButton
                      action="revokeApiKey"
                      decision={session.access.can('Mutation', 'revokeApiKey', { self: own })}
                      variant="danger"
                      label={`Revoke ${key.name}`}
                      unavailable={revoked}
                      onPress={() => {
                        setError(null);
                        request(RevokeApiKey, { id: key.id }).then(load).catch(setError);
                      }}
                    >
                      Revoke
                    </ActionButton>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </ScrollBox>
      {keys && (
        <Pager
          label="API keys"
          page={pages.page}
          total={keys.totalCount}
          hasNext={keys.pageInfo.hasNextPage}
          onNext={() => pages.next(keys.pageInfo.endCursor)}
          onPrevious={pages.previous}
        />
      )}
      {data?.serviceAccounts && (
        <section aria-labelledby="service-accounts-heading">
          <div className="page-head">
            <h2 id="service-accounts-heading">Service accounts</h2>
            <ActionButton
              action="createServiceAccount"
              decision={session.access.can('Mutation', 'createServiceAccount')}
              onPress={() => setCreatingAccount(true)}
            >
              New service account
            </ActionButton>
          </div>
          {data.serviceAccounts.nodes.length === 0 ? (
            <p>No service account yet.</p>
          ) : (
            <ul className="plain">
              {data.serviceAccounts.nodes.map((account) => (
                <li key={account.id} data-service-account={account.name} className="row">
                  <strong>{account.name}</strong> <span>{account.membership?.role.name}</span>
                  <ActionButton
                    action="deleteServiceAccount"
                    decision={session.access.can('Mutation', 'deleteServiceAccount')}
                    variant="danger"
                    label={`Delete ${account.name}`}
                    onPress={() => {
                      request(DeleteServiceAccount, { id: account.id }).then(load).catch(setError);
                    }}
                  >
                    Delete
                  </ActionButton>
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
      <CreateKeyDialog
        open={creating}
        accounts={data?.serviceAccounts?.nodes ?? []}
        onClose={() => setCreating(false)}
        run={runChange}
        onCreated={(created) => {
          setCreating(false);
          setSecret(created);
          load();
        }}
      />
      <CreateAccountDialog
        open={creatingAccount}
        roles={rolesWithin(session, data?.roles ?? [], { owner: false })}
        onClose={() => setCreatingAccount(false)}
        onCreated={() => {
          setCreatingAccount(false);
          load();
        }}
      />
    </>
  );
}

function CreateKeyDialog(props: {
  open: boolean;
  accounts: Array<{ id: string; name: string }>;
  onClose: () => void;
  onCreated: (created: { name: string; clientId: string; value: string }) => void;
  run: <T>(operation: () => Promise<T>) => Promise<T>;
}) {
  const session = useSession();
  const [name, setName] = useState('');
  const [holder, setHolder] = useState('me');
  const [days, setDays] = useState('');
  const [levels, setLevels] = useState<Levels>(() => levelsFrom(session, session.organization?.viewerPermissions ?? []));
  const [error, setError] = useState<unknown>(null);
  const manage = session.access.can('Mutation', 'createApiKey').allowed;
  const missing = missingDependencies(session, levels);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    props
      .run(() =>
        request(CreateApiKey, {
          input: {
            organizationId: session.organization!.id,
            name,
            serviceAccountId: holder === 'me' ? null : holder,
            grants: grantsFrom(session, levels),
            expiresInDays: days.trim() ? Number(days) : null,
          },
        }),
      )
      .then((answer) => {
        setName('');
        props.onCreated({ name: answer.createApiKey.apiKey.name, clientId: answer.createApiKey.apiKey.clientId, value: answer.createApiKey.secret });
      })
      .catch(setError);
  };

  return (
    <DialogBox title="New API key" open={props.open} onClose={props.onClose}>
      <form className="stack" onSubmit={submit}>
        <Field label="Name" value={name} onChange={setName} isRequired autoFocus error={fieldError(error, 'name')} />
        {manage && props.accounts.length > 0 && (
          <Select
            label="Held by"
            value={holder}
            options={[{ id: 'me', label: 'Me' }, ...props.accounts.map((account) => ({ id: account.id, label: `${account.name} (service account)` }))]}
            onChange={setHolder}
          />
        )}
        <Field
          label="Expires in days"
          value={days}
          onChange={setDays}
          inputMode="numeric"
          description="1 to 365; empty for a key that does not expire."
          error={fieldError(error, 'expiresInDays')}
        />
        <details>
          <summary>Grants (your own role's by default; the key never acts above its holder's role)</summary>
          <GrantEditor session={session} levels={levels} onChange={setLevels} />
        </details>
        <ErrorNote error={fieldError(error, 'name') || fieldError(error, 'expiresInDays') ? null : error} />
        <div className="row">
          <Button type="submit" variant="primary" isDisabled={!name.trim() || missing.length > 0}>
            Create key
          </Button>
          <Button variant="quiet" onPress={props.onClose}>
            Cancel
          </Button>
        </div>
      </form>
    </DialogBox>
  );
}

function CreateAccountDialog(props: {
  open: boolean;
  roles: Array<{ id: string; name: string }>;
  onClose: () => void;
  onCreated: () => void;
}) {
  const session = useSession();
  const [name, setName] = useState('');
  const [roleId, setRoleId] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  return (
    <DialogBox title="New service account" open={props.open} onClose={props.onClose}>
      <form
        className="stack"
        onSubmit={(event) => {
          event.preventDefault();
          if (!roleId) {
            setError(new Error('Choose a role.'));
            return;
          }
          request(CreateServiceAccount, { input: { organizationId: session.organization!.id, name, roleId } })
            .then(() => {
              setName('');
              props.onCreated();
            })
            .catch(setError);
        }}
      >
        <Field label="Name" value={name} onChange={setName} isRequired autoFocus error={fieldError(error, 'name')} />
        <Select label="Role" value={roleId} options={props.roles.map((role) => ({ id: role.id, label: role.name }))} onChange={setRoleId} />
        <ErrorNote error={fieldError(error, 'name') ? null : error} />
        <div className="row">
          <Button type="submit" variant="primary">
            Create service account
          </Button>
          <Button variant="quiet" onPress={props.onClose}>
            Cancel
          </Button>
        </div>
      </form>
    </DialogBox>
  );
}
