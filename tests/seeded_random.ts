/**
 * A seeded pseudo-random generator for the property tests: the seed is random and printed with
 * every failure, and SNOUT_FUZZ_SEED (with --allow-env=SNOUT_FUZZ_SEED) replays one.
 *
 * @module
 */

function seedFromEnvironment(): number {
  const name = "SNOUT_FUZZ_SEED";
  if (Deno.permissions.querySync({ name: "env", variable: name }).state === "granted") {
    const text = Deno.env.get(name);
    if (text !== undefined && /^\d+$/.test(text)) return Number(text) >>> 0;
  }
  return (Math.random() * 2 ** 32) >>> 0;
}

/** This run's seed. */
export const SEED: number = seedFromEnvironment();

/** mulberry32: a small seeded PRNG giving floats in [0, 1), so failures reproduce. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Draws from one test's generator. */
export interface Random {
  /** A whole number in [0, below). */
  int(below: number): number;
}

/** A PRNG of its own for each test, so that one test's draws do not shift another's. */
export function random(testSalt: number): Random {
  const next = mulberry32(SEED ^ Math.imul(testSalt + 1, 0x9e3779b9));
  return { int: (below) => Math.floor(next() * below) };
}
