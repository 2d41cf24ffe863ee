// Hash routing (#/builds/abc?x=y): the server only has to serve index.html at `/`, and a reload
// or a pasted link opens the same page.

import { useEffect, useState } from 'preact/hooks';

export interface Route {
  path: string[]; // ["builds", "abc"]
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const text = hash.replace(/^#\/?/, '');
  const q = text.indexOf('?');
  const pathText = q >= 0 ? text.slice(0, q) : text;
  return {
    path: pathText.split('/').filter(Boolean).map(decodeURIComponent),
    query: new URLSearchParams(q >= 0 ? text.slice(q + 1) : ''),
  };
}

export function href(path: string, query: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v) params.set(k, v);
  const qs = params.toString();
  return `#${path}${qs ? `?${qs}` : ''}`;
}

export function navigate(path: string, query: Record<string, string | undefined> = {}, replace = false): void {
  const target = href(path, query);
  if (replace) history.replaceState(null, '', target);
  else history.pushState(null, '', target);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseHash(location.hash));
    window.addEventListener('hashchange', update);
    window.addEventListener('popstate', update);
    return () => {
      window.removeEventListener('hashchange', update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return route;
}
