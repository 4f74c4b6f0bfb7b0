// Roles: the policy's predefined roles (read-only) and the organization's custom roles, built
// from the permission catalog with their dependencies and within the viewer's own grants.
import { useEffect, useState } from 'react';
import type { FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { request, useQuery } from '../api';
import { aboveCeiling, GrantEditor, grantsFrom, levelsFrom, missingDependencies } from '../grants';
import type { Levels } from '../grants';
import { graphql } from '../gql';
import type { RolesPageQuery } from '../gql/graphql';
import { useSession } from '../session';
import { ActionButton, Button, DialogBox, ErrorNote, Field, ScrollBox, fieldError } from '../ui';

const RolesQuery = graphql(`
  query RolesPage($organizationId: ID!) {
    organization(id: $organizationId) {
      id
      license {
        features
      }
      roles {
        id
        key
        name
        description
        predefined
        seatClass
        memberCount
        grants {
          resource
          level
        }
      }
    }
  }
`);

const CreateRole = graphql(`
  mutation ConsoleCreateRole($input: CreateRoleInput!) {
    createRole(input: $input) {
      id
      name
    }
  }
`);

const UpdateRole = graphql(`
  mutation ConsoleUpdateRole($input: UpdateRoleInput!) {
    updateRole(input: $input) {
      id
      name
    }
  }
`);

const DeleteRole = graphql(`
  mutation ConsoleDeleteRole($id: ID!) {
    deleteRole(id: $id)
  }
`);

type Role = NonNullable<NonNullable<RolesPageQuery['organization']>['roles']>[number];

function useRoles() {
  const session = useSession();
  const { data, error, reload } = useQuery(RolesQuery, { organizationId: session.organization!.id });
  return { data: data?.organization ?? null, error, load: reload };
}

export function RolesPage() {
  const session = useSession();
  const navigate = useNavigate();
  const { data, error, load } = useRoles();
  const [deleting, setDeleting] = useState<Role | null>(null);
  const [deleteError, setDeleteError] = useState<unknown>(null);
  const licensed = data?.license.features.includes('custom_roles') ?? false;
  const ownRole = session.organization?.viewerRole?.id;
  const resourceName = (key: string) => session.catalog.resources.find((resource) => resource.key === key)?.name ?? key;

  return (
    <>
      <div className="page-head">
        <h1>Roles</h1>
        <ActionButton
          action="createRole"
          decision={session.access.can('Mutation', 'createRole')}
          variant="primary"
          unavailable={data && !licensed ? 'custom roles need the custom_roles license feature' : null}
          onPress={() => navigate('/roles/new')}
        >
          New custom role
        </ActionButton>
      </div>
      {data && !licensed && <p className="notice">Custom roles need the organization's license to include custom_roles.</p>}
      <ErrorNote error={error} />
      <ScrollBox label="Roles">
        <table>
          <thead>
            <tr>
              <th scope="col">Role</th>
              <th scope="col">Kind</th>
              <th scope="col">Seat</th>
              <th scope="col">Members</th>
              <th scope="col">Grants</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {data?.roles?.map((role) => (
              <tr key={role.id} data-role={role.key}>
                <td>
                  <strong>{role.name}</strong>
                  {role.description && <div className="notice">{role.description}</div>}
                </td>
                <td>{role.predefined ? 'Predefined' : 'Custom'}</td>
                <td>{role.seatClass === 'FREE' ? 'Free' : 'Licensed'}</td>
                <td>{role.memberCount}</td>
                <td>
                  <details>
                    <summary>
                      {role.grants.filter((grant) => session.access.rank(grant.resource, grant.level) > 0).length} resources
                    </summary>
                    <ul className="grants">
                      {role.grants
                        .filter((grant) => session.access.rank(grant.resource, grant.level) > 0)
                        .map((grant) => (
                          <li key={grant.resource}>
                            {resourceName(grant.resource)}: {grant.level}
                          </li>
                        ))}
                    </ul>
                  </details>
                </td>
                <td className="actions">
                  {!role.predefined && (
                    <>
                      <ActionButton
                        action="updateRole"
                        decision={session.access.can('Mutation', 'updateRole')}
                        label={`Edit ${role.name}`}
                        unavailable={role.id === ownRole ? 'you cannot edit the role you hold' : null}
                        onPress={() => navigate(`/roles/${encodeURIComponent(role.id)}`)}
                      >
                        Edit
                      </ActionButton>
                      <ActionButton
                        action="deleteRole"
                        decision={session.access.can('Mutation', 'deleteRole')}
                        variant="danger"
                        label={`Delete ${role.name}`}
                        unavailable={role.memberCount > 0 ? 'members hold it' : null}
                        onPress={() => setDeleting(role)}
                      >
                        Delete
                      </ActionButton>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollBox>
      <DialogBox title="Delete role" open={deleting !== null} onClose={() => setDeleting(null)}>
        <p>Delete the role {deleting?.name}? No member holds it.</p>
        <ErrorNote error={deleteError} />
        <div className="row">
          <Button
            variant="danger"
            onPress={() => {
              request(DeleteRole, { id: deleting!.id })
                .then(() => {
                  setDeleting(null);
                  load();
                })
                .catch(setDeleteError);
            }}
          >
            Delete
          </Button>
          <Button variant="quiet" onPress={() => setDeleting(null)}>
            Cancel
          </Button>
        </div>
      </DialogBox>
    </>
  );
}

/** `/roles/new` and `/roles/:id`: the custom-role editor. */
export function RoleEditorPage() {
  const session = useSession();
  const navigate = useNavigate();
  const { id } = useParams();
  const { data, error: loadError } = useRoles();
  const existing = id ? data?.roles?.find((role) => role.id === id) : undefined;
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [levels, setLevels] = useState<Levels>(() => levelsFrom(session, []));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (existing) {
      setName(existing.name);
      setDescription(existing.description ?? '');
      setLevels(levelsFrom(session, existing.grants));
    }
  }, [existing, session]);

  const missing = missingDependencies(session, levels);
  const above = aboveCeiling(session, levels);
  const grants = grantsFrom(session, levels);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (existing) {
        await request(UpdateRole, { input: { id: existing.id, name, description: description || null, grants } });
      } else {
        await request(CreateRole, {
          input: { organizationId: session.organization!.id, name, description: description || null, grants },
        });
      }
      navigate('/roles');
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  if (id && data && !existing) return <ErrorNote error={new Error('No such custom role here.')} />;
  return (
    <form className="stack role-editor" onSubmit={save}>
      <p>
        <Link to="/roles">Roles</Link> ›
      </p>
      <h1>{existing ? `Edit ${existing.name}` : 'New custom role'}</h1>
      <ErrorNote error={loadError} />
      <Field label="Name" value={name} onChange={setName} isRequired error={fieldError(error, 'name')} />
      <Field label="Description" value={description} onChange={setDescription} error={fieldError(error, 'description')} />
      <GrantEditor session={session} levels={levels} onChange={setLevels} />
      <section className="ceiling" aria-labelledby="ceiling-heading">
        <h2 id="ceiling-heading">Before saving</h2>
        <p data-testid="ceiling">
          {above.length === 0
            ? `Every grant is within your own role (${session.organization?.viewerRole?.name ?? 'your role'}).`
            : `Above your own role: ${above.join(', ')}.`}{' '}
          {grants.length} resources above their lowest level.
        </p>
      </section>
      <ErrorNote error={fieldError(error, 'name') || fieldError(error, 'description') ? null : error} />
      <div className="row">
        <Button
          type="submit"
          variant="primary"
          data-action={existing ? 'updateRole' : 'createRole'}
          isDisabled={busy || missing.length > 0 || above.length > 0 || !name.trim()}
          aria-describedby={missing.length > 0 ? 'save-blocked' : undefined}
        >
          Save role
        </Button>
        <Button variant="quiet" onPress={() => navigate('/roles')}>
          Cancel
        </Button>
        {missing.length > 0 && (
          <span id="save-blocked" className="notice">
            Add the dependencies above first.
          </span>
        )}
      </div>
    </form>
  );
}
