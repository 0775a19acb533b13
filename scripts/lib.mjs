// Helpers for the one-command scripts (`npm start`, `npm test`): they must work on a machine
// that has only Node 20 and npm, so they bring pnpm themselves and install/build on demand.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PNPM_VERSION = '12.4.2';

export function log(message) {
  process.stderr.write(`\x1b[2m[ds]\x1b[0m ${message}\n`);
}

export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', ...options, env: { ...process.env, ...options.env } });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function must(command, args, options) {
  const status = run(command, args, options);
  if (status !== 0) {
    log(`${command} ${args.join(' ')} failed (exit ${status})`);
    process.exit(status);
  }
}

export function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    log(`DS needs Node.js 20.19 or newer; this is ${process.versions.node}`);
    process.exit(1);
  }
  // 20, 22 and 24 are what the suite runs on (scripts/test-node.mjs); a newer line may work.
  if (![20, 22, 24].includes(major)) log(`DS is tested on Node.js 20.19, 22 and 24; this is ${process.versions.node}`);
}

/** The pnpm command to use: the pinned version, from PATH if it is there, else through npx. */
export function pnpm() {
  const probe = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
  if (probe.status === 0 && probe.stdout.trim() === PNPM_VERSION) return { cmd: 'pnpm', pre: [] };
  return { cmd: 'npx', pre: ['--yes', `pnpm@${PNPM_VERSION}`] };
}

/** Installs dependencies when node_modules is missing or older than the lockfile, then builds. */
export function installAndBuild() {
  checkNode();
  const marker = join(ROOT, 'node_modules', '.modules.yaml');
  const lock = join(ROOT, 'pnpm-lock.yaml');
  const stale = !existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs);
  if (stale) {
    const env = {};
    // better-sqlite3 compiles from source where no prebuilt binary can be fetched; point
    // node-gyp at the installed Node headers when the system has them.
    if (!process.env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h')) env.npm_config_nodedir = '/usr';
    log('installing dependencies (first run: a minute or two)');
    const { cmd, pre } = pnpm();
    must(cmd, [...pre, 'install', '--frozen-lockfile'], { env });
  }
  log('building');
  must(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-b']);
}
