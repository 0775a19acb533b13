import { DS_MESSAGE_ISSUER, MessageError, openMessage, sealMessage } from '@ds/shared';
import type { Context } from 'hono';
import type { Services } from '../context.js';
import type { DeviceRow } from '../db/types.js';
import { AppError } from '../lib/errors.js';
import { checkDeviceMessageRate } from '../lib/rate-limit.js';
import type { DeviceKeyCache } from './device-keys.js';

const REGISTERED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface OpenedDeviceMessage {
  device: DeviceRow;
  jti: string;
  /** The payload: the claims other than the registered ones, not validated yet. */
  claims: Record<string, unknown>;
}

/**
 * Reads a device message: `application/jose`, a JWE to a current DS encryption key around a JWS
 * signed by the device of the path, within its lifetime. Every failure is a 4xx that changed nothing.
 * The payload is validated later, by the message pipeline, after its replay check.
 */
export async function openDeviceMessage(services: Services, deviceKeys: DeviceKeyCache, c: Context): Promise<OpenedDeviceMessage> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/jose\b/i.test(type)) throw new AppError('UNSUPPORTED_MEDIA_TYPE', `device messages are application/jose, not ${type || 'unspecified'}`);
  const id = c.req.param('id') ?? '';
  if (!UUID.test(id)) throw new AppError('UNKNOWN_DEVICE', `no device ${id}`);
  const device = await services.syncStore.findDevice(id);
  if (!device) throw new AppError('UNKNOWN_DEVICE', `no device ${id}; register again`);
  // Before any crypto: a device over its rate is refused for the price of the row read. Only
  // messages DS records count, so nobody but the device itself can use up its rate.
  checkDeviceMessageRate(device, services.clock.now(), services.config.deviceMessagesPerMinute);
  const keys = await deviceKeys.get(device);
  const body = (await c.req.text()).trim();
  let opened;
  try {
    opened = await openMessage(body, {
      decryptionKey: async (header) => {
        const key = await services.keys.find(header.kid, 'enc');
        return key && key.alg === header.alg ? key.privateKey : undefined;
      },
      verificationKey: (header) => (header.alg ? keys.verify.get(header.alg) : undefined),
      algorithms: keys.signingAlgorithms,
      issuer: device.id,
      audience: services.config.publicUrl,
      now: Math.floor(services.clock.now().getTime() / 1000),
      engine: services.config.messageEngine,
    });
  } catch (error) {
    if (error instanceof MessageError) throw new AppError(error.code, error.message);
    throw error;
  }
  const claims: Record<string, unknown> = { ...opened.claims };
  for (const name of REGISTERED_CLAIMS) delete claims[name];
  return { device, jti: opened.claims.jti, claims };
}

/** Seals an answer: JWS by the DS signing key inside a JWE to the device's key. */
export async function sealDeviceAnswer(services: Services, deviceKeys: DeviceKeyCache, device: DeviceRow, payload: object): Promise<string> {
  const keys = await deviceKeys.get(device);
  const signing = services.keys.current('sig');
  return sealMessage(payload, {
    issuer: DS_MESSAGE_ISSUER,
    signingKey: signing.privateKey,
    signingAlg: signing.alg,
    signingKid: signing.kid,
    encryptionKey: keys.encrypt,
    encryptionAlg: keys.encryptionAlgorithm,
    now: Math.floor(services.clock.now().getTime() / 1000),
    jti: crypto.randomUUID(),
    engine: services.config.messageEngine,
  });
}

/** An `application/jose` answer. */
export function joseResponse(c: Context, body: string): Response {
  return c.body(body, 200, { 'Content-Type': 'application/jose' });
}
