import { configDigest, type ContextConfig, type EffectiveContextConfig, type SslKeystoreConfig } from '@ds/shared';
import type { Executor } from '../db/types.js';
import type { Clock } from '../lib/clock.js';
import { effectiveContextConfig, effectiveSslKeystoreConfig, loadDefaultConfigs, parseJson } from './configs.js';
import { findVersion } from './versions.repository.js';

export interface EffectiveConfigs {
  contextConfig: EffectiveContextConfig;
  contextConfigDigest: string;
  sslKeystoreConfig: SslKeystoreConfig | null;
  sslKeystoreConfigDigest: string | null;
}

/**
 * The configs devices of a version receive, computed (with digests) at most every few seconds
 * per version: every sync needs them, and they change only when an operator saves a version.
 * Another DS process sees a change within `ttlMs`.
 */
export class ConfigCache {
  private readonly entries = new Map<string, { at: number; value: EffectiveConfigs }>();
  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = 5000,
  ) {}

  async get(db: Executor, versionId: string): Promise<EffectiveConfigs> {
    const now = this.clock.now().getTime();
    const hit = this.entries.get(versionId);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    const [version, defaults] = await Promise.all([findVersion(db, versionId), loadDefaultConfigs(db)]);
    const context = effectiveContextConfig(parseJson<ContextConfig>(version?.contextConfig ?? null), defaults.contextConfig);
    const ssl = effectiveSslKeystoreConfig(parseJson<SslKeystoreConfig>(version?.sslKeystoreConfig ?? null), defaults.sslKeystoreConfig);
    const value: EffectiveConfigs = {
      contextConfig: context,
      contextConfigDigest: configDigest(context),
      sslKeystoreConfig: ssl,
      sslKeystoreConfigDigest: ssl ? configDigest(ssl) : null,
    };
    if (this.entries.size > 1000) this.entries.clear();
    this.entries.set(versionId, { at: now, value });
    return value;
  }

  /** Forget everything (after a config change in this process). */
  clear(): void {
    this.entries.clear();
  }
}
