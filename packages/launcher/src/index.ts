export { startKernel, kernelProcessNames, freePort, repoRoot } from './kernel.js';
export type { Kernel, KernelOptions, KernelProcessName } from './kernel.js';
export { startProcess } from './process.js';
export type { ManagedProcess, ProcessSpec } from './process.js';
