import { DsKeyInfoSchema, KeyRotateSchema } from '../schemas/admin.js';
import { JwksSchema } from '../schemas/device.js';
import { z } from 'zod';
import { defineRoute } from './route.js';

const why = 'the DS keys belong to all of DS';

/** The DS key pairs: the public JWKS, and their administration. */
export const keyRoutes = {
  jwks: defineRoute({
    name: 'jwks',
    method: 'GET',
    path: '/.well-known/jwks.json',
    summary: 'The DS public keys (signing and encryption), current and not yet retired',
    auth: { kind: 'public' },
    response: JwksSchema,
    produces: 'json-document',
  }),
  listKeys: defineRoute({
    name: 'listKeys',
    method: 'GET',
    path: '/admin/keys',
    summary: 'The DS key pairs (public information)',
    auth: { kind: 'admin', scope: 'keys:read', tenancy: 'unrestricted', why },
    response: z.array(DsKeyInfoSchema),
  }),
  rotateKeys: defineRoute({
    name: 'rotateKeys',
    method: 'POST',
    path: '/admin/keys/rotate',
    summary: 'Replace the current DS keys; the old ones stay published for their retention',
    auth: { kind: 'admin', scope: 'keys:write', tenancy: 'unrestricted', why },
    body: KeyRotateSchema,
    response: z.array(DsKeyInfoSchema),
    example: { body: { use: 'both' } },
  }),
};
