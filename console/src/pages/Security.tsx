// The viewer's own security: profile and password, an authenticator app, security keys,
// recovery codes, and their recent sign-ins and sessions.
import { useEffect, useState } from 'react';
import type { FormEvent } from 'react';
import { request, useQuery } from '../api';
import { graphql } from '../gql';
import type { SecurityPageQuery } from '../gql/graphql';
import { useStepUp } from '../mfa';
import { useSession } from '../session';
import { Button, DialogBox, ErrorNote, Field, Pager, ScrollBox, fieldError, formatDate, usePages } from '../ui';

const SecurityQuery = graphql(`
  query SecurityPage($first: Int!, $after: String) {
    viewer {
      user {
        id
        displayName
        mfaEnabled
      }
      mfaFactors {
        id
        kind
        name
        createdAt
        lastUsedAt
      }
      securityEvents(first: $first, after: $after) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        nodes {
          id
          at
          action
          ip
          userAgent
          description
        }
      }
    }
  }
`);

const UpdateProfile = graphql(`
  mutation ConsoleUpdateProfile($input: UpdateProfileInput!) {
    updateProfile(input: $input) {
      id
      displayName
    }
  }
`);

const ChangePassword = graphql(`
  mutation ConsoleChangePassword($input: ChangePasswordInput!) {
    changePassword(input: $input)
  }
`);

const BeginTotp = graphql(`
  mutation ConsoleBeginTotpEnrollment {
    beginTotpEnrollment {
      secret
      uri
      qrCodeSvg
    }
  }
`);

const ConfirmTotp = graphql(`
  mutation ConsoleConfirmTotpEnrollment($code: String!) {
    confirmTotpEnrollment(code: $code)
  }
`);

const RemoveTotp = graphql(`
  mutation ConsoleRemoveTotp($code: String!) {
    removeTotp(code: $code)
  }
`);

const BeginSecurityKey = graphql(`
  mutation ConsoleBeginSecurityKeyRegistration($name: String!) {
    beginSecurityKeyRegistration(name: $name)
  }
`);

const FinishSecurityKey = graphql(`
  mutation ConsoleFinishSecurityKeyRegistration($response: String!) {
    finishSecurityKeyRegistration(response: $response) {
      factor {
        id
        name
      }
      recoveryCodes
    }
  }
`);

const RemoveSecurityKey = graphql(`
  mutation ConsoleRemoveSecurityKey($id: ID!) {
    removeSecurityKey(id: $id)
  }
`);

const RegenerateRecoveryCodes = graphql(`
  mutation ConsoleRegenerateRecoveryCodes {
    regenerateRecoveryCodes
  }
`);

type Viewer = NonNullable<SecurityPageQuery['viewer']>;

function RecoveryCodes({ codes }: { codes: string[] }) {
  return (
    <div className="secret" data-testid="recovery-codes">
      <p>
        <strong>Recovery codes.</strong> Each signs you in once when your second factor is lost. They are shown this once:
        keep them somewhere safe.
      </p>
      <ul className="codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Creates a credential on a security key for the server's registration options. */
async function createCredential(options: string): Promise<string> {
  const parsed = JSON.parse(options) as { publicKey: PublicKeyCredentialCreationOptionsJSON };
  const credential = (await navigator.credentials.create({
    publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(parsed.publicKey),
  })) as PublicKeyCredential | null;
  if (!credential) throw new Error('The security key made no credential.');
  return JSON.stringify(credential.toJSON());
}

export function SecurityPage() {
  const session = useSession();
  const runChange = useStepUp();
  const pages = usePages();
  const query = useQuery(SecurityQuery, { first: 20, after: pages.after });
  const viewer: Viewer | null = query.data?.viewer ?? null;
  const load = query.reload;
  const [failure, setError] = useState<unknown>(null);
  const error = failure ?? query.error;
  const [codes, setCodes] = useState<string[] | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const changed = (message: string) => {
    setNotice(message);
    load();
    void session.reload();
  };
  const hasTotp = viewer?.mfaFactors.some((factor) => factor.kind === 'totp') ?? false;
  const keys = viewer?.mfaFactors.filter((factor) => factor.kind === 'webauthn') ?? [];

  return (
    <>
      <h1>Security</h1>
      <ErrorNote error={error} />
      {notice && (
        <p role="status" className="notice">
          {notice}
        </p>
      )}
      {codes && <RecoveryCodes codes={codes} />}
      <div className="cards">
        <Profile name={viewer?.user.displayName ?? ''} onSaved={() => changed('Your name was saved.')} />
        <PasswordCard run={runChange} onChanged={() => changed('Your password was changed; your other sessions ended.')} />
        <TotpCard
          enrolled={hasTotp}
          run={runChange}
          onEnrolled={(recovery) => {
            setCodes(recovery);
            changed('Your authenticator app is active.');
          }}
          onRemoved={() => changed('Your authenticator app was removed.')}
        />
        <section className="card" aria-labelledby="keys-heading">
          <h2 id="keys-heading">Security keys</h2>
          {keys.length === 0 ? (
            <p>No security key yet.</p>
          ) : (
            <ul className="plain">
              {keys.map((key) => (
                <li key={key.id} className="row" data-security-key={key.name}>
                  <span>
                    {key.name}, added {formatDate(key.createdAt)}, last used {formatDate(key.lastUsedAt)}
                  </span>
                  <Button
                    variant="danger"
                    data-action="removeSecurityKey"
                    aria-label={`Remove the security key ${key.name}`}
                    onPress={() => {
                      runChange(() => request(RemoveSecurityKey, { id: key.id }))
                        .then(() => changed(`The security key ${key.name} was removed.`))
                        .catch(setError);
                    }}
                  >
                    Remove
                  </Button>
                </li>
              ))}
            </ul>
          )}
          <AddSecurityKey
            run={runChange}
            onAdded={(name, recovery) => {
              if (recovery.length) setCodes(recovery);
              changed(`The security key ${name} was added.`);
            }}
          />
        </section>
        {viewer?.user.mfaEnabled && (
          <section className="card" aria-labelledby="recovery-heading">
            <h2 id="recovery-heading">Recovery codes</h2>
            <p>New codes replace the old ones at once.</p>
            <Button
              data-action="regenerateRecoveryCodes"
              onPress={() => {
                runChange(() => request(RegenerateRecoveryCodes, {}))
                  .then((answer) => setCodes(answer.regenerateRecoveryCodes))
                  .catch(setError);
              }}
            >
              New recovery codes
            </Button>
          </section>
        )}
      </div>
      <section aria-labelledby="events-heading">
        <h2 id="events-heading">Sign-ins and sessions</h2>
        <ScrollBox label="Sign-ins and sessions">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What</th>
                <th scope="col">Address</th>
                <th scope="col">Browser</th>
              </tr>
            </thead>
            <tbody>
              {viewer?.securityEvents.nodes.map((event) => (
                <tr key={event.id} data-event={event.action}>
                  <td>{formatDate(event.at)}</td>
                  <td>{event.description}</td>
                  <td>{event.ip ?? '—'}</td>
                  <td className="clip">{event.userAgent ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollBox>
        {viewer && (
          <Pager
            label="Security events"
            page={pages.page}
            total={viewer.securityEvents.totalCount}
            hasNext={viewer.securityEvents.pageInfo.hasNextPage}
            onNext={() => pages.next(viewer.securityEvents.pageInfo.endCursor)}
            onPrevious={pages.previous}
          />
        )}
      </section>
    </>
  );
}

function Profile(props: { name: string; onSaved: () => void }) {
  const [name, setName] = useState(props.name);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => setName(props.name), [props.name]);
  return (
    <form
      className="card stack"
      aria-labelledby="profile-heading"
      onSubmit={(event) => {
        event.preventDefault();
        request(UpdateProfile, { input: { displayName: name } }).then(props.onSaved).catch(setError);
      }}
    >
      <h2 id="profile-heading">Profile</h2>
      <Field label="Display name" value={name} onChange={setName} isRequired error={fieldError(error, 'displayName')} />
      <ErrorNote error={fieldError(error, 'displayName') ? null : error} />
      <div className="row">
        <Button type="submit">Save name</Button>
      </div>
    </form>
  );
}

function PasswordCard(props: { run: <T>(operation: () => Promise<T>) => Promise<T>; onChanged: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [error, setError] = useState<unknown>(null);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    props
      .run(() => request(ChangePassword, { input: { currentPassword: current, newPassword: next } }))
      .then(() => {
        setCurrent('');
        setNext('');
        props.onChanged();
      })
      .catch(setError);
  };
  return (
    <form className="card stack" aria-labelledby="password-heading" onSubmit={submit}>
      <h2 id="password-heading">Password</h2>
      <Field label="Current password" type="password" value={current} onChange={setCurrent} autoComplete="current-password" isRequired error={fieldError(error, 'currentPassword')} />
      <Field
        label="New password"
        type="password"
        value={next}
        onChange={setNext}
        autoComplete="new-password"
        isRequired
        description="12 to 128 characters, not a commonly used password."
        error={fieldError(error, 'newPassword')}
      />
      <ErrorNote error={fieldError(error, 'currentPassword') || fieldError(error, 'newPassword') ? null : error} />
      <div className="row">
        <Button type="submit" data-action="changePassword">
          Change password
        </Button>
      </div>
    </form>
  );
}

function TotpCard(props: {
  enrolled: boolean;
  run: <T>(operation: () => Promise<T>) => Promise<T>;
  onEnrolled: (codes: string[]) => void;
  onRemoved: () => void;
}) {
  const [enrollment, setEnrollment] = useState<{ secret: string; qrCodeSvg: string } | null>(null);
  const [code, setCode] = useState('');
  const [removing, setRemoving] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <section className="card stack" aria-labelledby="totp-heading">
      <h2 id="totp-heading">Authenticator app</h2>
      {props.enrolled ? (
        <>
          <p>An authenticator app is active.</p>
          <div className="row">
            <Button variant="danger" data-action="removeTotp" onPress={() => setRemoving(true)}>
              Remove the app
            </Button>
          </div>
        </>
      ) : enrollment ? (
        <form
          className="stack"
          onSubmit={(event) => {
            event.preventDefault();
            request(ConfirmTotp, { code: code.trim() })
              .then((answer) => {
                setEnrollment(null);
                setCode('');
                props.onEnrolled(answer.confirmTotpEnrollment);
              })
              .catch(setError);
          }}
        >
          <img
            className="qr"
            alt="QR code of the authenticator app's secret"
            src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(enrollment.qrCodeSvg)}`}
          />
          <p>
            Or type the secret: <code data-testid="totp-secret">{enrollment.secret}</code>
          </p>
          <Field label="First code from the app" value={code} onChange={setCode} inputMode="numeric" autoComplete="one-time-code" isRequired error={fieldError(error, 'code')} />
          <div className="row">
            <Button type="submit" variant="primary">
              Activate
            </Button>
          </div>
        </form>
      ) : (
        <div className="row">
          <Button
            data-action="beginTotpEnrollment"
            onPress={() => {
              setError(null);
              props
                .run(() => request(BeginTotp, {}))
                .then((answer) => setEnrollment(answer.beginTotpEnrollment))
                .catch(setError);
            }}
          >
            Set up an authenticator app
          </Button>
        </div>
      )}
      <ErrorNote error={fieldError(error, 'code') ? null : error} />
      <DialogBox title="Remove the authenticator app" open={removing} onClose={() => setRemoving(false)}>
        <form
          className="stack"
          onSubmit={(event) => {
            event.preventDefault();
            props
              .run(() => request(RemoveTotp, { code: code.trim() }))
              .then(() => {
                setRemoving(false);
                setCode('');
                props.onRemoved();
              })
              .catch(setError);
          }}
        >
          <Field label="A code from the app, or a recovery code" value={code} onChange={setCode} isRequired autoFocus />
          <ErrorNote error={error} />
          <div className="row">
            <Button type="submit" variant="danger">
              Remove
            </Button>
            <Button variant="quiet" onPress={() => setRemoving(false)}>
              Cancel
            </Button>
          </div>
        </form>
      </DialogBox>
    </section>
  );
}

function AddSecurityKey(props: { run: <T>(operation: () => Promise<T>) => Promise<T>; onAdded: (name: string, codes: string[]) => void }) {
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <form
      className="stack"
      onSubmit={(event) => {
        event.preventDefault();
        setBusy(true);
        setError(null);
        props
          .run(() => request(BeginSecurityKey, { name: name.trim() }))
          .then((answer) => createCredential(answer.beginSecurityKeyRegistration))
          .then((response) => request(FinishSecurityKey, { response }))
          .then((answer) => {
            setName('');
            props.onAdded(answer.finishSecurityKeyRegistration.factor.name, answer.finishSecurityKeyRegistration.recoveryCodes);
          })
          .catch(setError)
          .finally(() => setBusy(false));
      }}
    >
      <Field label="Name of the new key" value={name} onChange={setName} isRequired error={fieldError(error, 'name')} />
      <ErrorNote error={fieldError(error, 'name') ? null : error} />
      <div className="row">
        <Button type="submit" data-action="beginSecurityKeyRegistration" isDisabled={busy || !name.trim()}>
          Add a security key
        </Button>
      </div>
    </form>
  );
}
