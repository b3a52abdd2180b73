// '@kernos/sdk/workflow': the SDK for workflow code (see ../index.ts for where it lives and why).
export * from '@kernos/workflows/sdk';
