import { importJWK, type CryptoKey, type JWK } from 'jose';
import type { DeviceRow } from '../db/types.js';

export interface DeviceKeys {
  signingAlgorithms: string[];
  verify: Map<string, CryptoKey>;
  encryptionAlgorithm: string;
  encrypt: CryptoKey;
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
 * Imported device public keys, by device id. Importing costs about 100 µs per key, more than the
 * rest of a sync's database work, so keys stay in memory (bounded, least recently used out).
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
    const verify = new Map<string, CryptoKey>();
    for (const alg of signing) verify.set(alg, (await importJWK(jwk, alg)) as CryptoKey);
    const keys: DeviceKeys = { signingAlgorithms: signing, verify, encryptionAlgorithm: encryption, encrypt: (await importJWK(jwk, encryption)) as CryptoKey };
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
