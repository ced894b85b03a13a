// The global event log, live: the `events` subscription from a little
// before the head (catch-up), then as events commit. Filters go to the
// server as an EventFilter.
import { useEffect, useState } from 'preact/hooks';
import { describe, request, subscribe } from '../api';
import { EventFeedDocument, ProjectionsDocument } from '../gql/graphql';
import type { EventFeedSubscription, EventFilter } from '../gql/graphql';
import { short, time } from '../format';

type Event = EventFeedSubscription['events'];

const BACKLOG = 50;
const KEEP = 200;

export function EventsView() {
  const [types, setTypes] = useState('');
  const [stream, setStream] = useState('');
  const [user, setUser] = useState('');
  const [filter, setFilter] = useState<EventFilter>({});
  const [events, setEvents] = useState<Event[]>([]);
  const [error, setError] = useState('');
  const [ready, setReady] = useState(false);

  useEffect(() => {
    let stop: (() => void) | null = null;
    let cancelled = false;
    setEvents([]);
    setReady(false);
    request(ProjectionsDocument)
      .then((data) => {
        if (cancelled) return;
        const head = data.projections.reduce((m, p) => Math.max(m, Number(p.head)), 0);
        const from = Math.max(0, head - BACKLOG);
        setReady(true);
        stop = subscribe(
          EventFeedDocument,
          { afterPosition: String(from), filter },
          (d) => setEvents((es) => [d.events, ...es].slice(0, KEEP)),
          (e) => setError(describe(e)),
        );
      })
      .catch((e) => setError(describe(e)));
    return () => {
      cancelled = true;
      stop?.();
    };
  }, [filter]);

  return (
    <section>
      <h1>Event log</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const eventTypes = types
            .split(',')
            .map((t) => t.trim())
            .filter(Boolean);
          setFilter({
            ...(eventTypes.length ? { eventTypes } : {}),
            ...(stream.trim() ? { streamId: stream.trim() } : {}),
            ...(user.trim() ? { userId: user.trim() } : {}),
          });
        }}
      >
        <label>
          Types <input name="types" placeholder="OrderPlaced, OrderPaid" value={types} onInput={(e) => setTypes(e.currentTarget.value)} />
        </label>
        <label>
          Stream <input name="stream" placeholder="order id" value={stream} onInput={(e) => setStream(e.currentTarget.value)} />
        </label>
        <label>
          User <input name="user" placeholder="user id" value={user} onInput={(e) => setUser(e.currentTarget.value)} />
        </label>
        <button type="submit">Apply</button>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      <table class="events" data-ready={ready ? 'yes' : 'no'}>
        <thead>
          <tr>
            <th class="num">Position</th>
            <th>Type</th>
            <th>Stream</th>
            <th class="num">Version</th>
            <th>Time</th>
            <th>User</th>
            <th>Correlation</th>
            <th>Data</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.position} data-position={e.position} data-stream={e.streamId}>
              <td class="num">{e.position}</td>
              <td data-testid="type">{e.eventType}</td>
              <td>
                <a href={`#/orders/${encodeURIComponent(e.streamId)}`} title={e.streamId}>
                  {short(e.streamId)}
                </a>
              </td>
              <td class="num">{e.version}</td>
              <td>{time(e.recordedAt)}</td>
              <td>{e.metadata.userId ?? '—'}</td>
              <td>
                <code title={e.metadata.correlationId ?? ''}>{short(e.metadata.correlationId ?? '—')}</code>
              </td>
              <td>
                <code class="data">{JSON.stringify(e.data)}</code>
              </td>
            </tr>
          ))}
          {ready && events.length === 0 && (
            <tr>
              <td colSpan={8} class="empty">
                Waiting for events…
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
