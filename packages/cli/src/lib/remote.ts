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

/** `create` must not silently update what exists (PUT is create-or-update). */
export function alreadyExists(what: string, updateCommand: string): CliError {
  return new CliError(`CONFLICT: ${what} already exists`, undefined, `change it with \`${updateCommand}\``);
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
      throw new CliError(`HAS_DEPENDANTS: ${error.description}${request}`, undefined, `to delete them too: ${retry} --force`);
    }
    throw error;
  }
}
