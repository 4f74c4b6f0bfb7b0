// Lists: the organization's own lists and those partners share with it, the partners it shares
// with, and one list's entries (search, one page at a time, bulk add with each refused value
// named, removal, sharing, download).
import { useState } from 'react';
import type { FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ApiError, currentTokens, request, useQuery } from '../api';
import { graphql } from '../gql';
import type { ListKind, ListPageQuery, ListsPageQuery } from '../gql/graphql';
import { useSession } from '../session';
import { ActionButton, Button, DialogBox, ErrorNote, Field, Pager, ScrollBox, Select, fieldError, formatDate, saveFile, usePages } from '../ui';

const KINDS: ListKind[] = ['IP', 'CIDR', 'DOMAIN', 'URL', 'HASH', 'EMAIL', 'TEXT'];

const ListsQuery = graphql(`
  query ListsPage($organizationId: ID!, $after: String) {
    organization(id: $organizationId) {
      id
      lists(first: 25, after: $after) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        nodes {
          id
          name
          kind
          shared
          entryCount
          updatedAt
        }
      }
      sharedLists(first: 50) {
        totalCount
        nodes {
          id
          name
          kind
          entryCount
          owner {
            id
            name
          }
        }
      }
      sharePartners {
        id
        publicId
        name
      }
    }
  }
`);

const CreateList = graphql(`
  mutation ConsoleCreateList($input: CreateListInput!) {
    createList(input: $input) {
      id
    }
  }
`);

const AddPartner = graphql(`
  mutation ConsoleAddSharePartner($organizationId: ID!, $partnerOrganizationId: ID!) {
    addSharePartner(organizationId: $organizationId, partnerOrganizationId: $partnerOrganizationId) {
      id
    }
  }
`);

const RemovePartner = graphql(`
  mutation ConsoleRemoveSharePartner($organizationId: ID!, $partnerOrganizationId: ID!) {
    removeSharePartner(organizationId: $organizationId, partnerOrganizationId: $partnerOrganizationId) {
      id
    }
  }
`);

const ListQuery = graphql(`
  query ListPage($id: ID!, $after: String, $search: String) {
    node(id: $id) {
      __typename
      ... on List {
        id
        name
        kind
        description
        shared
        entryCount
        owner {
          id
          name
        }
        entries(first: 50, after: $after, search: $search) {
          totalCount
          pageInfo {
            hasNextPage
            endCursor
          }
          nodes {
            value
            note
            addedAt
          }
        }
      }
    }
  }
`);

const AddEntries = graphql(`
  mutation ConsoleAddListEntries($input: AddListEntriesInput!) {
    addListEntries(input: $input) {
      id
      entriesChange {
        changed
        skipped
      }
    }
  }
`);

const RemoveEntries = graphql(`
  mutation ConsoleRemoveListEntries($input: RemoveListEntriesInput!) {
    removeListEntries(input: $input) {
      id
      entriesChange {
        changed
        skipped
      }
    }
  }
`);

const SetShared = graphql(`
  mutation ConsoleSetListShared($id: ID!, $shared: Boolean!) {
    setListShared(id: $id, shared: $shared) {
      id
      shared
    }
  }
`);

const DeleteList = graphql(`
  mutation ConsoleDeleteList($id: ID!) {
    deleteList(id: $id)
  }
`);

type Lists = NonNullable<ListsPageQuery['organization']>;

export function ListsPage() {
  const session = useSession();
  const navigate = useNavigate();
  const organizationId = session.organization!.id;
  const pages = usePages();
  const query = useQuery(ListsQuery, { organizationId, after: pages.after });
  const data: Lists | null = query.data?.organization ?? null;
  const { error, reload: load } = query;
  const [creating, setCreating] = useState(false);
  const [partner, setPartner] = useState('');
  const [partnerError, setPartnerError] = useState<unknown>(null);
  const sharing = session.access.can('Mutation', 'addSharePartner');

  const lists = data?.lists;
  return (
    <>
      <div className="page-head">
        <h1>Lists</h1>
        <ActionButton action="createList" decision={session.access.can('Mutation', 'createList')} variant="primary" onPress={() => setCreating(true)}>
          New list
        </ActionButton>
      </div>
      <ErrorNote error={error} />
      <ScrollBox label="Lists">
        <table>
          <caption className="visually-hidden">The organization's lists</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Entries</th>
              <th scope="col">Shared</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {lists?.nodes.map((list) => (
              <tr key={list.id} data-list={list.name}>
                <td>
                  <Link to={`/lists/${encodeURIComponent(list.id)}`}>{list.name}</Link>
                </td>
                <td>{list.kind}</td>
                <td>{list.entryCount}</td>
                <td>{list.shared ? 'With partners' : 'No'}</td>
                <td>{formatDate(list.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollBox>
      {lists && (
        <Pager label="Lists" page={pages.page} total={lists.totalCount} hasNext={lists.pageInfo.hasNextPage} onNext={() => pages.next(lists.pageInfo.endCursor)} onPrevious={pages.previous} />
      )}
      <section aria-labelledby="shared-heading">
        <h2 id="shared-heading">Shared with this organization</h2>
        {data?.sharedLists?.nodes.length ? (
          <ul className="plain">
            {data.sharedLists.nodes.map((list) => (
              <li key={list.id} data-shared-list={list.name}>
                <Link to={`/lists/${encodeURIComponent(list.id)}`}>{list.name}</Link> from {list.owner.name} ({list.kind}, {list.entryCount} entries, read-only)
              </li>
            ))}
          </ul>
        ) : (
          <p>No partner shares a list with this organization.</p>
        )}
      </section>
      <section aria-labelledby="partners-heading">
        <h2 id="partners-heading">Share partners</h2>
        <p>Lists marked shared are visible, read-only, to these organizations.</p>
        <ul className="plain">
          {data?.sharePartners?.map((partnerOrganization) => (
            <li key={partnerOrganization.id} className="row" data-partner={partnerOrganization.publicId}>
              <span>
                {partnerOrganization.name} <code>{partnerOrganization.publicId}</code>
              </span>
              <ActionButton
                action="removeSharePartner"
                decision={session.access.can('Mutation', 'removeSharePartner')}
                variant="danger"
                label={`Stop sharing with ${partnerOrganization.name}`}
                onPress={() => {
                  request(RemovePartner, { organizationId, partnerOrganizationId: partnerOrganization.id }).then(load).catch(setPartnerError);
                }}
              >
                Stop sharing
              </ActionButton>
            </li>
          ))}
        </ul>
        {sharing.allowed && (
          <form
            className="row"
            onSubmit={(event) => {
              event.preventDefault();
              setPartnerError(null);
              request(AddPartner, { organizationId, partnerOrganizationId: partner.trim() })
                .then(() => {
                  setPartner('');
                  load();
                })
                .catch(setPartnerError);
            }}
          >
            <Field label="Partner's public id" value={partner} onChange={setPartner} description="Like ORG-…, as the partner's console shows it." error={fieldError(partnerError, 'partnerOrganizationId')} />
            <Button type="submit" data-action="addSharePartner">
              Add partner
            </Button>
          </form>
        )}
        <ErrorNote error={fieldError(partnerError, 'partnerOrganizationId') ? null : partnerError} />
      </section>
      <CreateListDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(id) => {
          setCreating(false);
          navigate(`/lists/${encodeURIComponent(id)}`);
        }}
      />
    </>
  );
}

function CreateListDialog(props: { open: boolean; onClose: () => void; onCreated: (id: string) => void }) {
  const session = useSession();
  const [name, setName] = useState('');
  const [kind, setKind] = useState<string>('IP');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<unknown>(null);
  return (
    <DialogBox title="New list" open={props.open} onClose={props.onClose}>
      <form
        className="stack"
        onSubmit={(event) => {
          event.preventDefault();
          request(CreateList, {
            input: { organizationId: session.organization!.id, name, kind: kind as ListKind, description: description || null },
          })
            .then((answer) => props.onCreated(answer.createList.id))
            .catch(setError);
        }}
      >
        <Field label="Name" value={name} onChange={setName} isRequired autoFocus error={fieldError(error, 'name')} />
        <Select label="Kind" value={kind} options={KINDS.map((value) => ({ id: value, label: value }))} onChange={setKind} />
        <Field label="Description" value={description} onChange={setDescription} error={fieldError(error, 'description')} />
        <ErrorNote error={fieldError(error, 'name') || fieldError(error, 'description') ? null : error} />
        <div className="row">
          <Button type="submit" variant="primary">
            Create list
          </Button>
          <Button variant="quiet" onPress={props.onClose}>
            Cancel
          </Button>
        </div>
      </form>
    </DialogBox>
  );
}

type List = Extract<NonNullable<ListPageQuery['node']>, { __typename: 'List' }>;

/** Fetches `/lists/<id>.<format>` with the session's token and saves it. */
async function download(list: { id: string; name: string }, format: 'txt' | 'csv') {
  const response = await fetch(`/lists/${encodeURIComponent(list.id)}.${format}`, {
    headers: { authorization: `Bearer ${currentTokens()?.accessToken ?? ''}` },
  });
  if (!response.ok) throw new Error(`the download answered ${response.status}`);
  saveFile(await response.blob(), `${list.name}.${format}`);
}

interface RefusedValue {
  index: number;
  value: string;
  reason: string;
}

export function ListPage() {
  const session = useSession();
  const navigate = useNavigate();
  const { id = '' } = useParams();
  const pages = usePages();
  const [search, setSearch] = useState('');
  const [applied, setApplied] = useState('');
  const query = useQuery(ListQuery, { id, after: pages.after, search: applied || null });
  const node = query.data?.node;
  const list: List | null = node?.__typename === 'List' ? node : null;
  const load = query.reload;
  const [failure, setError] = useState<unknown>(null);
  const error = failure ?? query.error ?? (query.data && !list ? new Error('No such list.') : null);
  const [bulk, setBulk] = useState('');
  const [bulkError, setBulkError] = useState<unknown>(null);
  const [progress, setProgress] = useState<string | null>(null);
  const [deleting, setDeleting] = useState(false);

  if (!list) return <ErrorNote error={error} />;
  const own = list.owner.id === session.organization!.id;
  const refused = bulkError instanceof ApiError ? ((bulkError.extensions.invalidValues as { values?: RefusedValue[]; count?: number } | undefined) ?? null) : null;
  const entries = list.entries;

  const addAll = async (event: FormEvent) => {
    event.preventDefault();
    setBulkError(null);
    const values = bulk
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .map((line) => {
        const [value, ...note] = line.split(',');
        return { value: value.trim(), note: note.join(',').trim() || null };
      });
    // Sent 10,000 at a time (the API's most per call); each call is all or nothing.
    try {
      let changed = 0;
      let skipped = 0;
      for (let start = 0; start < values.length; start += 10000) {
        setProgress(`Adding ${Math.min(start + 10000, values.length)} of ${values.length} values…`);
        const answer = await request(AddEntries, { input: { listId: list.id, entries: values.slice(start, start + 10000) } });
        changed += answer.addListEntries.entriesChange?.changed ?? 0;
        skipped += answer.addListEntries.entriesChange?.skipped ?? 0;
      }
      setProgress(`${changed} added, ${skipped} already in the list.`);
      setBulk('');
      load();
    } catch (caught) {
      setProgress(null);
      setBulkError(caught);
    }
  };

  return (
    <>
      <p>
        <Link to="/lists">Lists</Link> ›
      </p>
      <div className="page-head">
        <h1>{list.name}</h1>
        <div className="row">
          <Button data-action="downloadList" onPress={() => void download({ id: list.id, name: list.name }, 'txt').catch(setError)}>
            Download .txt
          </Button>
          <Button onPress={() => void download({ id: list.id, name: list.name }, 'csv').catch(setError)}>Download .csv</Button>
          {own && (
            <ActionButton action="deleteList" decision={session.access.can('Mutation', 'deleteList')} variant="danger" onPress={() => setDeleting(true)}>
              Delete list
            </ActionButton>
          )}
        </div>
      </div>
      <p className="notice">
        {list.kind} list, {list.entryCount} entries{own ? '' : `, shared by ${list.owner.name} (read-only)`}. {list.description}
      </p>
      {own && (
        <div className="row">
          <ActionButton
            action="setListShared"
            decision={session.access.can('Mutation', 'setListShared')}
            onPress={() => {
              request(SetShared, { id: list.id, shared: !list.shared }).then(load).catch(setError);
            }}
          >
            {list.shared ? 'Stop sharing with partners' : 'Share with partners'}
          </ActionButton>
          <span>{list.shared ? 'Shared with the organization’s partners.' : 'Not shared.'}</span>
        </div>
      )}
      <ErrorNote error={error} />
      <form
        className="filters"
        role="search"
        aria-label="Search entries"
        onSubmit={(event) => {
          event.preventDefault();
          setApplied(search.trim());
          pages.reset();
        }}
      >
        <Field label="Entries starting with" type="search" value={search} onChange={setSearch} />
        <Button type="submit">Search</Button>
      </form>
      <ScrollBox label="Entries">
        <table>
          <thead>
            <tr>
              <th scope="col">Value</th>
              <th scope="col">Note</th>
              <th scope="col">Added</th>
              {own && (
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {entries.nodes.map((entry) => (
              <tr key={entry.value} data-entry={entry.value}>
                <td>
                  <code>{entry.value}</code>
                </td>
                <td>{entry.note ?? ''}</td>
                <td>{formatDate(entry.addedAt)}</td>
                {own && (
                  <td className="actions">
                    <ActionButton
                      action="removeListEntries"
                      decision={session.access.can('Mutation', 'removeListEntries')}
                      label={`Remove ${entry.value}`}
                      onPress={() => {
                        request(RemoveEntries, { input: { listId: list.id, values: [entry.value] } }).then(load).catch(setError);
                      }}
                    >
                      Remove
                    </ActionButton>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollBox>
      <Pager label="Entries" page={pages.page} total={entries.totalCount} hasNext={entries.pageInfo.hasNextPage} onNext={() => pages.next(entries.pageInfo.endCursor)} onPrevious={pages.previous} />
      {own && session.access.can('Mutation', 'addListEntries').allowed && (
        <form className="stack" onSubmit={addAll} aria-labelledby="bulk-heading">
          <h2 id="bulk-heading">Add entries</h2>
          <Field label="Values, one per line (a note may follow a comma)" value={bulk} onChange={setBulk} multiline error={refused ? `${refused.count} values refused; nothing was added.` : null} />
          {refused && (
            <ul className="refused" aria-label="Refused values">
              {refused.values?.map((value) => (
                <li key={value.index}>
                  Line {value.index + 1}: <code>{value.value}</code> {value.reason}
                </li>
              ))}
            </ul>
          )}
          {progress && <p role="status">{progress}</p>}
          <ErrorNote error={refused ? null : bulkError} />
          <div className="row">
            <Button type="submit" variant="primary" data-action="addListEntries" isDisabled={!bulk.trim()}>
              Add
            </Button>
          </div>
        </form>
      )}
      <DialogBox title="Delete list" open={deleting} onClose={() => setDeleting(false)}>
        <p>
          Delete {list.name} and its {list.entryCount} entries?
        </p>
        <div className="row">
          <Button
            variant="danger"
            onPress={() => {
              request(DeleteList, { id: list.id })
                .then(() => navigate('/lists'))
                .catch(setError);
            }}
          >
            Delete
          </Button>
          <Button variant="quiet" onPress={() => setDeleting(false)}>
            Cancel
          </Button>
        </div>
      </DialogBox>
    </>
  );
}
