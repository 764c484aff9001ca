/**
 * Binomial confidence intervals for the precision and recall of a threshold fitted on reviewer
 * decisions. Wilson's score interval rather than the normal approximation: it stays inside [0, 1],
 * behaves with a handful of items and with proportions near 0 or 1 (precision targets are near 1).
 */

/** z for a two-sided 95% interval. */
export const Z95 = 1.959963984540054;

export interface Interval {
  lo: number;
  hi: number;
}

/** Wilson score interval of `successes` out of `trials`; [0, 1] when there are no trials. */
export function wilson(successes: number, trials: number, z: number = Z95): Interval {
  if (trials <= 0) return { lo: 0, hi: 1 };
  if (successes < 0 || successes > trials)
    throw new RangeError(`successes must be within 0..${trials}, got ${successes}`);
  const p = successes / trials;
  const z2 = z * z;
  const den = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / den;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / den;
  // Clamp rounding so the interval always contains the point estimate.
  return { lo: Math.min(p, Math.max(0, centre - half)), hi: Math.max(p, Math.min(1, centre + half)) };
}

/** A proportion with its Wilson 95% interval; `value` is NaN when there are no trials. */
export interface Estimate extends Interval {
  value: number;
  successes: number;
  trials: number;
}

export function estimate(successes: number, trials: number): Estimate {
  return {
    value: trials > 0 ? successes / trials : Number.NaN,
    successes,
    trials,
    ...wilson(successes, trials),
  };
}
