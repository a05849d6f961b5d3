// The LIKE matcher against a slow, obviously correct reference (dynamic programming over every
// prefix pair), on seeded random patterns and values, so the fast paths and the single-backtrack
// loop are checked on shapes no hand-written table lists.
import { expect } from 'chai';
import { compileLike } from './like.js';

type Piece = { kind: 'any' } | { kind: 'one' } | { kind: 'char'; char: string };

/** The pattern rules, written out plainly: escape + (% _ or escape) is literal, else itself. */
function referencePieces(pattern: string, escape: string | null): Piece[] {
  const chars = Array.from(pattern);
  const pieces: Piece[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const next = chars[i + 1];
    if (escape !== null && c === escape && (next === '%' || next === '_' || next === escape)) {
      pieces.push({ kind: 'char', char: next });
      i++;
    } else if (c === '%') pieces.push({ kind: 'any' });
    else if (c === '_') pieces.push({ kind: 'one' });
    else pieces.push({ kind: 'char', char: c });
  }
  return pieces;
}

function referenceLike(pattern: string, escape: string | null, value: string): boolean {
  const pieces = referencePieces(pattern, escape);
  const chars = Array.from(value);
  // can[i][j]: the first i pieces match the first j characters.
  const can = Array.from({ length: pieces.length + 1 }, () => new Array<boolean>(chars.length + 1).fill(false));
  can[0]![0] = true;
  for (let i = 1; i <= pieces.length; i++) {
    const piece = pieces[i - 1]!;
    for (let j = 0; j <= chars.length; j++) {
      if (piece.kind === 'any') can[i]![j] = can[i - 1]![j]! || (j > 0 && can[i]![j - 1]!);
      else if (j > 0 && (piece.kind === 'one' || piece.char === chars[j - 1])) can[i]![j] = can[i - 1]![j - 1]!;
    }
  }
  return can[pieces.length]![chars.length]!;
}

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick(next: () => number, alphabet: string[], maxLength: number): string {
  const length = Math.floor(next() * (maxLength + 1));
  let text = '';
  for (let i = 0; i < length; i++) text += alphabet[Math.floor(next() * alphabet.length)]!;
  return text;
}

describe('selectors: LIKE matching', () => {
  it('agrees with the reference on 20,000 random patterns and values', () => {
    const next = random(20240601);
    const patternAlphabet = ['a', 'b', '%', '_', '!', '.', '*', '😀'];
    const valueAlphabet = ['a', 'b', '!', '.', '*', '%', '_', '😀'];
    let matches = 0;
    for (let round = 0; round < 2000; round++) {
      const pattern = pick(next, patternAlphabet, 7);
      const escape = next() < 0.5 ? '!' : null;
      const like = compileLike(pattern, escape);
      for (let v = 0; v < 10; v++) {
        const value = pick(next, valueAlphabet, 8);
        const expected = referenceLike(pattern, escape, value);
        if (expected) matches++;
        expect(like(value), `${JSON.stringify(value)} LIKE ${JSON.stringify(pattern)} ESCAPE ${String(escape)}`).to.equal(
          expected,
        );
      }
    }
    // The generator must produce both outcomes for the comparison to mean anything.
    expect(matches).to.be.greaterThan(500);
    expect(matches).to.be.lessThan(19000);
  });

  const shapes: Array<[pattern: string, value: string, expected: boolean]> = [
    ['abc', 'abc', true], // exact
    ['abc', 'abcd', false],
    ['ab%', 'abXYZ', true], // prefix
    ['ab%', 'aXb', false],
    ['%bc', 'XYZbc', true], // suffix
    ['%bc', 'bcX', false],
    ['%b%', 'XbX', true], // infix
    ['%b%', 'XX', false],
    ['%', '', true],
    ['_', '', false],
    ['_', '😀', true], // one character, not one UTF-16 unit
    ['__', '😀', false],
    ['%a_', 'xxab', true], // general
    ['a%%b', 'ab', true],
  ];
  for (const [pattern, value, expected] of shapes) {
    it(`'${value}' LIKE '${pattern}' is ${expected}`, () => {
      expect(compileLike(pattern, null)(value)).to.equal(expected);
    });
  }
});
