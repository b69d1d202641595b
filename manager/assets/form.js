// One form for every entity, built from its /schemas answer: a field's type
// picks its input, and the Admin API's errors come back next to the field
// they name.
import { h, label } from './ui.js';

let seq = 0;

// fieldsOf turns Kong's [{name: def}, ...] into [{name, def}].
export function fieldsOf(schema) {
  return (schema.fields || []).map((f) => { const [name, def] = Object.entries(f)[0]; return { name, def }; });
}

function scalar(def) { return def && ['string', 'integer', 'number', 'boolean'].includes(def.type); }

function kindOf(def) {
  switch (def.type) {
    case 'string': return def.one_of ? 'select' : 'text';
    case 'integer': case 'number': return 'number';
    case 'boolean': return 'checkbox';
    case 'foreign': return 'foreign';
    case 'record': return 'record';
    case 'set': case 'array':
      if (def.elements && def.elements.type === 'string' && def.elements.one_of) return 'multi';
      return scalar(def.elements) ? 'list' : 'json';
    default: return 'json';
  }
}

const LONG = new Set(['cert', 'key', 'cert_alt', 'key_alt', 'body', 'payload', 'functions']);

// generated says an auto field is one the client may give, the node
// generating it when left out (key-auth's key, JWT's and HMAC's secrets),
// unlike ids and timestamps, which are not shown.
function generated(def) { return def.auto && def.type === 'string' && !def.uuid; }
function hidden(def) { return (def.auto && !generated(def)) || def.deprecation; }

// schemaForm returns the inputs of a schema's fields and how to read them.
// values prefill them (an entity being edited); path nests them (an event
// hook's config); skip names fields left out. Records become fieldsets of
// their own fields, sets of choices groups of checkboxes, maps and arrays
// of records JSON; deprecated fields (and Kong's shorthand_fields, which
// are not in "fields") are not shown.
export function schemaForm(schema, { values = {}, path = [], skip = [], isNew = true, labels = {} } = {}) {
  const widgets = [];
  const top = { basic: [], advanced: [] };

  function field(name, def, vals, at, out, depth) {
    const kind = kindOf(def);
    const id = `f${++seq}-${[...at, name].join('-')}`;
    const errId = `${id}-error`;
    const hintId = `${id}-hint`;
    const given = vals ? vals[name] : undefined;
    const v = given !== undefined ? given : (isNew ? def.default : undefined);
    const title = (depth === 0 && labels[name]) || label(name);
    if (kind === 'record') {
      const inner = { basic: [], advanced: [] };
      for (const { name: n, def: d } of fieldsOf(def)) {
        if (hidden(d)) continue;
        field(n, d, v && typeof v === 'object' ? v : {}, [...at, name], inner, depth + 1);
      }
      const err = h('div', { class: 'error', id: errId });
      widgets.push({ name, def, kind, input: null, err, original: given, path: [...at, name], group: true });
      const box = h('fieldset', { class: 'record', 'aria-describedby': errId }, h('legend', {}, title), err, inner.basic, inner.advanced);
      (depth === 0 && !def.required ? out.advanced : out.basic).push(box);
      return;
    }
    let input, hint = '';
    const common = { id, name, 'aria-describedby': `${hintId} ${errId}`, 'aria-required': def.required ? 'true' : undefined };
    switch (kind) {
      case 'select':
        input = h('select', common, h('option', { value: '' }, def.required ? 'Select…' : '(none)'),
          def.one_of.map((o) => h('option', { value: o, selected: String(v) === String(o) }, String(o))));
        break;
      case 'number':
        input = h('input', { ...common, type: 'number', value: v ?? '', step: def.type === 'integer' ? '1' : 'any' });
        if (def.between) hint = `Between ${def.between[0]} and ${def.between[1]}`;
        break;
      case 'checkbox':
        input = h('input', { ...common, type: 'checkbox', checked: v === true });
        break;
      case 'multi': {
        const chosen = new Set(Array.isArray(v) ? v.map(String) : []);
        const boxes = def.elements.one_of.map((o) => h('input', { type: 'checkbox', id: `${id}-${o}`, value: o, checked: chosen.has(String(o)) }));
        input = h('fieldset', { class: 'choices', id, 'aria-describedby': `${hintId} ${errId}` },
          h('legend', {}, title, def.required ? h('span', { class: 'hint' }, ' (required)') : null),
          boxes.map((b) => h('span', { class: 'choice' }, b, ' ', h('label', { for: b.id }, b.value))));
        input.boxes = boxes;
        break;
      }
      case 'list':
        input = h('input', { ...common, type: 'text', value: Array.isArray(v) ? v.join(', ') : '' });
        hint = 'Comma-separated values';
        break;
      case 'foreign':
        input = h('input', { ...common, type: 'text', value: v && v.id ? v.id : '' });
        hint = `The ${label(def.reference || name)} ID`;
        break;
      case 'json':
        input = h('textarea', { ...common, spellcheck: 'false' }, v !== undefined && v !== null ? JSON.stringify(v, null, 2) : '');
        hint = def.type === 'map' ? 'JSON object' : 'JSON';
        break;
      default:
        if (generated(def)) hint = 'Generated by the node when left empty';
        input = LONG.has(name) && !generated(def)
          ? h('textarea', { ...common, spellcheck: 'false' }, v ?? '')
          : h('input', { ...common, type: def.encrypted ? 'password' : 'text', value: v ?? '', autocomplete: def.encrypted ? 'new-password' : 'off' });
    }
    if (def.description && !hint) hint = def.description;
    const err = h('div', { class: 'error', id: errId });
    let wrap;
    if (kind === 'checkbox') {
      wrap = h('div', { class: 'field checkbox' }, input, ' ', h('label', { for: id }, title), h('div', { class: 'hint', id: hintId }, hint), err);
    } else if (kind === 'multi') {
      wrap = h('div', { class: 'field' }, input, h('div', { class: 'hint', id: hintId }, hint), err);
    } else {
      wrap = h('div', { class: 'field' }, h('label', { for: id }, title, def.required ? h('span', { class: 'hint' }, ' (required)') : null),
        input, h('div', { class: 'hint', id: hintId }, hint), err);
    }
    widgets.push({ name, def, kind, input, err, original: given, path: [...at, name] });
    (kind === 'json' && depth === 0 ? out.advanced : out.basic).push(wrap);
  }

  for (const { name, def } of fieldsOf(schema)) {
    if (hidden(def) || skip.includes(name)) continue;
    field(name, def, values, path, top, 0);
  }
  const element = h('div', {}, top.basic,
    top.advanced.length ? h('details', {}, h('summary', {}, 'Advanced fields'), top.advanced) : null);

  // read returns the body to send: on create, the fields given; on edit,
  // the fields changed (emptied ones as null). Local mistakes (bad JSON)
  // come back as errors by field path.
  function read(body = {}) {
    const errors = {};
    for (const w of widgets) {
      if (w.group) continue;
      let val;
      const raw = w.kind === 'checkbox' ? w.input.checked : w.kind === 'multi' ? '' : w.input.value.trim();
      switch (w.kind) {
        case 'checkbox': val = raw; break;
        case 'multi': {
          const items = w.input.boxes.filter((b) => b.checked).map((b) => b.value);
          val = items.length ? items : undefined;
          break;
        }
        case 'number': val = raw === '' ? undefined : Number(raw); break;
        case 'list': {
          const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
          const num = w.def.elements && ['integer', 'number'].includes(w.def.elements.type);
          val = items.length ? items.map((s) => (num ? Number(s) : s)) : undefined;
          break;
        }
        case 'foreign': val = raw ? { id: raw } : undefined; break;
        case 'json':
          if (raw === '') { val = undefined; break; }
          try { val = JSON.parse(raw); } catch { errors[w.path.join('.')] = 'must be valid JSON'; continue; }
          break;
        default: val = raw === '' ? undefined : raw;
      }
      if (!isNew) {
        if (JSON.stringify(val ?? null) === JSON.stringify(w.original ?? null) ||
            (val === undefined && (w.original === undefined || w.original === null ||
              (Array.isArray(w.original) && w.original.length === 0)))) continue;
        if (val === undefined) val = null;
      } else if (val === undefined || (w.kind === 'checkbox' && w.def.default === undefined && !val)) continue;
      let obj = body;
      for (const p of w.path.slice(0, -1)) obj = obj[p] = obj[p] || {};
      obj[w.path[w.path.length - 1]] = val;
    }
    return { body, errors };
  }

  // showErrors puts the Admin API's field errors ({fields: {...}}) next to
  // their inputs; it returns the messages that named no input.
  function showErrors(fields = {}, flat = {}) {
    const rest = [];
    for (const w of widgets) {
      let e = fields;
      for (const p of w.path) e = e && typeof e === 'object' ? e[p] : undefined;
      e = e ?? flat[w.path.join('.')];
      if (w.group && e && typeof e === 'object' && !Array.isArray(e)) e = undefined;
      const msg = e === undefined ? '' : (typeof e === 'string' ? e : Array.isArray(e) ? e.join('; ') : JSON.stringify(e));
      w.err.textContent = msg;
      if (!w.input) continue;
      if (msg) w.input.setAttribute('aria-invalid', 'true'); else w.input.removeAttribute('aria-invalid');
    }
    const names = new Set(widgets.map((w) => w.path[0]));
    for (const [k, v] of Object.entries(fields || {})) {
      if (!names.has(k) && !(path.length && k === path[0])) rest.push(k === '@entity' ? [].concat(v).join('; ') : `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    }
    return rest;
  }

  function focusFirstError() {
    const w = widgets.find((x) => x.input && x.input.getAttribute('aria-invalid') === 'true');
    if (w) (w.input.boxes ? w.input.boxes[0] : w.input).focus();
    return !!w;
  }

  return { element, read, showErrors, focusFirstError, widgets };
}

// uniqueField finds the field a 409's message names:
// UNIQUE violation detected on '{username="ada"}'.
export function uniqueField(message) {
  const m = /detected on '\{(\w+)=/.exec(message || '');
  return m ? m[1] : null;
}
