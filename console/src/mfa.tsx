// Second factors: answering a challenge (at sign-in, or a step-up before a sensitive change)
// with an authenticator app's code, a security key or a recovery code.
import { createContext, useCallback, useContext, useRef, useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import { ApiError, request, setTokens } from './api';
import { graphql } from './gql';
import type { ConsoleVerifyMfaMutation } from './gql/graphql';
import { Button, DialogBox, ErrorNote, Field } from './ui';

export interface Challenge {
  token: string;
  methods: string[];
  webauthnOptions?: string | null;
}

const VerifyMfa = graphql(`
  mutation ConsoleVerifyMfa($input: VerifyMfaInput!) {
    verifyMfa(input: $input) {
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

const StartChallenge = graphql(`
  mutation ConsoleStartMfaChallenge {
    startMfaChallenge {
      token
      methods
      webauthnOptions
    }
  }
`);

type Verified = ConsoleVerifyMfaMutation['verifyMfa'];

/** Asks the browser's security key to answer the challenge's WebAuthn options. */
async function securityKeyAnswer(options: string): Promise<string> {
  const parsed = JSON.parse(options) as { publicKey: PublicKeyCredentialRequestOptionsJSON };
  const credential = (await navigator.credentials.get({
    publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(parsed.publicKey),
  })) as PublicKeyCredential | null;
  if (!credential) throw new Error('The security key gave no answer.');
  return JSON.stringify(credential.toJSON());
}

/** The form that answers one challenge; `onVerified` gets the issued tokens. */
export function SecondFactorForm(props: { challenge: Challenge; onVerified: (verified: Verified) => void }) {
  const { challenge } = props;
  const [method, setMethod] = useState(challenge.methods.includes('totp') ? 'totp' : challenge.methods[0]);
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const verify = async (input: { totpCode?: string; recoveryCode?: string; webauthnResponse?: string }) => {
    setBusy(true);
    setError(null);
    try {
      const answer = await request(VerifyMfa, { input: { challenge: challenge.token, ...input } });
      props.onVerified(answer.verifyMfa);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  const codeForm = challenge.methods.includes('totp') || challenge.methods.includes('recovery_code');
  // A wrong code is shown at the code's field; anything else (a throttle, a security key's
  // refusal, a failure of the browser) below the form.
  const atField = codeForm && error instanceof ApiError && error.code !== 'RATE_LIMITED';

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void verify(method === 'totp' ? { totpCode: code.trim() } : { recoveryCode: code.trim() });
  };

  return (
    <div className="second-factor">
      {challenge.methods.includes('webauthn') && challenge.webauthnOptions && (
        <Button
          variant="primary"
          isDisabled={busy}
          onPress={() => {
            setError(null);
            securityKeyAnswer(challenge.webauthnOptions!)
              .then((webauthnResponse) => verify({ webauthnResponse }))
              .catch(setError);
          }}
        >
          Use a security key
        </Button>
      )}
      {codeForm && (
        <form onSubmit={submit} className="stack">
          <Field
            label={method === 'totp' ? 'Code from your authenticator app' : 'Recovery code'}
            value={code}
            onChange={setCode}
            autoComplete="one-time-code"
            inputMode={method === 'totp' ? 'numeric' : 'text'}
            isRequired
            autoFocus
            error={atField ? (error as ApiError).message : null}
          />
          <div className="row">
            <Button type="submit" variant="primary" isDisabled={busy || code.trim() === ''}>
              Verify
            </Button>
            {challenge.methods.includes('recovery_code') && challenge.methods.includes('totp') && (
              <Button
                variant="quiet"
                onPress={() => {
                  setCode('');
                  setMethod(method === 'totp' ? 'recovery_code' : 'totp');
                }}
              >
                {method === 'totp' ? 'Use a recovery code instead' : 'Use the app instead'}
              </Button>
            )}
          </div>
        </form>
      )}
      <ErrorNote error={atField ? null : error} />
    </div>
  );
}

type Run = <T>(operation: () => Promise<T>) => Promise<T>;

const StepUpContext = createContext<Run>((operation) => operation());

/**
 * Runs a change; when the server asks for a fresh second-factor check first, asks the person
 * for it and runs the change again once they have answered.
 */
export function StepUpProvider({ children }: { children: ReactNode }) {
  const [challenge, setChallenge] = useState<Challenge | null>(null);
  const [error, setError] = useState<unknown>(null);
  const pending = useRef<{ resolve: () => void; reject: (error: unknown) => void } | null>(null);

  const run = useCallback<Run>(async (operation) => {
    try {
      return await operation();
    } catch (error) {
      if (!(error instanceof ApiError) || !error.stepUpRequired) throw error;
      const started = await request(StartChallenge, {});
      setError(null);
      setChallenge(started.startMfaChallenge);
      await new Promise<void>((resolve, reject) => {
        pending.current = { resolve, reject };
      });
      return operation();
    }
  }, []);

  const close = (outcome: 'verified' | 'cancelled') => {
    setChallenge(null);
    const waiting = pending.current;
    pending.current = null;
    if (outcome === 'verified') waiting?.resolve();
    else waiting?.reject(new Error('The second-factor check was cancelled.'));
  };

  return (
    <StepUpContext.Provider value={run}>
      {children}
      <DialogBox title="Confirm it is you" open={challenge !== null} onClose={() => close('cancelled')}>
        <p>This change needs a recent check of your second factor.</p>
        {challenge && (
          <SecondFactorForm
            challenge={challenge}
            onVerified={(verified) => {
              if (verified.accessToken) {
                setTokens({ accessToken: verified.accessToken, refreshToken: verified.refreshToken ?? null });
                close('verified');
              } else {
                setError(new Error('The check did not complete.'));
              }
            }}
          />
        )}
        <ErrorNote error={error} />
        <Button variant="quiet" onPress={() => close('cancelled')}>
          Cancel
        </Button>
      </DialogBox>
    </StepUpContext.Provider>
  );
}

/** The runner of changes that may need a step-up. */
export function useStepUp(): Run {
  return useContext(StepUpContext);
}
