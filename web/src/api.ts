// The console's only door to the server: GraphQL over HTTP POST for queries
// and mutations, graphql-ws (graphql-transport-ws) for subscriptions. The
// signed-in token goes to both: `Authorization: Bearer` over HTTP and the
// connection_init payload's `authorization` over WebSocket.
import { createClient, type Client } from 'graphql-ws';
import type { TypedDocumentString } from './gql/graphql';

const TOKEN_KEY = 'chronicle.token';

export function getToken(): string {
  return localStorage.getItem(TOKEN_KEY) ?? '';
}

export function setToken(token: string): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
  // New credentials: the next subscription opens a new socket with them.
  if (client) {
    client.dispose();
    client = null;
  }
}

export interface Claims {
  sub?: string;
  role?: string;
  customer_id?: string;
  exp?: number;
}

/** The token's claims, unverified (the server verifies; this is for display). */
export function claims(token: string): Claims | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    return JSON.parse(json) as Claims;
  } catch {
    return null;
  }
}

/** A GraphQL error with its `extensions.code` (VALIDATION, BUSINESS_RULE, …). */
export class ApiError extends Error {
  readonly code: string;
  readonly extensions: Record<string, unknown>;
  constructor(message: string, code: string, extensions: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.extensions = extensions;
  }
}

interface GraphQLResponse<R> {
  data?: R | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

function toError(errors: NonNullable<GraphQLResponse<unknown>['errors']>): ApiError {
  const first = errors[0];
  const ext = first?.extensions ?? {};
  return new ApiError(first?.message ?? 'unknown error', String(ext.code ?? 'INTERNAL'), ext);
}

export async function request<R, V>(
  document: TypedDocumentString<R, V>,
  variables?: V,
): Promise<R> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json, application/json',
  };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: document.toString(), variables: variables ?? {} }),
    });
  } catch (e) {
    throw new ApiError(`the server is unreachable (${String(e)})`, 'NETWORK');
  }
  let body: GraphQLResponse<R>;
  try {
    body = (await response.json()) as GraphQLResponse<R>;
  } catch {
    throw new ApiError(`HTTP ${response.status} without a GraphQL body`, 'INTERNAL');
  }
  if (body.errors && body.errors.length > 0) throw toError(body.errors);
  if (!body.data) throw new ApiError('empty response', 'INTERNAL');
  return body.data;
}

let client: Client | null = null;
type Listener = (connected: boolean) => void;
const listeners = new Set<Listener>();
let connected = false;

function notify(value: boolean) {
  connected = value;
  listeners.forEach((l) => l(value));
}

function ws(): Client {
  if (client) return client;
  const url = new URL('/graphql', location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const c = createClient({
    url: url.href,
    connectionParams: () => {
      const token = getToken();
      return token ? { authorization: `Bearer ${token}` } : {};
    },
    retryAttempts: Infinity,
    shouldRetry: () => true,
  });
  c.on('connected', () => client === c && notify(true));
  c.on('closed', () => client === c && notify(false));
  client = c;
  return c;
}

/** Whether the subscription socket is up, and changes of it. */
export function onConnection(listener: Listener): () => void {
  listeners.add(listener);
  listener(connected);
  return () => listeners.delete(listener);
}

/**
 * Subscribes; `onData` gets each result, `onError` each error. Returns the
 * function that unsubscribes.
 */
export function subscribe<R, V>(
  document: TypedDocumentString<R, V>,
  variables: V,
  onData: (data: R) => void,
  onError: (error: ApiError) => void,
): () => void {
  return ws().subscribe<R>(
    { query: document.toString(), variables: variables as Record<string, unknown> },
    {
      next: (message) => {
        if (message.errors && message.errors.length > 0) {
          onError(toError(message.errors as NonNullable<GraphQLResponse<unknown>['errors']>));
        } else if (message.data) {
          onData(message.data);
        }
      },
      error: (e) => {
        if (Array.isArray(e)) onError(toError(e));
        else if (e instanceof Error) onError(new ApiError(e.message, 'NETWORK'));
        else onError(new ApiError('the subscription socket closed', 'NETWORK'));
      },
      complete: () => {},
    },
  );
}

/** A message for a person, by error code. */
export function describe(error: unknown): string {
  if (!(error instanceof ApiError)) return String(error);
  switch (error.code) {
    case 'BUSINESS_RULE':
      return `Refused by a business rule: ${error.message}`;
    case 'CONCURRENCY_CONFLICT': {
      const { expectedVersion, actualVersion } = error.extensions;
      return `Someone else changed this order meanwhile: you acted on version ${String(expectedVersion)}, it is now at version ${String(actualVersion)}.`;
    }
    case 'VALIDATION':
      return `Invalid input: ${error.message}`;
    case 'NOT_FOUND':
      return `Not found: ${error.message}`;
    case 'UNAUTHENTICATED':
      return `Not signed in or the token was refused: ${error.message}`;
    case 'FORBIDDEN':
      return `Not allowed: ${error.message}`;
    default:
      return error.message;
  }
}
