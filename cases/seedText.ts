// --seed S for every command: an integer, or any other string with seedrandom's semantics
// (issue 14 item 2). Here, below the engines, so that fuzz/, kvm/, report/ and cli/ share it.
import seedrandom from 'seedrandom';

/** fast-check seeds derived from a string are non-negative 31-bit integers, like batch seeds. */
const SEED_SPACE = 2 ** 31;

/**
 * A `--seed` as given: a (safe) integer, used as it is (as before), or any other non-empty string,
 * with seedrandom's semantics (the string is the PRNG key). fast-check needs an integer seed, so
 * a string's is seedrandom(text)'s first draw scaled to [0, 2^31): the same on any machine. The
 * text is what is printed and what replay commands repeat.
 */
export interface SeedSpec {
  /** the seed as given on the command line (or the date seed's digits) */
  text: string;
  /** the integer seed the run uses */
  value: number;
  /** true when `text` is not an integer and `value` was derived from it */
  derived: boolean;
}

export class SeedError extends Error {}

/** The integer seed a string seed stands for (seedrandom keyed by the string, first draw). */
export function seedFromString(text: string): number {
  return Math.floor(seedrandom(text)() * SEED_SPACE);
}

export function parseSeedText(text: string): SeedSpec {
  if (text.length === 0) throw new SeedError('--seed: expected an integer or a non-empty string, got ""');
  if (/^-?\d+$/.test(text) && Number.isSafeInteger(Number(text))) return { text, value: Number(text), derived: false };
  return { text, value: seedFromString(text), derived: true };
}

/** The seed as printed first: the text, and for a string the integer it gives fast-check. */
export function describeSeed(s: SeedSpec): string {
  return s.derived ? `${s.text} (a string seed: fast-check seed ${s.value}, from seedrandom)` : s.text;
}

/** The seed as a shell word in a printed command. */
export function shellSeed(text: string): string {
  return /^[A-Za-z0-9._,:@%+=\/-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
