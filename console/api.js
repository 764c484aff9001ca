/**
 * The review API (docs/API.md, docs/CONSOLE.md) as the console calls it: a base URL and a bearer
 * token, JSON in and out, and an error that carries the status and the server's message.
 */

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   * @param {string} [code]
   */
  constructor(status, message, code) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** Where the console finds its API, read from ./config.json (written by whoever hosts it). */
export const DEFAULT_CONFIG = Object.freeze({ apiBaseUrl: '', mediaUrl: './media', auth: 'key' });

/** @returns {Promise<typeof DEFAULT_CONFIG>} */
export async function loadConfig() {
  try {
    const res = await fetch('./config.json', { cache: 'no-store' });
    if (!res.ok) return DEFAULT_CONFIG;
    return { ...DEFAULT_CONFIG, ...(await res.json()) };
  } catch {
    return DEFAULT_CONFIG;
  }
}

/** @param {Response} res */
async function failure(res) {
  let message = `${res.status} ${res.statusText}`;
  let code;
  try {
    const body = await res.json();
    message = body?.error?.message ?? message;
    code = body?.error?.code;
  } catch {
    // Not JSON (a proxy's page): the status line says enough.
  }
  return new ApiError(res.status, message, code);
}

/**
 * @param {{ apiBaseUrl: string, mediaUrl: string }} config
 * @param {string} token the reviewer key, or (on AWS) the Cognito access token
 */
export function createClient(config, token) {
  const base = config.apiBaseUrl.replace(/\/+$/, '');
  const auth = { authorization: `Bearer ${token}` };

  /** @param {string} method @param {string} path @param {unknown} [body] */
  async function call(method, path, body) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...auth, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw await failure(res);
    return res.json();
  }

  const item = (/** @type {string} */ id) => `/v1/review/items/${encodeURIComponent(id)}`;

  return {
    /** Items waiting for a person, oldest first (items someone has claimed are not listed). */
    async queue(/** @type {{kind: string, limit?: number, category?: string, modality?: string}} */ q) {
      const params = new URLSearchParams({ kind: q.kind, limit: String(q.limit ?? 50) });
      if (q.category) params.set('category', q.category);
      if (q.modality) params.set('modality', q.modality);
      return (await call('GET', `/v1/review/queue?${params}`)).items;
    },
    /** A lease on the item: `{ id, reviewer, leaseUntil }`; 409 when someone else holds it. */
    claim: (/** @type {string} */ id) => call('POST', `${item(id)}/claim`),
    /** Gives the claim back, so the item returns to the queue for everyone: `{ id, released }`. */
    release: (/** @type {string} */ id) => call('POST', `${item(id)}/release`),
    /** `{ decision, reason, labels?, bank? }` → the updated verdict. */
    decide: (/** @type {string} */ id, /** @type {object} */ body) =>
      call('POST', `${item(id)}/decision`, body),
    /**
     * One medium of an item as a Blob. The media route answers the bytes (locally) or `{ url }`, a
     * short-lived presigned URL (AWS), which is read without the token.
     */
    async media(/** @type {string} */ id, /** @type {string} */ source) {
      const url = new URL(config.mediaUrl, document.baseURI);
      url.searchParams.set('id', id);
      url.searchParams.set('source', source);
      const res = await fetch(url, { headers: auth });
      if (!res.ok) throw await failure(res);
      if (!(res.headers.get('content-type') ?? '').startsWith('application/json')) return res.blob();
      const { url: presigned } = await res.json();
      const object = await fetch(presigned);
      if (!object.ok) throw await failure(object);
      return object.blob();
    },
  };
}
