// circuit-viz viewer: renders the JSON in #circuit-data as a lazily built tree.
// Node record: i ident, r repeat ident, l line info, k kind, q quoted name, b bijective
// line info, c children (key | [key, text] | [key, text, symKey, flags]), m comments,
// col color, t hover title.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('circuit-data').textContent);
  var N = data.nodes, roots = data.roots, opts = data.opts || {};
  var tree = document.getElementById('tree');
  var params = new URLSearchParams(window.location.search);

  function edgeOf(c) { return typeof c === 'string' ? [c, '', null, ''] : [c[0], c[1] || '', c[2] || null, c[3] || '']; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function rawName(n) { return n.q ? n.q.slice(1, -1).replace(/\\(.)/g, '$1') : ''; }

  // First occurrence of every node in pre-order (the printer's order): [parent, index].
  var firstParent = {}, order = [];
  (function () {
    var stack = [];
    for (var r = roots.length - 1; r >= 0; r--) stack.push([roots[r], null, r]);
    while (stack.length) {
      var it = stack.pop(), k = it[0];
      if (Object.prototype.hasOwnProperty.call(firstParent, k)) continue;
      firstParent[k] = [it[1], it[2]];
      order.push(k);
      var cs = N[k].c;
      for (var i = cs.length - 1; i >= 0; i--) stack.push([edgeOf(cs[i])[0], k, i]);
    }
  })();

  // ---- the .circ printer (bijective, as circuit_text's default PrintOptions) ----
  function circText(keys) {
    var counts = {}, seen = {}, stack = keys.slice();
    while (stack.length) {
      var k = stack.pop();
      if (seen[k]) continue;
      seen[k] = true;
      var n = N[k];
      if (n.q !== undefined) counts[n.q] = (counts[n.q] || 0) + 1;
      n.c.forEach(function (c) {
        var e = edgeOf(c);
        if (e[2]) stack.push(e[2]);
        stack.push(e[0]);
      });
    }
    var printed = {}, serial = 0, lines = [];
    function fresh(k) {
      var n = N[k];
      if (n.q !== undefined && counts[n.q] === 1) return 'name';
      return serial++;
    }
    function ident(k, id, repeat) {
      var n = N[k];
      if (id === 'name') return n.q;
      if (n.q !== undefined) return id + ' ' + n.q;
      return repeat ? id + ' ' + n.k : String(id);
    }
    function firstOrRepeat(k) {
      if (Object.prototype.hasOwnProperty.call(printed, k)) return [ident(k, printed[k], true), false];
      var id = fresh(k);
      printed[k] = id;
      return [ident(k, id, false) + N[k].b, true];
    }
    var work = [];
    for (var r = keys.length - 1; r >= 0; r--) work.push([keys[r], 0, null]);
    while (work.length) {
      var w = work.pop(), key = w[0], n = N[key];
      var got = firstOrRepeat(key), line = new Array(w[1] + 1).join('  ') + got[0];
      if (w[2] && w[2][2]) {
        line += ' ! ' + firstOrRepeat(w[2][2])[0];
        if (w[2][3]) line += ' ' + w[2][3];
      }
      lines.push(line.replace(/ +$/, ''));
      if (!got[1]) continue;
      for (var i = n.c.length - 1; i >= 0; i--) {
        var e = edgeOf(n.c[i]);
        work.push([e[0], w[1] + 1, e]);
      }
    }
    return lines.join('\n');
  }

  var toastTimer = null;
  function toast(msg) {
    var t = document.getElementById('toast');
    t.textContent = msg;
    t.className = 'show';
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { t.className = ''; }, 1600);
  }
  function copyText(text) {
    var n = text.split('\n').length;
    var done = function () { toast('copied ' + n + ' line' + (n === 1 ? '' : 's') + ' of .circ text'); };
    var fallback = function () {
      var ta = el('textarea');
      ta.value = text;
      document.body.appendChild(ta);
      ta.select();
      try { document.execCommand('copy'); done(); } catch (e) { toast('copy failed'); }
      document.body.removeChild(ta);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  }

  // ---- search state ----
  var hits = null, onPath = null, hitList = [], hitPos = -1;

  // ---- rows ----
  function makeRow(k, parent, idx, edge) {
    var n = N[k], fp = firstParent[k];
    var first = fp[0] === parent && fp[1] === idx;
    var row = el('div', 'row'), line = el('div', 'line');
    var tog = el('span', 'tog'), txt = el('span', 'txt', first ? n.i + n.l : (n.r || n.i));
    row.setAttribute('data-key', k);
    if (n.col) txt.style.color = n.col;
    txt.title = n.t;
    line.appendChild(tog);
    line.appendChild(txt);
    if (edge && edge[1]) line.appendChild(el('span', 'edge', edge[1]));
    if (n.m) line.appendChild(el('span', 'cm', n.m));
    row.appendChild(line);
    if (first) {
      row.id = 'n-' + k;
      if (n.c.length) {
        row.className += ' has-kids';
        tog.textContent = '\u25b8';
        line.addEventListener('click', function (ev) {
          if (ev.target.tagName === 'BUTTON') return;
          toggle(row);
        });
      }
      if (opts.copy) {
        var b = el('button', 'cp', '\u29c9');
        b.type = 'button';
        b.title = 'copy this subtree as .circ text';
        b.addEventListener('click', function (ev) { ev.stopPropagation(); copyText(circText([k])); });
        line.appendChild(b);
      }
      if (hits && hits[k]) row.className += ' hit';
      if (onPath && onPath[k]) row.className += ' on';
    } else {
      row.className += ' repeat';
      var a = el('a', 'ref', ' \u2191');
      a.href = '#' + k;
      a.title = 'shared node, shown in full above: jump to its first occurrence';
      line.appendChild(a);
      line.addEventListener('click', function (ev) { ev.preventDefault(); jumpTo(k); });
    }
    return row;
  }

  function expand(row) {
    if (!row.classList.contains('has-kids')) return;
    if (!row.kids) {
      var k = row.getAttribute('data-key'), kids = el('div', 'kids');
      N[k].c.forEach(function (c, i) {
        var e = edgeOf(c);
        kids.appendChild(makeRow(e[0], k, i, e));
      });
      row.appendChild(kids);
      row.kids = kids;
    }
    row.classList.add('open');
    row.firstChild.firstChild.textContent = '\u25be';
  }
  function collapse(row) {
    if (!row.classList.contains('open')) return;
    row.classList.remove('open');
    row.firstChild.firstChild.textContent = '\u25b8';
  }
  function toggle(row) { if (row.classList.contains('open')) collapse(row); else expand(row); }

  function childRows(row) {
    var out = [];
    if (!row.kids) return out;
    for (var c = row.kids.firstChild; c; c = c.nextSibling) if (c.id) out.push(c);
    return out;
  }
  function expandTo(depth) {
    var stack = [];
    for (var c = tree.firstChild; c; c = c.nextSibling) if (c.id) stack.push([c, 0]);
    while (stack.length) {
      var it = stack.pop();
      if (it[1] >= depth) continue;
      expand(it[0]);
      childRows(it[0]).forEach(function (r) { stack.push([r, it[1] + 1]); });
    }
  }
  function collapseAll() {
    var open = tree.querySelectorAll('.row.open');
    for (var i = 0; i < open.length; i++) collapse(open[i]);
  }

  // Expands the first-occurrence path to `k`; returns its row.
  function reveal(k) {
    if (!Object.prototype.hasOwnProperty.call(firstParent, k)) return null;
    var path = [], cur = k;
    while (firstParent[cur][0] !== null) { cur = firstParent[cur][0]; path.push(cur); }
    for (var i = path.length - 1; i >= 0; i--) {
      var r = document.getElementById('n-' + path[i]);
      if (r) expand(r);
    }
    return document.getElementById('n-' + k);
  }
  function jumpTo(k) {
    var row = reveal(k);
    if (!row) return;
    row.scrollIntoView({ block: 'center' });
    row.classList.remove('flash');
    void row.offsetWidth;
    row.classList.add('flash');
  }

  // ---- search ----
  function search() {
    var text = document.getElementById('q').value;
    var wholeLine = document.getElementById('q-line').checked;
    var count = document.getElementById('q-count');
    var old = tree.querySelectorAll('.row.hit, .row.on');
    for (var i = 0; i < old.length; i++) old[i].classList.remove('hit', 'on');
    hits = null; onPath = null; hitList = []; hitPos = -1;
    tree.classList.toggle('filtering', false);
    if (!text) { count.textContent = ''; return; }
    var re;
    try { re = new RegExp(text, 'i'); } catch (e) {
      re = new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
    }
    hits = {}; onPath = {};
    order.forEach(function (k) {
      var n = N[k];
      if (re.test(wholeLine ? n.i + n.l : rawName(n))) { hits[k] = true; hitList.push(k); }
    });
    count.textContent = hitList.length + ' match' + (hitList.length === 1 ? '' : 'es');
    if (hitList.length > 3000) { count.textContent += ' (too many to expand)'; return; }
    hitList.forEach(function (k) {
      var cur = firstParent[k][0];
      while (cur !== null && !onPath[cur]) { onPath[cur] = true; cur = firstParent[cur][0]; }
    });
    hitList.forEach(function (k) {
      var row = reveal(k);
      if (row) row.classList.add('hit');
    });
    Object.keys(onPath).forEach(function (k) {
      var row = document.getElementById('n-' + k);
      if (row) row.classList.add('on');
    });
    tree.classList.toggle('filtering', document.getElementById('q-filter').checked);
  }
  function nextHit(step) {
    if (!hitList.length) return;
    hitPos = (hitPos + step + hitList.length) % hitList.length;
    jumpTo(hitList[hitPos]);
    document.getElementById('q-count').textContent = (hitPos + 1) + '/' + hitList.length + ' matches';
  }

  // ---- header ----
  function header() {
    var stats = document.getElementById('stats');
    stats.textContent = order.length + ' nodes, ' + roots.length + ' root' + (roots.length === 1 ? '' : 's');
    var legend = document.getElementById('legend');
    (opts.legend || []).forEach(function (p) {
      var s = el('span', 'lg', p[0]);
      s.style.color = p[1];
      legend.appendChild(s);
    });
    var timer = null, q = document.getElementById('q');
    q.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(search, 150); });
    q.addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter') { ev.preventDefault(); nextHit(ev.shiftKey ? -1 : 1); }
    });
    document.getElementById('q-line').addEventListener('change', search);
    document.getElementById('q-filter').addEventListener('change', search);
    document.getElementById('expand-all').addEventListener('click', function () { expandTo(Infinity); });
    document.getElementById('collapse-all').addEventListener('click', collapseAll);
    document.getElementById('copy-all').addEventListener('click', function () { copyText(circText(roots)); });
    window.addEventListener('hashchange', function () { jumpTo(window.location.hash.slice(1)); });
  }

  header();
  roots.forEach(function (k, r) { tree.appendChild(makeRow(k, null, r, null)); });
  var ex = params.get('expand');
  expandTo(ex === 'all' ? Infinity : (ex !== null && /^\d+$/.test(ex) ? parseInt(ex, 10) : opts.expand));
  if (params.get('q')) { document.getElementById('q').value = params.get('q'); search(); }
  var cp = params.get('copy');
  if (cp) {
    var out = document.getElementById('copy-out');
    out.textContent = circText(cp === 'root' ? roots : [cp]);
    out.hidden = false;
  }
  if (window.location.hash.length > 1) jumpTo(window.location.hash.slice(1));
  document.body.setAttribute('data-ready', '1');
})();
