// The checks (protected): what `topWords` must keep doing, however fast it gets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { corpus } from './corpus.mjs';
import { referenceTopWords } from './reference.mjs';
import { topWords } from './words.mjs';

test('counts words without case, most frequent first', () => {
  assert.deepEqual(topWords('the cat and The dog. THE end, and', 2), [
    ['the', 3],
    ['and', 2],
  ]);
});

test('breaks ties alphabetically', () => {
  assert.deepEqual(topWords('b a c b a c', 3), [
    ['a', 2],
    ['b', 2],
    ['c', 2],
  ]);
});

test('keeps digits and apostrophes inside words; everything else separates', () => {
  assert.deepEqual(topWords("don't stop-2 don't\tstop\n2", 5), [
    ['2', 2],
    ["don't", 2],
    ['stop', 2],
  ]);
});

test('returns fewer than k pairs when there are fewer words, none for an empty text', () => {
  assert.deepEqual(topWords('one', 5), [['one', 1]]);
  assert.deepEqual(topWords('', 5), []);
  assert.deepEqual(topWords(' .,; ', 5), []);
});

test('answers like the reference on generated texts', () => {
  const text = corpus('bench').slice(0, 20000);
  for (const k of [1, 10, 100]) assert.deepEqual(topWords(text, k), referenceTopWords(text, k));
});
