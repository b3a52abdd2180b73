// The plain-data kernel types are the kernel's (workflows/src/types.ts: they cross Temporal's payload converter);
// the SDK re-exports them so workflow authors import from one place. Type-only: nothing of the worker is bundled.
export type {
  AccessCheckResult,
  ChatMessage,
  GovernanceInput,
  LlmTurnResult,
  RunIdentity,
  ToolCallRequest,
  ToolCallResult,
  ToolSpec,
} from '../types.js';
export type { KernosActivities } from '../activities/index.js';
