/**
 * Warm-up: precomputes a table of checksums "so later lookups are fast".
 * Nothing on the page ever looks anything up in it.
 */
var checksums = [];
function warmUp() {
  for (var round = 0; round < 60; round++) {
    var sum = 0;
    for (var i = 0; i < 1000000; i++) {
      sum = (sum * 31 + i) % 1000003;
    }
    checksums.push(sum);
  }
}
warmUp();
