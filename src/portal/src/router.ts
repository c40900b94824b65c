import { useEffect, useState } from 'react';

export type Page = 'credentials' | 'credential' | 'audit' | 'usage' | 'events';

export interface Route {
  page: Page;
  /** The credential's id on #/credentials/:id. */
  id?: string;
  /** The view's state from the hash's query (#/credentials?q=..&sort=..): a reload or a shared link shows the same view. */
  params: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const params = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '');
  const [first, second] = path.split('/');
  if (first === 'credentials' && second) return { page: 'credential', id: decodeURIComponent(second), params };
  if (first === 'audit' || first === 'usage' || first === 'events') return { page: first, params };
  return { page: 'credentials', params };
}

const ROUTE_EVENT = 'ccauth:route';

/** The page from the URL hash (#/credentials, #/credentials/:id, #/audit, #/usage, #/events): no router package, nothing secret in the URL. */
export function useRoute(): Route {
  const [route, setRoute] = useState<Route>(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    window.addEventListener(ROUTE_EVENT, onChange);
    return () => {
      window.removeEventListener('hashchange', onChange);
      window.removeEventListener(ROUTE_EVENT, onChange);
    };
  }, []);
  return route;
}

/** A hash link: #/path?query, leaving out empty values. */
export function href(path: string, params?: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    search.set(key, String(value));
  }
  const qs = search.toString();
  return `#/${path}${qs ? `?${qs}` : ''}`;
}

/**
 * Moves to a hash. `replace` changes the URL without a new history entry (typing in a search box);
 * else Back returns to the previous view.
 */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (window.location.hash === to) return;
  if (options.replace) window.history.replaceState(window.history.state, '', to);
  else window.history.pushState(window.history.state, '', to);
  window.dispatchEvent(new Event(ROUTE_EVENT));
}
