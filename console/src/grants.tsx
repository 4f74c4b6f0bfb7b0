// Choosing levels per resource (a custom role, an API key): resources grouped as the policy
// groups them, each level above the viewer's own grant unavailable (the ceiling), and the
// policy's dependencies explained, each added on request.
import { Fragment } from 'react';
import type { Session } from './session';
import { Button, Select } from './ui';

export type Levels = Record<string, string>;

export interface Missing {
  resource: string;
  level: string;
  requiredBy: { resource: string; level: string };
}

/** Every resource at its lowest level, with `grants` over it. */
export function levelsFrom(session: Session, grants: Array<{ resource: string; level: string }>): Levels {
  const levels: Levels = {};
  for (const resource of session.catalog.resources) levels[resource.key] = resource.levels[0];
  for (const grant of grants) levels[grant.resource] = grant.level;
  return levels;
}

/** The grants to send: every resource above its lowest level. */
export function grantsFrom(session: Session, levels: Levels) {
  return session.catalog.resources
    .filter((resource) => resource.levels.indexOf(levels[resource.key]) > 0)
    .map((resource) => ({ resource: resource.key, level: levels[resource.key] }));
}

/** The dependencies the chosen levels leave unmet. */
export function missingDependencies(session: Session, levels: Levels): Missing[] {
  const rank = (resource: string, level: string) => session.access.rank(resource, level);
  return session.catalog.dependencies
    .filter(
      (dependency) =>
        rank(dependency.resource, levels[dependency.resource]) >= rank(dependency.resource, dependency.level) &&
        rank(dependency.requires.resource, levels[dependency.requires.resource]) <
          rank(dependency.requires.resource, dependency.requires.level),
    )
    .map((dependency) => ({
      resource: dependency.requires.resource,
      level: dependency.requires.level,
      requiredBy: { resource: dependency.resource, level: dependency.level },
    }));
}

/** The resources whose chosen level is above the viewer's own. */
export function aboveCeiling(session: Session, levels: Levels): string[] {
  return session.catalog.resources
    .filter((resource) => {
      const chosen = session.access.rank(resource.key, levels[resource.key]);
      return chosen > 0 && !session.access.meets(resource.key, levels[resource.key]);
    })
    .map((resource) => resource.key);
}

export function GrantEditor(props: { session: Session; levels: Levels; onChange: (levels: Levels) => void }) {
  const { session, levels } = props;
  const groups = [...new Set(session.catalog.resources.map((resource) => resource.group))];
  const missing = missingDependencies(session, levels);
  const nameOf = (key: string) => session.catalog.resources.find((resource) => resource.key === key)?.name ?? key;
  return (
    <div className="grant-editor">
      {groups.map((group) => (
        <fieldset key={group} className="grant-group">
          <legend>{group}</legend>
          {session.catalog.resources
            .filter((resource) => resource.group === group)
            .map((resource) => {
              const own = session.access.levelOf(resource.key) ?? resource.levels[0];
              return (
                <Fragment key={resource.key}>
                  <Select
                    label={resource.name}
                    value={levels[resource.key]}
                    options={resource.levels.map((level, index) => ({
                      id: level,
                      label: level,
                      isDisabled: index > 0 && !session.access.meets(resource.key, level),
                    }))}
                    onChange={(level) => props.onChange({ ...levels, [resource.key]: level })}
                    description={`${resource.description ?? ''} Your role: ${own}.`.trim()}
                  />
                </Fragment>
              );
            })}
        </fieldset>
      ))}
      <section aria-live="polite" className="dependencies">
        {missing.length > 0 && (
          <>
            <h3>Dependencies to add</h3>
            <ul>
              {missing.map((need) => (
                <li key={`${need.resource}:${need.level}:${need.requiredBy.resource}`}>
                  {nameOf(need.requiredBy.resource)} at <em>{need.requiredBy.level}</em> needs {nameOf(need.resource)} at{' '}
                  <em>{need.level}</em>.{' '}
                  <Button
                    data-action="addDependency"
                    onPress={() => props.onChange({ ...levels, [need.resource]: need.level })}
                  >
                    Add {nameOf(need.resource)}: {need.level}
                  </Button>
                </li>
              ))}
            </ul>
          </>
        )}
      </section>
    </div>
  );
}
