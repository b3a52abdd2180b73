export {
  createEmulator,
  DEFAULT_MODELS,
  type Emulator,
  type EmulatorOptions,
  type EmulatorStats,
  type RecordedChatRequest,
  type OutputLengthOptions,
} from './emulator.js';
export { loadConfig, type EmulatorConfig } from './config.js';
export type { ScriptRule, ScriptedResponse, ScriptedToolCall, ScriptedTiming } from './schemas.js';
export { createLognormalSampler, mulberry32, type LognormalOptions, type Random } from './prng.js';
export { embedText, cosineSimilarity } from './embeddings.js';
export type { OpenAIErrorBody } from './errors.js';
