// The console's entry: the router under /console and the session around every page.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Navigate, RouterProvider, createBrowserRouter } from 'react-router';
import './console.css';
import { Home, SignedInLayout } from './Layout';
import { ApiKeysPage } from './pages/ApiKeys';
import { AuditPage } from './pages/Audit';
import { ListPage, ListsPage } from './pages/Lists';
import { MembersPage } from './pages/Members';
import { RoleEditorPage, RolesPage } from './pages/Roles';
import { SecurityPage } from './pages/Security';
import { SignInSettingsPage } from './pages/SignInSettings';
import { WebhooksPage } from './pages/Webhooks';
import { SignInPage, SsoReturnPage } from './pages/SignIn';
import { SessionProvider } from './session';

// React Aria adds a <style> element for one touch-action rule unless an element with this id
// exists; the page's policy allows no inline style, so the rule is in console.css and the
// stylesheet's <link> carries the id.
document.querySelector('link[rel="stylesheet"]')?.setAttribute('id', 'react-aria-pressable-style');

const router = createBrowserRouter(
  [
    { path: '/sign-in', element: <SignInPage /> },
    { path: '/sso', element: <SsoReturnPage /> },
    {
      path: '/',
      element: <SignedInLayout />,
      children: [
        { index: true, element: <Home /> },
        { path: 'members', element: <MembersPage /> },
        { path: 'roles', element: <RolesPage /> },
        { path: 'roles/new', element: <RoleEditorPage /> },
        { path: 'roles/:id', element: <RoleEditorPage /> },
        { path: 'api-keys', element: <ApiKeysPage /> },
        { path: 'lists', element: <ListsPage /> },
        { path: 'lists/:id', element: <ListPage /> },
        { path: 'audit', element: <AuditPage /> },
        { path: 'sign-in-settings', element: <SignInSettingsPage /> },
        { path: 'webhooks', element: <WebhooksPage /> },
        { path: 'security', element: <SecurityPage /> },
        { path: '*', element: <Navigate to="/" replace /> },
      ],
    },
  ],
  { basename: '/console' },
);

createRoot(document.getElementById('console')!).render(
  <StrictMode>
    <SessionProvider>
      <RouterProvider router={router} />
    </SessionProvider>
  </StrictMode>,
);
