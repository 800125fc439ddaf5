// Observable Plot under a strict Content-Security-Policy (style-src 'self'):
// Plot appends a <style> element to every SVG (and legend) it makes; it is
// removed here before the node reaches the document, and app.css carries the
// same rules for the class name used below. Everything else Plot does is
// presentation attributes and CSSOM, which the policy allows.

import {plot, dot, ruleX, ruleY, areaY, line, text, frame, axisFy} from '@observablehq/plot';
import {h} from '../dom.js';

// The marks used (named imports keep the bundle to what is used).
export const Plot = {dot, ruleX, ruleY, areaY, line, text, frame, axisFy};

export const CLASS = 'ae-plot';

// Okabe & Ito's colour-blind-safe palette; the control arm is grey and the
// total black, and every group also has its own symbol (print, greyscale).
const DOSE_COLORS = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#8C6D00', '#6A3D9A'];
const SYMBOLS = ['circle', 'square', 'triangle', 'diamond', 'star', 'cross', 'wye', 'times'];
export const CONTROL_COLOR = '#6B6B6B';
export const TOTAL_COLOR = '#000000';

// Colour and symbol of each group (groups from views/common.js groupsOf).
export function groupStyles(groups) {
  let k = 0;
  return groups.map((g, i) => ({
    ...g,
    key: g.total ? 'Total' : g.id,
    color: g.total ? TOTAL_COLOR : g.control ? CONTROL_COLOR : DOSE_COLORS[(k++) % DOSE_COLORS.length],
    symbol: g.total ? 'times' : SYMBOLS[i % (SYMBOLS.length - 1)],
  }));
}

export function colorScale(styles) {
  return {domain: styles.map((s) => s.key), range: styles.map((s) => s.color)};
}
export function symbolScale(styles) {
  return {domain: styles.map((s) => s.key), range: styles.map((s) => s.symbol)};
}

// Renders a Plot and makes it CSP-clean and accessible (role img + label;
// the table alternative sits beside it).
export function renderPlot(options, label) {
  const node = plot({className: CLASS, ...options, figure: false});
  for (const style of node.querySelectorAll('style')) style.remove();
  // The SVG is one image (its table alternative is beside it): Plot's
  // aria-labels on groups without a role are not allowed inside it.
  for (const el of node.querySelectorAll('[aria-label], [aria-description]')) {
    el.removeAttribute('aria-label');
    el.removeAttribute('aria-description');
  }
  node.setAttribute('role', 'img');
  node.setAttribute('aria-label', label);
  node.removeAttribute('aria-description');
  return node;
}

// An HTML legend of groups: a swatch (colour via CSSOM) and a symbol name.
// The frame of a chart with one facet row per term (dot plot, forest plot):
// size, margins and font.
export function termRowsFrame({width, terms, rowHeight, marginLeft}) {
  return {
    width,
    height: terms.length * rowHeight + 50,
    marginLeft,
    marginRight: 16,
    marginTop: 24,
    marginBottom: 34,
    style: {fontSize: '11px'},
  };
}

export function legend(styles, {title} = {}) {
  const list = h('ul', {class: 'legend', 'aria-label': title ?? 'Legend'});
  for (const s of styles) {
    const swatch = h('span', {class: `swatch symbol-${s.symbol}`, 'aria-hidden': 'true'});
    swatch.style.setProperty('--swatch', s.color);
    list.append(h('li', null, swatch, s.label));
  }
  return list;
}

// Rough width of a label in 11 px system-ui (capitals are wider), for left
// margins.
export function labelWidth(labels, {min = 80, max = 340} = {}) {
  const width = (l) => [...String(l)].reduce((w, c) => w + (/[A-Z0-9]/.test(c) ? 7.6 : /[a-z]/.test(c) ? 6.1 : 4), 0);
  return Math.round(Math.min(max, Math.max(min, ...labels.map(width)) + 18));
}

// Shorten a label for an axis (the table has the full text).
export function shorten(s, n = 46) {
  s = String(s);
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
