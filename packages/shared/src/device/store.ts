import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { JWK } from 'jose';
import type { EffectiveContextConfig, SslKeystoreConfig } from '../schemas/admin.js';
import type { Jwks, Transaction } from '../schemas/device.js';
import type { DeviceKeyType } from './identity.js';

/** Everything a device keeps between runs. */
export interface DeviceState {
  keyType: DeviceKeyType;
  privateJwk: JWK;
  publicJwk: JWK;
  certificatePem: string;
  /** Set once registered. */
  deviceId: string | null;
  /** The T1C version this device runs. */
  version: string;
  dsJwks: Jwks | null;
  contextConfig: EffectiveContextConfig | null;
  contextConfigDigest: string | null;
  sslKeystoreConfig: SslKeystoreConfig | null;
  sslKeystoreConfigDigest: string | null;
  syncIntervalSeconds: number;
  syncFailureLimit: number;
  /**
   * Transactions sent but not yet acknowledged, with the jti they were sent under. They are sent
   * again under the same jti until DS answers, so a lost answer never counts them twice.
   */
  pending: { jti: string; transactions: Transaction[] } | null;
  /** Transactions counted since the last batch: key `label\tmodule\tuseCase\tday` → count. */
  counters: Record<string, number>;
}

/** Where a device keeps its state; inject your own (a keychain, a database). */
export interface DeviceStore {
  load(): Promise<DeviceState | null>;
  save(state: DeviceState): Promise<void>;
}

/** Keeps the state in memory (tests, simulations). */
export class MemoryDeviceStore implements DeviceStore {
  private state: DeviceState | null = null;
  async load() {
    return this.state === null ? null : structuredClone(this.state);
  }
  async save(state: DeviceState) {
    this.state = structuredClone(state);
  }
}

/** Keeps the state in a JSON file readable only by its owner (it holds the private key). */
export class FileDeviceStore implements DeviceStore {
  constructor(private readonly path: string) {}
  async load(): Promise<DeviceState | null> {
    try {
      return JSON.parse(await readFile(this.path, 'utf8')) as DeviceState;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }
  async save(state: DeviceState): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const temporary = `${this.path}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(state), { mode: 0o600 });
    await chmod(temporary, 0o600);
    await rename(temporary, this.path);
  }
}
