/*
 * html_report.js - the script of memtop's HTML report (embedded into every
 * report by src/html_embed.sh): reads the figures in the memtop-data
 * element (layout in src/html.c) and draws the page with DOM calls.
 *
 * Data never reaches innerHTML or markup built from strings: text is set
 * with textContent, attributes with setAttribute, so a thread name or a
 * frame holding markup stays text.  Every figure shown is one of the
 * data, or a sum, ratio or ordering of figures in it, said where shown; a
 * figure that is null in the data is shown as "n/a".
 *
 * For tests and tools: the body gets data-rendered="ok" once the page is
 * drawn without an exception, and data-render-ms, how long that took (the
 * guard script before the data records errors in data-errors);
 * "#thread=TID" selects that thread on load; "?selftest" clicks through
 * the page (a card, a ranking header, a row, the filter, the close button)
 * and records the outcome in data-selftest.
 */
(function () {
'use strict';

const D = JSON.parse(document.getElementById('memtop-data').textContent);
const S = D.summary || {};
const THREADS = Array.isArray(S.threads) ? S.threads : [];
const EXTRA = Array.isArray(D.threads) ? D.threads : [];
const FRAMES = D.frames || {};
const BUCKETS = Array.isArray(D.size_buckets) ? D.size_buckets : [];
const SVGNS = 'http://www.w3.org/2000/svg';
const TABLE_ROWS = 25;       /* rows of a table before "show all" */
const STACKS_SHOWN = 10;     /* stacks of a list before "show all" */

/* ---------------------------------------------------------------- DOM */

function h(tag, cls, text) {
	const e = document.createElement(tag);
	if (cls)
		e.className = cls;
	if (text !== undefined && text !== null)
		e.textContent = String(text);
	return e;
}

/* add: append the kids, return the parent; put: append one, return it. */
function add(parent, ...kids) {
	for (const k of kids)
		if (k)
			parent.appendChild(k);
	return parent;
}

function put(parent, kid) {
	return parent.appendChild(kid);
}

function svg(tag, attrs) {
	const e = document.createElementNS(SVGNS, tag);
	for (const k in attrs)
		e.setAttribute(k, String(attrs[k]));
	return e;
}

function clear(e) {
	while (e.firstChild)
		e.removeChild(e.firstChild);
	return e;
}

function button(label, cls, onclick) {
	const b = h('button', cls, label);
	b.type = 'button';
	b.addEventListener('click', onclick);
	return b;
}

/* Control characters would be invisible (or worse) as text: show C0 and
 * DEL as their Unicode control pictures, C1 and bidirectional controls as
 * U+FFFD, as the text report shows them as '?'. */
function visible(t) {
	return String(t)
		.replace(/[\u0000-\u001f\u007f]/g, c => {
			const k = c.charCodeAt(0);
			return String.fromCharCode(k === 0x7f ? 0x2421 : 0x2400 + k);
		})
		.replace(/[\u0080-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '\ufffd');
}

/* ---------------------------------------------------------------- figures */
/* The rules of memtop's text report (src/format.c), so both agree. */

function num(v) {
	return typeof v === 'number' && isFinite(v);
}

function intDigits(t) {
	const i = t.indexOf('.');
	return i < 0 ? t.length : i;
}

function sig3(v) {
	for (let p = 2; p >= 0; p--) {
		const t = v.toFixed(p);
		if (intDigits(t) <= 3 - p)
			return t;
	}
	return null;
}

function dec1(v) {
	let t = v.toFixed(1);
	if (intDigits(t) <= 2)
		return t;
	t = v.toFixed(0);
	return intDigits(t) <= 3 ? t : null;
}

function fmtBytes(b) {
	if (!num(b))
		return 'n/a';
	const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
	const sign = b < 0 ? '-' : '';
	const m = Math.abs(b);
	if (m < 1024)
		return sign + Math.round(m) + ' B';
	let v = m / 1024, u = 0, t;
	while ((t = sig3(v)) === null && u + 1 < units.length) {
		v /= 1024;
		u++;
	}
	return sign + (t === null ? v.toFixed(0) : t) + ' ' + units[u];
}

function fmtCount(n) {
	if (!num(n))
		return 'n/a';
	const sign = n < 0 ? '-' : '';
	const a = Math.abs(n);
	let t;
	if (a < 1000) {
		if (a === Math.floor(a))
			return sign + a.toFixed(0);
		t = dec1(a);
		if (t !== null)
			return t === '0.0' ? (n < 0 ? '>-0.1' : '<0.1') : sign + t;
	}
	const suffixes = 'kMGTPEZY';
	let v = a;
	for (let u = 0; u < suffixes.length; u++) {
		v /= 1000;
		t = dec1(v);
		if (t !== null)
			return sign + t + suffixes.charAt(u);
	}
	return sign + a.toPrecision(3);
}

function fmtRate(n) {
	return num(n) ? fmtCount(n) + '/s' : 'n/a';
}

function fmtPct(v) {
	return num(v) ? v.toFixed(1) + '%' : 'n/a';
}

function fmtDur(secs) {
	if (!num(secs))
		return 'n/a';
	const sign = secs < 0 ? '-' : '';
	const s = Math.abs(secs);
	let t;
	if (s < 10 && intDigits(t = s.toFixed(2)) === 1)
		return sign + t + 's';
	if (s < 60 && (t = s.toFixed(1)) !== '60.0')
		return sign + t + 's';
	if (s < 3600) {
		const r = Math.round(s);
		if (r < 3600)
			return sign + Math.floor(r / 60) + 'm' + String(r % 60).padStart(2, '0') + 's';
	}
	const minutes = Math.round(s / 60), hours = Math.floor(minutes / 60);
	return sign + hours + 'h' + String(minutes - hours * 60).padStart(2, '0') + 'm';
}

/* The exact figure, for tooltips next to a rounded one. */
function exact(v) {
	return num(v) ? String(v) : 'not measured';
}

/* bytes_allocated / allocs: requested bytes per allocation. */
function avgSize(t) {
	return num(t.allocs) && t.allocs > 0 && num(t.bytes_allocated) ? t.bytes_allocated / t.allocs : null;
}

function fmtAvg(v) {
	if (!num(v))
		return 'n/a';
	return v < 1024 ? (Number.isInteger(v) ? v : v.toFixed(1)) + ' B' : fmtBytes(v);
}

function pow2Label(v) {
	const units = ['B', 'KiB', 'MiB', 'GiB'];
	let u = 0;
	while (v >= 1024 && u + 1 < units.length && v % 1024 === 0) {
		v /= 1024;
		u++;
	}
	return v + ' ' + units[u];
}

/* A size bucket's range, from size_buckets: [lo, hi], hi null for "and up". */
function bucketLabel(b) {
	const r = BUCKETS[b];
	if (!r)
		return 'bucket ' + b;
	if (r[1] === null)
		return pow2Label(r[0]) + ' and more';
	if (r[0] === r[1])
		return pow2Label(r[0]);
	return pow2Label(r[0]) + ' to ' + pow2Label(r[1] + 1) + ' (exclusive)';
}

function alertOf(t) {
	return t.alert === 'warn' || t.alert === 'critical' ? t.alert : 'ok';
}

function threadLabel(t) {
	return t.name ? visible(t.name) : '(no name)';
}

function ioCalls(t) {
	return num(t.io_read_calls) && num(t.io_write_calls) ? t.io_read_calls + t.io_write_calls : null;
}

/* ---------------------------------------------------------------- charts */

function niceStep(range, n) {
	const raw = range / n;
	const p = Math.pow(10, Math.floor(Math.log10(raw)));
	const f = raw / p;
	return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
}

/* Axis ticks from lo to hi, about n of them.  kind 'bytes': steps of 1,
 * 2 or 5 times a power of 1024, so byte axes read "1 MiB", "2 MiB"; bytes
 * and 'count' steps are whole numbers. */
function ticks(lo, hi, n, kind) {
	let step = niceStep(hi - lo, n);
	if (kind === 'bytes' && hi - lo >= 1024) {
		const unit = Math.pow(1024, Math.floor(Math.log((hi - lo) / n) / Math.log(1024)));
		step = niceStep((hi - lo) / unit, n) * unit;
	}
	if (kind === 'bytes' || kind === 'count')
		step = Math.max(step, 1);
	const out = [];
	for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
		out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
	return { step: step, list: out };
}

const CW = 520, CH = 190, CL = 70, CR = 12, CT = 10, CB = 26;

/* An axis label: the figure without trailing zeros ("2 MiB", "1.5k"). */
function axisLabel(fmt, v) {
	return fmt(v).replace(/\.0+(?=[^0-9]|$)/, '').replace(/(\.[0-9]*?)0+(?=[^0-9]|$)/, '$1');
}

/* A line chart of ys over xs (seconds since the session started), with
 * axes; null points leave gaps.  fmtY formats the values. */
function lineChart(title, xs, ys, fmtY) {
	const box = add(h('div', 'chart'), h('h3', null, title));
	const idx = [];
	for (let i = 0; i < Math.min(xs.length, ys.length); i++)
		if (num(xs[i]) && num(ys[i]))
			idx.push(i);
	if (idx.length === 0) {
		add(box, h('p', 'note', 'n/a: no measured point'));
		return box;
	}
	let x0 = Infinity, x1 = -Infinity, ymin = Infinity, ymax = -Infinity;
	for (const i of idx) {
		x0 = Math.min(x0, xs[i]);
		x1 = Math.max(x1, xs[i]);
		ymin = Math.min(ymin, ys[i]);
		ymax = Math.max(ymax, ys[i]);
	}
	if (x1 <= x0)
		x1 = x0 + 1;
	const y0 = Math.min(0, ymin);
	const yt = ticks(y0, ymax > y0 ? ymax : y0 + 1, 4, fmtY === fmtBytes ? 'bytes' : null);
	const y1 = Math.max(yt.list[yt.list.length - 1], ymax);
	const xt = ticks(x0, x1, 5);
	const px = x => CL + (x - x0) / (x1 - x0) * (CW - CL - CR);
	const py = y => CH - CB - (y - y0) / (y1 - y0 || 1) * (CH - CT - CB);

	const g = svg('svg', { viewBox: '0 0 ' + CW + ' ' + CH, role: 'img' });
	add(g, add(svg('title', {}), document.createTextNode(title)));
	for (const v of yt.list) {
		add(g, svg('line', { class: 'gridline', x1: CL, x2: CW - CR, y1: py(v), y2: py(v) }));
		const l = svg('text', { x: CL - 6, y: py(v) + 3, 'text-anchor': 'end' });
		l.textContent = axisLabel(fmtY, v);
		add(g, l);
	}
	for (const v of xt.list) {
		const l = svg('text', { x: px(v), y: CH - CB + 14, 'text-anchor': 'middle' });
		l.textContent = fmtDur(v);
		add(g, l);
	}
	add(g, svg('line', { class: 'axis', x1: CL, x2: CL, y1: CT, y2: CH - CB }));
	add(g, svg('line', { class: 'axis', x1: CL, x2: CW - CR, y1: CH - CB, y2: CH - CB }));

	let d = '', pen = false;
	for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
		if (num(xs[i]) && num(ys[i])) {
			d += (pen ? 'L' : 'M') + px(xs[i]).toFixed(1) + ' ' + py(ys[i]).toFixed(1);
			pen = true;
		} else {
			pen = false;
		}
	}
	if (idx.length === 1)
		add(g, svg('circle', { class: 'dot', cx: px(xs[idx[0]]), cy: py(ys[idx[0]]), r: 3 }));
	else
		add(g, svg('path', { class: 'line', d: d }));
	const cursor = svg('line', { class: 'cursor', x1: 0, x2: 0, y1: CT, y2: CH - CB, visibility: 'hidden' });
	add(g, cursor);
	add(box, g);

	const last = idx[idx.length - 1];
	const summary = 'last ' + fmtY(ys[last]) + ' at ' + fmtDur(xs[last]) + ' \u00b7 max ' + fmtY(ymax) +
		' \u00b7 ' + idx.length + (idx.length === 1 ? ' point' : ' points');
	const readout = put(box, h('div', 'readout', summary));
	g.addEventListener('mousemove', ev => {
		const r = g.getBoundingClientRect();
		if (!r.width)
			return;
		const x = x0 + ((ev.clientX - r.left) * CW / r.width - CL) / (CW - CL - CR) * (x1 - x0);
		let best = idx[0];
		for (const i of idx)
			if (Math.abs(xs[i] - x) < Math.abs(xs[best] - x))
				best = i;
		cursor.setAttribute('x1', px(xs[best]));
		cursor.setAttribute('x2', px(xs[best]));
		cursor.setAttribute('visibility', 'visible');
		readout.textContent = 'at ' + fmtDur(xs[best]) + ': ' + fmtY(ys[best]);
	});
	g.addEventListener('mouseleave', () => {
		cursor.setAttribute('visibility', 'hidden');
		readout.textContent = summary;
	});
	return box;
}

/* Columns of a timeline object as charts (keys absent: not drawn). */
function timelineCharts(tl, which) {
	const box = h('div', 'charts');
	if (!tl || !Array.isArray(tl.t)) {
		add(box, h('p', 'note', 'n/a: no timeline in the data'));
		return box;
	}
	for (const [key, title, fmt] of which)
		if (Array.isArray(tl[key]))
			add(box, lineChart(title, tl.t, tl[key], fmt));
	return box;
}

/* Bars of a size histogram (counts per bucket), from the first to the last
 * bucket that is not empty. */
function histogramChart(title, counts, mini) {
	const box = mini ? h('span') : add(h('div', 'chart'), h('h3', null, title));
	if (!Array.isArray(counts)) {
		add(box, h('span', 'note', 'n/a'));
		return box;
	}
	let first = -1, last = -1, max = 0;
	counts.forEach((c, b) => {
		if (num(c) && c > 0) {
			if (first < 0)
				first = b;
			last = b;
			max = Math.max(max, c);
		}
	});
	if (first < 0) {
		add(box, h('span', 'note', 'no allocation'));
		return box;
	}
	if (mini) {
		const n = counts.length, W = 96, H = 18;
		const g = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img' });
		add(g, add(svg('title', {}), document.createTextNode(
			'size histogram: ' + fmtCount(counts.reduce((a, c) => a + (num(c) ? c : 0), 0)) + ' allocations')));
		counts.forEach((c, b) => {
			if (!num(c) || c <= 0)
				return;
			const bh = Math.max(1, c / max * H);
			add(g, add(svg('rect', { class: 'bar', x: b * W / n, y: H - bh, width: W / n - 0.5, height: bh }),
				add(svg('title', {}), document.createTextNode(bucketLabel(b) + ': ' + c))));
		});
		return add(box, g);
	}
	const n = last - first + 1;
	const W = CW, H = CH, bw = (W - CL - CR) / n;
	const yt = ticks(0, max, 4, 'count');
	const y1 = Math.max(yt.list[yt.list.length - 1], max);
	const py = y => H - CB - y / y1 * (H - CT - CB);
	const g = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
	add(g, add(svg('title', {}), document.createTextNode(title)));
	for (const v of yt.list) {
		add(g, svg('line', { class: 'gridline', x1: CL, x2: W - CR, y1: py(v), y2: py(v) }));
		const l = svg('text', { x: CL - 6, y: py(v) + 3, 'text-anchor': 'end' });
		l.textContent = axisLabel(fmtCount, v);
		add(g, l);
	}
	const every = Math.ceil(n / 8);
	for (let b = first; b <= last; b++) {
		const c = num(counts[b]) ? counts[b] : 0;
		const x = CL + (b - first) * bw;
		if (c > 0)
			add(g, add(svg('rect', { class: 'bar', x: x + 1, y: py(c), width: Math.max(1, bw - 2), height: py(0) - py(c) }),
				add(svg('title', {}), document.createTextNode(bucketLabel(b) + ': ' + c + ' allocations'))));
		if ((b - first) % every === 0) {
			const l = svg('text', { x: x + bw / 2, y: H - CB + 14, 'text-anchor': 'middle' });
			l.textContent = BUCKETS[b] ? pow2Label(BUCKETS[b][0]) : String(b);
			add(g, l);
		}
	}
	add(g, svg('line', { class: 'axis', x1: CL, x2: CL, y1: CT, y2: H - CB }));
	add(g, svg('line', { class: 'axis', x1: CL, x2: W - CR, y1: H - CB, y2: H - CB }));
	add(box, g);
	add(box, h('div', 'readout', 'allocations by requested size (bucket lower bounds on the axis)'));
	return box;
}

/* ---------------------------------------------------------------- tables */

/* A table sorted by clicking its headers.  columns: {key, label, get(t),
 * fmt(v), title(t), text: left-aligned, nosort}.  rows() gives the thread
 * indexes to show (the filter's). */
function sortableTable(id, columns, rows, initialKey) {
	const state = { key: initialKey, desc: true, all: false };
	const wrap = h('div', 'tablewrap');
	const table = put(wrap, h('table'));
	table.id = id;
	const thead = put(table, h('thead'));
	const hr = put(thead, h('tr'));
	const tbody = put(table, h('tbody'));
	const foot = h('p', 'note');
	const more = button('', null, () => {
		state.all = !state.all;
		render();
	});
	const ths = [];
	for (const c of columns) {
		const th = put(hr, h('th', c.text ? 'text' : null));
		th.setAttribute('data-key', c.key);
		if (c.nosort) {
			th.textContent = c.label;
		} else {
			add(th, button(c.label, null, () => {
				if (state.key === c.key)
					state.desc = !state.desc;
				else
					state.key = c.key, state.desc = !c.text;
				render();
			}));
		}
		ths.push(th);
	}
	function cmp(col) {
		return (a, b) => {
			const x = col.get(THREADS[a]), y = col.get(THREADS[b]);
			const xn = x === null || x === undefined || (typeof x === 'number' && !isFinite(x));
			const yn = y === null || y === undefined || (typeof y === 'number' && !isFinite(y));
			if (xn || yn)    /* unmeasured last, whatever the direction */
				return xn === yn ? a - b : xn ? 1 : -1;
			if (x === y)
				return a - b;
			const r = x < y ? -1 : 1;
			return state.desc ? -r : r;
		};
	}
	function render() {
		const col = columns.find(c => c.key === state.key) || columns[0];
		ths.forEach((th, k) => {
			if (columns[k].key === state.key)
				th.setAttribute('aria-sort', state.desc ? 'descending' : 'ascending');
			else
				th.removeAttribute('aria-sort');
		});
		const order = rows().slice().sort(cmp(col));
		const shown = state.all ? order : order.slice(0, TABLE_ROWS);
		const frag = document.createDocumentFragment();
		shown.forEach((i, rank) => {
			const t = THREADS[i];
			const tr = h('tr', i === selected ? 'selected' : null);
			tr.setAttribute('data-index', i);
			for (const c of columns) {
				const td = put(tr, h('td', c.text ? 'text ' + (c.cls || '') : c.cls || null));
				if (c.key === 'rank') {
					td.textContent = String(rank + 1);
					continue;
				}
				const v = c.get(t);
				const shownValue = c.fmt ? c.fmt(v, t) : v;
				if (shownValue instanceof Node)
					add(td, shownValue);
				else
					td.textContent = shownValue === null || shownValue === undefined ? 'n/a' : String(shownValue);
				if (c.title)
					td.title = c.title(t);
			}
			frag.appendChild(tr);
		});
		clear(tbody).appendChild(frag);
		foot.textContent = order.length > TABLE_ROWS
			? (state.all ? 'All ' + order.length + ' threads.' : 'The first ' + TABLE_ROWS + ' of ' + order.length + ' threads.')
			: order.length + (order.length === 1 ? ' thread.' : ' threads.');
		more.textContent = state.all ? 'show the first ' + TABLE_ROWS : 'show all ' + order.length;
		more.hidden = order.length <= TABLE_ROWS;
	}
	tbody.addEventListener('click', ev => {
		const tr = ev.target.closest('tr');
		if (tr && tr.hasAttribute('data-index'))
			select(Number(tr.getAttribute('data-index')));
	});
	add(foot, document.createTextNode(' '), more);
	tables.push(render);
	render();
	return add(h('div'), wrap, foot);
}

/* ---------------------------------------------------------------- sections */

const tables = [];            /* render functions of the sortable tables */
let cards = [];               /* thread card elements, by thread index */
let filterKeys = [];          /* lowercase "name tid" of each thread */
let visibleRows = THREADS.map((t, i) => i);
let selected = -1;
let focusPanel = null;

function section(id, title) {
	const s = h('section');
	s.id = id;
	add(s, h('h2', null, title));
	return s;
}

function ocard(label, value, sub, title) {
	const c = h('div', 'ocard');
	add(c, h('div', 'label', label), h('div', 'value', value), sub ? h('div', 'sub', sub) : null);
	if (title)
		c.title = title;
	return c;
}

function header() {
	const box = h('header');
	add(box, h('h1', null, 'memtop report'));
	const m = put(box, h('p', 'meta'));
	const part = (k, v) => add(m, h('span', null, k + ' '), h('b', null, v), document.createTextNode('   '));
	part('command', visible(S.command || ''));
	part('pid', num(S.pid) ? S.pid : 'n/a');
	part('watched for', fmtDur(S.elapsed_s));
	part('end', S.end ? visible(S.end) : 'still running when the report was written');
	part('collector', S.collector || 'n/a');
	part('written', D.generated || 'n/a');
	document.title = 'memtop report: ' + visible(S.command || '') + ' (pid ' + S.pid + ')';
	if (!S.totals)
		add(box, h('p', 'note', 'The collector was not loaded in this process: heap figures are n/a.'));
	return box;
}

function overview() {
	const sec = section('overview', 'Overview');
	const T = S.totals, P = S.process || {};
	const cs = put(sec, h('div', 'cards'));
	const running = THREADS.filter(t => t.state !== 'exited').length;
	add(cs,
		ocard('Allocations', T ? fmtCount(T.allocs) : 'n/a',
			'rate ' + (T ? fmtRate(T.alloc_rate) : 'n/a') + ' (session average)',
			T ? 'exactly ' + exact(T.allocs) + ' allocations' : null),
		ocard('Frees', T ? fmtCount(T.frees) : 'n/a',
			T ? 'reallocs ' + fmtCount(T.reallocs) + ' \u00b7 failed ' + fmtCount(T.failed) : null,
			T ? 'exactly ' + exact(T.frees) + ' frees' : null),
		ocard('Live heap', T ? fmtBytes(T.live_bytes) : 'n/a',
			'peak ' + (T ? fmtBytes(T.peak_live_bytes) : 'n/a'),
			T ? exact(T.live_bytes) + ' bytes live, peak ' + exact(T.peak_live_bytes) : null),
		ocard('RSS', fmtBytes(P.rss_bytes), 'VSZ ' + fmtBytes(P.vsize_bytes), exact(P.rss_bytes) + ' bytes'),
		ocard('Process CPU', fmtPct(P.cpu_percent), 'CPU time ' + fmtDur(P.cpu_time_s),
			'CPU % averaged over the session'),
		ocard('Fragmentation', num(P.fragmentation) ? fmtPct(100 * P.fragmentation) : 'n/a',
			'free ' + fmtBytes(P.heap_free_bytes) + ' of arena ' + fmtBytes(P.heap_arena_bytes),
			'free bytes in the malloc arena / arena bytes (mallinfo2)'),
		ocard('Threads', T ? String(T.threads_seen) : 'n/a',
			running + ' running \u00b7 ' + (THREADS.length - running) + ' exited (listed)'),
		ocard('Watched for', fmtDur(S.elapsed_s), S.end ? visible(S.end) : 'still running'));
	return sec;
}

function finding(b) {
	const sev = num(b.severity) ? b.severity : 0;
	const f = h('div', 'finding ' + (sev >= 0.6 ? 'sev-high' : sev < 0.3 ? 'sev-low' : ''));
	const title = put(f, h('div', 'title', visible(b.type || '?') + ' \u00b7 severity ' + (num(b.severity) ? b.severity.toFixed(2) : 'n/a') + ' \u00b7 '));
	const i = num(b.tid) && b.tid > 0 ? THREADS.findIndex(t => t.tid === b.tid) : -1;
	if (i >= 0)
		add(title, button('thread ' + b.tid, 'linkish', () => select(i)));
	else
		add(title, document.createTextNode(num(b.tid) && b.tid > 0 ? 'thread ' + b.tid : 'whole process'));
	add(f, h('div', 'desc', visible(b.description || '')));
	if (b.suggestion)
		add(f, h('div', 'sugg', visible(b.suggestion)));
	return f;
}

function findingsList(list, none) {
	const box = h('div', 'findings');
	if (!Array.isArray(list)) {
		add(box, h('p', 'note', 'n/a: no figures to examine'));
		return box;
	}
	if (list.length === 0)
		add(box, h('p', 'note', none));
	for (const b of list)
		add(box, finding(b));
	return box;
}

function findings() {
	const sec = section('findings', 'Bottlenecks');
	add(sec, h('p', 'note', 'Rules, thresholds and severity formulas: BOTTLENECKS in memtop(1).'));
	add(sec, findingsList(S.totals ? S.bottlenecks : null, 'No rule fired.'));
	return sec;
}

function threadCard(t, i) {
	const alert = alertOf(t);
	const exited = t.state === 'exited';
	const c = h('div', 'tcard alert-' + alert + (exited ? ' exited' : ''));
	c.setAttribute('data-index', i);
	c.setAttribute('data-tid', t.tid);
	c.setAttribute('role', 'button');
	c.tabIndex = 0;
	const top = put(c, h('div', 'top'));
	add(top, h('span', 'mono', 'TID ' + t.tid),
		h('span', 'badge ' + (exited ? 'exited' : 'alert-' + alert), exited ? 'exited \u00b7 ' + alert : alert));
	const name = put(c, h('div', 'name' + (t.name ? '' : ' muted'), threadLabel(t)));
	name.title = threadLabel(t);
	const figs = put(c, h('div', 'figs'));
	const io = ioCalls(t);
	add(figs,
		h('span', null, 'allocs ' + fmtCount(t.allocs)),
		h('span', null, 'peak ' + fmtBytes(t.peak_live_bytes)),
		h('span', null, 'CPU ' + fmtPct(t.cpu_percent)),
		h('span', null, 'IO ops ' + (io === null ? 'n/a' : fmtCount(io))),
		h('span', null, 'live ' + fmtBytes(t.live_bytes)),
		h('span', null, 'rate ' + fmtRate(t.alloc_rate)));
	return c;
}

function applyFilter(q) {
	q = q.trim().toLowerCase();
	visibleRows = [];
	for (let i = 0; i < cards.length; i++) {
		const match = !q || filterKeys[i].indexOf(q) >= 0;
		if (cards[i].hidden === match)
			cards[i].hidden = !match;
		if (match)
			visibleRows.push(i);
	}
	const count = document.getElementById('thread-count');
	if (count)
		count.textContent = q ? visibleRows.length + ' of ' + cards.length + ' threads match'
			: cards.length + (cards.length === 1 ? ' thread' : ' threads');
	for (const r of tables)
		r();
}

function threadGrid() {
	const sec = section('threads', 'Threads');
	const bar = put(sec, h('div', 'toolbar'));
	const label = put(bar, h('label', null, 'Filter by name or TID '));
	const input = put(label, h('input'));
	input.type = 'search';
	input.id = 'thread-filter';
	input.addEventListener('input', () => applyFilter(input.value));
	const count = put(bar, h('span', 'muted'));
	count.id = 'thread-count';
	const legend = put(bar, h('span', 'legend'));
	const A = D.alert_thresholds || {};
	const lg = (colour, label) => {
		const swatch = h('span', 'swatch');
		swatch.style.background = colour;
		add(legend, add(h('span'), swatch, document.createTextNode(label)));
	};
	lg('var(--ok)', 'ok');
	lg('var(--warn)', 'warn: \u2265 ' + fmtRate(A.warn_rate) + ' or \u2265 ' + fmtBytes(A.warn_live_bytes) + ' live');
	lg('var(--crit)', 'critical: \u2265 ' + fmtRate(A.critical_rate) + ', \u2265 ' + fmtBytes(A.critical_live_bytes) +
		' live, or a failed allocation');

	const grid = put(sec, h('div', 'grid'));
	grid.id = 'thread-grid';
	if (THREADS.length === 0)
		add(sec, h('p', 'note', S.totals ? 'No thread was seen.' : 'n/a: the collector was not loaded.'));
	const frag = document.createDocumentFragment();
	cards = THREADS.map((t, i) => frag.appendChild(threadCard(t, i)));
	filterKeys = THREADS.map(t => (visible(t.name || '') + ' ' + t.tid).toLowerCase());
	grid.appendChild(frag);
	grid.addEventListener('click', ev => {
		const c = ev.target.closest('.tcard');
		if (c)
			select(Number(c.getAttribute('data-index')));
	});
	grid.addEventListener('keydown', ev => {
		const c = ev.target.closest('.tcard');
		if (c && (ev.key === 'Enter' || ev.key === ' ')) {
			ev.preventDefault();
			select(Number(c.getAttribute('data-index')));
		}
	});
	return sec;
}

const COL = {
	rank: { key: 'rank', label: '#', nosort: true, get: () => null },
	tid: { key: 'tid', label: 'TID', get: t => t.tid, cls: 'mono' },
	name: { key: 'name', label: 'Name', text: true, cls: 'name', get: t => visible(t.name || ''),
		fmt: (v, t) => threadLabel(t) },
	state: { key: 'state', label: 'State', text: true, get: t => t.state || null },
	allocs: { key: 'allocs', label: 'Allocs', get: t => t.allocs, fmt: fmtCount, title: t => exact(t.allocs) },
	bytes: { key: 'bytes', label: 'Bytes', get: t => t.bytes_allocated, fmt: fmtBytes,
		title: t => exact(t.bytes_allocated) + ' bytes requested' },
	live: { key: 'live', label: 'Live', get: t => t.live_bytes, fmt: fmtBytes, title: t => exact(t.live_bytes) + ' bytes' },
	peak: { key: 'peak', label: 'Peak', get: t => t.peak_live_bytes, fmt: fmtBytes,
		title: t => exact(t.peak_live_bytes) + ' bytes' },
	cpu: { key: 'cpu', label: 'CPU time', get: t => t.cpu_time_s, fmt: fmtDur, title: t => exact(t.cpu_time_s) + ' s' },
	cpupct: { key: 'cpupct', label: 'CPU %', get: t => t.cpu_percent, fmt: fmtPct },
	rate: { key: 'rate', label: 'Rate', get: t => t.alloc_rate, fmt: fmtRate, title: t => exact(t.alloc_rate) + ' allocs/s' },
	alert: { key: 'alert', label: 'Alert', text: true, get: t => ({ ok: 0, warn: 1, critical: 2 })[alertOf(t)],
		fmt: (v, t) => alertOf(t) },
	frees: { key: 'frees', label: 'Frees', get: t => t.frees, fmt: fmtCount, title: t => exact(t.frees) },
	reallocs: { key: 'reallocs', label: 'Reallocs', get: t => t.reallocs, fmt: fmtCount, title: t => exact(t.reallocs) },
	avg: { key: 'avg', label: 'Avg size', get: avgSize, fmt: fmtAvg,
		title: () => 'bytes requested / allocations' },
	hist: { key: 'hist', label: 'Sizes', nosort: true, text: true, get: () => null,
		fmt: (v, t) => histogramChart('', t.size_histogram, true) },
};

function ranking() {
	const sec = section('ranking', 'Top threads');
	add(sec, h('p', 'note', 'Click a column header to sort by it (again to reverse), a row to open the thread. Rates and CPU % are session averages.'));
	add(sec, sortableTable('ranking-table', [COL.rank, COL.tid, COL.name, COL.allocs, COL.bytes, COL.live,
		COL.peak, COL.cpu, COL.cpupct, COL.rate, COL.alert], () => visibleRows, 'allocs'));
	return sec;
}

function patterns() {
	const sec = section('patterns', 'Memory patterns');
	add(sec, add(h('div', 'charts'), histogramChart('Size histogram, all threads', D.process ? D.process.histogram : null, false)));
	add(sec, h('h3', null, 'Per thread'));
	add(sec, h('p', 'note', 'Average size: bytes requested / allocations. Sizes: the thread\u2019s size histogram (hover a bar for its range and count).'));
	add(sec, sortableTable('patterns-table', [COL.tid, COL.name, COL.allocs, COL.bytes, COL.avg, COL.frees,
		COL.reallocs, COL.hist], () => visibleRows, 'allocs'));
	return sec;
}

function kv(dl, k, v, title) {
	const dd = h('dd', null, v);
	if (title)
		dd.title = title;
	add(dl, h('dt', null, k), dd);
}

function system() {
	const sec = section('system', 'System summary');
	const Y = S.system || {}, P = S.process || {}, T = S.totals, M = S.sampling;
	const dl = put(sec, h('dl', 'kv'));
	kv(dl, 'System CPU', fmtPct(Y.cpu_percent) + ' (session average, all CPUs)');
	kv(dl, 'Load average', Array.isArray(Y.load_average)
		? Y.load_average.map(v => (num(v) ? v.toFixed(2) : 'n/a')).join(' / ') + ' (1 / 5 / 15 min)' : 'n/a');
	kv(dl, 'Memory available', num(Y.mem_available_bytes) && num(Y.mem_total_bytes) && Y.mem_total_bytes > 0
		? fmtBytes(Y.mem_available_bytes) + ' of ' + fmtBytes(Y.mem_total_bytes) + ' (' +
			fmtPct(100 * Y.mem_available_bytes / Y.mem_total_bytes) + ')' : 'n/a');
	kv(dl, 'CPUs', num(Y.ncpus) ? Y.ncpus : 'n/a');
	kv(dl, 'Threads tracked', T ? String(T.threads_seen) : 'n/a', 'threads the collector saw');
	kv(dl, 'Process threads', num(P.num_threads) ? P.num_threads : 'n/a', 'at the last sample (/proc)');
	kv(dl, 'Page faults', num(P.minor_faults) ? fmtCount(P.minor_faults) + ' minor \u00b7 ' + fmtCount(P.major_faults) + ' major' : 'n/a');
	kv(dl, 'Process IO', num(P.io_read_bytes)
		? 'read ' + fmtBytes(P.io_read_bytes) + ' in ' + fmtCount(P.io_read_calls) + ' calls \u00b7 write ' +
			fmtBytes(P.io_write_bytes) + ' in ' + fmtCount(P.io_write_calls) + ' calls' : 'n/a');
	kv(dl, 'malloc arena', num(P.heap_arena_bytes)
		? fmtBytes(P.heap_arena_bytes) + ' \u00b7 in use ' + fmtBytes(P.heap_in_use_bytes) + ' \u00b7 free ' +
			fmtBytes(P.heap_free_bytes) + ' \u00b7 mmap ' + fmtBytes(P.heap_mmap_bytes) : 'n/a', 'mallinfo2');
	kv(dl, 'Stack sampling', M ? 'rates ' + M.small + ' / ' + M.medium + ' / ' + M.large + ' (small / medium / large; ' +
		'medium from ' + fmtBytes(M.medium_threshold) + ', large from ' + fmtBytes(M.large_threshold) + ')'
		: 'n/a: no stacks were sampled');
	if (S.overflow) {
		const O = S.overflow;
		// beyond_capacity and no_room are absent from older reports: all beyond the capacity
		const beyond = num(O.beyond_capacity) ? O.beyond_capacity : O.threads;
		const why = [];
		if (beyond)
			why.push(beyond + ' threads beyond the slot capacity');
		if (O.no_room)
			why.push(O.no_room + ' threads without a slot because ' + O.no_room_reason);
		kv(dl, 'Overflow', why.join(', ') + ', ' + fmtCount(O.allocs) +
			' allocations pooled (in the totals, not in the thread list)');
	}
	return sec;
}

const PROCESS_LINES = [
	['live_bytes', 'Live heap', fmtBytes],
	['alloc_rate', 'Allocation rate', fmtRate],
	['rss_bytes', 'RSS', fmtBytes],
	['cpu_percent', 'CPU %', fmtPct],
];
const THREAD_LINES = [
	['live_bytes', 'Live heap', fmtBytes],
	['alloc_rate', 'Allocation rate', fmtRate],
	['cpu_percent', 'CPU %', fmtPct],
];

function timelines() {
	const sec = section('timelines', 'Resource timelines');
	add(sec, h('p', 'note', 'The process, one point per update; time in seconds since memtop started the command. Hover a chart to read a point.'));
	add(sec, timelineCharts(D.process ? D.process.timeline : null, PROCESS_LINES));
	return sec;
}

function stackHead(st, k) {
	let sizes = 'n/a';
	if (num(st.min_size) && num(st.max_size))
		sizes = st.min_size === st.max_size ? fmtBytes(st.min_size) : fmtBytes(st.min_size) + ' to ' + fmtBytes(st.max_size);
	return '#' + (k + 1) + '  stack ' + st.id + ': ' + fmtBytes(st.bytes_est) + ' in ' + fmtCount(st.allocs_est) + ' allocations, ' +
		fmtBytes(st.live_bytes_est) + ' still live \u00b7 ' + st.samples + ' samples \u00b7 sizes ' + sizes;
}

function stackItem(st, k) {
	const box = h('div', 'stack');
	add(box, h('div', 'head', stackHead(st, k)));
	const ol = put(box, h('ol', 'frames'));
	const fr = FRAMES[String(st.id)];
	if (!fr || !Array.isArray(fr.frames) || fr.frames.length === 0)
		add(ol, h('li', 'muted', 'frames unknown (stack ' + st.id + ')'));
	else
		for (const f of fr.frames)
			add(ol, h('li', null, visible(f)));
	if (fr && fr.truncated)
		add(ol, h('li', 'muted', 'deeper frames were not captured'));
	return box;
}

function stackList(list) {
	const box = h('div', 'stacks');
	if (!Array.isArray(list)) {
		add(box, h('p', 'note', 'n/a: call stacks were not sampled (--no-stacks, or no collector).'));
		return box;
	}
	if (list.length === 0) {
		add(box, h('p', 'note', 'No allocation was sampled.'));
		return box;
	}
	const items = list.map(stackItem);
	items.forEach((it, k) => {
		it.hidden = k >= STACKS_SHOWN;
		add(box, it);
	});
	if (list.length > STACKS_SHOWN) {
		let all = false;
		const b = button('show all ' + list.length, null, () => {
			all = !all;
			items.forEach((it, k) => {
				it.hidden = !all && k >= STACKS_SHOWN;
			});
			b.textContent = all ? 'show the first ' + STACKS_SHOWN : 'show all ' + list.length;
		});
		add(box, add(h('p', 'note', 'The first ' + STACKS_SHOWN + ' of ' + list.length + ' stacks. '), b));
	}
	return box;
}

function stacks() {
	const sec = section('stacks', 'Top call stacks');
	add(sec, h('p', 'note', 'Sampled estimates (each sample weighted by 1/its sampling rate), largest bytes first; frames innermost first, from the caller of the allocation function.'));
	add(sec, stackList(D.process ? D.process.stacks : null));
	return sec;
}

/* ---------------------------------------------------------------- focus */

function renderFocus(i) {
	const t = THREADS[i];
	const x = EXTRA[i] && EXTRA[i].tid === t.tid ? EXTRA[i] : null;
	const p = clear(focusPanel);
	add(p, button('close \u2715', 'close', closeFocus));
	add(p, h('h2', null, 'Thread ' + t.tid + ' \u00b7 ' + threadLabel(t)));
	const exited = t.state === 'exited';
	add(p, add(h('p', 'meta'), h('span', 'badge ' + (exited ? 'exited' : 'alert-' + alertOf(t)),
		(exited ? 'exited' : 'running') + ' \u00b7 alert ' + alertOf(t)),
		document.createTextNode(x ? '  slot ' + x.slot : '')));

	const cs = put(p, h('div', 'cards'));
	const io = ioCalls(t);
	add(cs,
		ocard('Allocations', fmtCount(t.allocs), 'rate ' + fmtRate(t.alloc_rate), 'exactly ' + exact(t.allocs)),
		ocard('Frees', fmtCount(t.frees), 'reallocs ' + fmtCount(t.reallocs) + ' \u00b7 failed ' + fmtCount(t.failed),
			'exactly ' + exact(t.frees)),
		ocard('Requested', fmtBytes(t.bytes_allocated), 'average ' + fmtAvg(avgSize(t)),
			exact(t.bytes_allocated) + ' bytes'),
		ocard('Live', fmtBytes(t.live_bytes), 'peak ' + fmtBytes(t.peak_live_bytes),
			exact(t.live_bytes) + ' bytes, peak ' + exact(t.peak_live_bytes)),
		ocard('Freed', fmtBytes(t.bytes_freed), 'usable bytes', exact(t.bytes_freed) + ' bytes'),
		ocard('CPU', fmtPct(t.cpu_percent), 'time ' + fmtDur(t.cpu_time_s)),
		ocard('IO', io === null ? 'n/a' : fmtCount(io) + ' calls',
			num(t.io_read_bytes) ? 'read ' + fmtBytes(t.io_read_bytes) + ' \u00b7 write ' + fmtBytes(t.io_write_bytes) : null),
		num(t.lost_events) ? ocard('Lost events', fmtCount(t.lost_events), 'not counted (nested in a signal handler)') : null);

	add(p, h('h3', null, 'Timelines'));
	add(p, x ? timelineCharts(x.timeline, THREAD_LINES) : h('p', 'note', 'n/a'));
	add(p, h('h3', null, 'Sizes'));
	add(p, histogramChart('Size histogram', t.size_histogram, false));
	add(p, h('h3', null, 'Top call stacks'));
	add(p, add(h('div', 'focus-stacks'), stackList(x ? x.stacks : null)));
	add(p, h('h3', null, 'Bottlenecks and suggestions'));
	add(p, add(h('div', 'focus-findings'), findingsList(x && S.totals ? x.bottlenecks : null,
		'No rule fired for this thread.')));
}

function markSelected() {
	for (const c of document.querySelectorAll('.tcard.selected, tr.selected'))
		c.classList.remove('selected');
	if (selected < 0)
		return;
	cards[selected].classList.add('selected');
	for (const r of document.querySelectorAll('tr[data-index="' + selected + '"]'))
		r.classList.add('selected');
}

function select(i) {
	if (!(i >= 0 && i < THREADS.length))
		return;
	selected = i;
	renderFocus(i);
	focusPanel.hidden = false;
	focusPanel.setAttribute('data-tid', THREADS[i].tid);
	focusPanel.setAttribute('data-index', i);
	markSelected();
	focusPanel.scrollTop = 0;
	try {
		history.replaceState(null, '', '#thread=' + THREADS[i].tid);
	} catch (e) {
		/* some browsers refuse it for file: URLs; the selection still works */
	}
}

function closeFocus() {
	focusPanel.hidden = true;
	focusPanel.removeAttribute('data-tid');
	focusPanel.removeAttribute('data-index');
	const was = selected;
	selected = -1;
	markSelected();
	try {
		history.replaceState(null, '', location.pathname + location.search);
	} catch (e) {
		/* as in select() */
	}
	if (was >= 0 && cards[was])
		cards[was].focus({ preventScroll: true });
}

function selectFromHash() {
	const m = /^#thread=(\d+)$/.exec(location.hash);
	if (!m)
		return;
	const i = THREADS.findIndex(t => String(t.tid) === m[1]);
	if (i >= 0 && i !== selected)
		select(i);
}

/* ---------------------------------------------------------------- self-test */

function selftest() {
	const done = [];
	const check = (ok, what) => {
		if (!ok)
			throw new Error(what);
	};
	try {
		check(cards.length > 0, 'no thread card');
		cards[0].click();
		check(!focusPanel.hidden, 'the focus panel stayed hidden after a click on the first card');
		check(focusPanel.getAttribute('data-tid') === cards[0].getAttribute('data-tid'), 'the focus panel shows another thread');
		check(focusPanel.querySelector('.focus-stacks') && focusPanel.querySelector('.focus-findings'),
			'the focus panel has no analysis');
		done.push('card');

		const head = document.querySelector('#ranking-table th[data-key="allocs"] button');
		check(head, 'no allocs header');
		for (const pass of [0, 1]) {
			head.click();
			const dir = head.parentNode.getAttribute('aria-sort');
			check(dir === 'ascending' || dir === 'descending', 'the header did not sort');
			const v = Array.from(document.querySelectorAll('#ranking-table tbody tr'))
				.map(r => THREADS[Number(r.getAttribute('data-index'))].allocs);
			for (let k = 1; k < v.length; k++)
				check(dir === 'descending' ? v[k - 1] >= v[k] : v[k - 1] <= v[k], 'rows out of ' + dir + ' order');
			done.push('sort-' + dir);
		}

		const row = document.querySelector('#ranking-table tbody tr');
		row.click();
		check(focusPanel.getAttribute('data-index') === row.getAttribute('data-index'), 'a row click did not select its thread');
		done.push('row');

		const input = document.getElementById('thread-filter');
		const last = THREADS[THREADS.length - 1];
		input.value = String(last.tid);
		input.dispatchEvent(new Event('input'));
		const shown = cards.filter(c => !c.hidden);
		check(shown.length >= 1 && shown.every((c, k) => filterKeys[Number(c.getAttribute('data-index'))].indexOf(String(last.tid)) >= 0),
			'the filter shows threads that do not match');
		input.value = '';
		input.dispatchEvent(new Event('input'));
		check(cards.every(c => !c.hidden), 'clearing the filter did not show every card');
		done.push('filter');

		focusPanel.querySelector('button.close').click();
		check(focusPanel.hidden, 'the close button did not close the panel');
		done.push('close');
		/* leave the first thread open, so a dump shows its analysis */
		cards[0].click();
		document.body.setAttribute('data-selftest', 'pass: ' + done.join(' '));
	} catch (e) {
		document.body.setAttribute('data-selftest', 'fail after ' + (done.join(' ') || 'nothing') + ': ' + e.message);
	}
}

/* ---------------------------------------------------------------- page */

function main() {
	const started = performance.now();
	const app = h('main');
	add(app, header(), overview(), findings(), threadGrid(), ranking(), patterns(), system(), timelines(), stacks());
	focusPanel = h('aside');
	focusPanel.id = 'focus';
	focusPanel.hidden = true;
	focusPanel.setAttribute('aria-label', 'thread analysis');
	document.body.appendChild(app);
	document.body.appendChild(focusPanel);
	document.addEventListener('keydown', ev => {
		if (ev.key === 'Escape' && !focusPanel.hidden)
			closeFocus();
	});
	window.addEventListener('hashchange', selectFromHash);
	applyFilter('');
	selectFromHash();
	document.body.setAttribute('data-render-ms', Math.round(performance.now() - started));
	document.body.setAttribute('data-rendered', 'ok');
	if (/[?&]selftest(=|&|$)/.test(location.search))
		selftest();
}

main();
})();
