// The plain-data kernel types are owned by @kernos/workflows (they cross Temporal's payload converter); the SDK
// re-exports them so workflow authors import from one place. Type-only: nothing of the worker is bundled.
export type {
  AccessCheckResult,
  ChatMessage,
  GovernanceInput,
  LlmTurnResult,
  RunIdentity,
  ToolCallRequest,
  ToolCallResult,
  ToolSpec,
} from '@kernos/workflows';
export type { KernosActivities } from '@kernos/workflows';
