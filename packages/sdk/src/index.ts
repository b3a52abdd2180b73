// The SDK's implementation lives in @kernos/workflows (workflows/src/sdk), beside the kernel's workflow primitives
// it builds on (scheduled turns, the approval gate) and the workflows written on it: the worker bundles all of
// them, and this way @kernos/sdk depends on @kernos/workflows and never the other way round. It is all
// deterministic workflow code; the root entry is the same API as '@kernos/sdk/workflow'.
export * from '@kernos/workflows/sdk';
