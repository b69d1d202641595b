// The Admin API client. Credentials: with a login, the HttpOnly session
// cookie set by /auth (which scripts cannot read) and the admin's name in
// Kong-Admin-User; the password only passes through login() once.
const C = window.K_CONFIG || {};
const USER_KEY = 'portico.manager.user';

export const config = C;

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export function currentUser() { return sessionStorage.getItem(USER_KEY); }

let onUnauthorized = () => {};
export function setUnauthorizedHandler(f) { onUnauthorized = f; }

async function send(method, path, body, extra = {}, raw = false) {
  const headers = { Accept: raw ? 'text/plain' : 'application/json', ...extra };
  const user = currentUser();
  if (C.LOGIN && user && !headers.Authorization) headers[C.ADMIN_GUI_AUTH_HEADER] = user;
  const init = { method, headers, cache: 'no-store', credentials: C.LOGIN ? 'include' : 'omit' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(C.ADMIN_API_URL + path, init);
  const text = await res.text();
  if (raw && res.ok) return text;
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { message: text }; }
  if (!res.ok) {
    if (res.status === 401 && C.LOGIN && path !== '/auth') onUnauthorized();
    throw new ApiError(res.status, data);
  }
  return data;
}

export const api = {
  get: (p) => send('GET', p),
  text: (p) => send('GET', p, undefined, {}, true),
  post: (p, b) => send('POST', p, b === undefined ? {} : b),
  patch: (p, b) => send('PATCH', p, b),
  del: (p) => send('DELETE', p),
};

// ws prefixes a workspaced path.
export function wsPath(ws, p) {
  return ws && ws !== 'default' ? `/${encodeURIComponent(ws)}${p}` : p;
}

// login checks an admin's credentials through GET /auth (Kong Manager's
// basic-auth login): the answer sets the session cookie.
export async function login(username, password) {
  const auth = 'Basic ' + btoa(String.fromCharCode(...new TextEncoder().encode(`${username}:${password}`)));
  const admin = await send('GET', '/auth', undefined, { Authorization: auth, [C.ADMIN_GUI_AUTH_HEADER]: username });
  sessionStorage.setItem(USER_KEY, username);
  return admin;
}

export async function logout() {
  try { await send('DELETE', '/auth'); } finally { sessionStorage.removeItem(USER_KEY); }
}

// session asks /auth whether the browser's cookie is still a session.
export async function session() {
  if (!currentUser()) return null;
  try { return await send('GET', '/auth'); } catch { sessionStorage.removeItem(USER_KEY); return null; }
}
