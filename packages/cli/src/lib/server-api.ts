/**
 * What the local commands (`serve`, `init`, `db`) use from @ds/server. Declared here so the CLI
 * states exactly what it depends on; `loadServer` checks the real module against it.
 */
export interface ServerConfigOverrides {
  port?: number;
  host?: string;
  databaseUrl?: string;
  publicUrl?: string;
  installerRoot?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  keyType?: 'rsa' | 'ec';
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
  initialAdminPassword: string | null;
}

export interface ServerModule<Config = unknown> {
  loadConfig(env: NodeJS.ProcessEnv, overrides?: ServerConfigOverrides): Config;
  startServer(config: Config, options?: { adminPassword?: string }): Promise<RunningServer>;
  initDs(config: Config, options?: { adminPassword?: string }): Promise<{ created: boolean; generatedPassword: string | null }>;
  migrateDatabase(config: Config): Promise<string[]>;
  backupDatabase(config: Config, file: string): Promise<{ path: string; bytes: number }>;
}
