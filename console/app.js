/**
 * The review console (docs/CONSOLE.md): the queue of items waiting for a person, one item's evidence,
 * and a decision made from the keyboard. Preact + htm, served as plain modules: no build step.
 *
 * Keys: a allow · b block (each fills the reason, which stays editable) · Enter confirm · s skip ·
 * Esc cancel · ? help. An item is claimed when it is opened, so no one else decides it meanwhile;
 * skipping gives the claim back.
 */
import htm from 'htm';
import { h, render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, createClient, loadConfig } from './api.js';
import { createCognitoAuth, identityOf } from './auth.js';
import * as ev from './evidence.js';

const html = htm.bind(h);

/** The reviewer's key (or token) for this tab only: gone when the tab closes. */
const TOKEN_KEY = 'moderation-console.token';
const PAST = { allow: 'allowed', block: 'blocked' };
/** The reason a decision starts with; the reviewer may change it before confirming. */
const prefill = (/** @type {'allow'|'block'} */ decision, /** @type {string} */ kind) =>
  `${PAST[decision]} in ${kind}`;
const BANK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MODALITIES = ['text', 'image', 'ocr', 'speech'];

const emptyForm = () => ({
  decision: undefined,
  reason: '',
  edited: false,
  labels: {},
  labelsTouched: false,
  bank: '',
});

const isTyping = (/** @type {EventTarget | null} */ t) =>
  t instanceof HTMLElement && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName));

const when = (/** @type {string | undefined} */ iso) => (iso ? new Date(iso).toLocaleString() : '');

/** On AWS: the user pool's hosted sign-in (password and TOTP), then back here with a code. */
function HostedSignIn({ auth, error }) {
  return html`<main class="sign-in">
    <form
      onSubmit=${(/** @type {Event} */ e) => {
        e.preventDefault();
        auth.signIn();
      }}
    >
      <h1>Review console</h1>
      <p>Sign in with your reviewer account. The session is kept in this tab only.</p>
      <button type="submit" autofocus>Sign in</button>
      ${error && html`<p class="notice error" role="alert">${error}</p>`}
    </form>
  </main>`;
}

function SignIn({ onSignIn, error }) {
  const [key, setKey] = useState('');
  return html`<main class="sign-in">
    <form
      onSubmit=${(/** @type {Event} */ e) => {
        e.preventDefault();
        if (key.trim()) onSignIn(key.trim());
      }}
    >
      <h1>Review console</h1>
      <p>Enter your reviewer key. It is kept in this tab only (sessionStorage) and sent as a bearer token.</p>
      <label for="reviewer-key">Reviewer key</label>
      <input
        id="reviewer-key"
        type="password"
        autocomplete="off"
        spellcheck="false"
        value=${key}
        onInput=${(/** @type {any} */ e) => setKey(e.currentTarget.value)}
        autofocus
      />
      <button type="submit" disabled=${!key.trim()}>Sign in</button>
      ${error && html`<p class="notice error" role="alert">${error}</p>`}
    </form>
  </main>`;
}

function Scores({ scores, limit = 6 }) {
  return html`<span class="scores">
    ${ev
      .ranked(scores)
      .slice(0, limit)
      .map(
        // Only taxonomy categories are coloured: a model's own classes (neutral, drawing) are context.
        ([k, v]) =>
          html`<span class=${`chip ${ev.CATEGORIES.includes(k) ? `band-${ev.band(v)}` : 'plain'}`} title=${String(v)}>
            ${k} ${ev.score(v)}
          </span>`,
      )}
  </span>`;
}

function Excerpt({ verdict, channel, evidence }) {
  const matches = ev.matchesIn(verdict, channel, evidence);
  const level = ev.band(ev.highest(evidence.scores));
  const where = [
    evidence.range && `chars ${evidence.range[0]}–${evidence.range[1]}`,
    evidence.timeRangeMs && ev.timeRange(evidence.timeRangeMs),
    evidence.timeRangeMs === undefined &&
      evidence.timestampMs !== undefined &&
      `at ${ev.time(evidence.timestampMs)}`,
    ev.sourceLabel(evidence.source),
  ].filter(Boolean);
  return html`<div class=${`excerpt band-${level}`}>
    <div class="excerpt-head">
      <span class="where">${where.join(' · ')}</span>
      <${Scores} scores=${evidence.scores} />
    </div>
    <p class="excerpt-text">
      ${ev
        .segments(evidence.excerpt ?? '', evidence.range, matches)
        .map((s) =>
          s.match
            ? html`<mark class="term" title=${`${s.match.bank}: ${s.match.label}`}>${s.text}</mark>`
            : s.text,
        )}
    </p>
  </div>`;
}

const CHANNEL_TITLES = {
  text: 'Text',
  ocr: 'Text in images (OCR)',
  speech: 'Transcript (speech)',
  image: 'Images',
};

function TextChannel({ verdict, channel }) {
  const result = verdict.modalities[channel];
  return html`<section class=${`channel channel-${channel}`}>
    <h3>${CHANNEL_TITLES[channel] ?? channel} <${Scores} scores=${result.scores} /></h3>
    ${result.evidence.length === 0 && html`<p class="muted">No excerpt kept.</p>`}
    ${result.evidence.map((e) => html`<${Excerpt} verdict=${verdict} channel=${channel} evidence=${e} />`)}
  </section>`;
}

function Media({ client, verdict, medium, held }) {
  const { source, frames } = medium;
  const blurred = ev.needsBlur(verdict, medium.scores);
  const [state, setState] = useState({ status: 'idle' });
  const [revealed, setRevealed] = useState(false);
  const video = useRef(/** @type {HTMLVideoElement | null} */ (null));

  useEffect(() => {
    if (!ev.isKept(source)) return setState({ status: 'not-kept' });
    if (!held) return setState({ status: 'waiting' });
    let live = true;
    /** @type {string | undefined} */
    let url;
    setState({ status: 'loading' });
    client.media(verdict.id, source).then(
      (/** @type {Blob} */ blob) => {
        if (!live) return;
        url = URL.createObjectURL(blob);
        setState({ status: 'ready', url, type: blob.type });
      },
      (/** @type {Error} */ err) => live && setState({ status: 'error', message: err.message }),
    );
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [client, verdict.id, source, held]);

  const hidden = blurred && !revealed;
  const seek = (/** @type {number} */ ms) => {
    if (video.current) video.current.currentTime = ms / 1000;
  };
  let body;
  if (state.status === 'not-kept')
    body = html`<div class="placeholder">Content not kept: API requests are moderated without being stored.</div>`;
  else if (state.status === 'error')
    body = html`<div class="placeholder error">Could not load: ${state.message}</div>`;
  else if (state.status !== 'ready')
    body = html`<div class="placeholder">${held ? 'Loading…' : 'Claim the item to see it.'}</div>`;
  else {
    const isVideo = state.type.startsWith('video/');
    const media = isVideo
      ? html`<video ref=${video} class=${`thumb${hidden ? ' blurred' : ''}`} src=${state.url} muted preload="metadata" controls=${!hidden}></video>`
      : html`<img class=${`thumb${hidden ? ' blurred' : ''}`} src=${state.url} alt=${`image ${ev.sourceLabel(source)}`} />`;
    body = blurred
      ? html`<button
          type="button"
          class="reveal"
          aria-pressed=${revealed}
          title=${hidden ? 'Sensitive: click to show' : 'Click to blur again'}
          onClick=${() => setRevealed(!revealed)}
        >
          ${media}${hidden && html`<span class="veil">Sensitive — click to show</span>`}
        </button>`
      : media;
  }
  return html`<figure class="media" data-source=${source}>
    ${body}
    <figcaption>
      <span class="where">${ev.sourceLabel(source)}</span>
      <${Scores} scores=${medium.scores} />
      ${
        frames.length > 0 &&
        html`<ol class="frames">
        ${frames.map(
          (f) => html`<li>
            <button type="button" class="frame" onClick=${() => seek(f.timestampMs)}>
              frame at ${ev.time(f.timestampMs)}
            </button>
            <${Scores} scores=${f.scores} limit=${3} />
          </li>`,
        )}
      </ol>`
      }
    </figcaption>
  </figure>`;
}

function Matches({ verdict }) {
  const matches = verdict.matches ?? [];
  if (matches.length === 0) return null;
  return html`<section class="matches">
    <h3>Bank and term-list matches</h3>
    <table>
      <thead><tr><th>list</th><th>kind</th><th>label</th><th>matched</th><th>where</th></tr></thead>
      <tbody>
        ${matches.map(
          (m) => html`<tr class=${`match-${m.kind}`}>
            <td>${m.bank}</td>
            <td>${m.kind}</td>
            <td>${m.label}</td>
            <td><code>${m.signalType}</code> ${m.signal}${m.signalType === 'pdq' ? ` (distance ${m.distance})` : ''}</td>
            <td>
              ${[
                ev.sourceLabel(m.source),
                m.channel,
                m.range && `chars ${m.range[0]}–${m.range[1]}`,
                m.timeRangeMs && ev.timeRange(m.timeRangeMs),
                !m.timeRangeMs && m.frameMs !== undefined && `at ${ev.time(m.frameMs)}`,
              ]
                .filter(Boolean)
                .join(' · ')}
            </td>
          </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}

function Appeal({ verdict }) {
  if (!verdict.appeal) return null;
  return html`<section class="appeal">
    <h3>Appeal</h3>
    <blockquote class="appeal-reason">${verdict.appeal.reason}</blockquote>
    <p class="muted">appealed ${when(verdict.appeal.at)}</p>
    ${(verdict.reviews ?? []).map(
      (r) => html`<p class="review-record">
        ${r.reviewer} decided <strong>${r.decision}</strong> (${r.kind}) ${when(r.at)}: “${r.reason}”
      </p>`,
    )}
  </section>`;
}

function Summary({ verdict }) {
  return html`<section class="summary">
    <h3>Why it is here</h3>
    <ul class="reasons">
      ${(verdict.reasons ?? []).map((r) => html`<li>${r}</li>`)}
    </ul>
    <table class="categories">
      <tbody>
        ${ev.ranked(verdict.categories).map(
          ([k, v]) => html`<tr>
            <th>${k}</th>
            <td><span class=${`bar band-${ev.band(v)}`} style=${{ width: `${Math.round(v * 100)}%` }}></span></td>
            <td class="num">${ev.score(v)}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${
      verdict.unscoredCategories?.length > 0 &&
      html`<p class="muted">Not scored by any model here: ${verdict.unscoredCategories.join(', ')}</p>`
    }
    ${verdict.partial && html`<p class="notice warn">Part of this upload was not scored.</p>`}
  </section>`;
}

function Versions({ verdict }) {
  return html`<section class="versions">
    <h3>Versions</h3>
    <dl>
      <dt>policy</dt>
      <dd class="policy-version">${verdict.policyVersion}</dd>
      ${Object.entries(verdict.modelVersions ?? {}).map(
        ([name, version]) => html`<dt>${name}</dt><dd class="model-version">${version}</dd>`,
      )}
      <dt>content type</dt>
      <dd>${verdict.contentType ?? '–'}</dd>
      <dt>object</dt>
      <dd class="object">${verdict.object}</dd>
      <dt>moderated</dt>
      <dd>${when(verdict.createdAt)}</dd>
    </dl>
  </section>`;
}

function ItemView({ verdict, client, claim }) {
  const held = claim.state === 'held';
  return html`<article class="item-view" data-id=${verdict.id} aria-label="item">
    <header class="item-head">
      <span class="badge kind">${ev.kindOf(verdict)}</span>
      <span class=${`badge decision-${verdict.decision}`}>automatic: ${verdict.decision}</span>
      <span class="badge">score ${ev.score(verdict.score)}</span>
      ${verdict.queue === 'appeal' && html`<span class="badge appeal-badge">appeal</span>`}
      <span class=${`claim claim-${claim.state}`}>
        ${claim.state === 'pending' && 'claiming…'}
        ${claim.state === 'held' && `claimed by you until ${new Date(claim.until).toLocaleTimeString()}`}
        ${claim.state === 'refused' && claim.message}
      </span>
    </header>
    <${Appeal} verdict=${verdict} />
    <${Summary} verdict=${verdict} />
    <${Matches} verdict=${verdict} />
    ${ev.channels(verdict).map((c) =>
      c === 'image'
        ? html`<section class="channel channel-image">
            <h3>${CHANNEL_TITLES.image} <${Scores} scores=${verdict.modalities.image.scores} /></h3>
            <div class="media-grid">
              ${ev
                .mediaOf(verdict)
                .map((m) => html`<${Media} client=${client} verdict=${verdict} medium=${m} held=${held} />`)}
            </div>
          </section>`
        : html`<${TextChannel} verdict=${verdict} channel=${c} />`,
    )}
    <${Versions} verdict=${verdict} />
  </article>`;
}

function DecisionBar({ verdict, kind, form, setForm, reasonRef, onSubmit, onArm, onSkip, busy, enabled }) {
  const flagged = ev.flaggedCategories(verdict);
  return html`<form
    class="decision"
    onSubmit=${(/** @type {Event} */ e) => {
      e.preventDefault();
      onSubmit();
    }}
  >
    <div class="choices" role="group" aria-label="decision">
      <button type="button" class=${`allow${form.decision === 'allow' ? ' armed' : ''}`} disabled=${!enabled} onClick=${() => onArm('allow')}>
        <kbd>a</kbd> Allow
      </button>
      <button type="button" class=${`block${form.decision === 'block' ? ' armed' : ''}`} disabled=${!enabled} onClick=${() => onArm('block')}>
        <kbd>b</kbd> Block
      </button>
      <button type="button" class="skip" onClick=${onSkip}><kbd>s</kbd> Skip</button>
    </div>
    <label class="reason">
      <span>Reason (required)</span>
      <input
        id="reason"
        ref=${reasonRef}
        required
        maxlength="2000"
        placeholder=${`press a or b: e.g. “${prefill('allow', kind)}”`}
        value=${form.reason}
        disabled=${!enabled}
        onInput=${(/** @type {any} */ e) => setForm({ ...form, reason: e.currentTarget.value, edited: true })}
      />
    </label>
    ${
      flagged.length > 0 &&
      html`<fieldset class="labels">
      <legend>It really is</legend>
      ${flagged.map(
        (c) => html`<label>
          <input
            type="checkbox"
            checked=${form.labels[c] === true}
            onChange=${(/** @type {any} */ e) =>
              setForm({
                ...form,
                labels: { ...form.labels, [c]: e.currentTarget.checked },
                labelsTouched: true,
              })}
          />
          ${c}
        </label>`,
      )}
    </fieldset>`
    }
    ${
      verdict.signals?.length > 0 &&
      html`<label class="bank">
      <span>Add its hashes to bank</span>
      <input
        placeholder="optional, e.g. reviewed-abuse"
        value=${form.bank}
        pattern=${BANK_NAME.source}
        onInput=${(/** @type {any} */ e) => setForm({ ...form, bank: e.currentTarget.value })}
      />
    </label>`
    }
    <button type="submit" class="confirm" disabled=${!enabled || busy || !form.decision}>
      ${busy ? 'Saving…' : form.decision ? `Confirm ${form.decision} (Enter)` : 'Confirm (Enter)'}
    </button>
  </form>`;
}

function QueueList({ items, currentId, skipped, onOpen, loading }) {
  if (items.length === 0)
    return html`<p class="empty muted">${loading ? 'Loading…' : 'Nothing is waiting. Refresh to look again.'}</p>`;
  return html`<ol class="queue">
    ${items.map(
      (v) => html`<li>
        <button
          type="button"
          class=${`queue-item${v.id === currentId ? ' current' : ''}${skipped.has(v.id) ? ' skipped' : ''}`}
          data-id=${v.id}
          aria-current=${v.id === currentId ? 'true' : undefined}
          onClick=${() => onOpen(v.id)}
        >
          <span class="row">
            <span class="badge kind">${ev.kindOf(v)}</span>
            <span class=${`score band-${ev.band(v.score)}`}>${ev.score(v.score)}</span>
            ${skipped.has(v.id) && html`<span class="badge">skipped</span>`}
          </span>
          <span class="first-reason">${v.appeal?.reason ? `appeal: ${v.appeal.reason}` : (v.reasons?.[0] ?? v.decision)}</span>
          <span class="muted">${when(v.queuedAt ?? v.createdAt)}</span>
        </button>
      </li>`,
    )}
  </ol>`;
}

function App({ config, auth }) {
  const [token, setToken] = useState(() =>
    auth ? auth.current() : (sessionStorage.getItem(TOKEN_KEY) ?? ''),
  );
  const client = useMemo(() => (token ? createClient(config, token) : undefined), [config, token]);
  const [signInError, setSignInError] = useState('');
  const [kind, setKind] = useState('review');
  const [filters, setFilters] = useState({ category: '', modality: '' });
  const [items, setItems] = useState(/** @type {any[]} */ ([]));
  const [loading, setLoading] = useState(false);
  const [currentId, setCurrentId] = useState(/** @type {string | undefined} */ (undefined));
  const [claim, setClaim] = useState(/** @type {any} */ ({ state: 'none' }));
  const [form, setForm] = useState(emptyForm);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState(/** @type {{ tone: string, text: string } | undefined} */ (undefined));
  const [skipped, setSkipped] = useState(() => new Set());
  const [help, setHelp] = useState(false);
  const reasonRef = useRef(/** @type {HTMLInputElement | null} */ (null));
  /** Items this reviewer claimed and has not decided: the queue hides them, the list keeps them. */
  const held = useRef(new Map());
  /**
   * The ID token a 401 was renewed to, until the API accepts it (the queue is read again with it at
   * once): a 401 for it too is not an expiry, so it signs out.
   */
  const renewedTo = useRef('');

  const current = items.find((v) => v.id === currentId);

  const signOut = (/** @type {string} */ message = '', /** @type {boolean} */ everywhere = false) => {
    // Signing out on purpose also ends the hosted UI's session (a redirect); a refused token does not.
    if (auth && everywhere) return auth.signOut();
    // A refused session is forgotten (and its refresh token revoked), so a reload does not bring it back.
    auth?.forget();
    sessionStorage.removeItem(TOKEN_KEY);
    held.current.clear();
    setItems([]);
    setCurrentId(undefined);
    setToken('');
    setSignInError(message);
  };

  // After the hosted UI's redirect: trade its code for tokens (once, when the page loads).
  useEffect(() => {
    if (!auth) return;
    auth
      .completeSignIn()
      .then((signedIn) => signedIn && setToken(auth.current()))
      .catch((/** @type {Error} */ err) => setSignInError(err.message));
  }, []);

  // Renew the ID token a minute before it expires, so a reviewer mid-item is never signed out.
  useEffect(() => {
    const at = token && auth?.refreshAt();
    if (!at) return;
    const timer = setTimeout(
      () =>
        auth
          .refresh()
          .then((next) => (next ? setToken(next) : signOut('Your session ended. Sign in again.'))),
      Math.max(0, at - Date.now()),
    );
    return () => clearTimeout(timer);
  }, [token]);

  /** Turns an API failure into what the reviewer needs to know; a bad key signs out. */
  const failed = async (/** @type {unknown} */ err, /** @type {string} */ what) => {
    if (err instanceof ApiError && err.status === 401 && auth) {
      // An expired token (a laptop asleep past the timer): renew once, else sign in again. A token
      // refused for who it names (no review group, no tenant) is refused again once renewed: without
      // the once, the page would trade and be refused in a loop.
      const next = token !== renewedTo.current ? await auth.refresh() : '';
      if (next) {
        renewedTo.current = next;
        setToken(next);
        return setNotice({ tone: 'warn', text: `${what}: your session was renewed; try again.` });
      }
      return signOut(`Sign in again: ${err.message}`);
    }
    if (err instanceof ApiError && err.status === 401) return signOut('That key was not accepted.');
    if (err instanceof ApiError && err.status === 403)
      return signOut(`That key may not review: ${err.message}`);
    setNotice({ tone: 'error', text: `${what}: ${err instanceof Error ? err.message : String(err)}` });
  };

  async function load() {
    if (!client) return;
    setLoading(true);
    try {
      const fetched = await client.queue({ kind, ...filters });
      const mine = [...held.current.values()].filter(
        (v) => v.queue === kind && !fetched.some((f) => f.id === v.id),
      );
      const all = [...fetched, ...mine].sort((a, b) => String(a.queuedAt).localeCompare(String(b.queuedAt)));
      if (!auth) sessionStorage.setItem(TOKEN_KEY, token);
      // Accepted: a later 401 for this token (expired after a sleep) may renew it again.
      renewedTo.current = '';
      setItems(all);
      return all;
    } catch (err) {
      failed(err, 'Loading the queue');
    } finally {
      setLoading(false);
    }
  }

  // Read again whenever what is asked for changes (the key, the queue, the filters).
  useEffect(() => {
    load();
  }, [client, kind, filters]);

  async function open(/** @type {string} */ id) {
    const verdict = items.find((v) => v.id === id);
    if (!client || !verdict) return;
    setCurrentId(id);
    setForm(emptyForm());
    setClaim({ state: 'pending' });
    try {
      const lease = await client.claim(id);
      held.current.set(id, verdict);
      setClaim({ state: 'held', until: lease.leaseUntil });
    } catch (err) {
      if (err instanceof ApiError && (err.status === 409 || err.status === 404)) {
        setClaim({ state: 'refused', message: err.message });
        setNotice({ tone: 'warn', text: err.message });
      } else {
        setClaim({ state: 'none' });
        failed(err, 'Claiming the item');
      }
    }
  }

  /** The next item after `id` (wrapping round) not skipped and not `id`; undefined when none. */
  const nextAfter = (
    /** @type {any[]} */ list,
    /** @type {string | undefined} */ id,
    /** @type {Set<string>} */ skip,
  ) => {
    const at = list.findIndex((v) => v.id === id);
    const order = [...list.slice(at + 1), ...list.slice(0, Math.max(at, 0))];
    return order.find((v) => v.id !== id && !skip.has(v.id));
  };

  async function openNext(
    /** @type {any[]} */ list,
    /** @type {string | undefined} */ fromId,
    /** @type {Set<string>} */ skip,
  ) {
    const next = nextAfter(list, fromId, skip);
    if (next) return open(next.id);
    setCurrentId(undefined);
    if (list.length > 0)
      setNotice({
        tone: 'info',
        text: 'No more items here. Skipped items were given back to the queue; Refresh to see them again.',
      });
  }

  function arm(/** @type {'allow'|'block'} */ decision) {
    if (!current || claim.state !== 'held') return;
    const flagged = ev.flaggedCategories(current);
    setForm((f) => ({
      ...f,
      decision,
      reason: f.edited && f.reason.trim() ? f.reason : prefill(decision, kind),
      edited: f.edited && f.reason.trim() !== '',
      labels: f.labelsTouched ? f.labels : Object.fromEntries(flagged.map((c) => [c, decision === 'block'])),
    }));
    // After the render that fills it: the reason is selected, so typing replaces it and Enter keeps it.
    requestAnimationFrame(() => {
      reasonRef.current?.focus();
      reasonRef.current?.select();
    });
  }

  async function submit() {
    if (!client || !current || busy) return;
    if (!form.decision) return setNotice({ tone: 'warn', text: 'Press a (allow) or b (block) first.' });
    const reason = form.reason.trim();
    if (!reason) {
      reasonRef.current?.focus();
      return setNotice({ tone: 'error', text: 'Give a reason.' });
    }
    const flagged = ev.flaggedCategories(current);
    const body = {
      decision: form.decision,
      reason,
      ...(flagged.length > 0 && {
        labels: Object.fromEntries(flagged.map((c) => [c, form.labels[c] === true])),
      }),
      ...(form.bank.trim() && { bank: form.bank.trim() }),
    };
    setBusy(true);
    const id = current.id;
    try {
      await client.decide(id, body);
      setNotice({
        tone: 'ok',
        text: `${form.decision === 'allow' ? 'Allowed' : 'Blocked'}: ${ev.sourceLabel(current.object)}`,
      });
      finish(id);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        // Decided or taken by someone else meanwhile: it is no longer this reviewer's to decide.
        setNotice({ tone: 'warn', text: err.message });
        finish(id);
      } else failed(err, 'Saving the decision');
    } finally {
      setBusy(false);
    }
  }

  /** The item leaves the list; the next one opens, or the queue is read again when none is left. */
  function finish(/** @type {string} */ id) {
    held.current.delete(id);
    const rest = items.filter((v) => v.id !== id);
    const next = nextAfter(items, id, skipped);
    setItems(rest);
    if (next) open(next.id);
    else {
      setCurrentId(undefined);
      load();
    }
  }

  /**
   * Skip: the claim is given back (the item returns to the queue for the other reviewers at once) and
   * the next item opens. The skipped item stays in this list, marked, until the queue is read again.
   */
  function skip() {
    if (!currentId || !client) return;
    const id = currentId;
    const skip = new Set(skipped).add(id);
    setSkipped(skip);
    if (held.current.delete(id))
      client.release(id).catch((err) => {
        // 409: the claim was already gone (run out, or a lead took it): nothing to give back.
        if (!(err instanceof ApiError && err.status === 409)) failed(err, 'Releasing the claim');
      });
    openNext(items, id, skip);
  }

  const onKey = (/** @type {KeyboardEvent} */ e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || !client) return;
    if (e.target === reasonRef.current) {
      if (e.key === 'Enter') {
        e.preventDefault();
        submit();
      } else if (e.key === 'Escape') {
        reasonRef.current?.blur();
        setForm((f) => ({ ...f, decision: undefined }));
      }
      return;
    }
    if (isTyping(e.target)) return;
    const actions = {
      a: () => arm('allow'),
      b: () => arm('block'),
      s: skip,
      Enter: submit,
      Escape: () => setForm((f) => ({ ...f, decision: undefined })),
      '?': () => setHelp(!help),
    };
    const action = actions[e.key];
    if (!action || (e.key === 'Enter' && !form.decision)) return;
    // Handled here: the key must not also type into the reason field that arm() focuses.
    e.preventDefault();
    action();
  };
  const keyHandler = useRef(onKey);
  keyHandler.current = onKey;
  useEffect(() => {
    const listener = (/** @type {KeyboardEvent} */ e) => keyHandler.current(e);
    document.addEventListener('keydown', listener);
    return () => document.removeEventListener('keydown', listener);
  }, []);

  // Who the ID token names (shown only: the API decides what the token may do).
  const who = auth && token ? identityOf(token) : undefined;

  if (!client && auth) return html`<${HostedSignIn} auth=${auth} error=${signInError} />`;
  if (!client)
    return html`<${SignIn}
      error=${signInError}
      onSignIn=${(/** @type {string} */ key) => {
        setSignInError('');
        setToken(key);
      }}
    />`;

  return html`<div class="console">
    <header class="toolbar">
      <h1>Review console</h1>
      <fieldset class="kinds">
        <legend class="sr-only">Queue</legend>
        ${['review', 'appeal'].map(
          (k) => html`<label class=${k === kind ? 'active' : ''}>
            <input
              type="radio"
              name="kind"
              value=${k}
              checked=${k === kind}
              onChange=${() => {
                setCurrentId(undefined);
                setKind(k);
              }}
            />
            ${k === 'review' ? 'Reviews' : 'Appeals'}
          </label>`,
        )}
      </fieldset>
      <label>
        category
        <select value=${filters.category} onChange=${(/** @type {any} */ e) => setFilters({ ...filters, category: e.currentTarget.value })}>
          <option value="">any</option>
          ${ev.CATEGORIES.map((c) => html`<option value=${c}>${c}</option>`)}
        </select>
      </label>
      <label>
        modality
        <select value=${filters.modality} onChange=${(/** @type {any} */ e) => setFilters({ ...filters, modality: e.currentTarget.value })}>
          <option value="">any</option>
          ${MODALITIES.map((m) => html`<option value=${m}>${m}</option>`)}
        </select>
      </label>
      <button type="button" class="refresh" onClick=${load} disabled=${loading}>Refresh</button>
      <span class="count" aria-live="polite">${items.length} waiting</span>
      ${
        who &&
        html`<span class="who" title="signed in with the user pool">
          <span class="who-name">${who.name}</span> <span class="who-role">${who.role ?? 'no review role'}</span>
        </span>`
      }
      <button type="button" class="sign-out" onClick=${() => signOut('', true)}>Sign out</button>
    </header>
    ${notice && html`<p class=${`notice ${notice.tone}`} role="status">${notice.text}</p>`}
    ${
      help &&
      html`<p class="help">
      <kbd>a</kbd> allow · <kbd>b</kbd> block (fills the reason; edit it or keep it) · <kbd>Enter</kbd> confirm ·
      <kbd>s</kbd> skip to the next item · <kbd>Esc</kbd> cancel · <kbd>?</kbd> this help
    </p>`
    }
    <div class="panes">
      <nav class="queue-pane" aria-label="queue">
        <${QueueList} items=${items} currentId=${currentId} skipped=${skipped} onOpen=${open} loading=${loading} />
      </nav>
      <main class="item-pane">
        ${
          current
            ? html`<${ItemView} verdict=${current} client=${client} claim=${claim} />
              <${DecisionBar}
                verdict=${current}
                kind=${kind}
                form=${form}
                setForm=${setForm}
                reasonRef=${reasonRef}
                onSubmit=${submit}
                onArm=${arm}
                onSkip=${skip}
                busy=${busy}
                enabled=${claim.state === 'held'}
              />`
            : html`<p class="muted pick">Pick an item from the queue. Keys: <kbd>a</kbd> allow · <kbd>b</kbd> block · <kbd>s</kbd> skip · <kbd>?</kbd> help</p>`
        }
      </main>
    </div>
  </div>`;
}

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  loadConfig().then((config) => {
    // config.json says how reviewers sign in: `cognito` on AWS (the hosted UI), `key` locally.
    const auth =
      config.auth === 'cognito' && config.cognito?.signInUrl ? createCognitoAuth(config.cognito) : undefined;
    render(html`<${App} config=${config} auth=${auth} />`, root);
  });
}
