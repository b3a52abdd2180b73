export { startKernel, kernelProcessNames, freePort, repoRoot } from './kernel.js';
export type { CockpitLaunchOptions, CockpitUserSpec, Kernel, KernelCockpit, KernelOptions, KernelProcessName, NatsCredentials } from './kernel.js';
export { startProcess } from './process.js';
export type { ManagedProcess, ProcessSpec } from './process.js';
