import { DEFAULT_PROFILE, DEFAULT_URL, type ConfigFile, type Profile } from '../../lib/config.js';
import type { Context } from '../../lib/context.js';
import type { Column } from '../../lib/output.js';

/** A profile as `ds profile` shows it: never its token. */
export interface ProfileView {
  name: string;
  url: string;
  username: string | null;
  /** `active`: a session that has not expired by this machine's clock; `expired`; `none`: logged out. */
  session: 'active' | 'expired' | 'none';
  expiresAt: string | null;
  /** The profile commands use when no URL says otherwise (--profile, DS_PROFILE, else the file's current one). */
  current: boolean;
}

export function profileView(name: string, profile: Profile, current: string, now: Date): ProfileView {
  const session = !profile.token ? 'none' : profile.expiresAt && Date.parse(profile.expiresAt) <= now.getTime() ? 'expired' : 'active';
  return {
    name,
    url: profile.url ?? DEFAULT_URL,
    username: profile.username ?? null,
    session,
    expiresAt: profile.token ? (profile.expiresAt ?? null) : null,
    current: name === current,
  };
}

/** The profile in effect when no URL picks another: --profile, DS_PROFILE, else the file's current one. */
export function currentProfile(ctx: Context, file: ConfigFile): string {
  return ctx.globals.profile || ctx.env.DS_PROFILE || file.current || DEFAULT_PROFILE;
}

export const profileColumns: Column<ProfileView>[] = [
  { header: '', value: (p) => (p.current ? '*' : '') },
  { header: 'profile', value: (p) => p.name },
  { header: 'url', value: (p) => p.url },
  { header: 'user', value: (p) => p.username },
  { header: 'session', value: (p) => p.session },
  { header: 'expires', value: (p) => p.expiresAt },
];

export function profileFields(p: ProfileView): [string, unknown][] {
  return [
    ['profile', p.name],
    ['url', p.url],
    ['user', p.username],
    ['session', p.session],
    ['expires', p.expiresAt],
    ['current', p.current],
  ];
}
