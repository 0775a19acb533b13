import { SCOPES, type Role, type Scope } from '@ds/shared';
import { AppError } from '../lib/errors.js';

/** Who made an admin request, as established by the admin auth middleware. */
export interface Principal {
  userId: string;
  username: string;
  role: Role;
  /** Set when the user is limited to one organization. */
  organizationId: string | null;
  organizationName: string | null;
  credential: 'session' | 'api-token';
  tokenId: string;
  tokenName: string | null;
  scopes: ReadonlySet<Scope>;
  expiresAt: string | null;
}

const READ_SCOPES = SCOPES.filter((s) => s.endsWith(':read'));
/** What an organization-limited user may ever do: its own labels, devices, counters and tokens. */
const ORG_LIMITED_SCOPES: Scope[] = [
  'orgs:read',
  'policies:write',
  'labels:read',
  'labels:write',
  'versions:read',
  'devices:read',
  'devices:write',
  'reports:read',
  'tokens:read',
  'tokens:write',
  // Their organization's audit entries and webhooks only (the services filter by organization).
  'audit:read',
  'webhooks:read',
  'webhooks:write',
];

/** The scopes a user's role (and organization limit) allows; tokens never exceed these. */
export function roleScopes(role: Role, organizationLimited: boolean): Set<Scope> {
  // Viewers do not read the audit log or webhooks: entries show user administration, and a
  // webhook's deliveries carry the payloads of every event it subscribes to.
  let scopes: Scope[] = role === 'admin' ? [...SCOPES] : [...READ_SCOPES.filter((s) => s !== 'users:read' && s !== 'audit:read' && s !== 'webhooks:read'), 'tokens:write'];
  if (organizationLimited) scopes = scopes.filter((s) => ORG_LIMITED_SCOPES.includes(s));
  return new Set(scopes);
}

export function requireScopeOf(principal: Principal, scope: Scope): void {
  if (!principal.scopes.has(scope)) {
    throw new AppError('INSUFFICIENT_SCOPE', `this credential lacks the scope ${scope}${whyNot(principal, scope)}`, { required: scope });
  }
}

/** Why a credential lacks a scope, so the operator knows what would give it (the role, the limit or the token). */
function whyNot(principal: Principal, scope: Scope): string {
  if (!roleScopes(principal.role, false).has(scope)) return `: the role ${principal.role} does not have it`;
  if (principal.organizationId !== null && !roleScopes(principal.role, true).has(scope)) {
    return `: users limited to an organization (this one: ${principal.organizationName}) do not have it`;
  }
  if (principal.credential === 'api-token') return `: the token${principal.tokenName ? ` ${principal.tokenName}` : ''} was created without it`;
  return '';
}

/** True when the principal may see objects of the organization with this id. */
export function canSeeOrganization(principal: Principal, organizationId: string): boolean {
  return principal.organizationId === null || principal.organizationId === organizationId;
}

/** 403 that reveals nothing about whether the object exists. */
export const outsideOrganization = () => new AppError('FORBIDDEN', 'this credential is limited to another organization');

/** Refuses a user limited to an organization, naming it: the cause is their limit, not another organization. */
export function requireUnrestricted(principal: Principal): void {
  if (principal.organizationId !== null) {
    throw new AppError('FORBIDDEN', `this is for users who see all of DS; this credential is limited to the organization ${principal.organizationName}`);
  }
}
