// One order: its read model (live through `orderUpdated`), its event
// timeline, a time-travel slider (`order(id, atVersion)`), and the commands,
// each sent with the version on screen as `expectedVersion`.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, describe, request, subscribe } from '../api';
import {
  AddItemDocument,
  CancelOrderDocument,
  OrderDocument,
  OrderHistoryDocument,
  OrderUpdatedDocument,
  PayOrderDocument,
  PlaceOrderDocument,
  RemoveItemDocument,
  ShipOrderDocument,
} from '../gql/graphql';
import type { OrderFieldsFragment, OrderHistoryQuery } from '../gql/graphql';
import { time } from '../format';

type HistoryEvent = OrderHistoryQuery['orderHistory'][number];

/** A command, ready to send with a given expected version; resolves to the new version. */
type Action = { label: string; send: (expectedVersion: number) => Promise<number> };

/**
 * The read model once it reflects `version`: read models trail the write,
 * so a plain query right after a command may still show the old state.
 * `orderUpdated(afterVersion: version - 1)` answers as soon as it is there.
 */
function readModelAt(id: string, version: number): Promise<OrderFieldsFragment> {
  return new Promise((resolve, reject) => {
    let stop = () => {};
    const timer = setTimeout(() => {
      stop();
      reject(new ApiError(`the read model did not reach version ${version} in time`, 'TIMEOUT'));
    }, 15_000);
    stop = subscribe(
      OrderUpdatedDocument,
      { id, afterVersion: version - 1 },
      (data) => {
        clearTimeout(timer);
        stop();
        resolve(data.orderUpdated);
      },
      (e) => {
        clearTimeout(timer);
        stop();
        reject(e);
      },
    );
  });
}

function OrderState({ order, testid }: { order: OrderFieldsFragment; testid: string }) {
  return (
    <div class="order-state" data-testid={testid}>
      <dl>
        <dt>Status</dt>
        <dd>
          <span class={`status ${order.status}`} data-testid="status">
            {order.status}
          </span>
        </dd>
        <dt>Customer</dt>
        <dd>{order.customerId}</dd>
        <dt>Total</dt>
        <dd data-testid="total">{order.totalAmount}</dd>
        <dt>Version</dt>
        <dd data-testid="version">{order.version}</dd>
        <dt>Updated</dt>
        <dd>{time(order.updatedAt)}</dd>
        {order.paymentReference && (
          <>
            <dt>Payment</dt>
            <dd>{order.paymentReference}</dd>
          </>
        )}
        {order.trackingNumber && (
          <>
            <dt>Tracking</dt>
            <dd>{order.trackingNumber}</dd>
          </>
        )}
        {order.cancelReason && (
          <>
            <dt>Cancelled</dt>
            <dd>{order.cancelReason}</dd>
          </>
        )}
      </dl>
      <table class="items">
        <thead>
          <tr>
            <th>SKU</th>
            <th>Name</th>
            <th class="num">Unit price</th>
            <th class="num">Qty</th>
            <th class="num">Line total</th>
          </tr>
        </thead>
        <tbody>
          {order.items.map((i) => (
            <tr data-sku={i.sku}>
              <td>{i.sku}</td>
              <td>{i.name}</td>
              <td class="num">{i.unitPrice}</td>
              <td class="num">{i.quantity}</td>
              <td class="num">{i.lineTotal}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function OrderView({ id }: { id: string }) {
  const [order, setOrder] = useState<OrderFieldsFragment | null>(null);
  const [history, setHistory] = useState<HistoryEvent[]>([]);
  const [missing, setMissing] = useState(false);
  const [follow, setFollow] = useState(true);
  const [at, setAt] = useState<number | null>(null);
  const [past, setPast] = useState<OrderFieldsFragment | null>(null);
  const [message, setMessage] = useState<{ kind: 'error' | 'ok'; text: string } | null>(null);
  const [conflict, setConflict] = useState<{ action: Action; actual: number } | null>(null);
  const [busy, setBusy] = useState(false);

  const reload = async () => {
    const [o, h] = await Promise.all([
      request(OrderDocument, { id }),
      request(OrderHistoryDocument, { id }),
    ]);
    setHistory(h.orderHistory);
    if (o.order) setOrder(o.order);
    setMissing(!o.order && h.orderHistory.length === 0);
    return o.order;
  };

  /** Shows the order at `version` at least (and its history). */
  const showVersion = async (version: number) => {
    const [o, h] = await Promise.all([readModelAt(id, version), request(OrderHistoryDocument, { id })]);
    setOrder(o);
    setHistory(h.orderHistory);
    return o;
  };

  useEffect(() => {
    reload().catch((e) => setMessage({ kind: 'error', text: describe(e) }));
  }, [id]);

  // Live: each time order_details applies an event for this order.
  useEffect(() => {
    if (!follow) return;
    return subscribe(
      OrderUpdatedDocument,
      { id },
      (data) => {
        setOrder(data.orderUpdated);
        setMissing(false);
        request(OrderHistoryDocument, { id })
          .then((h) => setHistory(h.orderHistory))
          .catch((e) => setMessage({ kind: 'error', text: describe(e) }));
      },
      (e) => setMessage({ kind: 'error', text: describe(e) }),
    );
  }, [id, follow]);

  const latest = order?.version ?? 0;
  const shown = at !== null && at < latest ? at : latest;

  useEffect(() => {
    if (at === null || at >= latest) {
      setPast(null);
      return;
    }
    let current = true;
    request(OrderDocument, { id, atVersion: at })
      .then((d) => current && setPast(d.order ?? null))
      .catch((e) => current && setMessage({ kind: 'error', text: describe(e) }));
    return () => {
      current = false;
    };
  }, [id, at, latest]);

  const run = async (action: Action, expectedVersion: number) => {
    setBusy(true);
    setMessage(null);
    setConflict(null);
    try {
      const version = await action.send(expectedVersion);
      setMessage({ kind: 'ok', text: `${action.label}: done (version ${version}).` });
      // The live subscription brings the new state; without it, wait for it.
      if (!follow) await showVersion(version);
    } catch (e) {
      setMessage({ kind: 'error', text: describe(e) });
      if (e instanceof ApiError && e.code === 'CONCURRENCY_CONFLICT') {
        setConflict({ action, actual: Number(e.extensions.actualVersion) });
      }
    } finally {
      setBusy(false);
    }
  };

  const act = (action: Action) => run(action, latest);

  const reloadAndRetry = async () => {
    if (!conflict) return;
    try {
      const fresh = await showVersion(conflict.actual);
      await run(conflict.action, fresh.version);
    } catch (e) {
      setMessage({ kind: 'error', text: describe(e) });
    }
  };

  if (missing) {
    return (
      <section>
        <h1>Order {id}</h1>
        <p class="error">There is no order with this id.</p>
      </section>
    );
  }
  if (!order) {
    return (
      <section>
        <h1>Order {id}</h1>
        {message ? <p class="error">{message.text}</p> : <p>Loading…</p>}
      </section>
    );
  }

  return (
    <section class="order">
      <h1>
        Order <code>{order.id}</code>
      </h1>
      <label class="follow">
        <input
          type="checkbox"
          name="follow"
          checked={follow}
          onChange={(e) => setFollow(e.currentTarget.checked)}
        />{' '}
        follow live updates
      </label>
      {!follow && (
        <button type="button" onClick={() => reload().catch((e) => setMessage({ kind: 'error', text: describe(e) }))}>
          Reload
        </button>
      )}
      {message && (
        <div class={message.kind === 'error' ? 'error' : 'ok'} role={message.kind === 'error' ? 'alert' : 'status'} data-testid="message">
          {message.text}
          {conflict && (
            <button type="button" data-testid="retry" onClick={reloadAndRetry} disabled={busy}>
              Reload and retry “{conflict.action.label}”
            </button>
          )}
        </div>
      )}
      <div class="columns">
        <div>
          <h2>Current state</h2>
          <OrderState order={order} testid="current" />
          <Actions order={order} busy={busy} act={act} />
        </div>
        <div>
          <h2>Time travel</h2>
          <div class="slider">
            <input
              type="range"
              name="version"
              min={1}
              max={Math.max(latest, 1)}
              step={1}
              value={shown}
              disabled={latest <= 1}
              onInput={(e) => {
                const v = Number(e.currentTarget.value);
                setAt(v >= latest ? null : v);
              }}
            />
            <span data-testid="slider-label">
              version {shown} of {latest}
              {shown < latest ? '' : ' (now)'}
            </span>
          </div>
          {shown < latest &&
            (past && past.version === shown ? (
              <OrderState order={past} testid="past" />
            ) : (
              <p>Rebuilding version {shown}…</p>
            ))}
          <h2>Timeline</h2>
          <ol class="timeline" data-testid="timeline">
            {history.map((e) => (
              <li class={e.version > shown ? 'future' : ''} data-version={e.version}>
                <div class="head">
                  <strong>
                    v{e.version} {e.eventType}
                  </strong>
                  <span>{time(e.recordedAt)}</span>
                </div>
                <div class="meta">
                  user <b>{e.metadata.userId ?? '—'}</b> · correlation{' '}
                  <code>{e.metadata.correlationId ?? '—'}</code> · position {e.position}
                  {e.metadata.reason && (
                    <>
                      {' '}
                      · reason <b>{e.metadata.reason}</b>
                    </>
                  )}
                </div>
                <pre>{JSON.stringify(e.data, null, 1)}</pre>
              </li>
            ))}
          </ol>
        </div>
      </div>
    </section>
  );
}

function Actions({
  order,
  busy,
  act,
}: {
  order: OrderFieldsFragment;
  busy: boolean;
  act: (a: Action) => void;
}) {
  const orderId = order.id;
  const [sku, setSku] = useState('');
  const [name, setName] = useState('');
  const [price, setPrice] = useState('1.00');
  const [qty, setQty] = useState('1');
  const [removeSku, setRemoveSku] = useState('');
  const [payRef, setPayRef] = useState('pay-1');
  const [amount, setAmount] = useState('');
  const [tracking, setTracking] = useState('');
  const [reason, setReason] = useState('');

  const submit = (label: string, send: Action['send']) => (e: Event) => {
    e.preventDefault();
    act({ label, send });
  };

  return (
    <div class="actions">
      <h2>Actions</h2>
      <p class="hint">Each is sent with expectedVersion {order.version}.</p>
      <form
        data-action="add-item"
        onSubmit={submit(`add ${sku || 'item'}`, (expectedVersion) =>
          request(AddItemDocument, {
            input: { orderId, sku, name, unitPrice: price, quantity: Number(qty), expectedVersion },
          }).then((d) => d.addItem.version),
        )}
      >
        <input name="sku" placeholder="SKU" value={sku} onInput={(e) => setSku(e.currentTarget.value)} />
        <input name="name" placeholder="name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <input name="unitPrice" placeholder="unit price" size={6} value={price} onInput={(e) => setPrice(e.currentTarget.value)} />
        <input name="quantity" placeholder="qty" size={3} value={qty} onInput={(e) => setQty(e.currentTarget.value)} />
        <button disabled={busy}>Add item</button>
      </form>
      <form
        data-action="remove-item"
        onSubmit={submit(`remove ${removeSku}`, (expectedVersion) =>
          request(RemoveItemDocument, { input: { orderId, sku: removeSku, expectedVersion } }).then(
            (d) => d.removeItem.version,
          ),
        )}
      >
        <select name="sku" value={removeSku} onChange={(e) => setRemoveSku(e.currentTarget.value)}>
          <option value="">SKU…</option>
          {order.items.map((i) => (
            <option value={i.sku}>{i.sku}</option>
          ))}
        </select>
        <button disabled={busy || !removeSku}>Remove item</button>
      </form>
      <form
        data-action="place"
        onSubmit={submit('place', (expectedVersion) =>
          request(PlaceOrderDocument, { input: { orderId, expectedVersion } }).then((d) => d.placeOrder.version),
        )}
      >
        <button disabled={busy}>Place</button>
      </form>
      <form
        data-action="pay"
        onSubmit={submit('pay', (expectedVersion) =>
          request(PayOrderDocument, {
            input: { orderId, amount: amount || order.totalAmount, paymentReference: payRef, expectedVersion },
          }).then((d) => d.payOrder.version),
        )}
      >
        <input name="amount" placeholder={order.totalAmount} size={8} value={amount} onInput={(e) => setAmount(e.currentTarget.value)} />
        <input name="paymentReference" placeholder="payment ref" value={payRef} onInput={(e) => setPayRef(e.currentTarget.value)} />
        <button disabled={busy}>Pay</button>
      </form>
      <form
        data-action="ship"
        onSubmit={submit('ship', (expectedVersion) =>
          request(ShipOrderDocument, { input: { orderId, trackingNumber: tracking, expectedVersion } }).then(
            (d) => d.shipOrder.version,
          ),
        )}
      >
        <input name="trackingNumber" placeholder="tracking number" value={tracking} onInput={(e) => setTracking(e.currentTarget.value)} />
        <button disabled={busy}>Ship</button>
      </form>
      <form
        data-action="cancel"
        onSubmit={submit('cancel', (expectedVersion) =>
          request(CancelOrderDocument, { input: { orderId, reason, expectedVersion } }).then(
            (d) => d.cancelOrder.version,
          ),
        )}
      >
        <input name="reason" placeholder="reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        <button disabled={busy}>Cancel order</button>
      </form>
    </div>
  );
}
