// The signed-in frame: a skip link, the organization switcher, the pages the viewer's role
// can open, and the page itself.
import { useState } from 'react';
import { NavLink, Navigate, Outlet, useLocation } from 'react-router';
import { request } from './api';
import { graphql } from './gql';
import { StepUpProvider } from './mfa';
import { useSession, useSessionStatus } from './session';
import type { Session } from './session';
import { Button, ErrorNote, Select } from './ui';

const SetDefault = graphql(`
  mutation ConsoleSetDefaultOrganization($organizationId: ID!) {
    setDefaultOrganization(organizationId: $organizationId) {
      user {
        id
      }
    }
  }
`);

/** The pages, each with the field whose guard decides whether the viewer sees it. */
export const PAGES: Array<{ path: string; title: string; field: [string, string] }> = [
  { path: '/members', title: 'Members', field: ['Organization', 'members'] },
  { path: '/roles', title: 'Roles', field: ['Organization', 'roles'] },
  { path: '/api-keys', title: 'API keys', field: ['Organization', 'apiKeys'] },
  { path: '/lists', title: 'Lists', field: ['Organization', 'lists'] },
  { path: '/audit', title: 'Audit log', field: ['Organization', 'auditLog'] },
  { path: '/sign-in-settings', title: 'Sign-in settings', field: ['Organization', 'sso'] },
  { path: '/webhooks', title: 'Webhooks', field: ['Organization', 'webhookEndpoints'] },
  { path: '/security', title: 'Security', field: ['Viewer', 'mfaFactors'] },
];

export function visiblePages(session: Session) {
  return PAGES.filter(({ field: [type, field] }) =>
    type === 'Viewer' ? true : session.organization !== null && session.access.can(type, field).allowed,
  );
}

/** `/console/`: the first page the viewer's role opens. */
export function Home() {
  const session = useSession();
  const first = visiblePages(session)[0];
  return first ? <Navigate to={first.path} replace /> : <p>Your role here opens no page of the console.</p>;
}

export function SignedInLayout() {
  const status = useSessionStatus();
  if (!status.signedIn) return <Navigate to="/sign-in" replace />;
  if (status.error) {
    return (
      <main id="main">
        <ErrorNote error={status.error} />
      </main>
    );
  }
  if (status.loading) {
    return (
      <main id="main" aria-busy="true">
        <p role="status">Loading…</p>
      </main>
    );
  }
  return (
    <StepUpProvider>
      <Frame />
    </StepUpProvider>
  );
}

function OrganizationSwitcher() {
  const session = useSession();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const memberships = session.viewer.memberships.nodes;
  const active = session.organization?.id ?? null;
  const isDefault = session.viewer.user.defaultOrganization?.id === active;
  return (
    <div className="switcher">
      <Select
        label="Organization"
        value={active}
        options={memberships.map((membership) => ({
          id: membership.organization.id,
          label: `${membership.organization.name} (${membership.role.name})`,
        }))}
        onChange={(id) => {
          if (id === active) return;
          setBusy(true);
          setError(null);
          session
            .switchOrganization(id)
            .catch(setError)
            .finally(() => setBusy(false));
        }}
      />
      {active && (
        <Button
          variant="quiet"
          isDisabled={busy || isDefault}
          data-action="setDefaultOrganization"
          onPress={() => {
            setError(null);
            request(SetDefault, { organizationId: active })
              .then(() => session.reload())
              .catch(setError);
          }}
        >
          {isDefault ? 'Default organization' : 'Make default'}
        </Button>
      )}
      <ErrorNote error={error} />
    </div>
  );
}

function Frame() {
  const session = useSession();
  // The viewer's own security page needs no organization; every other page is one's.
  const ownPage = useLocation().pathname === '/security';
  const pages = visiblePages(session);
  return (
    <div className="frame">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Charter</span>
        <OrganizationSwitcher />
        <div className="who">
          <span>{session.viewer.user.email}</span>
          <Button variant="quiet" onPress={() => void session.signOut()}>
            Sign out
          </Button>
        </div>
      </header>
      <nav className="side" aria-label="Pages">
        <ul>
          {pages.map((page) => (
            <li key={page.path}>
              <NavLink to={page.path}>{page.title}</NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {session.organization || ownPage ? (
          <Outlet />
        ) : (
          <p>You belong to no organization yet: accept an invitation, or ask an administrator for one.</p>
        )}
      </main>
    </div>
  );
}
