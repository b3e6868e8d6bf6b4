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
}

export function experimentEnvironment(input: EnvironmentInput): Record<string, string> {
  const strip = new Set([...DEFAULT_SECRETS, ...input.secrets].filter((name) => !input.allow.includes(name)));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.base)) {
    if (v === undefined || strip.has(k) || k.startsWith('AUTORESEARCH_')) continue;
    env[k] = v;
  }
  Object.assign(env, input.set);
  env.AUTORESEARCH_TIME_BUDGET = String(input.budgetSeconds);
  env.AUTORESEARCH_EXPERIMENT_ID = String(input.experimentId);
  env.AUTORESEARCH_RUN_TAG = input.runTag;
  return env;
}
