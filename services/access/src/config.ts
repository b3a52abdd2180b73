import { z } from 'zod';
import { natsConfigShape, parseConfig } from '@kernos/service-kit';

const duration = (what: string) =>
  z.string().transform((text, ctx) => {
    const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
    if (!match) {
      ctx.addIssue({ code: 'custom', message: `expected a ${what} like 500ms, 30s, 15m, 12h or 180d` });
      return z.NEVER;
    }
    const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 'ms'] ?? 1;
    return Number(match[1]) * unit;
  });

export const accessConfigSchema = z.object({
  ...natsConfigShape,
  /** OTLP/HTTP traces endpoint; unset disables export. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url().optional(),
  /** Folder with kernos.cedar, approval.cedar and kernos.cedarschema (default: the service's policies/). */
  KERNOS_ACCESS_POLICY_DIR: z.string().min(1).optional(),
  /** Audit stream name (default AUDIT). */
  KERNOS_AUDIT_STREAM: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only').default('AUDIT'),
  /** Oldest audit record kept (default 180d; 0 keeps forever). */
  KERNOS_AUDIT_MAX_AGE: duration('duration').default(180 * 86_400_000),
  /** Size cap of the audit stream in bytes (default -1, unlimited). */
  KERNOS_AUDIT_MAX_BYTES: z.coerce.number().int().min(-1).default(-1),
  /** Replicas of the audit stream (default 1; 3 in a cluster). */
  KERNOS_AUDIT_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  /** KV bucket of approvals (default KERNOS_APPROVALS). */
  KERNOS_APPROVALS_BUCKET: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only').default('KERNOS_APPROVALS'),
  /** Time an approver has before the approval escalates or expires (default 15m). */
  KERNOS_APPROVAL_TIMEOUT: duration('duration').default(15 * 60_000),
  /** Temporal frontend, for delivering approval decisions to waiting workflows (default 127.0.0.1:7233). */
  KERNOS_TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  KERNOS_TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
});

export type AccessConfig = z.output<typeof accessConfigSchema>;

export function loadAccessConfig(env: Record<string, string | undefined>): AccessConfig {
  return parseConfig(accessConfigSchema, env, 'access');
}
