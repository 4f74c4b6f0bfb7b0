// Starts GraphiQL on /graphiql. A file of its own, not an inline script, so that the page
// runs under a Content-Security-Policy of `script-src 'self'`.
'use strict';

(function () {
  const root = document.getElementById('graphiql');
  const endpoint = new URL(root.dataset.endpoint || '/graphql', window.location.origin);
  const fetcher = GraphiQL.createFetcher({
    url: endpoint.toString(),
    fetch: (url, options = {}) => fetch(url, { ...options, credentials: 'same-origin' }),
  });
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultEditorToolsVisibility: true,
    }),
  );
})();
