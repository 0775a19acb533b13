import {
  configDigest,
  type ConfigView,
  type ContextConfig,
  type EffectiveContextConfig,
  type SslKeystoreConfig,
} from '@ds/shared';
import type { Executor } from '../db/types.js';
import { getSetting } from './versions.repository.js';

/** What every version gets when neither it nor the DS-wide defaults say otherwise. */
export const BUILTIN_CONTEXT_CONFIG: EffectiveContextConfig = {
  corsAllowlist: [],
  syncIntervalSeconds: 3600,
  syncFailureLimit: 10,
};

export const SETTING = {
  contextConfig: 'defaults.contextConfig',
  sslKeystoreConfig: 'defaults.sslKeystoreConfig',
} as const;

export interface DefaultConfigs {
  contextConfig: ContextConfig | null;
  sslKeystoreConfig: SslKeystoreConfig | null;
}

export async function loadDefaultConfigs(db: Executor): Promise<DefaultConfigs> {
  const [context, ssl] = await Promise.all([getSetting(db, SETTING.contextConfig), getSetting(db, SETTING.sslKeystoreConfig)]);
  return {
    contextConfig: context ? (JSON.parse(context) as ContextConfig) : null,
    sslKeystoreConfig: ssl ? (JSON.parse(ssl) as SslKeystoreConfig) : null,
  };
}

/** Version keys win over DS-wide default keys, which win over the built-in ones (key by key). */
export function effectiveContextConfig(own: ContextConfig | null, defaults: ContextConfig | null): EffectiveContextConfig {
  return { ...BUILTIN_CONTEXT_CONFIG, ...(defaults ?? {}), ...(own ?? {}) } as EffectiveContextConfig;
}

/** The keystore config is one unit (a URI and its checksum): the version's, else the default. */
export function effectiveSslKeystoreConfig(own: SslKeystoreConfig | null, defaults: SslKeystoreConfig | null): SslKeystoreConfig | null {
  return own ?? defaults;
}

export function configView(own: unknown, effective: unknown): ConfigView {
  return { own: own ?? null, effective: effective ?? null, digest: effective ? configDigest(effective) : null };
}

export function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}
