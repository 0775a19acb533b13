import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/** Names one DS app instance (host, pid and a random part) in job lock rows and logs. */
export const newInstanceId = (): string => `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
