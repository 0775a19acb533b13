import type { ConfigView } from '@ds/shared';
import { flatten } from '../../../lib/output.js';

/** A config view as table rows: the digest, then what the version sets and what devices get. */
export function configViewFields(view: ConfigView, target: string): [string, unknown][] {
  const side = (name: string, value: unknown, none: string): [string, unknown][] =>
    value !== null && typeof value === 'object' && Object.keys(value).length > 0 ? flatten(value, name) : [[name, none]];
  return [
    ['digest', view.digest ?? 'none'],
    ...side('own', view.own, target === 'default' ? '(none)' : '(none: the defaults apply)'),
    ...side('effective', view.effective, '(none)'),
  ];
}
