import type { KeyObject } from 'node:crypto';
import { publicKeyFromJwk } from '@ds/shared';
import type { JWK } from 'jose';
import type { DeviceRow } from '../db/types.js';

export interface DeviceKeys {
  signingAlgorithms: string[];
  verify: Map<string, KeyObject>;
  encryptionAlgorithm: string;
  encrypt: KeyObject;
}

/** What `keyAlg` of a device row holds: `<signing algs comma separated>|<encryption alg>`. */
export function encodeKeyAlg(signing: string[], encryption: string): string {
  return `${signing.join(',')}|${encryption}`;
}

export function decodeKeyAlg(keyAlg: string): { signing: string[]; encryption: string } {
  const [signing = '', encryption = ''] = keyAlg.split('|');
  return { signing: signing.split(',').filter(Boolean), encryption };
}

/**
 * Imported device public keys (node:crypto KeyObjects, which both message engines take), by device
 * id: keys stay in memory (bounded, least recently used out) so a device syncing again does not
 * import its key again; a fleet syncing hourly misses the cache, and a synchronous import from
 * the JWK costs about a fifth of jose's WebCrypto import.
 */
export class DeviceKeyCache {
  private readonly entries = new Map<string, { fingerprint: string; keys: DeviceKeys }>();
  constructor(private readonly max = 20_000) {}

  async get(device: Pick<DeviceRow, 'id' | 'certFingerprint' | 'publicJwk' | 'keyAlg'>): Promise<DeviceKeys> {
    const hit = this.entries.get(device.id);
    if (hit && hit.fingerprint === device.certFingerprint) {
      this.entries.delete(device.id);
      this.entries.set(device.id, hit);
      return hit.keys;
    }
    const jwk = JSON.parse(device.publicJwk) as JWK;
    const { signing, encryption } = decodeKeyAlg(device.keyAlg);
    // One KeyObject serves every algorithm of the key: jose and jose-node check the fit per use.
    const key = publicKeyFromJwk(jwk);
    const verify = new Map<string, KeyObject>(signing.map((alg) => [alg, key]));
    const keys: DeviceKeys = { signingAlgorithms: signing, verify, encryptionAlgorithm: encryption, encrypt: key };
    if (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(device.id, { fingerprint: device.certFingerprint, keys });
    return keys;
  }

  forget(id: string): void {
    this.entries.delete(id);
  }
}
