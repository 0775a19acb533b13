export { startServer, initDs, migrateDatabase, backupDatabase, loadConfig } from './main.js';
export { startServers } from './cluster.js';
export type { RunningServer, ServerConfig, ServerConfigOverrides } from './main.js';
export { createApp } from './app.js';
export { openDatabase, migrateToLatest } from './db/database.js';
export { FakeClock, systemClock, type Clock } from './lib/clock.js';
export { createLogger, silentLogger, type Logger } from './lib/logger.js';
export { DS_VERSION } from './version.js';
// bench:reports times each SQL statement of this report in-process, on the same code DS serves.
export { transactionsReport } from './reports/transactions.js';
// ds keys rekey re-encrypts the DS private keys under a new master key, locally like ds db migrate.
export { rekeyDatabase, type NewMasterKeyInput, type RekeyResult } from './keys/rekey.js';
// The bench reads DS's private keys for its crypto-only baseline.
export { MasterKey } from './keys/master-key.js';
export { openPrivateJwk } from './keys/at-rest.js';
