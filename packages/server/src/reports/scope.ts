import type { Services } from '../context.js';
import { AppError, notFound } from '../lib/errors.js';
import { findOrganizationByName } from '../organizations/organizations.repository.js';
import { outsideOrganization, type Principal } from '../users/principal.js';

// What the reports of API.md section 4 share: who may see which organization, how a bad period
// is named, and how rows are ordered. Each report is one file beside this one.

/** True when a period bound is a day (`YYYY-MM-DD`) rather than a month. */
export const isDay = (bound: string) => bound.length === 10;

/**
 * The organization a report is limited to: the caller's own when limited to one (naming another
 * is 403), else the one asked for (404 when unknown), else none.
 */
export async function reportOrganization(services: Services, principal: Principal, organization: string | undefined): Promise<string | undefined> {
  if (principal.organizationId !== null) {
    if (organization !== undefined && organization !== principal.organizationName) throw outsideOrganization();
    return principal.organizationId;
  }
  if (organization === undefined) return undefined;
  const org = await findOrganizationByName(services.db, organization);
  if (!org) throw notFound(`organization ${organization}`);
  return org.id;
}

export function invalidBound(field: string, message: string): AppError {
  return new AppError('VALIDATION_ERROR', `${field}: ${message}`, { issues: [{ path: field, message }] });
}

/** Orders report rows by these text fields, in turn (absent or null first). */
export function byFields<T>(fields: readonly (keyof T)[]): (a: T, b: T) => number {
  return (a, b) => {
    for (const f of fields) {
      const x = (a[f] ?? '') as string;
      const y = (b[f] ?? '') as string;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  };
}

