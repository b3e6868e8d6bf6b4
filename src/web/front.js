/* The Pareto front of a run whose `metric:` lists several metrics: every judged experiment as a
   faint dot on the first two metrics, the front's members highlighted and joined by a step line.
   An SVG built node by node; text goes in with textContent only: titles are an agent's words. */
(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  var W = 640,
    H = 360,
    PAD = { left: 64, right: 16, top: 12, bottom: 44 };
  function svg(tag, attrs, text) {
    var e = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) {
      e.setAttribute(k, String(attrs[k]));
    });
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function show(v) {
    return String(Number(v.toPrecision(6)));
  }
  function scale(values, lo, hi) {
    var min = Math.min.apply(null, values),
      max = Math.max.apply(null, values);
    if (min === max) {
      min -= 1;
      max += 1;
    }
    var pad = (max - min) * 0.06;
    min -= pad;
    max += pad;
    return {
      min: min,
      max: max,
      at: function (v) {
        return lo + ((v - min) / (max - min)) * (hi - lo);
      },
    };
  }
  /**
   * Draws `data` ({ metrics: [{ name, goal }], points: [{ id, title, status, member, leftBy,
   * values }] }) into `box`; `open(id)` is called on a click.
   */
  window.frontScatter = function (box, data, open) {
    box.textContent = '';
    var mx = data.metrics[0],
      my = data.metrics[1],
      pts = data.points.filter(function (p) {
        return p.values[mx.name] !== undefined && p.values[my.name] !== undefined;
      });
    box.dataset.points = String(pts.length);
    box.dataset.members = String(
      pts.filter(function (p) {
        return p.member;
      }).length,
    );
    if (pts.length === 0) return;
    var x = scale(
        pts.map(function (p) {
          return p.values[mx.name];
        }),
        PAD.left,
        W - PAD.right,
      ),
      y = scale(
        pts.map(function (p) {
          return p.values[my.name];
        }),
        H - PAD.bottom,
        PAD.top,
      );
    var root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'front-svg', role: 'img' });
    root.appendChild(svg('title', {}, 'Pareto front: ' + mx.name + ' against ' + my.name));
    [
      [x, mx, true],
      [y, my, false],
    ].forEach(function (a) {
      var s = a[0],
        m = a[1],
        horizontal = a[2],
        label = m.name + (m.goal === 'minimize' ? ' (lower is better)' : ' (higher is better)');
      for (var i = 0; i <= 4; i++) {
        var v = s.min + ((s.max - s.min) * i) / 4,
          p = s.at(v);
        root.appendChild(
          horizontal
            ? svg(
                'text',
                { x: p, y: H - PAD.bottom + 16, class: 'tick', 'text-anchor': 'middle' },
                show(v),
              )
            : svg(
                'text',
                { x: PAD.left - 6, y: p + 4, class: 'tick', 'text-anchor': 'end' },
                show(v),
              ),
        );
      }
      root.appendChild(
        horizontal
          ? svg(
              'text',
              {
                x: (PAD.left + W - PAD.right) / 2,
                y: H - 6,
                class: 'axis',
                'text-anchor': 'middle',
              },
              label,
            )
          : svg(
              'text',
              {
                x: 12,
                y: (PAD.top + H - PAD.bottom) / 2,
                class: 'axis',
                'text-anchor': 'middle',
                transform: 'rotate(-90 12 ' + (PAD.top + H - PAD.bottom) / 2 + ')',
              },
              label,
            ),
      );
    });
    root.appendChild(
      svg('rect', {
        x: PAD.left,
        y: PAD.top,
        width: W - PAD.left - PAD.right,
        height: H - PAD.top - PAD.bottom,
        class: 'frame',
      }),
    );
    var members = pts
      .filter(function (p) {
        return p.member;
      })
      .sort(function (a, b) {
        return a.values[mx.name] - b.values[mx.name];
      });
    if (members.length > 1) {
      // The front as a staircase between its members, in the order of the first metric.
      var d = members
        .map(function (p, i) {
          var px = x.at(p.values[mx.name]),
            py = y.at(p.values[my.name]);
          if (i === 0) return 'M' + px + ' ' + py;
          var prev = members[i - 1];
          return 'L' + px + ' ' + y.at(prev.values[my.name]) + ' L' + px + ' ' + py;
        })
        .join(' ');
      root.appendChild(svg('path', { d: d, class: 'front-line' }));
    }
    pts
      .slice()
      .sort(function (a, b) {
        return Number(a.member) - Number(b.member);
      })
      .forEach(function (p) {
        var c = svg('circle', {
          cx: x.at(p.values[mx.name]),
          cy: y.at(p.values[my.name]),
          r: p.member ? 6 : 4,
          class: p.member ? 'pt member' : 'pt ' + p.status,
        });
        c.dataset.id = String(p.id);
        c.appendChild(
          svg(
            'title',
            {},
            '#' +
              p.id +
              (p.member
                ? ' · on the front'
                : p.leftBy !== null
                  ? ' · left the front (#' + p.leftBy + ' dominates it)'
                  : ' · ' + p.status) +
              ' · ' +
              data.metrics
                .map(function (m) {
                  return m.name + ' ' + show(p.values[m.name]);
                })
                .join(', ') +
              (p.title ? ' · ' + p.title : ''),
          ),
        );
        c.addEventListener('click', function () {
          open(p.id);
        });
        root.appendChild(c);
      });
    box.appendChild(root);
  };
})();
