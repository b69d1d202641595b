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
    case 'set': case 'array': return scalar(def.elements) ? 'list' : 'json';
    default: return 'json';
  }
}

const LONG = new Set(['cert', 'key', 'cert_alt', 'key_alt', 'body', 'payload', 'functions']);

// schemaForm returns the inputs of a schema's fields and how to read them.
// values prefill them (an entity being edited); path nests them (an event
// hook's config); skip names fields left out.
export function schemaForm(schema, { values = {}, path = [], skip = [], isNew = true, labels = {} } = {}) {
  const widgets = [];
  const basic = [], advanced = [];
  for (const { name, def } of fieldsOf(schema)) {
    if (def.auto || skip.includes(name)) continue;
    if (def.type === 'record' && path.length === 0 && name === 'config') continue;
    const kind = kindOf(def);
    const id = `f${++seq}-${name}`;
    const errId = `${id}-error`;
    const hintId = `${id}-hint`;
    const v = values[name] !== undefined ? values[name] : (isNew ? def.default : undefined);
    let input, hint = '';
    const common = { id, name, 'aria-describedby': `${hintId} ${errId}`, 'aria-required': def.required ? 'true' : undefined };
    switch (kind) {
      case 'select':
        input = h('select', common, h('option', { value: '' }, def.required ? 'Select…' : '(none)'),
          def.one_of.map((o) => h('option', { value: o, selected: String(v) === String(o) }, String(o))));
        break;
      case 'number':
        input = h('input', { ...common, type: 'number', value: v ?? '', step: def.type === 'integer' ? '1' : 'any' });
        break;
      case 'checkbox':
        input = h('input', { ...common, type: 'checkbox', checked: v === true });
        break;
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
        hint = 'JSON';
        break;
      default:
        input = LONG.has(name)
          ? h('textarea', { ...common, spellcheck: 'false' }, v ?? '')
          : h('input', { ...common, type: 'text', value: v ?? '', autocomplete: 'off' });
    }
    if (def.description && !hint) hint = def.description;
    const err = h('div', { class: 'error', id: errId });
    const title = labels[name] || label(name);
    const wrap = kind === 'checkbox'
      ? h('div', { class: 'field checkbox' }, input, ' ', h('label', { for: id }, title), h('div', { class: 'hint', id: hintId }, hint), err)
      : h('div', { class: 'field' }, h('label', { for: id }, title, def.required ? h('span', { class: 'hint' }, ' (required)') : null),
        input, h('div', { class: 'hint', id: hintId }, hint), err);
    widgets.push({ name, def, kind, input, err, original: values[name], path: [...path, name] });
    (kind === 'json' ? advanced : basic).push(wrap);
  }
  const element = h('div', {}, basic,
    advanced.length ? h('details', {}, h('summary', {}, 'Advanced fields'), advanced) : null);

  // read returns the body to send: on create, the fields given; on edit,
  // the fields changed (emptied ones as null). Local mistakes (bad JSON)
  // come back as errors by field path.
  function read(body = {}) {
    const errors = {};
    for (const w of widgets) {
      let val;
      const raw = w.kind === 'checkbox' ? w.input.checked : w.input.value.trim();
      switch (w.kind) {
        case 'checkbox': val = raw; break;
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
      obj[w.name] = val;
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
      const msg = e === undefined ? '' : (typeof e === 'string' ? e : Array.isArray(e) ? e.join('; ') : JSON.stringify(e));
      w.err.textContent = msg;
      if (msg) w.input.setAttribute('aria-invalid', 'true'); else w.input.removeAttribute('aria-invalid');
    }
    const names = new Set(widgets.map((w) => w.path[0]));
    for (const [k, v] of Object.entries(fields || {})) {
      if (!names.has(k) && !(path.length && k === path[0])) rest.push(k === '@entity' ? [].concat(v).join('; ') : `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    }
    return rest;
  }

  function focusFirstError() {
    const w = widgets.find((x) => x.input.getAttribute('aria-invalid') === 'true');
    if (w) w.input.focus();
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
