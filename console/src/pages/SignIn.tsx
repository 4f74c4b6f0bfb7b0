// Signing in: a password, the organization's identity provider (found by the email's domain),
// then a second factor when the account has one. `/console/sso` takes the provider's one-time
// code back.
import { useEffect, useRef, useState } from 'react';
import type { FormEvent } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { ApiError, request, setTokens } from '../api';
import { graphql } from '../gql';
import { SecondFactorForm } from '../mfa';
import type { Challenge } from '../mfa';
import { Button, ErrorNote, Field, fieldError } from '../ui';

const Login = graphql(`
  mutation ConsoleLogin($input: LoginInput!) {
    login(input: $input) {
      accessToken
      refreshToken
      mfaChallenge {
        token
        methods
        webauthnOptions
      }
    }
  }
`);

const SsoDiscovery = graphql(`
  query ConsoleSsoSignIn($email: String!) {
    ssoSignIn(email: $email)
  }
`);

const ExchangeCode = graphql(`
  mutation ConsoleExchangeSsoCode($code: String!, $password: String) {
    exchangeSsoCode(code: $code, password: $password) {
      accessToken
      refreshToken
      mfaChallenge {
        token
        methods
        webauthnOptions
      }
    }
  }
`);

interface Issued {
  accessToken?: string | null;
  refreshToken?: string | null;
  mfaChallenge?: Challenge | null;
}

/** Where a finished sign-in goes: the tokens are kept, the members page opens. */
function useFinish(setChallenge: (challenge: Challenge | null) => void) {
  const navigate = useNavigate();
  return (issued: Issued) => {
    if (issued.accessToken) {
      setTokens({ accessToken: issued.accessToken, refreshToken: issued.refreshToken ?? null });
      navigate('/', { replace: true });
    } else if (issued.mfaChallenge) {
      setChallenge(issued.mfaChallenge);
    }
  };
}

export function SignInPage() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [challenge, setChallenge] = useState<Challenge | null>(null);
  const finish = useFinish(setChallenge);

  const signIn = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setNote(null);
    try {
      const answer = await request(Login, { input: { email: email.trim(), password } });
      finish(answer.login);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  const singleSignOn = async () => {
    setError(null);
    setNote(null);
    if (!email.trim()) {
      setError(new ApiError({ message: 'enter your work email first', extensions: { field: 'email' } }));
      return;
    }
    try {
      const found = await request(SsoDiscovery, { email: email.trim() });
      if (!found.ssoSignIn) {
        setNote('No organization signs this email in with single sign-on: use your password.');
        return;
      }
      const start = new URL(found.ssoSignIn, window.location.origin);
      start.searchParams.set('return_to', `${window.location.origin}/console/sso`);
      window.location.assign(start.toString());
    } catch (caught) {
      setError(caught);
    }
  };

  return (
    <main className="sign-in" id="main">
      <h1>Sign in to Charter</h1>
      {challenge ? (
        <section aria-labelledby="second-factor-heading">
          <h2 id="second-factor-heading">Second factor</h2>
          <SecondFactorForm challenge={challenge} onVerified={finish} />
        </section>
      ) : (
        <form onSubmit={signIn} className="stack" aria-label="Sign in">
          <Field
            label="Email"
            type="email"
            name="email"
            value={email}
            onChange={setEmail}
            autoComplete="username"
            isRequired
            autoFocus
            error={fieldError(error, 'email')}
          />
          <Field
            label="Password"
            type="password"
            name="password"
            value={password}
            onChange={setPassword}
            autoComplete="current-password"
            error={fieldError(error, 'password')}
          />
          <div className="row">
            <Button type="submit" variant="primary" isDisabled={busy || !password}>
              Sign in
            </Button>
            <Button onPress={() => void singleSignOn()}>Sign in with single sign-on</Button>
          </div>
          {error instanceof ApiError && error.field ? null : <ErrorNote error={error} />}
          {note && <p role="status">{note}</p>}
        </form>
      )}
    </main>
  );
}

/** `/console/sso?sso_code=…`: the code a single sign-on handed back, exchanged once. */
export function SsoReturnPage() {
  const [params] = useSearchParams();
  const code = params.get('sso_code');
  const linkRequired = params.get('sso_link') === 'required';
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [challenge, setChallenge] = useState<Challenge | null>(null);
  const finish = useFinish(setChallenge);
  const exchanged = useRef(false);

  const exchange = async (withPassword?: string) => {
    if (!code) return;
    try {
      const answer = await request(ExchangeCode, { code, password: withPassword ?? null });
      finish(answer.exchangeSsoCode);
    } catch (caught) {
      setError(caught);
    }
  };

  useEffect(() => {
    // The code is good once: never exchanged twice, even when React runs effects twice.
    if (!linkRequired && !exchanged.current) {
      exchanged.current = true;
      void exchange();
    }
  }, []);

  return (
    <main className="sign-in" id="main">
      <h1>Signing in</h1>
      {!code && <ErrorNote error={new Error('The sign-in came back without a code: start again.')} />}
      {challenge && <SecondFactorForm challenge={challenge} onVerified={finish} />}
      {linkRequired && !challenge && (
        <form
          className="stack"
          onSubmit={(event) => {
            event.preventDefault();
            void exchange(password);
          }}
        >
          <p>Your identity provider names an existing Charter account. Confirm it is yours once with its password.</p>
          <Field label="Charter password" type="password" value={password} onChange={setPassword} autoComplete="current-password" isRequired />
          <Button type="submit" variant="primary">
            Link and sign in
          </Button>
        </form>
      )}
      <ErrorNote error={error} />
    </main>
  );
}
