#!/usr/bin/env node
// The `kernos` bin: runs the TypeScript entry through tsx, as every Kernos entry point does (no build step).
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
