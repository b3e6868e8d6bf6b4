/**
 * The footer: how long the page takes to read, filled in once the page is parsed.
 */
document.addEventListener('DOMContentLoaded', function () {
  var words = countWords(document.querySelector('main').innerText);
  var footer = document.getElementById('footer');
  footer.textContent =
    'Reading time: ' + readingTime(words) + ' minute. Baked fresh every morning at 12 Quay Street.';
});
