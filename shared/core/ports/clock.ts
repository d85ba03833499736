// The clock port: time, injectable so tests choose it.

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
