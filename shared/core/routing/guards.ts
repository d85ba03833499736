/** Guard rails around LLM calls: a circuit breaker and a per-minute budget. */
import type { Clock } from '../ports';

/**
 * Opens after `failureThreshold` consecutive failures; while open no call is made. After
 * `cooldownMs` one trial call is let through (half-open): success closes, failure re-opens.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | undefined;
  private trialInFlight = false;

  constructor(
    private readonly failureThreshold: number,
    private readonly cooldownMs: number,
    private readonly clock: Clock,
  ) {}

  get state(): 'closed' | 'open' | 'half_open' {
    if (this.openedAt === undefined) return 'closed';
    return this.clock.now() - this.openedAt >= this.cooldownMs ? 'half_open' : 'open';
  }

  /** Whether a call may go out now. In half-open state only one trial at a time. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  onSuccess(): void {
    this.failures = 0;
    this.openedAt = undefined;
    this.trialInFlight = false;
  }

  onFailure(): void {
    this.trialInFlight = false;
    this.failures += 1;
    if (this.openedAt !== undefined || this.failures >= this.failureThreshold)
      this.openedAt = this.clock.now();
  }
}

/** A sliding one-minute budget of LLM calls and tokens; 0 means unlimited. */
export class LlmBudget {
  private readonly entries: Array<{ at: number; tokens: number }> = [];

  constructor(
    private readonly callsPerMinute: number,
    private readonly tokensPerMinute: number,
    private readonly clock: Clock,
  ) {}

  /** Reserves a call of about `estimatedTokens`; returns why not when over budget. */
  tryReserve(
    estimatedTokens: number,
  ): { ok: true; entry: { at: number; tokens: number } } | { ok: false; reason: string } {
    const now = this.clock.now();
    while (this.entries.length > 0 && now - this.entries[0]!.at >= 60_000) this.entries.shift();
    if (this.callsPerMinute > 0 && this.entries.length >= this.callsPerMinute) {
      return { ok: false, reason: `over budget: ${this.callsPerMinute} LLM calls per minute` };
    }
    const used = this.entries.reduce((n, e) => n + e.tokens, 0);
    if (this.tokensPerMinute > 0 && used + estimatedTokens > this.tokensPerMinute) {
      return {
        ok: false,
        reason: `over budget: ${this.tokensPerMinute} LLM tokens per minute (${used} used)`,
      };
    }
    const entry = { at: now, tokens: estimatedTokens };
    this.entries.push(entry);
    return { ok: true, entry };
  }

  /** Corrects a reservation with the tokens the provider reported. */
  settle(entry: { tokens: number }, actualTokens: number): void {
    entry.tokens = actualTokens;
  }
}
