import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';

/** Listens on a free port of 127.0.0.1 (port 0: no race with another process) and answers it. */
export async function listenLocal(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Closes `server` at once, kept-alive connections included. */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** Starts a local server (an origin, a webhook receiver) before the suite's tests and closes it after them. */
export function localServerForSuite<T extends { server: Server }>(start: () => Promise<T>, use: (started: T) => void): void {
  let started: T | undefined;
  beforeAll(async () => {
    started = await start();
    use(started);
  });
  afterAll(async () => {
    if (started) await closeServer(started.server);
  });
}
