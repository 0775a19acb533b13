import type { SyncRequest, VersionCheckResponse } from '@ds/shared';
import { syncMessage } from '../devices/devices.service.js';
import { answerDeviceMessage } from '../devices/message-pipeline.js';
import { versionCheckMessage } from '../devices/version-check.js';
import { iso } from '../lib/clock.js';
import type { TestContext } from './harness.js';

/**
 * Many devices for rollout tests, without the JOSE work of each: rows registered in the database
 * and messages answered by the real message pipeline (replay record, handler, writes), only not
 * sealed. The protocol itself is tested through the routes in devices.test.ts; 500 real
 * registrations would spend the test's time on key generation.
 */
export class TestFleet {
  readonly ids: string[] = [];
  constructor(private readonly ctx: TestContext) {}

  /** Registers `n` Windows devices on `version`, serving `labels`. */
  async add(n: number, version: string, labels: string[] = []): Promise<string[]> {
    const now = iso(this.ctx.clock.now());
    const added: string[] = [];
    const db = this.ctx.database.db;
    const rows = Array.from({ length: n }, () => {
      const id = crypto.randomUUID();
      added.push(id);
      return {
        id,
        certFingerprint: `test-${id}`,
        certificate: 'test',
        publicJwk: '{}',
        keyAlg: 'test',
        version,
        osName: 'Windows',
        osVersion: '11',
        osArch: 'x64',
        hostname: null,
        status: 'ACTIVE',
        registeredAt: now,
        lastSyncAt: now,
        updatedAt: now,
        jwksVersion: null,
      };
    });
    for (let i = 0; i < rows.length; i += 100) await db.insertInto('devices').values(rows.slice(i, i + 100)).execute();
    const labelRows = added.flatMap((deviceId) => labels.map((label) => ({ deviceId, label, firstSeenAt: now, lastSeenAt: now })));
    for (let i = 0; i < labelRows.length; i += 100) await db.insertInto('deviceLabels').values(labelRows.slice(i, i + 100)).execute();
    this.ids.push(...added);
    return added;
  }

  private async row(id: string) {
    const row = await this.ctx.app.services.syncStore.findDevice(id);
    if (!row) throw new Error(`no device ${id}`);
    return row;
  }

  /** A version check of the device on the version it reports. */
  async check(id: string): Promise<VersionCheckResponse> {
    const device = await this.row(id);
    return (await answerDeviceMessage(this.ctx.app.services, { device, jti: crypto.randomUUID(), claims: { version: device.version } }, versionCheckMessage)) as VersionCheckResponse;
  }

  /** A sync reporting `version` (default: the device's) and `status`. */
  async sync(id: string, report: { version?: string; status?: SyncRequest['status'] } = {}): Promise<void> {
    const device = await this.row(id);
    const claims: SyncRequest = {
      version: report.version ?? device.version,
      status: report.status ?? 'ACTIVE',
      digests: { contextConfig: null, sslKeystoreConfig: null },
      labels: [],
      userAgents: [],
      transactions: [],
    };
    await answerDeviceMessage(this.ctx.app.services, { device, jti: crypto.randomUUID(), claims }, syncMessage);
  }

  /** Checks every device; answers the ids offered `versionId`. */
  async checkAll(versionId: string, ids: readonly string[] = this.ids): Promise<string[]> {
    const offered: string[] = [];
    for (const id of ids) if ((await this.check(id)).latest?.id === versionId) offered.push(id);
    return offered;
  }

  /** Devices on each version, as their rows say. */
  async versions(): Promise<Record<string, number>> {
    const rows = await this.ctx.database.db.selectFrom('devices').select(['version']).where('id', 'in', this.ids).execute();
    const out: Record<string, number> = {};
    for (const r of rows) out[r.version] = (out[r.version] ?? 0) + 1;
    return out;
  }
}
