import { describe, expect, it } from 'vitest';
import { installerOsFor, parseOs } from './os.js';

describe('installerOsFor (what T1C devices report)', () => {
  it.each([
    ['Windows', 'x64', 'win64'],
    ['Windows', 'arm64', 'win64'],
    ['Windows', 'x86', 'win32'],
    ['windows', '', 'win64'],
    ['macOS', 'arm64', 'macosarm'],
    ['Darwin', 'aarch64', 'macosarm'],
    ['macOS', 'x86_64', 'macos'],
    ['Linux', 'x86_64', 'linux64'],
    ['Ubuntu', 'amd64', 'linux64'],
    ['Linux', 'i686', 'linux32'],
    ['Linux', 'aarch64', undefined],
    ['FreeBSD', 'amd64', 'unix'],
    ['Solaris', 'sparc', 'unix'],
    ['Android', 'arm64', undefined],
    ['', '', undefined],
  ])('%s %s → %s', (name, arch, os) => {
    expect(installerOsFor(name, arch)).toBe(os);
  });
});

describe('parseOs', () => {
  it('accepts the os values in any case and nothing else', () => {
    expect(parseOs('WIN64')).toBe('win64');
    expect(parseOs('MacOsArm')).toBe('macosarm');
    expect(parseOs('win65')).toBeUndefined();
    expect(parseOs('../win64')).toBeUndefined();
  });
});
