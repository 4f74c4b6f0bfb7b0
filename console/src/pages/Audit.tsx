// The audit log: events newest first, filtered by text, action and dates, one page at a time;
// an export of every matching event (JSON lines, with progress); and whether the newest signed
// checkpoint of the chain verifies against the server's published keys.
import { useCallback, useEffect, useState } from 'react';
import { request, useQuery } from '../api';
import { graphql } from '../gql';
import type { AuditPageQuery } from '../gql/graphql';
import { useSession } from '../session';
import { Button, ErrorNote, Field, Pager, ScrollBox, Select, formatDate, saveFile, usePages } from '../ui';

const AuditQuery = graphql(`
  query AuditPage($organizationId: ID!, $first: Int!, $after: String, $search: String, $action: String, $from: DateTime, $to: DateTime) {
    organization(id: $organizationId) {
      id
      auditLog(first: $first, after: $after, search: $search, action: $action, from: $from, to: $to) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        nodes {
          id
          at
          action
          actorEmail
          ip
          targetType
          description
          json
        }
      }
      auditCheckpoints(first: 1) {
        totalCount
        nodes {
          seq
          at
          keyId
          payload
        }
      }
    }
  }
`);

type Checkpoint = NonNullable<NonNullable<AuditPageQuery['organization']>['auditCheckpoints']>['nodes'][number];

function base64ToBytes(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

/** Checks the checkpoint's Ed25519 signature with the key `/.well-known/jwks.json` publishes. */
async function verifyCheckpoint(checkpoint: Checkpoint): Promise<string> {
  const body = JSON.parse(checkpoint.payload) as {
    data: { organizationId: string; seq: number; headHash: string; at: string; keyId: string; signature: string };
  };
  const data = body.data;
  const keys = (await (await fetch('/.well-known/jwks.json')).json()) as { keys: Array<JsonWebKey & { kid?: string }> };
  const jwk = keys.keys.find((key) => key.kid === data.keyId);
  if (!jwk) {
    return `signed by key ${data.keyId}, which is no longer published: check it with charter audit verify --checkpoints`;
  }
  const key = await crypto.subtle.importKey('jwk', { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, { name: 'Ed25519' }, false, ['verify']);
  const statement = `charter-audit-checkpoint/1\n${data.organizationId}\n${data.seq}\n${data.headHash}\n${data.at}`;
  const valid = await crypto.subtle.verify({ name: 'Ed25519' }, key, base64ToBytes(data.signature), new TextEncoder().encode(statement));
  return valid
    ? `verified: event ${data.seq} of the chain was signed at ${formatDate(data.at)} by key ${data.keyId}`
    : `NOT verified: the signature of the checkpoint at event ${data.seq} does not match key ${data.keyId}`;
}

/** `2026-12-06` as the start (or, with `end`, the end) of that day in the viewer's time zone. */
function dayBoundary(day: string, end = false): string | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return null;
  const date = new Date(`${day}T00:00:00`);
  if (end) date.setDate(date.getDate() + 1);
  return date.toISOString();
}

export function AuditPage() {
  const session = useSession();
  const organizationId = session.organization!.id;
  const pages = usePages();
  const [search, setSearch] = useState('');
  const [action, setAction] = useState('any');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [applied, setApplied] = useState({ search: '', action: 'any', from: '', to: '' });
  const [failure, setError] = useState<unknown>(null);
  const [verification, setVerification] = useState<string | null>(null);
  const [exporting, setExporting] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);

  const filters = useCallback(
    () => ({
      organizationId,
      search: applied.search || null,
      action: applied.action === 'any' ? null : applied.action,
      from: dayBoundary(applied.from),
      to: dayBoundary(applied.to, true),
    }),
    [organizationId, applied],
  );

  const query = useQuery(AuditQuery, { ...filters(), first: 25, after: pages.after });
  const data = query.data?.organization ?? null;
  const error = failure ?? query.error;
  const newest = data?.auditCheckpoints?.nodes[0] ?? null;
  useEffect(() => {
    if (!query.data) return;
    if (!newest) setVerification('No checkpoint of the chain has been signed yet.');
    else verifyCheckpoint(newest).then(setVerification, (caught: unknown) => setVerification(`could not be checked: ${String(caught)}`));
  }, [query.data, newest]);

  const exportAll = async () => {
    setError(null);
    const lines: string[] = [];
    let after: string | null = null;
    try {
      for (;;) {
        const answer: AuditPageQuery = await request(AuditQuery, { ...filters(), first: 100, after });
        const log = answer.organization?.auditLog;
        if (!log) break;
        for (const event of log.nodes) lines.push(JSON.stringify(event.json));
        setExporting(`Exported ${lines.length} of ${log.totalCount} events…`);
        if (!log.pageInfo.hasNextPage) break;
        after = log.pageInfo.endCursor ?? null;
      }
      saveFile(new Blob([lines.join('\n') + '\n'], { type: 'application/x-ndjson' }), `audit-${session.organization!.publicId}.jsonl`);
      setExporting(`Exported ${lines.length} events.`);
    } catch (caught) {
      setExporting(null);
      setError(caught);
    }
  };

  const log = data?.auditLog;
  return (
    <>
      <div className="page-head">
        <h1>Audit log</h1>
        <Button data-action="exportAuditLog" onPress={() => void exportAll()}>
          Export
        </Button>
      </div>
      <p className="notice" data-testid="checkpoint" role="status">
        Chain checkpoint: {verification ?? 'checking…'}
      </p>
      {exporting && <p role="status">{exporting}</p>}
      <form
        className="filters"
        role="search"
        aria-label="Filter events"
        onSubmit={(event) => {
          event.preventDefault();
          setApplied({ search: search.trim(), action, from, to });
          pages.reset();
        }}
      >
        <Field label="Search" type="search" value={search} onChange={setSearch} />
        <Select
          label="Action"
          value={action}
          options={[{ id: 'any', label: 'Any action' }, ...session.catalog.auditActions.map((name) => ({ id: name, label: name }))]}
          onChange={setAction}
        />
        <Field label="From" type="date" value={from} onChange={setFrom} />
        <Field label="To" type="date" value={to} onChange={setTo} />
        <Button type="submit">Apply</Button>
      </form>
      <ErrorNote error={error} />
      <ScrollBox label="Audit events">
        <table>
          <caption className="visually-hidden">Audit events, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Action</th>
              <th scope="col">Actor</th>
              <th scope="col">What</th>
              <th scope="col">Address</th>
            </tr>
          </thead>
          <tbody>
            {log?.nodes.map((event) => (
              <tr key={event.id} data-action-name={event.action}>
                <td>{formatDate(event.at)}</td>
                <td>
                  <code>{event.action}</code>
                </td>
                <td>{event.actorEmail ?? 'Charter'}</td>
                <td>
                  {event.description}{' '}
                  <Button variant="quiet" aria-label={`${open === event.id ? 'Hide' : 'Details'} of ${event.action} at ${formatDate(event.at)}`} onPress={() => setOpen(open === event.id ? null : event.id)}>
                    {open === event.id ? 'Hide' : 'Details'}
                  </Button>
                  {open === event.id && <pre className="json">{JSON.stringify(event.json, null, 2)}</pre>}
                </td>
                <td>{event.ip ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollBox>
      {log && <Pager label="Audit events" page={pages.page} total={log.totalCount} hasNext={log.pageInfo.hasNextPage} onNext={() => pages.next(log.pageInfo.endCursor)} onPrevious={pages.previous} />}
    </>
  );
}
