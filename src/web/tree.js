/* The experiment tree of a run under `parents: tree | islands`: every experiment under the one it
   was built on, as an indented list coloured by status, the incumbent marked. Text goes in with
   textContent only: titles are an agent's words. */
(function () {
  'use strict';
  var DOT = { keep: 'keep', discard: 'discard' };
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function value(v) {
    return v === null || v === undefined ? '–' : String(Number(v.toPrecision(6)));
  }
  /**
   * Draws `rows` (the experiments JSON: id, parent, island, status, state, value, title) into
   * `box`; `incumbent` is the id to mark, `open(id)` is called on a click.
   */
  window.experimentTree = function (box, rows, incumbent, open) {
    var ids = {},
      kids = {},
      roots = [];
    rows.forEach(function (r) {
      ids[r.id] = 1;
    });
    rows.forEach(function (r) {
      // An experiment whose parent is not listed (none yet, or filtered) is a root.
      if (r.parent === null || r.parent === undefined || !ids[r.parent]) roots.push(r);
      else (kids[r.parent] = kids[r.parent] || []).push(r);
    });
    function list(nodes) {
      var ul = el('ul');
      nodes.forEach(function (r) {
        var li = el('li'),
          st = r.status || (r.state === 'recorded' ? '' : 'running');
        li.dataset.id = String(r.id);
        var node = el('button', 'node st-' + st);
        node.type = 'button';
        node.appendChild(el('span', 'dot ' + (DOT[st] || (r.status ? 'other' : 'flight'))));
        node.appendChild(el('span', 'nid', '#' + r.id));
        node.appendChild(el('span', 'nval', value(r.value)));
        if (r.island !== null && r.island !== undefined)
          node.appendChild(el('span', 'nisland', 'island ' + r.island));
        if (r.id === incumbent) {
          li.classList.add('incumbent');
          node.appendChild(el('span', 'nbest', '★ incumbent'));
        }
        node.appendChild(el('span', 'ntitle', r.title || st));
        node.title = '#' + r.id + ' · ' + (st || r.state) + (r.title ? ' · ' + r.title : '');
        node.addEventListener('click', function () {
          open(r.id);
        });
        li.appendChild(node);
        if (kids[r.id]) li.appendChild(list(kids[r.id]));
        ul.appendChild(li);
      });
      return ul;
    }
    box.textContent = '';
    box.appendChild(list(roots));
    box.dataset.nodes = String(rows.length);
  };
})();
