/** Limits of one endpoint per rolling minute; undefined means unlimited. */
export interface RateLimits {
  /** Input + output tokens per rolling 60 s (estimates at grant, corrected to actual usage at release). */
  tokensPerMinute?: number;
  /** Grants per rolling 60 s. */
  requestsPerMinute?: number;
}

interface Entry {
  readonly at: number;
  tokens: number;
}

const windowMs = 60_000;

/**
 * Token- and request-rate admission over a sliding minute. A grant books its estimate (input + max output tokens)
 * at once, so a burst of grants cannot overshoot the provider's TPM before any of them reports; the release then
 * replaces the estimate with the actual usage, giving back what the turn did not use.
 */
export class RateWindow {
  private entries: Entry[] = [];
  private head = 0;
  private readonly byLease = new Map<string, Entry>();
  private tokens = 0;

  constructor(private readonly limits: RateLimits) {}

  get limited(): boolean {
    return this.limits.tokensPerMinute !== undefined || this.limits.requestsPerMinute !== undefined;
  }

  /**
   * The earliest time (>= now) at which a grant of `tokens` fits, or `now` if it fits already. A request larger
   * than the whole TPM budget fits once the window is empty, so it is delayed, never refused forever.
   */
  fitsAt(tokens: number, now: number): number {
    if (!this.limited) return now;
    this.prune(now);
    const tpm = this.limits.tokensPerMinute ?? Number.POSITIVE_INFINITY;
    const rpm = this.limits.requestsPerMinute ?? Number.POSITIVE_INFINITY;
    let used = this.tokens;
    let count = this.entries.length - this.head;
    const need = Math.min(tokens, tpm);
    let index = this.head;
    let at = now;
    while (count > 0 && (count + 1 > rpm || used + need > tpm)) {
      const entry = this.entries[index++]!;
      used -= entry.tokens;
      count--;
      at = entry.at + windowMs;
    }
    return at;
  }

  book(leaseId: string, tokens: number, now: number): void {
    if (!this.limited) return;
    const entry = { at: now, tokens };
    this.entries.push(entry);
    this.byLease.set(leaseId, entry);
    this.tokens += tokens;
  }

  /** Replaces a booking's estimate with the actual usage (no-op once it left the window). */
  correct(leaseId: string, actualTokens: number): void {
    const entry = this.byLease.get(leaseId);
    if (!entry) return;
    this.byLease.delete(leaseId);
    this.tokens += actualTokens - entry.tokens;
    entry.tokens = actualTokens;
  }

  usedTokens(now: number): number {
    this.prune(now);
    return this.tokens;
  }

  private prune(now: number): void {
    while (this.head < this.entries.length && this.entries[this.head]!.at + windowMs <= now) {
      const entry = this.entries[this.head++]!;
      this.tokens -= entry.tokens;
    }
    for (const [lease, entry] of this.byLease) {
      if (entry.at + windowMs > now) break;
      this.byLease.delete(lease);
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
