import type { RunningServer, ServerConfig, ServerConfigOverrides } from '@ds/server';

export type { RunningServer, ServerConfig, ServerConfigOverrides };

/**
 * The part of @ds/server the local commands (`serve`, `init`, `db`) use. Narrow on purpose:
 * tests replace it with a fake, and `loadServerModule` checks the real module against it.
 */
export interface ServerModule {
  loadConfig(env: NodeJS.ProcessEnv, overrides?: ServerConfigOverrides, overrideNames?: Partial<Record<keyof ServerConfigOverrides, string>>): ServerConfig;
  startServer(config: ServerConfig, options?: { adminPassword?: string }): Promise<RunningServer>;
  /** Like startServer, in `workers` processes sharing the port; in a worker process it never resolves. */
  startServers(config: ServerConfig, options: { workers: number; adminPassword?: string }): Promise<RunningServer>;
  initDs(config: ServerConfig, options?: { adminPassword?: string }): Promise<{ created: boolean; generatedPassword: string | null }>;
  migrateDatabase(config: ServerConfig): Promise<string[]>;
  backupDatabase(config: ServerConfig, file: string): Promise<{ path: string; bytes: number }>;
}

/** Loads @ds/server only when a local command runs, so remote commands never load database drivers. */
export async function loadServerModule(): Promise<ServerModule> {
  const server: ServerModule = await import('@ds/server');
  return server;
}
