import { createHash, X509Certificate } from 'node:crypto';
import type { JWK } from 'jose';
import { AppError } from '../lib/errors.js';

export interface CheckedCertificate {
  fingerprint: string;
  publicJwk: JWK;
  /** JWS algorithms the device may sign with. */
  signingAlgorithms: string[];
  /** The JWE key management algorithm DS encrypts answers to this device with. */
  encryptionAlgorithm: string;
}

const refuse = (reason: string) => new AppError('INVALID_CERTIFICATE', `certificate: ${reason}`, { issues: [{ path: 'certificate', message: reason }] });

/**
 * Checks a device certificate: one parsable PEM X.509 certificate, an RSA key of at least 2048
 * bits or an EC P-256/P-384 key, self-signed (issuer is subject and the signature verifies with
 * its own key), and valid now.
 */
export function checkDeviceCertificate(pem: string, now: Date): CheckedCertificate {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----/g) ?? [];
  if (blocks.length !== 1) throw refuse(blocks.length === 0 ? 'not a PEM certificate' : 'give exactly one certificate');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    throw refuse('the PEM cannot be parsed as an X.509 certificate');
  }
  const key = cert.publicKey;
  let signingAlgorithms: string[];
  let encryptionAlgorithm: string;
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw refuse(`an RSA key of ${bits} bits is too small; at least 2048 are needed`);
    if (bits > 8192) throw refuse(`an RSA key of ${bits} bits is larger than DS accepts (8192)`);
    signingAlgorithms = ['RS256', 'PS256'];
    encryptionAlgorithm = 'RSA-OAEP-256';
  } else if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') signingAlgorithms = ['ES256'];
    else if (curve === 'secp384r1') signingAlgorithms = ['ES384'];
    else throw refuse(`the EC curve ${curve ?? 'unknown'} is not accepted; use P-256 or P-384`);
    encryptionAlgorithm = 'ECDH-ES+A256KW';
  } else {
    throw refuse(`a ${key.asymmetricKeyType ?? 'unknown'} key is not accepted; use RSA (2048+) or EC P-256/P-384`);
  }
  if (cert.issuer !== cert.subject || !cert.checkIssued(cert)) throw refuse('it is not self-signed (issuer differs from subject)');
  if (!cert.verify(key)) throw refuse('its self-signature does not verify');
  const validFrom = new Date(cert.validFrom);
  const validTo = new Date(cert.validTo);
  // A little tolerance for device clocks running behind.
  if (validFrom.getTime() > now.getTime() + 300_000) throw refuse(`it is not valid before ${validFrom.toISOString()}`);
  if (validTo.getTime() < now.getTime()) throw refuse(`it expired at ${validTo.toISOString()}`);
  return {
    fingerprint: createHash('sha256').update(cert.raw).digest('hex'),
    publicJwk: key.export({ format: 'jwk' }) as JWK,
    signingAlgorithms,
    encryptionAlgorithm,
  };
}
