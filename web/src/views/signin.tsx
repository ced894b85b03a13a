// Sign-in: paste a JWT (or nothing, when the server runs open). It is kept
// in localStorage and sent as `Authorization: Bearer` over HTTP and as
// `authorization` in the WebSocket's connection_init.
import { useState } from 'preact/hooks';
import { claims, getToken, setToken } from '../api';
import { go } from '../route';

export function SignInView({ onChange }: { onChange: (token: string) => void }) {
  const [text, setText] = useState(getToken());
  const current = getToken();
  const who = current ? claims(current) : null;
  const preview = text.trim() ? claims(text.trim()) : null;

  const apply = (token: string) => {
    setToken(token);
    onChange(token);
    go('#/orders');
  };

  return (
    <section>
      <h1>Sign in</h1>
      <p>
        {current
          ? `Signed in as ${who?.sub ?? '?'} (${who?.role ?? '?'}${who?.customer_id ? `, customer ${who.customer_id}` : ''}).`
          : 'No token: fine when the server runs without CHRONICLE_JWT_SECRET (everyone is an admin named "anonymous").'}
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          apply(text.trim());
        }}
      >
        <label>
          Token (JWT, HS256)
          <textarea name="token" rows={5} cols={80} value={text} onInput={(e) => setText(e.currentTarget.value)} />
        </label>
        {text.trim() && (
          <p class="hint">
            {preview
              ? `Claims: sub ${preview.sub ?? '?'}, role ${preview.role ?? '?'}${preview.customer_id ? `, customer ${preview.customer_id}` : ''}${preview.exp ? `, expires ${new Date(preview.exp * 1000).toLocaleString()}` : ''}`
              : 'This does not look like a JWT.'}
          </p>
        )}
        <button type="submit">Sign in</button>{' '}
        <button type="button" onClick={() => apply('')}>
          Sign out
        </button>
      </form>
    </section>
  );
}
