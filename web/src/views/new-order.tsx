// A new order. The form checks nothing itself: the server's VALIDATION and
// BUSINESS_RULE messages are what the user sees.
import { useState } from 'preact/hooks';
import { describe, request } from '../api';
import { CreateOrderDocument } from '../gql/graphql';
import { go } from '../route';

type Line = { sku: string; name: string; unitPrice: string; quantity: string };

const blank = (): Line => ({ sku: '', name: '', unitPrice: '', quantity: '1' });

export function NewOrderView({ defaultCustomer }: { defaultCustomer: string }) {
  const [customerId, setCustomerId] = useState(defaultCustomer);
  const [lines, setLines] = useState<Line[]>([blank()]);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const setLine = (i: number, field: keyof Line, value: string) =>
    setLines((ls) => ls.map((l, j) => (j === i ? { ...l, [field]: value } : l)));

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const data = await request(CreateOrderDocument, {
        input: {
          customerId,
          items: lines.map((l) => ({
            sku: l.sku,
            name: l.name,
            unitPrice: l.unitPrice,
            quantity: Number(l.quantity),
          })),
        },
      });
      go(`#/orders/${encodeURIComponent(data.createOrder.aggregateId)}`);
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h1>New order</h1>
      <form class="new-order" onSubmit={submit}>
        <label>
          Customer{' '}
          <input name="customerId" value={customerId} onInput={(e) => setCustomerId(e.currentTarget.value)} />
        </label>
        <table>
          <thead>
            <tr>
              <th>SKU</th>
              <th>Name</th>
              <th>Unit price</th>
              <th>Quantity</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {lines.map((l, i) => (
              <tr data-line={i}>
                <td>
                  <input name="sku" value={l.sku} onInput={(e) => setLine(i, 'sku', e.currentTarget.value)} />
                </td>
                <td>
                  <input name="name" value={l.name} onInput={(e) => setLine(i, 'name', e.currentTarget.value)} />
                </td>
                <td>
                  <input name="unitPrice" size={8} value={l.unitPrice} placeholder="10.00" onInput={(e) => setLine(i, 'unitPrice', e.currentTarget.value)} />
                </td>
                <td>
                  <input name="quantity" size={4} value={l.quantity} onInput={(e) => setLine(i, 'quantity', e.currentTarget.value)} />
                </td>
                <td>
                  <button type="button" onClick={() => setLines((ls) => ls.filter((_, j) => j !== i))}>
                    ✕
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <button type="button" onClick={() => setLines((ls) => [...ls, blank()])}>
          + Line
        </button>{' '}
        <button type="submit" disabled={busy}>
          Create order
        </button>
        {error && (
          <p class="error" role="alert" data-testid="message">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}
