import type { Migration } from 'kysely';
import * as m0001 from './0001-initial.js';
import * as m0002 from './0002-devices.js';
import * as m0003 from './0003-downloads.js';
import * as m0004 from './0004-counter-history.js';
import * as m0005 from './0005-ds-keys-at-rest.js';
import * as m0006 from './0006-rate-limits.js';
import * as m0007 from './0007-counter-organizations.js';
import * as m0008 from './0008-rollouts.js';
import * as m0010 from './0010-adoption.js';
import * as m0011 from './0011-audit-log.js';
import * as m0012 from './0012-webhooks.js';
import * as m0013 from './0013-pending-device-events.js';

/** Every migration, in order. Listed explicitly so bundling cannot lose or reorder one. */
export const migrations: Record<string, Migration> = {
  '0001-initial': m0001,
  '0002-devices': m0002,
  '0003-downloads': m0003,
  '0004-counter-history': m0004,
  '0005-ds-keys-at-rest': m0005,
  '0006-rate-limits': m0006,
  '0007-counter-organizations': m0007,
  '0008-rollouts': m0008,
  '0010-adoption': m0010,
  '0011-audit-log': m0011,
  '0012-webhooks': m0012,
  '0013-pending-device-events': m0013,
};
