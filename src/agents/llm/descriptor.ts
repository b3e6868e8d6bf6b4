/**
 * The `llm` agent as the catalog knows it. The agent itself, and the AI SDK with it, is loaded
 * only by a run that uses it.
 */
import { defineAgent } from '../descriptor.js';
import { llmOptions } from './options.js';

export const llmAgent = defineAgent({
  ...llmOptions,
  summary: 'built-in coding agent over a model API (Anthropic, OpenAI, compatible)',
  load: async (o, ctx) => (await import('./agent.js')).llmAgentFor(o, ctx),
});
