// The console's only way to the server: POST /graphql with the session's bearer token. An
// expired access token is renewed once with the refresh token (one renewal at a time), and
// every GraphQL error becomes an ApiError carrying Charter's code and the field at fault.
import { useCallback, useEffect, useState } from 'react';
import type { TypedDocumentString } from './gql/graphql';

export interface Tokens {
  accessToken: string;
  refreshToken: string | null;
}

interface WireError {
  message: string;
  extensions?: Record<string, unknown>;
}

export class ApiError extends Error {
  readonly code: string;
  readonly field: string | null;
  readonly extensions: Record<string, unknown>;

  constructor(error: WireError) {
    super(error.message);
    this.extensions = error.extensions ?? {};
    this.code = typeof this.extensions.code === 'string' ? this.extensions.code : 'INTERNAL';
    this.field = typeof this.extensions.field === 'string' ? this.extensions.field : null;
  }

  /** The server asks for a fresh second-factor check before this change. */
  get stepUpRequired(): boolean {
    return this.extensions.stepUpRequired === true;
  }
}

const STORAGE_KEY = 'charter.console.session';

// Kept for the tab's life only (sessionStorage): a reload stays signed in, a new tab signs in.
let tokens: Tokens | null = readStoredTokens();
let listeners: Array<(tokens: Tokens | null) => void> = [];

function readStoredTokens(): Tokens | null {
  try {
    const stored = sessionStorage.getItem(STORAGE_KEY);
    return stored ? (JSON.parse(stored) as Tokens) : null;
  } catch {
    return null;
  }
}

export function currentTokens(): Tokens | null {
  return tokens;
}

export function setTokens(next: Tokens | null): void {
  tokens = next;
  if (next) {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
  } else {
    sessionStorage.removeItem(STORAGE_KEY);
  }
  for (const listener of listeners) listener(next);
}

export function onTokens(listener: (tokens: Tokens | null) => void): () => void {
  listeners.push(listener);
  return () => {
    listeners = listeners.filter((other) => other !== listener);
  };
}

async function post(query: string, variables: unknown, token: string | null) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch('/graphql', {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
    credentials: 'same-origin',
  });
  if (!response.ok && !(response.headers.get('content-type') ?? '').includes('json')) {
    throw new ApiError({ message: `the server answered ${response.status}` });
  }
  return (await response.json()) as { data?: unknown; errors?: WireError[] };
}

const REFRESH = `mutation ConsoleRefresh($refreshToken: String!) {
  refreshSession(refreshToken: $refreshToken) { accessToken refreshToken }
}`;

let renewal: Promise<boolean> | null = null;

// Exchanges the refresh token once for new tokens; false when the session is over.
function renew(): Promise<boolean> {
  const refreshToken = tokens?.refreshToken;
  if (!refreshToken) return Promise.resolve(false);
  renewal ??= post(REFRESH, { refreshToken }, null)
    .then((body) => {
      const issued = (body.data as { refreshSession?: Tokens } | null)?.refreshSession;
      if (body.errors?.length || !issued?.accessToken) {
        setTokens(null);
        return false;
      }
      setTokens({ accessToken: issued.accessToken, refreshToken: issued.refreshToken });
      return true;
    })
    .finally(() => {
      renewal = null;
    });
  return renewal;
}

/** Runs one operation; throws the first error (partial data is not used). */
export async function request<Result, Variables>(
  document: TypedDocumentString<Result, Variables>,
  variables: Variables,
): Promise<Result> {
  const query = document.toString();
  let body = await post(query, variables, tokens?.accessToken ?? null);
  const expired = body.errors?.some((error) => error.extensions?.code === 'UNAUTHENTICATED');
  if (expired && tokens?.refreshToken && (await renew())) {
    body = await post(query, variables, tokens?.accessToken ?? null);
  }
  if (body.errors?.length) {
    throw new ApiError(body.errors[0]);
  }
  return body.data as Result;
}

/** A message for any failure, naming the field when the server named one. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) {
    return error.field ? `${error.field}: ${error.message}` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs a query when the component mounts and again whenever its variables change or `reload`
 * is called; an answer that arrives after newer variables were asked for is dropped.
 */
export function useQuery<Result, Variables>(document: TypedDocumentString<Result, Variables>, variables: Variables) {
  const key = JSON.stringify(variables);
  const [state, setState] = useState<{ data: Result | null; error: unknown; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setState((old) => ({ ...old, loading: true }));
    request(document, JSON.parse(key) as Variables).then(
      (data) => current && setState({ data, error: null, loading: false }),
      (error: unknown) => current && setState((old) => ({ ...old, error, loading: false })),
    );
    return () => {
      current = false;
    };
  }, [document, key, round]);
  const reload = useCallback(() => setRound((value) => value + 1), []);
  return { ...state, reload };
}
