import type { webcrypto } from 'node:crypto';
import { importJWK, type CryptoKey, type JWK } from 'jose';

/** Device key types DS accepts (API.md section 3). */
export const DEVICE_KEY_TYPES = ['rsa', 'ec', 'ec-p384'] as const;
export type DeviceKeyType = (typeof DEVICE_KEY_TYPES)[number];

/** Signing algorithm of a device's messages and the key-management algorithm DS encrypts answers with. */
export const DEVICE_ALGORITHMS: Record<DeviceKeyType, { sig: string; enc: string }> = {
  rsa: { sig: 'RS256', enc: 'RSA-OAEP-256' },
  ec: { sig: 'ES256', enc: 'ECDH-ES+A256KW' },
  'ec-p384': { sig: 'ES384', enc: 'ECDH-ES+A256KW' },
};

/** A device's key pair (as JWKs) and its self-signed certificate. */
export interface DeviceIdentity {
  keyType: DeviceKeyType;
  privateJwk: JWK;
  publicJwk: JWK;
  certificatePem: string;
}

function generationParams(type: DeviceKeyType): webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams {
  if (type === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
  return { name: 'ECDSA', namedCurve: type === 'ec' ? 'P-256' : 'P-384' };
}

function signingParams(type: DeviceKeyType): webcrypto.Algorithm | webcrypto.EcdsaParams {
  if (type === 'rsa') return { name: 'RSASSA-PKCS1-v1_5' };
  return { name: 'ECDSA', hash: type === 'ec' ? 'SHA-256' : 'SHA-384' } as webcrypto.EcdsaParams;
}

/**
 * Makes a device key pair and a self-signed X.509 certificate for it (valid from a day ago for
 * ten years, so small clock differences do not matter).
 */
export async function createDeviceIdentity(type: DeviceKeyType, options: { commonName?: string; now?: Date } = {}): Promise<DeviceIdentity> {
  // Loaded on first use: the X.509 library (and the reflect polyfill its DI container needs) takes
  // about 0.4 s to load, which every `ds` command would otherwise pay.
  await import('reflect-metadata');
  const { X509CertificateGenerator } = await import('@peculiar/x509');
  const keys = (await crypto.subtle.generateKey(generationParams(type), true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = options.now ?? new Date();
  const serial = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
  const certificate = await X509CertificateGenerator.createSelfSigned({
    serialNumber: `01${serial}`,
    name: `CN=${options.commonName ?? `T1C device ${serial.slice(0, 12)}`}`,
    notBefore: new Date(now.getTime() - 86_400_000),
    notAfter: new Date(now.getTime() + 10 * 365 * 86_400_000),
    signingAlgorithm: signingParams(type),
    keys,
  });
  const clean = ({ key_ops: _ops, ext: _ext, alg: _alg, ...jwk }: webcrypto.JsonWebKey & JWK) => jwk as JWK;
  return {
    keyType: type,
    privateJwk: clean((await crypto.subtle.exportKey('jwk', keys.privateKey)) as JWK),
    publicJwk: clean((await crypto.subtle.exportKey('jwk', keys.publicKey)) as JWK),
    certificatePem: certificate.toString('pem'),
  };
}

/** The device's private key for signing messages and for decrypting DS answers. */
export async function deviceKeys(identity: DeviceIdentity): Promise<{ sign: CryptoKey; decrypt: CryptoKey }> {
  const algs = DEVICE_ALGORITHMS[identity.keyType];
  return {
    // Extractable: the node message engine makes KeyObjects of them (see toKeyObject).
    sign: (await importJWK(identity.privateJwk, algs.sig, { extractable: true })) as CryptoKey,
    decrypt: (await importJWK(identity.privateJwk, algs.enc, { extractable: true })) as CryptoKey,
  };
}
