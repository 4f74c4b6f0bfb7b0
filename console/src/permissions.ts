// What the viewer may do, decided the way the server decides it: from the catalog's guard of
// each field (derived from the schema's directives) and the levels the viewer's role grants in
// the active organization. The console shows an action only when this says yes; the server
// still checks every request, and a refusal is shown like any other error.

export interface Guard {
  type: string;
  field: string;
  kind: string;
  resource?: string | null;
  level?: string | null;
  stepUp: boolean;
  person: boolean;
}

export interface Grant {
  resource: string;
  level: string;
}

export interface ResourceLevels {
  key: string;
  levels: string[];
}

export interface Decision {
  allowed: boolean;
  /** A second-factor check will be asked for first (the guard's `stepUp`). */
  stepUp: boolean;
}

export class Access {
  private readonly levels: Map<string, string[]>;
  private readonly granted: Map<string, string>;
  private readonly guards: Map<string, Guard>;

  constructor(resources: ResourceLevels[], grants: Grant[], guards: Guard[]) {
    this.levels = new Map(resources.map((resource) => [resource.key, resource.levels]));
    this.granted = new Map(grants.map((grant) => [grant.resource, grant.level]));
    this.guards = new Map(guards.map((guard) => [`${guard.type}.${guard.field}`, guard]));
  }

  /** The position of `level` among the resource's levels, lowest first; -1 if unknown. */
  rank(resource: string, level: string): number {
    return this.levels.get(resource)?.indexOf(level) ?? -1;
  }

  /** The level the viewer's role grants on `resource`. */
  levelOf(resource: string): string | undefined {
    return this.granted.get(resource);
  }

  /** Whether the viewer's role grants `resource` at `level` or above. */
  meets(resource: string, level: string): boolean {
    const held = this.granted.get(resource);
    const needed = this.rank(resource, level);
    return held !== undefined && needed >= 0 && this.rank(resource, held) >= needed;
  }

  /**
   * Whether the viewer may use `type.field`. `self` says the object is the viewer's own (their
   * membership, their key), which a guard with `orSelf` lets through.
   */
  can(type: string, field: string, options: { self?: boolean } = {}): Decision {
    const guard = this.guards.get(`${type}.${field}`);
    if (!guard) return { allowed: false, stepUp: false };
    const needs = () => this.meets(guard.resource ?? '', guard.level ?? '');
    let allowed: boolean;
    switch (guard.kind) {
      case 'PUBLIC':
      case 'AUTHENTICATED':
      case 'REQUIRES_OR_MEMBER':
        allowed = true;
        break;
      case 'REQUIRES_OR_SELF':
        allowed = options.self === true || needs();
        break;
      case 'REQUIRES':
      case 'REQUIRES_OR_PARTNER':
        allowed = needs();
        break;
      default:
        allowed = false;
    }
    return { allowed, stepUp: guard.stepUp };
  }
}
