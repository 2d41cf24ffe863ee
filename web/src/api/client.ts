// HTTP calls to kiln: the query API on the dashboard's own origin (kiln-analytics serves both),
// and the command API (kiln-webhook-ingest, another port: cross-origin, so it needs CORS).
// Every failure becomes an ApiError whose message is fit to show the user.

import type {
  BuildDetail, BuildPage, Daily, LogPage, Project, Summary,
} from './types';
import { settings } from './settings';

export class ApiError extends Error {
  constructor(
    readonly status: number, // 0: no HTTP answer (network, CORS, server down)
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type Query = Record<string, string | number | undefined | null>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

async function failure(response: Response, what: string): Promise<ApiError> {
  let code = `http_${response.status}`;
  let message = `${what}: HTTP ${response.status} ${response.statusText}`.trim();
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.message) {
      code = body.error.code ?? code;
      message = `${what}: ${body.error.message}`;
    }
  } catch {
    // the body is not kiln's JSON error (a proxy's page): the status line says it
  }
  if (response.status === 401) message += ' — sign in again with a valid token';
  return new ApiError(response.status, code, message);
}

export async function request<T>(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; signal?: AbortSignal; what?: string } = {},
): Promise<T> {
  const url = base.replace(/\/$/, '') + path;
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = settings.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const what = options.what ?? `${method} ${path}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      cache: 'no-store',
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    const crossOrigin = base !== '' && !url.startsWith(location.origin);
    throw new ApiError(
      0,
      'unreachable',
      `${what}: cannot reach ${url}` +
        (crossOrigin ? ' (is the command API running and does it allow this origin via CORS?)' : ''),
    );
  }
  if (!response.ok) throw await failure(response, what);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

const query = <T>(path: string, signal?: AbortSignal, what?: string) =>
  request<T>(settings.queryApi(), 'GET', path, { signal, what });

export const api = {
  builds: (filters: Query, signal?: AbortSignal) =>
    query<BuildPage>(withQuery('/v1/builds', filters), signal, 'Loading builds'),
  build: (id: string, signal?: AbortSignal) =>
    query<BuildDetail>(`/v1/builds/${encodeURIComponent(id)}`, signal, `Loading build ${id}`),
  logs: (id: string, from: number, limit: number, signal?: AbortSignal) =>
    query<LogPage>(
      withQuery(`/v1/builds/${encodeURIComponent(id)}/logs`, { from, limit }),
      signal,
      'Loading the log',
    ),
  daily: (q: Query, signal?: AbortSignal) =>
    query<Daily>(withQuery('/v1/analytics/daily', q), signal, 'Loading daily performance'),
  summary: (q: Query, signal?: AbortSignal) =>
    query<Summary>(withQuery('/v1/analytics/summary', q), signal, 'Loading the summary'),
  eventsUrl: (id: string) =>
    `${settings.queryApi().replace(/\/$/, '')}/v1/builds/${encodeURIComponent(id)}/events`,

  projects: (signal?: AbortSignal) =>
    request<{ projects: Project[] }>(settings.commandApi(), 'GET', '/v1/projects', {
      signal,
      what: 'Loading projects',
    }),
  cancel: (id: string) =>
    request<{ build_id: string; status: string }>(
      settings.commandApi(),
      'DELETE',
      `/v1/builds/${encodeURIComponent(id)}`,
      { what: 'Cancelling the build' },
    ),
  retry: (id: string) =>
    request<{ build_id: string }>(
      settings.commandApi(),
      'POST',
      `/v1/builds/${encodeURIComponent(id)}/retry`,
      { what: 'Retrying the build' },
    ),
};

export function authHeaders(): Record<string, string> {
  const token = settings.token();
  return token ? { Authorization: `Bearer ${token}` } : {};
}
