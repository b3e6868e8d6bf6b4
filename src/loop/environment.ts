/** The experiment's environment: the harness's own, minus secrets, plus the AUTORESEARCH_* contract. */
import { DEFAULT_SECRETS } from '../program/schema.js';

export interface EnvironmentInput {
  base: NodeJS.ProcessEnv;
  allow: string[];
  secrets: string[];
  set: Record<string, string>;
  budgetSeconds: number;
  experimentId: number;
  runTag: string;
  slot?: number;
  /** Device variables of the slot (deviceEnvironment). */
  devices?: Record<string, string>;
  /** The sandbox's variables (its private temp folder). */
  sandbox?: Record<string, string>;
  /** Which run of this commit this is (0, 1, ...), for AUTORESEARCH_SEED. */
  measurement?: number;
}

/**
 * A seed for experiments that use seeded randomness: the same for the same run, experiment and
 * measurement (so a resumed run repeats itself), different for each repeat of a commit (repeats
 * with one fixed seed would hide the noise the decisions rest on).
 */
export function measurementSeed(runTag: string, experimentId: number, measurement: number): number {
  let h = 2166136261;
  for (const ch of `${runTag}/${experimentId}/${measurement}`)
    h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return h % 2147483647;
}

export function experimentEnvironment(input: EnvironmentInput): Record<string, string> {
  const strip = new Set(
    [...DEFAULT_SECRETS, ...input.secrets].filter((name) => !input.allow.includes(name)),
  );
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.base)) {
    if (v === undefined || strip.has(k) || k.startsWith('AUTORESEARCH_')) continue;
    env[k] = v;
  }
  Object.assign(env, input.set);
  env.AUTORESEARCH_TIME_BUDGET = String(input.budgetSeconds);
  env.AUTORESEARCH_EXPERIMENT_ID = String(input.experimentId);
  env.AUTORESEARCH_RUN_TAG = input.runTag;
  if (input.slot !== undefined) env.AUTORESEARCH_SLOT = String(input.slot);
  if (input.measurement !== undefined)
    env.AUTORESEARCH_SEED = String(
      measurementSeed(input.runTag, input.experimentId, input.measurement),
    );
  Object.assign(env, input.devices);
  Object.assign(env, input.sandbox);
  return env;
}

/** The variables that give slot `slot` its own device(s), e.g. CUDA_VISIBLE_DEVICES=2. */
export function deviceEnvironment(
  devices: string[] | undefined,
  deviceEnv: string | Record<string, string>,
  slot: number,
): Record<string, string> {
  if (!devices) return {};
  const device = devices[slot];
  if (device === undefined)
    throw new Error(`slot ${slot} has no device (devices: ${devices.join(', ')})`);
  if (typeof deviceEnv === 'string') return { [deviceEnv]: device };
  return Object.fromEntries(
    Object.entries(deviceEnv).map(([k, v]) => [
      k,
      v.replaceAll('{device}', device).replaceAll('{slot}', String(slot)),
    ]),
  );
}
