// The live orders table. Staff see every change through the
// `projectionUpdated` subscription on order_details (the page is re-read
// when its projection has applied a change, so it shows committed read-model
// state, and nothing polls). Customers may not use that subscription; they
// follow each order on the page with `orderUpdated`.
import { useEffect, useRef, useState } from 'preact/hooks';
import { describe, onConnection, request, subscribe } from '../api';
import { OrderChangesDocument, OrderUpdatedDocument, OrdersDocument } from '../gql/graphql';
import type { OrdersQuery, OrderStatus } from '../gql/graphql';
import { STATUSES, short, time } from '../format';

type Row = OrdersQuery['orders']['edges'][number]['node'];

const PAGE = 10;

export function OrdersView({ customer }: { customer: boolean }) {
  const [status, setStatus] = useState<OrderStatus | ''>('');
  const [customerId, setCustomerId] = useState('');
  const [customerInput, setCustomerInput] = useState('');
  // Cursors of the pages before this one (for "previous"), and this one's.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1] ?? null;
  const [rows, setRows] = useState<Row[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState('');
  const [flash, setFlash] = useState<Record<string, number>>({});
  const [loaded, setLoaded] = useState(false);

  // Coalesce bursts of changes into one re-read at a time.
  const reading = useRef(false);
  const again = useRef(false);
  const load = useRef<() => void>(() => {});
  load.current = () => {
    if (reading.current) {
      again.current = true;
      return;
    }
    reading.current = true;
    request(OrdersDocument, {
      status: status || null,
      customerId: customerId || null,
      first: PAGE,
      after,
    })
      .then((data) => {
        setRows(data.orders.edges.map((e) => e.node));
        setNext(data.orders.pageInfo.hasNextPage ? (data.orders.pageInfo.endCursor ?? null) : null);
        setError('');
        setLoaded(true);
      })
      .catch((e) => setError(describe(e)))
      .finally(() => {
        reading.current = false;
        if (again.current) {
          again.current = false;
          load.current();
        }
      });
  };

  useEffect(() => load.current(), [status, customerId, after]);

  const markChanged = (id: string) => {
    setFlash((f) => ({ ...f, [id]: Date.now() }));
  };

  useEffect(() => {
    if (customer) return;
    const stop = subscribe(
      OrderChangesDocument,
      {},
      (data) => {
        markChanged(data.projectionUpdated.aggregateId);
        load.current();
      },
      (e) => setError(describe(e)),
    );
    // After a reconnect, changes made meanwhile were not seen: re-read.
    let first = true;
    const off = onConnection((up) => {
      if (up && !first) load.current();
      if (up) first = false;
    });
    return () => {
      stop();
      off();
    };
  }, [customer]);

  const ids = rows.map((r) => r.id).join(',');
  useEffect(() => {
    if (!customer || !ids) return;
    const stops = ids.split(',').map((id) =>
      subscribe(
        OrderUpdatedDocument,
        { id },
        (data) => {
          const o = data.orderUpdated;
          setRows((rs) => rs.map((r) => (r.id === o.id ? { ...r, ...o } : r)));
          markChanged(o.id);
        },
        (e) => setError(describe(e)),
      ),
    );
    return () => stops.forEach((s) => s());
  }, [customer, ids]);

  const resetPaging = () => setCursors([null]);

  return (
    <section>
      <h1>Orders</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setCustomerId(customerInput.trim());
          resetPaging();
        }}
      >
        <label>
          Status{' '}
          <select
            name="status"
            value={status}
            onChange={(e) => {
              setStatus(e.currentTarget.value as OrderStatus | '');
              resetPaging();
            }}
          >
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        {!customer && (
          <label>
            Customer{' '}
            <input
              name="customer"
              value={customerInput}
              placeholder="customer id"
              onInput={(e) => setCustomerInput(e.currentTarget.value)}
            />
          </label>
        )}
        {!customer && <button type="submit">Filter</button>}
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      <table class="orders" data-loaded={loaded ? 'yes' : 'no'}>
        <thead>
          <tr>
            <th>Order</th>
            <th>Status</th>
            <th>Customer</th>
            <th class="num">Total</th>
            <th class="num">Version</th>
            <th>Updated</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr
              key={r.id + ':' + (flash[r.id] ?? 0)}
              class={flash[r.id] ? 'changed' : ''}
              data-order={r.id}
            >
              <td>
                <a href={`#/orders/${encodeURIComponent(r.id)}`} title={r.id}>
                  {short(r.id)}
                </a>
              </td>
              <td>
                <span class={`status ${r.status}`} data-testid="status">
                  {r.status}
                </span>
              </td>
              <td data-testid="customer">{r.customerId}</td>
              <td class="num" data-testid="total">{r.totalAmount}</td>
              <td class="num" data-testid="version">{r.version}</td>
              <td>{time(r.updatedAt)}</td>
            </tr>
          ))}
          {loaded && rows.length === 0 && (
            <tr>
              <td colSpan={6} class="empty">
                No orders{status || customerId ? ' match these filters' : ' yet'}.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <div class="pager">
        <button disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
          ← Previous
        </button>
        <span>page {cursors.length}</span>
        <button disabled={!next} onClick={() => next && setCursors((c) => [...c, next])}>
          Next →
        </button>
      </div>
    </section>
  );
}
