// Observable Plot under a strict Content-Security-Policy (style-src 'self'):
// Plot appends a <style> element to every SVG (and legend) it makes; it is
// removed here before the node reaches the document, and app.css carries the
// same rules for the class name used below. Everything else Plot does is
// presentation attributes and CSSOM, which the policy allows.

import {plot, dot, ruleX, ruleY, areaY, line, text, frame, axisFy} from '@observablehq/plot';

// The marks used (named imports keep the bundle to what is used).
export const Plot = {dot, ruleX, ruleY, areaY, line, text, frame, axisFy};

export const CLASS = 'ae-plot';

// Plot's colour and symbol scales for style.js groupStyles' styles.
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
