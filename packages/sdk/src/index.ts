// The whole SDK is workflow code; the root entry is the same API, for imports that read better as '@kernos/sdk'.
export * from './workflow/index.js';
