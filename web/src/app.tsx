import { useEffect, useState } from 'preact/hooks';
import { claims, getToken, onConnection } from './api';
import { useRoute } from './route';
import { OrdersView } from './views/orders';
import { OrderView } from './views/order';
import { NewOrderView } from './views/new-order';
import { EventsView } from './views/events';
import { ProjectionsView } from './views/projections';
import { SignInView } from './views/signin';

export function App() {
  const route = useRoute();
  const [token, setTokenState] = useState(getToken);
  const [live, setLive] = useState(false);
  useEffect(() => onConnection(setLive), []);
  const who = token ? claims(token) : null;
  const customer = who?.role === 'customer';

  const link = (hash: string, label: string, active: boolean) => (
    <a href={hash} class={active ? 'active' : ''}>
      {label}
    </a>
  );

  let body;
  switch (route.view) {
    case 'orders':
      body = <OrdersView customer={customer} />;
      break;
    case 'order':
      body = <OrderView id={route.id} />;
      break;
    case 'new':
      body = <NewOrderView defaultCustomer={who?.customer_id ?? ''} />;
      break;
    case 'events':
      body = <EventsView />;
      break;
    case 'projections':
      body = <ProjectionsView />;
      break;
    case 'signin':
      body = <SignInView onChange={setTokenState} />;
      break;
  }

  return (
    <>
      <header>
        <strong>Chronicle</strong>
        <nav>
          {link('#/orders', 'Orders', route.view === 'orders' || route.view === 'order')}
          {link('#/new', 'New order', route.view === 'new')}
          {!customer && link('#/events', 'Event log', route.view === 'events')}
          {!customer && link('#/projections', 'Projections', route.view === 'projections')}
          {link('#/signin', who ? 'Account' : 'Sign in', route.view === 'signin')}
        </nav>
        <span class="who" data-testid="who">
          {who ? `${who.sub ?? '?'} (${who.role ?? '?'})` : 'no token'}
        </span>
        <span class={live ? 'dot on' : 'dot'} data-testid="live" title="subscription socket">
          {live ? 'live' : 'idle'}
        </span>
        <a class="graphiql" href="/graphql">GraphiQL</a>
      </header>
      {/* A new token remounts every view, so each resubscribes with it. */}
      <main key={token}>{body}</main>
    </>
  );
}
