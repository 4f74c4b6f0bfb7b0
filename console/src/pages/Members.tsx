// Members: the organization's people and service accounts (search, sort, filter by role and
// kind, one page at a time), their roles, invitations and the seats they use.
import { useEffect, useState } from 'react';
import type { FormEvent } from 'react';
import { request, useQuery } from '../api';
import { graphql } from '../gql';
import type { MemberKind, MemberOrderField, MembersPageQuery, OrderDirection } from '../gql/graphql';
import { useStepUp } from '../mfa';
import { useSession } from '../session';
import type { Session } from '../session';
import { ActionButton, Button, DialogBox, ErrorNote, Field, Pager, ScrollBox, Select, fieldError, formatDate, usePages } from '../ui';

const PAGE_SIZE = 25;

const MembersQuery = graphql(`
  query MembersPage(
    $organizationId: ID!
    $first: Int!
    $after: String
    $orderBy: MemberOrder
    $filter: MemberFilter
    $withRoles: Boolean!
    $withInvitations: Boolean!
  ) {
    organization(id: $organizationId) {
      id
      license {
        seats
        seatsUsed
        freeSeatsUsed
        freeReadOnlySeats
      }
      roles @include(if: $withRoles) {
        id
        key
        name
        predefined
        seatClass
        grants {
          resource
          level
        }
      }
      members(first: $first, after: $after, orderBy: $orderBy, filter: $filter) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        nodes {
          id
          kind
          createdAt
          user {
            id
            email
            displayName
          }
          role {
            id
            key
            name
          }
        }
      }
      invitations(first: 50, status: PENDING) @include(if: $withInvitations) {
        totalCount
        nodes {
          id
          email
          expiresAt
          role {
            id
            name
          }
        }
      }
    }
  }
`);

const AssignRole = graphql(`
  mutation ConsoleAssignRole($input: AssignRoleInput!) {
    assignRole(input: $input) {
      id
    }
  }
`);

const RemoveMember = graphql(`
  mutation ConsoleRemoveMember($membershipId: ID!) {
    removeMember(membershipId: $membershipId)
  }
`);

const InviteMember = graphql(`
  mutation ConsoleInviteMember($input: InviteMemberInput!) {
    inviteMember(input: $input) {
      id
      email
    }
  }
`);

const RevokeInvitation = graphql(`
  mutation ConsoleRevokeInvitation($id: ID!) {
    revokeInvitation(id: $id) {
      id
    }
  }
`);

type Organization = NonNullable<MembersPageQuery['organization']>;
type Member = NonNullable<Organization['members']>['nodes'][number];
type Role = NonNullable<Organization['roles']>[number];

/**
 * The roles the viewer may hand out: none above their own grants, and the owner role only
 * when they are an owner (the rules `assignRole` and `inviteMember` enforce) and `owner` is
 * not false (service accounts and just-in-time members never get it).
 */
export function rolesWithin<R extends Pick<Role, 'key' | 'grants'>>(session: Session, roles: R[], { owner = true } = {}): R[] {
  const owners = new Set(session.catalog.roles.filter((role) => role.owner).map((role) => role.key));
  const viewerIsOwner = owners.has(session.organization?.viewerRole?.key ?? '');
  return roles.filter((role) => {
    if (owners.has(role.key)) return owner && viewerIsOwner;
    return role.grants.every((grant) => {
      const rank = session.access.rank(grant.resource, grant.level);
      return rank <= 0 || session.access.meets(grant.resource, grant.level);
    });
  });
}

const SORTS: Array<{ id: string; label: string }> = [
  { id: 'JOINED:ASC', label: 'Joined, oldest first' },
  { id: 'JOINED:DESC', label: 'Joined, newest first' },
  { id: 'EMAIL:ASC', label: 'Email, A to Z' },
  { id: 'DISPLAY_NAME:ASC', label: 'Name, A to Z' },
  { id: 'ROLE:ASC', label: 'Role, A to Z' },
];

export function MembersPage() {
  const session = useSession();
  const runChange = useStepUp();
  const organizationId = session.organization!.id;
  const viewerId = session.viewer.user.id;
  const can = (field: string) => session.access.can('Mutation', field);
  const canReadRoles = session.access.can('Organization', 'roles').allowed;
  const canSeeInvitations = session.access.can('Organization', 'invitations').allowed;

  const [search, setSearch] = useState('');
  const [appliedSearch, setAppliedSearch] = useState('');
  const [sort, setSort] = useState('JOINED:ASC');
  const [roleFilter, setRoleFilter] = useState('any');
  const [kindFilter, setKindFilter] = useState('any');
  const pages = usePages();
  const [inviting, setInviting] = useState(false);
  const [changing, setChanging] = useState<Member | null>(null);
  const [removing, setRemoving] = useState<Member | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [field, direction] = sort.split(':') as [MemberOrderField, OrderDirection];
  const { data: answer, error, loading, reload: load } = useQuery(MembersQuery, {
    organizationId,
    first: PAGE_SIZE,
    after: pages.after,
    orderBy: { field, direction },
    filter: {
      search: appliedSearch || null,
      roleId: roleFilter === 'any' ? null : roleFilter,
      kind: kindFilter === 'any' ? null : (kindFilter as MemberKind),
    },
    withRoles: canReadRoles,
    withInvitations: canSeeInvitations,
  });
  const data = answer?.organization ?? null;

  const roles = data?.roles ?? [];
  const assignable = rolesWithin(session, roles);
  const members = data?.members;
  const license = data?.license;

  const applyFilter = (change: () => void) => {
    change();
    pages.reset();
  };

  return (
    <>
      <div className="page-head">
        <h1>Members</h1>
        <ActionButton
          action="inviteMember"
          decision={can('inviteMember')}
          variant="primary"
          onPress={() => setInviting(true)}
          unavailable={canReadRoles ? null : 'reading roles is not allowed'}
        >
          Invite
        </ActionButton>
      </div>
      {license && (
        <p className="seats" data-testid="seats">
          Seats: {license.seatsUsed} of {license.seats} licensed in use
          {license.freeReadOnlySeats ? `, ${license.freeSeatsUsed} free read-only` : ''}
        </p>
      )}
      <form
        className="filters"
        role="search"
        aria-label="Filter members"
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          applyFilter(() => setAppliedSearch(search.trim()));
        }}
      >
        <Field label="Search email or name" type="search" value={search} onChange={setSearch} />
        <Button type="submit">Search</Button>
        <Select
          label="Sort by"
          value={sort}
          options={SORTS}
          onChange={(value) => applyFilter(() => setSort(value))}
        />
        {canReadRoles && (
          <Select
            label="Role"
            value={roleFilter}
            options={[{ id: 'any', label: 'Any role' }, ...roles.map((role) => ({ id: role.id, label: role.name }))]}
            onChange={(value) => applyFilter(() => setRoleFilter(value))}
          />
        )}
        <Select
          label="Kind"
          value={kindFilter}
          options={[
            { id: 'any', label: 'People and service accounts' },
            { id: 'HUMAN', label: 'People' },
            { id: 'SERVICE', label: 'Service accounts' },
          ]}
          onChange={(value) => applyFilter(() => setKindFilter(value))}
        />
      </form>
      <ErrorNote error={error} />
      {notice && (
        <p role="status" className="notice">
          {notice}
        </p>
      )}
      <ScrollBox label="Members" aria-busy={loading}>
        <table>
          <caption className="visually-hidden">Members of {session.organization!.name}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Kind</th>
              <th scope="col">Role</th>
              <th scope="col">Joined</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {members?.nodes.map((member) => {
              const own = member.user.id === viewerId;
              return (
                <tr key={member.id} data-member={member.user.email}>
                  <td>{member.user.displayName}</td>
                  <td>{member.user.email}</td>
                  <td>{member.kind === 'SERVICE' ? 'Service account' : 'Person'}</td>
                  <td>{member.role.name}</td>
                  <td>{formatDate(member.createdAt)}</td>
                  <td className="actions">
                    <ActionButton
                      action="assignRole"
                      decision={can('assignRole')}
                      label={`Change role of ${member.user.email}`}
                      unavailable={own ? 'you cannot change your own role' : null}
                      onPress={() => setChanging(member)}
                    >
                      Change role
                    </ActionButton>
                    <ActionButton
                      action="removeMember"
                      decision={can('removeMember')}
                      variant="danger"
                      label={`Remove ${member.user.email}`}
                      unavailable={own ? 'you leave an organization instead of removing yourself' : null}
                      onPress={() => setRemoving(member)}
                    >
                      Remove
                    </ActionButton>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </ScrollBox>
      {members && members.totalCount === 0 && <p>No member matches.</p>}
      {members && (
        <Pager
          label="Members"
          page={pages.page}
          total={members.totalCount}
          hasNext={members.pageInfo.hasNextPage}
          onNext={() => pages.next(members.pageInfo.endCursor)}
          onPrevious={pages.previous}
        />
      )}
      {data?.invitations && (
        <Invitations
          invitations={data.invitations.nodes}
          organizationId={organizationId}
          onChanged={(message) => {
            setNotice(message);
            load();
          }}
        />
      )}
      <InviteDialog
        open={inviting}
        roles={assignable}
        organizationId={organizationId}
        onClose={() => setInviting(false)}
        onInvited={(email) => {
          setInviting(false);
          setNotice(`Invitation sent to ${email}.`);
          load();
        }}
      />
      <ChangeRoleDialog
        member={changing}
        roles={assignable}
        onClose={() => setChanging(null)}
        onChanged={() => {
          setNotice(`${changing?.user.email} now holds another role.`);
          setChanging(null);
          load();
        }}
        run={runChange}
      />
      <DialogBox title="Remove member" open={removing !== null} onClose={() => setRemoving(null)}>
        <RemoveConfirm
          member={removing}
          onCancel={() => setRemoving(null)}
          onRemoved={() => {
            setNotice(`${removing?.user.email} was removed.`);
            setRemoving(null);
            load();
          }}
        />
      </DialogBox>
    </>
  );
}

function Invitations(props: {
  invitations: Array<{ id: string; email: string; expiresAt: string; role: { id: string; name: string } }>;
  organizationId: string;
  onChanged: (message: string) => void;
}) {
  const session = useSession();
  const [error, setError] = useState<unknown>(null);
  const revoke = session.access.can('Mutation', 'revokeInvitation');
  const invite = session.access.can('Mutation', 'inviteMember');
  return (
    <section aria-labelledby="invitations-heading">
      <h2 id="invitations-heading">Pending invitations</h2>
      <ErrorNote error={error} />
      {props.invitations.length === 0 ? (
        <p>No invitation is pending.</p>
      ) : (
        <ScrollBox label="Pending invitations">
          <table>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {props.invitations.map((invitation) => (
                <tr key={invitation.id} data-invitation={invitation.email}>
                  <td>{invitation.email}</td>
                  <td>{invitation.role.name}</td>
                  <td>{formatDate(invitation.expiresAt)}</td>
                  <td className="actions">
                    <ActionButton
                      action="resendInvitation"
                      decision={{ allowed: revoke.allowed && invite.allowed, stepUp: revoke.stepUp || invite.stepUp }}
                      label={`Resend the invitation to ${invitation.email}`}
                      onPress={() => {
                        setError(null);
                        // A new invitation (with a new token in a new email) replaces the old one.
                        request(RevokeInvitation, { id: invitation.id })
                          .then(() =>
                            request(InviteMember, {
                              input: {
                                organizationId: props.organizationId,
                                email: invitation.email,
                                roleId: invitation.role.id,
                              },
                            }),
                          )
                          .then(() => props.onChanged(`Invitation sent again to ${invitation.email}.`))
                          .catch(setError);
                      }}
                    >
                      Resend
                    </ActionButton>
                    <ActionButton
                      action="revokeInvitation"
                      decision={revoke}
                      variant="danger"
                      label={`Revoke the invitation to ${invitation.email}`}
                      onPress={() => {
                        setError(null);
                        request(RevokeInvitation, { id: invitation.id })
                          .then(() => props.onChanged(`The invitation to ${invitation.email} was revoked.`))
                          .catch(setError);
                      }}
                    >
                      Revoke
                    </ActionButton>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollBox>
      )}
    </section>
  );
}

function InviteDialog(props: {
  open: boolean;
  roles: Role[];
  organizationId: string;
  onClose: () => void;
  onInvited: (email: string) => void;
}) {
  const [email, setEmail] = useState('');
  const [roleId, setRoleId] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!roleId) {
      setError(new Error('Choose a role.'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const answer = await request(InviteMember, {
        input: { organizationId: props.organizationId, email: email.trim(), roleId },
      });
      setEmail('');
      props.onInvited(answer.inviteMember.email);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <DialogBox title="Invite someone" open={props.open} onClose={props.onClose}>
      <form className="stack" onSubmit={submit}>
        <Field label="Email" type="email" value={email} onChange={setEmail} isRequired autoFocus error={fieldError(error, 'email')} />
        <Select
          label="Role"
          value={roleId}
          options={props.roles.map((role) => ({ id: role.id, label: `${role.name}${role.seatClass === 'FREE' ? ' (free seat)' : ''}` }))}
          onChange={setRoleId}
          description="Only roles within your own grants are listed."
          error={fieldError(error, 'roleId')}
        />
        <ErrorNote error={fieldError(error, 'email') || fieldError(error, 'roleId') ? null : error} />
        <div className="row">
          <Button type="submit" variant="primary" isDisabled={busy}>
            Send invitation
          </Button>
          <Button variant="quiet" onPress={props.onClose}>
            Cancel
          </Button>
        </div>
      </form>
    </DialogBox>
  );
}

function ChangeRoleDialog(props: {
  member: Member | null;
  roles: Role[];
  onClose: () => void;
  onChanged: () => void;
  run: <T>(operation: () => Promise<T>) => Promise<T>;
}) {
  const [roleId, setRoleId] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const member = props.member;
  useEffect(() => {
    setRoleId(member?.role.id ?? null);
    setError(null);
  }, [member]);
  return (
    <DialogBox title="Change role" open={member !== null} onClose={props.onClose}>
      {member && (
        <form
          className="stack"
          onSubmit={(event) => {
            event.preventDefault();
            if (!roleId) return;
            props
              .run(() => request(AssignRole, { input: { membershipId: member.id, roleId } }))
              .then(props.onChanged)
              .catch(setError);
          }}
        >
          <p>
            {member.user.email} holds <strong>{member.role.name}</strong>.
          </p>
          <Select
            label="New role"
            value={roleId}
            options={props.roles.map((role) => ({ id: role.id, label: role.name }))}
            onChange={setRoleId}
            description="Only roles within your own grants are listed."
          />
          <ErrorNote error={error} />
          <div className="row">
            <Button type="submit" variant="primary" isDisabled={!roleId || roleId === member.role.id}>
              Save
            </Button>
            <Button variant="quiet" onPress={props.onClose}>
              Cancel
            </Button>
          </div>
        </form>
      )}
    </DialogBox>
  );
}

function RemoveConfirm(props: { member: Member | null; onCancel: () => void; onRemoved: () => void }) {
  const [error, setError] = useState<unknown>(null);
  if (!props.member) return null;
  const member = props.member;
  return (
    <div className="stack">
      <p>
        Remove {member.user.email} from the organization? Their access ends at once.
      </p>
      <ErrorNote error={error} />
      <div className="row">
        <Button
          variant="danger"
          onPress={() => {
            request(RemoveMember, { membershipId: member.id }).then(props.onRemoved).catch(setError);
          }}
        >
          Remove
        </Button>
        <Button variant="quiet" onPress={props.onCancel}>
          Cancel
        </Button>
      </div>
    </div>
  );
}
