import { DsApiError, type DeleteResult } from '@ds/shared';
import { CliError } from './errors.js';

/** Resolves with the object, or undefined when DS answers 404 NOT_FOUND. */
export async function getOrUndefined<T>(get: () => Promise<T>): Promise<T | undefined> {
  try {
    return await get();
  } catch (error) {
    if (error instanceof DsApiError && error.status === 404 && error.code === 'NOT_FOUND') return undefined;
    throw error;
  }
}

/**
 * For `create` commands, which must not update what exists: the object, or undefined when the
 * credential cannot see one of that name. DS answers a user limited to an organization 403 alike
 * for another organization's object and for none at all (so names do not leak), so 403 is "none
 * I may see" here: the create that follows then says the real cause (a missing scope, another
 * organization), or creates it.
 */
export async function visibleOrUndefined<T>(get: () => Promise<T>): Promise<T | undefined> {
  try {
    return await getOrUndefined(get);
  } catch (error) {
    if (error instanceof DsApiError && error.status === 403 && error.code === 'FORBIDDEN') return undefined;
    throw error;
  }
}

/** `create` must not silently update what exists (PUT is create-or-update). */
export function alreadyExists(what: string, updateCommand: string): CliError {
  return new CliError(`CONFLICT: ${what} already exists`, undefined, `change it with \`${updateCommand}\``, { code: 'CONFLICT' });
}

/** `{labels: 2, devices: 0}` → `2 labels`. */
export function describeRemoved(result: DeleteResult): string {
  const parts = Object.entries(result.removed)
    .filter(([, count]) => count > 0)
    .map(([what, count]) => `${count} ${count === 1 ? singular(what) : what}`);
  return parts.length > 0 ? ` (also removed ${parts.join(', ')})` : '';
}

function singular(word: string): string {
  if (word.endsWith('ies')) return word.slice(0, -3) + 'y';
  if (word.endsWith('s')) return word.slice(0, -1);
  return word;
}

/** Runs a delete; a 409 HAS_DEPENDANTS keeps the server's description and names the exact retry. */
export async function deleting<T>(retry: string, remove: () => Promise<T>): Promise<T> {
  try {
    return await remove();
  } catch (error) {
    if (error instanceof DsApiError && error.code === 'HAS_DEPENDANTS') {
      const request = error.requestId ? ` (request ${error.requestId})` : '';
      throw new CliError(`HAS_DEPENDANTS: ${error.description}${request}`, undefined, `to delete it anyway: ${retry} --force`, {
        code: error.code,
        description: error.description,
        requestId: error.requestId,
        details: error.details,
      });
    }
    throw error;
  }
}
