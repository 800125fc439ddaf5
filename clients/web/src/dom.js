// Small DOM helpers: no framework, no innerHTML with data (text is always
// set as text), nothing the page's Content-Security-Policy would refuse.

// h('a', {href: '#/x', class: 'link'}, 'text', child...) -> HTMLElement.
// Attributes: `class`, `dataset` (object), `on` (object of listeners),
// `style` is refused (CSP); boolean true sets an empty attribute, false,
// null and undefined leave it out.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === false || value === null || value === undefined) continue;
      if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key === 'on') {
        for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
      } else if (key === 'style') throw new Error('inline style attributes break the CSP');
      else if (key === 'value' && 'value' in el) el.value = value;
      else if (key === 'checked' || key === 'selected') el[key] = Boolean(value);
      else el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// Replaces el's children (null, undefined and false are left out).
export function mount(el, ...children) {
  clear(el);
  return append(el, children);
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// An element's id that is unique on the page.
let idCounter = 0;
export function uid(prefix = 'id') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

// A labelled form control: returns {wrap, input}.
export function field(label, input, hint) {
  if (!input.id) input.id = uid('f');
  const wrap = h('div', {class: 'field'}, h('label', {for: input.id}, label), input);
  if (hint) {
    const hintEl = h('span', {class: 'hint', id: uid('hint')}, hint);
    input.setAttribute('aria-describedby', hintEl.id);
    wrap.append(hintEl);
  }
  return wrap;
}

export function select(options, value, attrs = {}) {
  const el = h('select', attrs);
  for (const opt of options) {
    const [v, label] = Array.isArray(opt) ? opt : [opt, opt];
    el.append(h('option', {value: v, selected: String(v) === String(value ?? '')}, label));
  }
  return el;
}
