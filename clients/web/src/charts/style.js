// What the views need of the charts without Observable Plot: each dose
// group's colour and symbol, the HTML legend, the grade colours. Kept apart
// from plot.js so that the views' module graph does not pull Plot into the
// dashboard's first script (charts/load.js loads the charts themselves).

import {h} from '../dom.js';

// Okabe & Ito's colour-blind-safe palette; the control arm is grey and the
// total black, and every group also has its own symbol (print, greyscale).
const DOSE_COLORS = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#8C6D00', '#6A3D9A'];
const SYMBOLS = ['circle', 'square', 'triangle', 'diamond', 'star', 'cross', 'wye', 'times'];
export const CONTROL_COLOR = '#6B6B6B';
export const TOTAL_COLOR = '#000000';

// Sequential, colour-blind-safe (light to dark, then black for grade 5).
export const GRADE_COLORS = ['#9ECAE1', '#4292C6', '#E69F00', '#D55E00', '#000000'];

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

// An HTML legend of groups: a swatch (colour via CSSOM) and a symbol name.
export function legend(styles, {title} = {}) {
  const list = h('ul', {class: 'legend', 'aria-label': title ?? 'Legend'});
  for (const s of styles) {
    const swatch = h('span', {class: `swatch symbol-${s.symbol}`, 'aria-hidden': 'true'});
    swatch.style.setProperty('--swatch', s.color);
    list.append(h('li', null, swatch, s.label));
  }
  return list;
}
