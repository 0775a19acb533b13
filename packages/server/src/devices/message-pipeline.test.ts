import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Services } from '../context.js';
import type { DeviceRow } from '../db/types.js';
import { AppError } from '../lib/errors.js';
import { device, seed } from '../test/devices.js';
import { createTestContext, type TestContext } from '../test/harness.js';
import { syncMessage } from './devices.service.js';
import { answerDeviceMessage, deviceMessageKind } from './message-pipeline.js';

// The pipeline below the HTTP layer: a kind declared as {kind, schema, handler} gets the replay
// check, validation and recording without writing any of them. Opening, sealing, replays and
// twins of the real kinds are tested through the routes in devices.test.ts.

let ctx: TestContext;

beforeEach(async () => {
  ctx = await createTestContext();
  const keys = await seed(ctx, await ctx.login());
  await (await device(ctx, keys.installationKey)).register();
});
afterEach(async () => ctx.close());

describe('the pipeline for any message kind', () => {
  let services: Services;
  let row: DeviceRow;
  let runs: number;
  /** A kind declared as the pipeline wants it: name, schema, handler, nothing else. */
  const echo = deviceMessageKind({
    kind: 'echo',
    schema: z.strictObject({ n: z.number().int() }),
    handle: async (_message, { n }) => {
      runs++;
      return { answer: { n: n + 1 } };
    },
  });
  const opened = (jti: string, claims: Record<string, unknown>) => ({ device: row, jti, claims });
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => (error instanceof AppError ? error.code : error),
    );

  beforeEach(async () => {
    services = ctx.app.services;
    row = await ctx.database.db.selectFrom('devices').selectAll().executeTakeFirstOrThrow();
    runs = 0;
  });

  it('validates, handles and records a new jti once; a retry gets the stored answer without running the handler', async () => {
    expect(await answerDeviceMessage(services, opened('j1', { n: 1 }), echo)).toEqual({ n: 2 });
    expect(await answerDeviceMessage(services, opened('j1', { n: 1 }), echo)).toEqual({ n: 2 });
    expect(runs).toBe(1);
    expect(await services.syncStore.findStoredResponse(row.id, 'j1')).toEqual({ kind: 'echo', response: '{"n":2}' });
    expect(await refusal(answerDeviceMessage(services, opened('j2', { n: 'x' }), echo))).toBe('VALIDATION_ERROR');
    expect(await services.syncStore.findStoredResponse(row.id, 'j2')).toBeUndefined();
    expect(await refusal(answerDeviceMessage(services, opened('j1', {}), syncMessage))).toBe('CONFLICT');
    expect(runs).toBe(1);
  });

  it('answers MESSAGE_IN_PROGRESS when the jti is taken but its answer is not visible yet', async () => {
    const busy: Services = { ...services, syncStore: { ...services.syncStore, recordMessage: async () => false } };
    expect(await refusal(answerDeviceMessage(busy, opened('j3', { n: 1 }), echo))).toBe('MESSAGE_IN_PROGRESS');
  });
});

