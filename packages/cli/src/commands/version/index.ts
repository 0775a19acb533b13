import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { registerVersionApply } from './apply.js';
import { registerVersionConfig } from './config/index.js';
import { registerVersionCreate } from './create.js';
import { registerVersionDelete } from './delete.js';
import { registerVersionGet } from './get.js';
import { registerVersionInstaller } from './installer/index.js';
import { registerVersionKeystore } from './keystore/index.js';
import { registerVersionList } from './list.js';
import { registerVersionRevokeKey } from './revoke-key.js';
import { registerVersionRotateKey } from './rotate-key.js';
import { registerVersionUpdate } from './update.js';
import { registerVersionVerify } from './verify.js';

export function registerVersion(program: Command, ctx: Context): void {
  const version = program.command('version').description('manage T1C versions, their installers, configs and installation API keys');
  for (const register of [
    registerVersionList,
    registerVersionGet,
    registerVersionCreate,
    registerVersionUpdate,
    registerVersionApply,
    registerVersionDelete,
    registerVersionInstaller,
    registerVersionVerify,
    registerVersionRotateKey,
    registerVersionRevokeKey,
    registerVersionConfig,
    registerVersionKeystore,
  ]) {
    register(version, ctx);
  }
}
