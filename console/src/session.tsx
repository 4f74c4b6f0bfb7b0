// The signed-in session: the viewer, their active organization and what their role there
// grants, read once per sign-in or organization switch and shared by every page.
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import { currentTokens, onTokens, request, setTokens } from './api';
import type { Tokens } from './api';
import { graphql } from './gql';
import type { ConsoleCatalogQuery, ConsoleViewerQuery } from './gql/graphql';
import { Access } from './permissions';

const ViewerQuery = graphql(`
  query ConsoleViewer {
    viewer {
      user {
        id
        email
        displayName
        mfaEnabled
        defaultOrganization {
          id
        }
      }
      activeOrganization {
        id
        name
        publicId
        mfaRequired
        viewerRole {
          id
          key
          name
        }
        viewerPermissions {
          resource
          level
        }
      }
      memberships(first: 100) {
        nodes {
          id
          organization {
            id
            name
            publicId
          }
          role {
            name
          }
        }
      }
    }
  }
`);

const CatalogQuery = graphql(`
  query ConsoleCatalog {
    permissionCatalog {
      name
      resources {
        key
        name
        group
        description
        levels
        feature
      }
      dependencies {
        resource
        level
        requires {
          resource
          level
        }
      }
      roles {
        key
        name
        description
        seatClass
        owner
        grants {
          resource
          level
        }
      }
      guards {
        type
        field
        kind
        resource
        level
        stepUp
        person
      }
      auditActions
      webhookEventTypes
    }
  }
`);

const SwitchMutation = graphql(`
  mutation ConsoleSwitchOrganization($organizationId: ID!) {
    switchOrganization(organizationId: $organizationId) {
      accessToken
      refreshToken
    }
  }
`);

const LogoutMutation = graphql(`
  mutation ConsoleLogout {
    logout
  }
`);

export type Viewer = NonNullable<ConsoleViewerQuery['viewer']>;
export type Organization = NonNullable<Viewer['activeOrganization']>;
export type Catalog = ConsoleCatalogQuery['permissionCatalog'];

export interface Session {
  viewer: Viewer;
  organization: Organization | null;
  catalog: Catalog;
  access: Access;
  /** Reads the viewer again (after a change to their memberships or profile). */
  reload(): Promise<void>;
  switchOrganization(id: string): Promise<void>;
  signOut(): Promise<void>;
}

interface State {
  tokens: Tokens | null;
  loaded: { viewer: Viewer; catalog: Catalog } | null;
  error: unknown;
}

const SessionContext = createContext<Session | null>(null);
const SignedInContext = createContext<{ signedIn: boolean; loading: boolean; error: unknown }>({
  signedIn: false,
  loading: true,
  error: null,
});

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<State>({ tokens: currentTokens(), loaded: null, error: null });

  useEffect(() => onTokens((tokens) => setState((old) => ({ ...old, tokens }))), []);

  const load = useCallback(async () => {
    try {
      const [viewer, catalog] = await Promise.all([request(ViewerQuery, {}), request(CatalogQuery, {})]);
      if (!viewer.viewer) {
        setTokens(null);
        setState({ tokens: null, loaded: null, error: null });
        return;
      }
      setState((old) => ({
        ...old,
        loaded: { viewer: viewer.viewer!, catalog: catalog.permissionCatalog },
        error: null,
      }));
    } catch (error) {
      setState((old) => ({ ...old, error }));
    }
  }, []);

  const accessToken = state.tokens?.accessToken ?? null;
  useEffect(() => {
    if (accessToken) {
      void load();
    } else {
      setState((old) => ({ ...old, loaded: null }));
    }
    // A renewed access token for the same session needs no new read; a new session does.
  }, [accessToken === null, load]);

  const session = useMemo<Session | null>(() => {
    if (!state.tokens || !state.loaded) return null;
    const { viewer, catalog } = state.loaded;
    const organization = viewer.activeOrganization ?? null;
    const access = new Access(catalog.resources, organization?.viewerPermissions ?? [], catalog.guards);
    return {
      viewer,
      organization,
      catalog,
      access,
      reload: load,
      async switchOrganization(id: string) {
        const issued = await request(SwitchMutation, { organizationId: id });
        setTokens({
          accessToken: issued.switchOrganization.accessToken!,
          refreshToken: issued.switchOrganization.refreshToken ?? null,
        });
        await load();
      },
      async signOut() {
        try {
          await request(LogoutMutation, {});
        } finally {
          setTokens(null);
        }
      },
    };
  }, [state.tokens, state.loaded, load]);

  const status = {
    signedIn: state.tokens !== null,
    loading: state.tokens !== null && !state.loaded && !state.error,
    error: state.error,
  };
  return (
    <SignedInContext.Provider value={status}>
      <SessionContext.Provider value={session}>{children}</SessionContext.Provider>
    </SignedInContext.Provider>
  );
}

export function useSessionStatus() {
  return useContext(SignedInContext);
}

/** The session; only inside the signed-in layout, which renders nothing without one. */
export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}
