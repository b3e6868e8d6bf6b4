/**
 * The hot path: the k most frequent words of a text, as [word, count] pairs, most frequent
 * first, ties in alphabetical order. A word is a run of ASCII letters, digits and apostrophes,
 * compared without case. Make it faster; perf/words.test.mjs says what must not change.
 */
export function topWords(text, k) {
  const pairs = [];
  let word = '';
  for (let i = 0; i <= text.length; i++) {
    const ch = i < text.length ? text[i] : ' ';
    if (/[a-z0-9']/i.test(ch)) {
      word = word + ch.toLowerCase();
    } else if (word !== '') {
      const at = pairs.findIndex((pair) => pair[0] === word);
      if (at === -1) pairs.push([word, 1]);
      else pairs[at][1] += 1;
      word = '';
    }
  }
  pairs.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return pairs.slice(0, k);
}
