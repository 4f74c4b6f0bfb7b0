// Webhooks: the organization's endpoints (events picked from the catalog, the signing secret
// shown once), their deliveries with retry, a test message and a replay from a date.
import { useState } from 'react';
import { Checkbox, CheckboxGroup, Label } from 'react-aria-components';
import { request, useQuery } from '../api';
import { graphql } from '../gql';
import type { WebhookDeliveryStatus, WebhooksPageQuery } from '../gql/graphql';
import { useSession } from '../session';
import { ActionButton, Button, DialogBox, ErrorNote, Field, ScrollBox, SecretOnce, Select, fieldError, formatDate } from '../ui';

const WebhooksQuery = graphql(`
  query WebhooksPage($organizationId: ID!, $status: WebhookDeliveryStatus) {
    organization(id: $organizationId) {
      id
      webhookEndpoints {
        id
        url
        description
        events
        enabled
        disabledReason
        failingSince
        previousSecretExpiresAt
        createdAt
        deliveries(first: 20, status: $status) {
          totalCount
          nodes {
            id
            eventType
            status
            attemptCount
            lastAttemptAt
            lastStatusCode
            lastError
            nextAttemptAt
            createdAt
          }
        }
      }
    }
  }
`);

const CreateEndpoint = graphql(`
  mutation ConsoleCreateWebhookEndpoint($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) {
      secret
      endpoint {
        id
        url
      }
    }
  }
`);

const UpdateEndpoint = graphql(`
  mutation ConsoleUpdateWebhookEndpoint($input: UpdateWebhookEndpointInput!) {
    updateWebhookEndpoint(input: $input) {
      id
      enabled
    }
  }
`);

const DeleteEndpoint = graphql(`
  mutation ConsoleDeleteWebhookEndpoint($id: ID!) {
    deleteWebhookEndpoint(id: $id)
  }
`);

const RotateSecret = graphql(`
  mutation ConsoleRotateWebhookSecret($id: ID!) {
    rotateWebhookSecret(id: $id) {
      secret
      endpoint {
        id
        url
      }
    }
  }
`);

const SendTest = graphql(`
  mutation ConsoleSendTestWebhook($endpointId: ID!) {
    sendTestWebhook(endpointId: $endpointId) {
      id
    }
  }
`);

const Retry = graphql(`
  mutation ConsoleRetryWebhookDelivery($id: ID!) {
    retryWebhookDelivery(id: $id) {
      id
      status
    }
  }
`);

const Replay = graphql(`
  mutation ConsoleReplayWebhookEvents($endpointId: ID!, $from: DateTime!) {
    replayWebhookEvents(endpointId: $endpointId, from: $from)
  }
`);

type Endpoint = NonNullable<NonNullable<WebhooksPageQuery['organization']>['webhookEndpoints']>[number];

/** The catalog's event types grouped by their prefix (`member.added` under `member`). */
function EventPicker(props: { types: string[]; value: string[]; onChange: (value: string[]) => void }) {
  const groups = new Map<string, string[]>();
  for (const type of props.types) {
    const prefix = type.split('.')[0];
    groups.set(prefix, [...(groups.get(prefix) ?? []), type]);
  }
  const all = props.value.includes('*');
  return (
    <div className="event-picker">
      <Checkbox className="checkbox" isSelected={all} onChange={(selected) => props.onChange(selected ? ['*'] : [])}>
        Every event (*)
      </Checkbox>
      {!all &&
        [...groups.entries()].map(([prefix, types]) => (
          <CheckboxGroup key={prefix} className="checkbox-group" value={props.value} onChange={props.onChange}>
            <Label>{prefix}</Label>
            <Checkbox className="checkbox" value={`${prefix}.*`}>
              All {prefix} events
            </Checkbox>
            {!props.value.includes(`${prefix}.*`) &&
              types.map((type) => (
                <Checkbox key={type} className="checkbox" value={type}>
                  {type}
                </Checkbox>
              ))}
          </CheckboxGroup>
        ))}
    </div>
  );
}

export function WebhooksPage() {
  const session = useSession();
  const organizationId = session.organization!.id;
  const [status, setStatus] = useState('any');
  const query = useQuery(WebhooksQuery, { organizationId, status: status === 'any' ? null : (status as WebhookDeliveryStatus) });
  const endpoints: Endpoint[] | null = query.data ? (query.data.organization?.webhookEndpoints ?? []) : null;
  const load = query.reload;
  const [failure, setError] = useState<unknown>(null);
  const error = failure ?? query.error;
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<{ url: string; value: string } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const manage = (field: string) => session.access.can('Mutation', field);

  const act = (operation: Promise<unknown>, message: string) =>
    operation
      .then(() => {
        setNotice(message);
        load();
      })
      .catch(setError);

  return (
    <>
      <div className="page-head">
        <h1>Webhooks</h1>
        <ActionButton action="createWebhookEndpoint" decision={manage('createWebhookEndpoint')} variant="primary" onPress={() => setCreating(true)}>
          New endpoint
        </ActionButton>
      </div>
      <ErrorNote error={error} />
      {notice && (
        <p role="status" className="notice">
          {notice}
        </p>
      )}
      {secret && <SecretOnce label={`The signing secret of ${secret.url}.`} value={secret.value} />}
      <div className="filters">
        <Select
          label="Deliveries shown"
          value={status}
          options={[
            { id: 'any', label: 'All' },
            { id: 'PENDING', label: 'Pending' },
            { id: 'DELIVERED', label: 'Delivered' },
            { id: 'FAILED', label: 'Failed' },
          ]}
          onChange={setStatus}
        />
      </div>
      {endpoints?.length === 0 && <p>No endpoint yet.</p>}
      {endpoints?.map((endpoint) => (
        <section key={endpoint.id} className="card endpoint" data-endpoint={endpoint.url} aria-label={`Endpoint ${endpoint.url}`}>
          <h2>{endpoint.url}</h2>
          <p className="notice">
            {endpoint.enabled ? 'Enabled' : `Disabled${endpoint.disabledReason ? `: ${endpoint.disabledReason}` : ''}`}
            {endpoint.failingSince ? `; failing since ${formatDate(endpoint.failingSince)}` : ''}. Events: {endpoint.events.join(', ')}.{' '}
            {endpoint.description}
          </p>
          <div className="row">
            <ActionButton action="sendTestWebhook" decision={manage('sendTestWebhook')} onPress={() => act(request(SendTest, { endpointId: endpoint.id }), 'A test message was queued.')}>
              Send a test
            </ActionButton>
            <ActionButton
              action="updateWebhookEndpoint"
              decision={manage('updateWebhookEndpoint')}
              onPress={() => act(request(UpdateEndpoint, { input: { id: endpoint.id, enabled: !endpoint.enabled } }), endpoint.enabled ? 'The endpoint was disabled.' : 'The endpoint was enabled.')}
            >
              {endpoint.enabled ? 'Disable' : 'Enable'}
            </ActionButton>
            <ActionButton
              action="rotateWebhookSecret"
              decision={manage('rotateWebhookSecret')}
              onPress={() => {
                request(RotateSecret, { id: endpoint.id })
                  .then((answer) => {
                    setSecret({ url: answer.rotateWebhookSecret.endpoint.url, value: answer.rotateWebhookSecret.secret });
                    load();
                  })
                  .catch(setError);
              }}
            >
              New secret
            </ActionButton>
            <ReplayButton endpoint={endpoint} onReplayed={(count) => act(Promise.resolve(), `${count} events queued again.`)} onError={setError} />
            <ActionButton action="deleteWebhookEndpoint" decision={manage('deleteWebhookEndpoint')} variant="danger" onPress={() => act(request(DeleteEndpoint, { id: endpoint.id }), 'The endpoint was deleted.')}>
              Delete
            </ActionButton>
          </div>
          <ScrollBox label="Deliveries">
            <table>
              <caption>Deliveries, newest first ({endpoint.deliveries.totalCount} in all)</caption>
              <thead>
                <tr>
                  <th scope="col">Event</th>
                  <th scope="col">Status</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Last answer</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {endpoint.deliveries.nodes.map((delivery) => (
                  <tr key={delivery.id} data-delivery={delivery.eventType}>
                    <td>
                      <code>{delivery.eventType}</code> {formatDate(delivery.createdAt)}
                    </td>
                    <td>{delivery.status}</td>
                    <td>{delivery.attemptCount}</td>
                    <td>{delivery.lastStatusCode ?? delivery.lastError ?? '—'}</td>
                    <td>
                      <ActionButton
                        action="retryWebhookDelivery"
                        decision={manage('retryWebhookDelivery')}
                        label={`Retry the ${delivery.eventType} delivery`}
                        onPress={() => act(request(Retry, { id: delivery.id }), 'The delivery was queued again.')}
                      >
                        Retry
                      </ActionButton>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollBox>
        </section>
      ))}
      <CreateEndpointDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(url, value) => {
          setCreating(false);
          setSecret({ url, value });
          load();
        }}
      />
    </>
  );
}

function ReplayButton(props: { endpoint: Endpoint; onReplayed: (count: number) => void; onError: (error: unknown) => void }) {
  const session = useSession();
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState('');
  return (
    <>
      <ActionButton action="replayWebhookEvents" decision={session.access.can('Mutation', 'replayWebhookEvents')} onPress={() => setOpen(true)}>
        Replay…
      </ActionButton>
      <DialogBox title="Replay events" open={open} onClose={() => setOpen(false)}>
        <form
          className="stack"
          onSubmit={(event) => {
            event.preventDefault();
            request(Replay, { endpointId: props.endpoint.id, from: new Date(`${from}T00:00:00`).toISOString() })
              .then((answer) => {
                setOpen(false);
                props.onReplayed(answer.replayWebhookEvents);
              })
              .catch(props.onError);
          }}
        >
          <Field label="Events recorded from" type="date" value={from} onChange={setFrom} isRequired description="At most 10,000 events are queued again." />
          <div className="row">
            <Button type="submit" variant="primary" isDisabled={!from}>
              Replay
            </Button>
            <Button variant="quiet" onPress={() => setOpen(false)}>
              Cancel
            </Button>
          </div>
        </form>
      </DialogBox>
    </>
  );
}

function CreateEndpointDialog(props: { open: boolean; onClose: () => void; onCreated: (url: string, secret: string) => void }) {
  const session = useSession();
  const [url, setUrl] = useState('https://');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  return (
    <DialogBox title="New webhook endpoint" open={props.open} onClose={props.onClose}>
      <form
        className="stack"
        onSubmit={(event) => {
          event.preventDefault();
          request(CreateEndpoint, { input: { organizationId: session.organization!.id, url, events, description: description || null } })
            .then((answer) => props.onCreated(answer.createWebhookEndpoint.endpoint.url, answer.createWebhookEndpoint.secret))
            .catch(setError);
        }}
      >
        <Field label="URL" type="url" value={url} onChange={setUrl} isRequired description="https://, on a public address." error={fieldError(error, 'url')} />
        <Field label="Description" value={description} onChange={setDescription} error={fieldError(error, 'description')} />
        <EventPicker types={session.catalog.webhookEventTypes} value={events} onChange={setEvents} />
        {fieldError(error, 'events') && <p className="error-note">{fieldError(error, 'events')}</p>}
        <ErrorNote error={fieldError(error, 'url') || fieldError(error, 'description') || fieldError(error, 'events') ? null : error} />
        <div className="row">
          <Button type="submit" variant="primary" isDisabled={events.length === 0}>
            Create endpoint
          </Button>
          <Button variant="quiet" onPress={props.onClose}>
            Cancel
          </Button>
        </div>
      </form>
    </DialogBox>
  );
}
