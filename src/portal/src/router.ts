import { useEffect, useState } from 'react';

export type Route = 'credentials' | 'audit';

function parse(hash: string): Route {
  const path = hash.replace(/^#\/?/, '').split(/[?/]/)[0];
  return path === 'audit' ? 'audit' : 'credentials';
}

/** The page from the URL hash (#/credentials, #/audit): no router package, nothing secret in the URL. */
export function useRoute(): Route {
  const [route, setRoute] = useState<Route>(() => parse(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parse(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function href(route: Route): string {
  return `#/${route}`;
}
