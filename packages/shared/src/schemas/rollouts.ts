import { z } from 'zod';
import { TimestampSchema } from './common.js';

// ---------------------------------------------------------------- rollouts

/** The waves a rollout starts with when none are given: 1 %, 5 %, 25 %, then everyone. */
export const DEFAULT_ROLLOUT_WAVES = [1, 5, 25, 100] as const;
/** Defaults of a rollout's health gate and timing (README "Staged rollouts"). */
export const ROLLOUT_DEFAULTS = {
  waveHoldSeconds: 24 * 3600,
  maxFailureRate: 0.02,
  minSample: 20,
  stuckAfter: 3,
} as const;

/**
 * The states of a rollout: `active` (offered to the devices of its current wave), `paused` (by an
 * operator or its health gate: offered to no device; those that updated keep it), `completed`
 * (reached 100 %: the version is recommended), `aborted` (0 %: everyone not on it is offered the
 * previous recommended version).
 */
export const ROLLOUT_STATES = ['active', 'paused', 'completed', 'aborted'] as const;
export const RolloutStateSchema = z.enum(ROLLOUT_STATES);
export type RolloutState = z.infer<typeof RolloutStateSchema>;

/** Wave percentages: strictly increasing whole percents from 1 to 100, the last one 100. */
export const RolloutWavesSchema = z
  .array(z.number().int('each wave must be a whole percent').min(1, 'each wave must be at least 1 (%)').max(100, 'each wave must be at most 100 (%)'))
  .min(1, 'must name at least one wave')
  .max(20, 'must name at most 20 waves')
  .refine((w) => w.every((p, i) => i === 0 || p > w[i - 1]!), 'must be strictly increasing, e.g. 1,5,25,100')
  .refine((w) => w[w.length - 1] === 100, 'must end with 100, the wave that reaches every device');

/** `PUT /admin/versions/{id}/rollout`: starts a rollout (201) or changes its waves and gate (200). Absent fields keep their value (their default on start). */
export const RolloutPutSchema = z.strictObject({
  waves: RolloutWavesSchema.optional(),
  /** How long a wave is held before it advances by itself (when its health gate passes). */
  waveHoldSeconds: z.number().int().min(0).max(366 * 86400, 'must be at most a year').optional(),
  /** Failed / updated above this (a fraction: 0.02 is 2 %) pauses the rollout. */
  maxFailureRate: z
    .number()
    .min(0, 'must be between 0 and 1')
    .max(1, 'must be between 0 and 1')
    // Kept in hundredths of a percent: a finer rate would be rounded silently (0.00001 to 0, "any failure").
    .refine((v) => Math.abs(v * 10_000 - Math.round(v * 10_000)) < 1e-6, 'must be in steps of 0.0001 (0.01 %), such as 0.02 for 2 % or 0.0025 for 0.25 %')
    .optional(),
  /** The gate judges only from this many updated devices on. */
  minSample: z.number().int().min(1).max(1_000_000).optional(),
  /** An offered device still on its old version after this many sync intervals is stuck; an updated one silent that long has failed. */
  stuckAfter: z.number().int().min(1).max(1000).optional(),
});
export type RolloutPut = z.infer<typeof RolloutPutSchema>;

/** A rollout action's body: nothing, or a note recorded in the history. */
export const RolloutActionSchema = z.strictObject({ note: z.string().max(500).optional() });

/** What a health gate counts (devices), and what it concluded. */
export const RolloutGateNumbersSchema = z.object({
  /** Devices told about the version (answered it in a version check). */
  offered: z.number().int(),
  /** Offered devices that now report it. */
  updated: z.number().int(),
  /** Updated devices that report ERROR, or stopped syncing. */
  failed: z.number().int(),
  /** Offered devices still on their old version `stuckAfter` sync intervals later. */
  stuck: z.number().int(),
  /** failed / updated; null before any device updated. */
  failureRate: z.number().nullable(),
});
export type RolloutGateNumbers = z.infer<typeof RolloutGateNumbersSchema>;

/** One wave of a rollout and the devices it offered the version to. */
export const RolloutWaveSchema = RolloutGateNumbersSchema.extend({
  index: z.number().int(),
  percent: z.number().int(),
  status: z.enum(['done', 'current', 'pending']),
  /** When the wave began (null while pending). */
  startedAt: TimestampSchema.nullable(),
});
export type RolloutWave = z.infer<typeof RolloutWaveSchema>;

/** `GET /admin/versions/{id}/rollout`: a rollout, its waves and its health gate. */
export const RolloutSchema = z.object({
  version: z.string(),
  state: RolloutStateSchema,
  waves: z.array(z.number().int()),
  /** Index into `waves` of the current wave. */
  waveIndex: z.number().int(),
  /** The share of devices (in %) the version is offered to now: the current wave's while active, 0 when paused or aborted, 100 when completed. */
  percent: z.number().int(),
  waveStartedAt: TimestampSchema,
  /** When the current wave may advance by itself (its hold ends); null unless active with a wave to go. */
  nextWaveAt: TimestampSchema.nullable(),
  waveHoldSeconds: z.number().int(),
  maxFailureRate: z.number(),
  minSample: z.number().int(),
  stuckAfter: z.number().int(),
  /** Why it is paused (the health gate's numbers or who paused it); null unless paused. */
  pausedReason: z.string().nullable(),
  /** The health gate: devices offered since `since` (the start, or the last resume). */
  gate: RolloutGateNumbersSchema.extend({
    since: TimestampSchema,
    /** failed / updated is over maxFailureRate with at least minSample updated. */
    tripped: z.boolean(),
  }),
  /** Every wave, with the devices first offered the version in it. */
  waveStats: z.array(RolloutWaveSchema),
  startedAt: TimestampSchema,
  updatedAt: TimestampSchema,
  completedAt: TimestampSchema.nullable(),
  /** Increases with every change; the ETag is derived from it. */
  revision: z.number().int(),
});
export type Rollout = z.infer<typeof RolloutSchema>;

export const ROLLOUT_EVENT_KINDS = ['started', 'changed', 'advanced', 'paused', 'resumed', 'promoted', 'aborted', 'completed'] as const;
export const RolloutEventKindSchema = z.enum(ROLLOUT_EVENT_KINDS);
export type RolloutEventKind = z.infer<typeof RolloutEventKindSchema>;

/** Who caused a rollout change: a user (session), an admin API token, the health gate, or the schedule (a wave's hold ended). */
export const ROLLOUT_ACTOR_KINDS = ['user', 'token', 'health-gate', 'schedule'] as const;
export const RolloutActorKindSchema = z.enum(ROLLOUT_ACTOR_KINDS);
export type RolloutActorKind = z.infer<typeof RolloutActorKindSchema>;

/** One entry of `GET /admin/versions/{id}/rollout/history`. */
export const RolloutEventSchema = z.object({
  id: z.string(),
  version: z.string(),
  at: TimestampSchema,
  kind: RolloutEventKindSchema,
  /** The username, the token's name, "health gate" or "schedule". */
  actor: z.string(),
  actorKind: RolloutActorKindSchema,
  fromPercent: z.number().int().nullable(),
  toPercent: z.number().int().nullable(),
  /** The gate's numbers when the change was made. */
  numbers: RolloutGateNumbersSchema.nullable(),
  detail: z.string().nullable(),
});
export type RolloutEvent = z.infer<typeof RolloutEventSchema>;

// ---------------------------------------------------------------- organization update policy

/**
 * `PUT /admin/organizations/{name}/policy`. Absent fields keep their value; null clears one.
 * `hold`: a semver range the organization's devices stay within (`<3.10`, `~3.9`);
 * `window`: when non-mandatory updates are offered, `<days> HH:MM-HH:MM <IANA time zone>` (days:
 * `Mon`..`Sun`, lists `Sat,Sun`, spans `Mon-Fri`, or `daily`); `prereleases`: offer pre-releases.
 */
export const PolicyPutSchema = z.strictObject({
  hold: z.string().trim().min(1, 'must not be empty (null clears it)').max(200).nullable().optional(),
  window: z.string().trim().min(1, 'must not be empty (null clears it)').max(200).nullable().optional(),
  prereleases: z.boolean().optional(),
});
export type PolicyPut = z.infer<typeof PolicyPutSchema>;

/** An organization's update policy (all null/false: none). */
export const PolicySchema = z.object({
  organization: z.string(),
  hold: z.string().nullable(),
  /** Normalised: `Sat 02:00-06:00 Europe/Brussels`. */
  window: z.string().nullable(),
  prereleases: z.boolean(),
  updatedAt: TimestampSchema.nullable(),
  updatedBy: z.string().nullable(),
});
export type Policy = z.infer<typeof PolicySchema>;
