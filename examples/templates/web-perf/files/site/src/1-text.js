/**
 * Text helpers for the page.
 *
 * countWords counts the words of a text: runs of letters and digits, so that
 * "7:00" counts as two words and "Tuesday," as one.
 */
function countWords(text) {
  // Split on anything that is not a letter or a digit.
  var parts = text.split(/[^\p{L}\p{N}]+/u);
  var count = 0;
  for (var i = 0; i < parts.length; i++) {
    if (parts[i].length > 0) {
      count = count + 1;
    }
  }
  return count;
}

/**
 * readingTime gives the minutes a reader needs for a number of words, at
 * 200 words a minute, never less than one.
 */
function readingTime(words) {
  var minutes = Math.ceil(words / 200);
  if (minutes < 1) {
    minutes = 1;
  }
  return minutes;
}
