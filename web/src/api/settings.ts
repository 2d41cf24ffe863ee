// Where the dashboard keeps its settings. The bearer token lives in sessionStorage: it is gone
// when the tab closes and never written to disk by us. API base URLs are preferences (local).

const TOKEN = 'kiln.token';
const COMMAND_API = 'kiln.commandApi';
const QUERY_API = 'kiln.queryApi';
const TENANT = 'kiln.tenant';

function read(storage: Storage | undefined, key: string): string | null {
  try {
    return storage?.getItem(key) ?? null;
  } catch {
    return null; // storage disabled (private mode): behave as if nothing was saved
  }
}

function write(storage: Storage | undefined, key: string, value: string | null): void {
  try {
    if (value === null || value === '') storage?.removeItem(key);
    else storage?.setItem(key, value);
  } catch {
    // storage disabled: the value lasts as long as the page
  }
}

const session = () => (typeof sessionStorage === 'undefined' ? undefined : sessionStorage);
const local = () => (typeof localStorage === 'undefined' ? undefined : localStorage);

// The command API (webhook-ingest) listens on 8080 of the same host unless configured otherwise.
export function defaultCommandApi(loc: { protocol: string; hostname: string }): string {
  const host = loc.hostname.includes(':') ? `[${loc.hostname}]` : loc.hostname;
  return `${loc.protocol}//${host}:8080`;
}

export const settings = {
  token: () => read(session(), TOKEN),
  setToken: (token: string | null) => write(session(), TOKEN, token),
  commandApi: () =>
    read(local(), COMMAND_API) ??
    (typeof location === 'undefined' ? 'http://127.0.0.1:8080' : defaultCommandApi(location)),
  setCommandApi: (url: string | null) => write(local(), COMMAND_API, url),
  queryApi: () => read(local(), QUERY_API) ?? '',
  setQueryApi: (url: string | null) => write(local(), QUERY_API, url),
  tenant: () => read(local(), TENANT) ?? 'default',
  setTenant: (tenant: string | null) => write(local(), TENANT, tenant),
};
