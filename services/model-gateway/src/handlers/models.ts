import type { ApiKeyConfig } from '../config.js';

/** GET /v1/models: the endpoints the key's job may use, named as the client passes them in `model`. */
export function listModels(job: ApiKeyConfig, createdAt: number) {
  return {
    object: 'list',
    data: job.endpoints.map((id) => ({ id, object: 'model', created: createdAt, owned_by: 'kernos' })),
  };
}
