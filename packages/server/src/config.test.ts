import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('logs JSON lines at info unless told otherwise, by DS_LOG_FORMAT / DS_LOG_LEVEL or their overrides', () => {
    expect(loadConfig({})).toMatchObject({ logFormat: 'json', logLevel: 'info' });
    expect(loadConfig({ DS_LOG_FORMAT: 'text', DS_LOG_LEVEL: 'warn' })).toMatchObject({ logFormat: 'text', logLevel: 'warn' });
    expect(loadConfig({ DS_LOG_FORMAT: 'text' }, { logFormat: 'json' })).toMatchObject({ logFormat: 'json' });
  });

  it('names a bad value by its environment variable, or by the name the caller gives an override (the flag that was typed)', () => {
    expect(() => loadConfig({ DS_SESSION_TTL_SECONDS: '5' })).toThrow(/^invalid configuration: DS_SESSION_TTL_SECONDS: Too small/);
    expect(() => loadConfig({ DS_SESSION_TTL_SECONDS: '5000' }, { sessionTtlSeconds: '5' }, { sessionTtlSeconds: '--session-ttl' })).toThrow(
      /^invalid configuration: --session-ttl: Too small/,
    );
    // The name of an override is used only for a value the override gave.
    expect(() => loadConfig({ DS_SESSION_TTL_SECONDS: '5' }, {}, { sessionTtlSeconds: '--session-ttl' })).toThrow(/DS_SESSION_TTL_SECONDS: Too small/);
    expect(() => loadConfig({ DS_LOG_FORMAT: 'yaml' })).toThrow(/DS_LOG_FORMAT: Invalid option/);
    expect(() => loadConfig({ DS_MESSAGE_ENGINE: 'webcrypto' })).toThrow(/DS_MESSAGE_ENGINE: Invalid option: expected one of "node"\|"jose"/);
    expect(loadConfig({}).messageEngine).toBe('node');
  });
});
