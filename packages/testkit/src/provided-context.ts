import type { StackEndpoints } from '@kernos/devstack';

// What the integration global setup hands to test files through vitest's provide/inject.
declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackEndpoints;
  }
}

export {};
