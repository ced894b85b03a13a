// The console in a real browser against the real server: live updates
// between two pages, the timeline and time travel, conflicts, the live
// event log, projections, sign-in with a customer token, GraphiQL links.
// Every wait is on a condition with a deadline; nothing sleeps.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createOrder, gql, launch, shot, startServer, token, until } from './harness.mjs';

const SECRET = 'chronicle-web-tests-secret-0123456789abcdef';

let open; // a server without authentication (everyone is an admin)
let secured; // a server with CHRONICLE_JWT_SECRET
let browser;

before(async () => {
  [open, secured] = await Promise.all([startServer(), startServer({ secret: SECRET })]);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await Promise.all([open?.stop(), secured?.stop()]);
});

/** Fails the test if a page logged an error (CSP violations included). */
function noProblems() {
  const problems = browser.problems.splice(0);
  assert.deepEqual(problems, [], problems.join('\n'));
}

async function waitLive(page) {
  await page.locator('[data-testid=live]', { hasText: 'live' }).waitFor();
}

describe('console', () => {
  test('an order created and advanced in one page appears and updates live in the other', async () => {
    const watcher = await browser.page();
    await watcher.goto(`${open.url}/#/orders`);
    await watcher.locator('table.orders[data-loaded=yes]').waitFor();
    await waitLive(watcher);

    const actor = await browser.page();
    await actor.goto(`${open.url}/#/new`);
    // The server's validation message first: a quantity of 0.
    await actor.fill('input[name=customerId]', 'c-live');
    await actor.fill('tr[data-line="0"] input[name=sku]', 'TEA');
    await actor.fill('tr[data-line="0"] input[name=name]', 'Green tea');
    await actor.fill('tr[data-line="0"] input[name=unitPrice]', '4.50');
    await actor.fill('tr[data-line="0"] input[name=quantity]', '0');
    await actor.click('button[type=submit]');
    await actor.locator('[data-testid=message]', { hasText: 'quantity of TEA must be positive' }).waitFor();
    await shot(actor, 'new-order-validation');

    await actor.fill('tr[data-line="0"] input[name=quantity]', '2');
    await actor.click('button[type=submit]');
    await actor.waitForURL(/#\/orders\/[^/]+$/);
    const id = decodeURIComponent(actor.url().split('#/orders/')[1]);
    await actor.locator('[data-testid=current] [data-testid=version]', { hasText: '1' }).waitFor();

    const row = watcher.locator(`tr[data-order="${id}"]`);
    await row.locator('[data-testid=status]', { hasText: 'PENDING' }).waitFor();
    assert.equal(await row.locator('[data-testid=customer]').textContent(), 'c-live');
    assert.equal(await row.locator('[data-testid=total]').textContent(), '9.00');

    await waitLive(actor);
    await actor.click('form[data-action=place] button');
    await actor.locator('[data-testid=current] [data-testid=status]', { hasText: 'PLACED' }).waitFor();
    await row.locator('[data-testid=status]', { hasText: 'PLACED' }).waitFor();
    await row.locator('[data-testid=version]', { hasText: '2' }).waitFor();

    await actor.click('form[data-action=pay] button');
    await row.locator('[data-testid=status]', { hasText: 'PAID' }).waitFor();
    await row.locator('[data-testid=version]', { hasText: '3' }).waitFor();
    await actor.locator('[data-testid=current] [data-testid=status]', { hasText: 'PAID' }).waitFor();

    await shot(watcher, 'orders-live');
    await shot(actor, 'order-actions');
    await actor.close();
    await watcher.close();
    noProblems();
  });

  test('orders filter by status and customer and page with cursors', async () => {
    for (let i = 0; i < 12; i++) await createOrder(open, 'c-many');
    const page = await browser.page();
    await page.goto(`${open.url}/#/orders`);
    await page.fill('input[name=customer]', 'c-many');
    await page.click('form.filters button[type=submit]');
    const rows = page.locator('table.orders tbody tr[data-order]');
    await until('a full first page of c-many', async () => (await rows.count()) === 10 &&
      (await page.locator('table.orders [data-testid=customer]').allTextContents()).every((c) => c === 'c-many'));
    await page.click('text=Next →');
    await until('the second page', async () => (await rows.count()) === 2);
    await page.click('text=← Previous');
    await until('the first page again', async () => (await rows.count()) === 10);
    await page.selectOption('select[name=status]', 'PAID');
    await page.locator('table.orders td.empty').waitFor();
    await page.close();
    noProblems();
  });

  test('the timeline and the slider show the state at each version', async () => {
    const id = await createOrder(open, 'c-time');
    const add = 'mutation($input: AddItemInput!) { addItem(input: $input) { version } }';
    await gql(open, add, { input: { orderId: id, sku: 'C', name: 'Cherry', unitPrice: '1.00', quantity: 3, expectedVersion: 1 } });
    await gql(open, 'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { version } }', { input: { orderId: id, expectedVersion: 2 } });
    await gql(open, 'mutation($input: PayOrderInput!) { payOrder(input: $input) { version } }', {
      input: { orderId: id, amount: '28.25', paymentReference: 'p-1', expectedVersion: 3 },
    });

    const page = await browser.page();
    await page.goto(`${open.url}/#/orders/${id}`);
    await page.locator('[data-testid=current] [data-testid=version]', { hasText: '4' }).waitFor();
    const items = page.locator('[data-testid=timeline] li');
    await until('four events in the timeline', async () => (await items.count()) === 4);
    assert.deepEqual(
      await page.locator('[data-testid=timeline] li .head strong').allTextContents(),
      ['v1 OrderCreated', 'v2 ItemAdded', 'v3 OrderPlaced', 'v4 OrderPaid'],
    );
    const first = await items.nth(0).textContent();
    assert.match(first, /user anonymous/);
    assert.match(first, /correlation [0-9a-f-]{36}/);
    assert.match(first, /"customer_?[iI]d": "c-time"/);

    const expected = {
      1: ['PENDING', '25.25'],
      2: ['PENDING', '28.25'],
      3: ['PLACED', '28.25'],
    };
    const slider = page.locator('input[name=version]');
    for (const [version, [status, total]] of Object.entries(expected)) {
      await slider.fill(version);
      const past = page.locator('[data-testid=past]');
      await past.locator('[data-testid=version]', { hasText: version }).waitFor();
      assert.equal(await past.locator('[data-testid=status]').textContent(), status);
      assert.equal(await past.locator('[data-testid=total]').textContent(), total);
      assert.equal(await page.locator('[data-testid=timeline] li.future').count(), 4 - Number(version));
      if (version === '2') await shot(page, 'order-time-travel');
    }
    await slider.fill('4');
    await page.locator('[data-testid=slider-label]', { hasText: 'version 4 of 4 (now)' }).waitFor();
    assert.equal(await page.locator('[data-testid=past]').count(), 0);
    assert.equal(await page.locator('[data-testid=current] [data-testid=status]').textContent(), 'PAID');
    await page.close();
    noProblems();
  });

  test('a stale action shows the conflict, and reload-and-retry applies it', async () => {
    const id = await createOrder(open, 'c-stale');
    const page = await browser.page();
    await page.goto(`${open.url}/#/orders/${id}`);
    await page.locator('[data-testid=current] [data-testid=version]', { hasText: '1' }).waitFor();
    await page.uncheck('input[name=follow]');

    // Someone else places the order meanwhile.
    await gql(open, 'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { version } }', { input: { orderId: id } });

    await page.fill('form[data-action=add-item] input[name=sku]', 'D');
    await page.fill('form[data-action=add-item] input[name=name]', 'Date');
    await page.click('form[data-action=add-item] button');
    const message = page.locator('[data-testid=message]');
    await message.locator('text=Someone else changed this order').waitFor();
    assert.match(await message.textContent(), /you acted on version 1, it is now at version 2/);
    await shot(page, 'order-conflict');

    // Retried on version 2, it meets the business rule: a placed order
    // takes no new items.
    await page.click('[data-testid=retry]');
    await message.locator('text=Refused by a business rule').waitFor();
    await page.locator('[data-testid=current] [data-testid=status]', { hasText: 'PLACED' }).waitFor();

    // And a retry that can succeed: ship needs PAID; pay, then cancel fails…
    await gql(open, 'mutation($input: PayOrderInput!) { payOrder(input: $input) { version } }', {
      input: { orderId: id, amount: '25.25', paymentReference: 'p-2' },
    });
    await page.fill('form[data-action=ship] input[name=trackingNumber]', 'TRK-1');
    await page.click('form[data-action=ship] button');
    await message.locator('text=it is now at version 3').waitFor();
    await page.click('[data-testid=retry]');
    await message.locator('text=ship: done').waitFor();
    await page.locator('[data-testid=current] [data-testid=status]', { hasText: 'SHIPPED' }).waitFor();
    await page.locator('[data-testid=current] [data-testid=version]', { hasText: '4' }).waitFor();
    await page.close();
    noProblems();
  });

  test('the event log shows new events live, filtered by type, stream and user', async () => {
    const page = await browser.page();
    await page.goto(`${open.url}/#/events`);
    await page.locator('table.events[data-ready=yes]').waitFor();
    await waitLive(page);

    const id = await createOrder(open, 'c-events');
    await page.locator(`tr[data-stream="${id}"]`, { hasText: 'OrderCreated' }).waitFor();

    await page.fill('input[name=types]', 'OrderPlaced');
    await page.fill('input[name=stream]', id);
    await page.fill('input[name=user]', 'anonymous');
    await page.click('form.filters button[type=submit]');
    await page.locator('table.events[data-ready=yes] td.empty').waitFor();
    await waitLive(page);
    await gql(open, 'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { version } }', { input: { orderId: id } });
    await page.locator(`tr[data-stream="${id}"] [data-testid=type]`, { hasText: 'OrderPlaced' }).waitFor();
    assert.deepEqual(await page.locator('table.events [data-testid=type]').allTextContents(), ['OrderPlaced']);

    // Without the filter, the catch-up shows both, newest first.
    await page.fill('input[name=types]', '');
    await page.fill('input[name=user]', '');
    await page.click('form.filters button[type=submit]');
    await until('both events of the stream', async () =>
      (await page.locator('table.events [data-testid=type]').allTextContents()).join() === 'OrderPlaced,OrderCreated');
    await page.fill('input[name=stream]', '');
    await page.click('form.filters button[type=submit]');
    await page.locator(`tr[data-stream="${id}"]`).first().waitFor();
    await shot(page, 'event-log');
    await page.close();
    noProblems();
  });

  test('projections show their status and rebuild with live progress', async () => {
    const page = await browser.page();
    await page.goto(`${open.url}/#/projections`);
    const rows = page.locator('table.projections tbody tr');
    await until('three projections', async () => (await rows.count()) === 3);
    for (const name of ['order_details', 'customer_order_history', 'sales_stats']) {
      await page.locator(`tr[data-projection=${name}] [data-testid=state]`, { hasText: 'RUNNING' }).waitFor();
    }
    const row = page.locator('tr[data-projection=order_details]');
    const before = await row.locator('.hint').first().textContent();
    await row.locator('button', { hasText: 'Rebuild' }).click();
    await row.locator('[data-testid=note]', { hasText: /rebuil/ }).waitFor();
    await until('a new live generation', async () => (await row.locator('.hint').first().textContent()) !== before);
    await row.locator('[data-testid=lag]', { hasText: /^0/ }).waitFor();
    await shot(page, 'projections');
    await page.close();
    noProblems();
  });

  test('signed in with a customer token, a customer sees only their orders, live', async () => {
    const admin = token(SECRET, { sub: 'root', role: 'admin' });
    const mine = [await createOrder(secured, 'cust-1', admin), await createOrder(secured, 'cust-1', admin)];
    await createOrder(secured, 'cust-2', admin);

    const page = await browser.page();
    await page.goto(`${secured.url}/#/signin`);
    await page.fill('textarea[name=token]', token(SECRET, { sub: 'alice', role: 'customer', customer_id: 'cust-1' }));
    await page.locator('text=Claims: sub alice, role customer, customer cust-1').waitFor();
    await shot(page, 'sign-in');
    await page.click('button[type=submit]');
    await page.waitForURL(/#\/orders$/);
    await page.locator('[data-testid=who]', { hasText: 'alice (customer)' }).waitFor();

    const rows = page.locator('table.orders tbody tr[data-order]');
    await until('the customer’s two orders', async () => (await rows.count()) === 2);
    assert.deepEqual(await page.locator('table.orders [data-testid=customer]').allTextContents(), ['cust-1', 'cust-1']);
    // No staff views for a customer.
    assert.equal(await page.locator('nav a', { hasText: 'Event log' }).count(), 0);

    // The token reached the WebSocket too: orderUpdated follows the rows.
    await waitLive(page);
    await gql(secured, 'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { version } }', { input: { orderId: mine[0] } }, admin);
    await page.locator(`tr[data-order="${mine[0]}"] [data-testid=status]`, { hasText: 'PLACED' }).waitFor();
    await shot(page, 'orders-customer');

    // Signed out, the secured server refuses the list.
    await page.goto(`${secured.url}/#/signin`);
    await page.click('text=Sign out');
    await page.locator('p.error[role=alert]').waitFor();
    await page.close();
    browser.problems.splice(0); // the refused requests after sign-out are expected
  });

  test('GraphiQL opens from a ?query= link and runs it', async () => {
    const id = await createOrder(open, 'c-graphiql');
    const query = `{ order(id: "${id}") { customerId status } }`;
    const page = await browser.page();
    await page.goto(`${open.url}/graphql?query=${encodeURIComponent(query)}`);
    await page.locator('.graphiql-query-editor', { hasText: 'customerId status' }).waitFor();
    await page.click('.graphiql-execute-button');
    await page.locator('.graphiql-response', { hasText: '"c-graphiql"' }).waitFor();
    await shot(page, 'graphiql');
    await page.close();
    noProblems();
  });
});
