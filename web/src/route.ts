// Hash routing (#/orders/<id>): the server serves one page at `/` and needs
// to know nothing about the console's views.
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { view: 'orders' }
  | { view: 'order'; id: string }
  | { view: 'new' }
  | { view: 'events' }
  | { view: 'projections' }
  | { view: 'signin' };

export function parse(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  switch (parts[0]) {
    case 'orders':
      return parts[1] ? { view: 'order', id: parts[1] } : { view: 'orders' };
    case 'new':
      return { view: 'new' };
    case 'events':
      return { view: 'events' };
    case 'projections':
      return { view: 'projections' };
    case 'signin':
      return { view: 'signin' };
    default:
      return { view: 'orders' };
  }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parse(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function go(hash: string): void {
  location.hash = hash;
}
