// Accessible data tables: a caption, column headers with scope="col" (and
// column groups with scope="colgroup"), a row header with scope="row", row
// groups (e.g. SOC -> PT) with scope="rowgroup"; numbers right-aligned in
// tabular figures. Every chart on the dashboard has one of these as its
// table alternative.

import {h} from './dom.js';

// table({caption, columns, rows, sections, groups, empty, className, id})
//   columns: [{key, label, cell(row) -> string|Node, attrs(row) -> object,
//              numeric, rowHeader, sort(row) -> value, className}]
//   rows: data rows, or sections: [{label, rows, attrs, row}] (one <tbody>
//   each; `row`, if given, is rendered with the columns as the group's header)
//   groups: optional first header row: [{label, span}]
export function table({caption, columns, rows, sections, groups, empty = 'No rows.', className = '', id, sortable = false}) {
  const tbl = h('table', {class: `data ${className}`.trim(), id});
  if (caption) tbl.append(h('caption', null, caption));
  const thead = h('thead');
  if (groups) {
    const tr = h('tr');
    for (const g of groups) {
      const attrs = {colspan: g.span > 1 ? g.span : null, class: g.className};
      if (g.label) attrs.scope = g.span > 1 ? 'colgroup' : 'col';
      tr.append(g.label ? h('th', attrs, g.label) : h('td', {...attrs, class: 'blank'}));
    }
    thead.append(tr);
  }
  const headRow = h('tr');
  const headerCells = columns.map((c) => {
    const th = h('th', {scope: 'col', class: [c.numeric ? 'num' : '', c.className ?? ''].join(' ').trim() || null,
      dataset: c.key ? {key: c.key} : undefined}, c.label);
    headRow.append(th);
    return th;
  });
  thead.append(headRow);
  tbl.append(thead);

  const bodyFor = (list, section) => {
    const tbody = h('tbody', section?.attrs);
    if (section?.row) {
      // The group's own row (e.g. a SOC with its counts above its PTs).
      const tr = rowFor(section.row, true);
      tr.classList.add('rowgroup');
      tbody.append(tr);
    } else if (section) {
      tbody.append(h('tr', {class: 'rowgroup'},
        h('th', {scope: 'rowgroup', colspan: columns.length}, section.label)));
    }
    for (const row of list) tbody.append(rowFor(row));
    return tbody;
  };
  const rowFor = (row, group = false) => {
    const tr = h('tr', row?.__attrs);
    for (const c of columns) {
      const content = c.cell ? c.cell(row) : row[c.key];
      const attrs = {...(c.attrs ? c.attrs(row) : {})};
      const cls = [c.numeric ? 'num' : '', c.className ?? '', attrs.class ?? ''].join(' ').trim();
      attrs.class = cls || null;
      if (c.key) attrs.dataset = {col: c.key, ...(attrs.dataset ?? {})};
      tr.append(c.rowHeader ? h('th', {scope: group ? 'rowgroup' : 'row', ...attrs}, content) : h('td', attrs, content));
    }
    return tr;
  };

  const render = (list) => {
    for (const b of [...tbl.tBodies]) b.remove();
    if (sections) {
      const nonEmpty = sections.filter((s) => s.rows.length);
      for (const s of nonEmpty) tbl.append(bodyFor(s.rows, s));
      if (!nonEmpty.length) tbl.append(emptyBody());
    } else if (list.length) {
      tbl.append(bodyFor(list));
    } else {
      tbl.append(emptyBody());
    }
  };
  const emptyBody = () => h('tbody', null, h('tr', null, h('td', {colspan: columns.length, class: 'empty'}, empty)));
  render(rows ?? []);

  if (sortable && !sections) {
    let current = null;
    columns.forEach((c, i) => {
      if (!c.sort) return;
      const th = headerCells[i];
      const label = th.firstChild ? [...th.childNodes] : [];
      const button = h('button', {type: 'button', class: 'sort'}, label, h('span', {class: 'sort-mark', 'aria-hidden': 'true'}));
      th.replaceChildren(button);
      th.setAttribute('aria-sort', 'none');
      button.addEventListener('click', () => {
        const dir = current?.i === i && current.dir === 'ascending' ? 'descending' : 'ascending';
        current = {i, dir};
        headerCells.forEach((cell) => cell.hasAttribute('aria-sort') && cell.setAttribute('aria-sort', 'none'));
        th.setAttribute('aria-sort', dir);
        const sign = dir === 'ascending' ? 1 : -1;
        const sorted = [...rows].sort((a, b) => {
          const x = c.sort(a);
          const y = c.sort(b);
          return sign * (x < y ? -1 : x > y ? 1 : 0);
        });
        render(sorted);
      });
    });
  }
  return tbl;
}

// A horizontally scrollable, keyboard-focusable region around a wide table.
export function scroller(tbl, label) {
  return h('div', {class: 'table-scroll', role: 'region', 'aria-label': label, tabindex: '0'}, tbl);
}
