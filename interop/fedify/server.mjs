// A Fedify 2.3.6 peer for Atrium's interoperability tests (tests/interop/test_fedify.py).
//
//   node server.mjs PORT        (or FEDIFY_PORT=PORT node server.mjs)
//
// One actor, /users/$FEDIFY_USER (default "fedi"), on http://127.0.0.1:PORT, with an RSA key
// (HTTP signatures: RFC 9421 on the first knock, draft-cavage on the second; Linked Data
// signatures) and an Ed25519 key (FEP-8b32 Data Integrity proofs, published as a Multikey in
// assertionMethod). Everything is in memory: a fresh actor and keys at every start.
//
// With FEDIFY_GROUP=NAME it also serves a community, /users/NAME: a Group (its own RSA key)
// that accepts every Follow and re-shares what its member writes to it (POST /_group_post).
//
// It follows back nobody by itself. It auto-accepts Follows with an Accept that embeds the
// Follow, records every activity its inbox verified, and records every request it sent.
// Test-only control routes (no auth: the server listens on loopback only):
//   GET  /_received          activities the inbox verified and handled, oldest first
//   GET  /_sent              POSTs this peer sent: url, signature spec, status, body
//   GET  /_errors            delivery and inbox errors
//   POST /_follow  {"target": ACTOR_URI}             → {"follow_id": ...}
//   POST /_group_post {"content": HTML}   (with FEDIFY_GROUP set) the actor writes a public note
//                  to the group, and the group announces the Create, embedded, to its followers
//                  as Lemmy does (FEP-1b12) → {"note_id", "create_id", "announce_id"}
//   POST /_post    {"to": ACTOR_URI, "content": HTML,
//                   "attachments"?: [{"type": "Image"|"Document", "url", "mediaType", "name", "width", "height"}]}
//                  → {"note_id": ..., "activity_id": ...}  (attachments as Fedify's vocabulary writes them)
//
// It never reaches beyond loopback: contexts come from Fedify's preloaded copies, every other
// document load and every outgoing request must be for 127.0.0.0/8, localhost or [::1].

import { AsyncLocalStorage } from "node:async_hooks";
import http from "node:http";
import {
  createFederation,
  exportJwk,
  FetchError,
  generateCryptoKeyPair,
  getAuthenticatedDocumentLoader,
  getDocumentLoader,
  InProcessMessageQueue,
  MemoryKvStore,
  preloadedContexts,
} from "@fedify/fedify";
import {
  Accept,
  Activity,
  Announce,
  Create,
  Endpoints,
  Document,
  Follow,
  Group,
  Image,
  isActor,
  Mention,
  Note,
  Person,
  PUBLIC_COLLECTION,
  Undo,
} from "@fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";
import { configure, getConsoleSink } from "@logtape/logtape";

const PORT = Number(process.argv[2] ?? process.env.FEDIFY_PORT);
if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65535) {
  console.error("usage: node server.mjs PORT (or FEDIFY_PORT=PORT)");
  process.exit(2);
}
const HOST = "127.0.0.1";
const ORIGIN = `http://${HOST}:${PORT}`;
const IDENT = process.env.FEDIFY_USER ?? "fedi";
const GROUP = process.env.FEDIFY_GROUP ?? null; // a Lemmy-style community, when set

await configure({
  contextLocalStorage: new AsyncLocalStorage(),
  sinks: { console: getConsoleSink() },
  loggers: [
    { category: "fedify", sinks: ["console"], lowestLevel: process.env.FEDIFY_LOG_LEVEL ?? "warning" },
    { category: ["logtape", "meta"], sinks: ["console"], lowestLevel: "warning" },
  ],
});

// ---------------------------------------------------------------- loopback only

function isLoopback(url) {
  const host = url.hostname;
  return host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function loopbackOnly(loader) {
  return async (url, options) => {
    const parsed = new URL(url);
    if (!(parsed.href in preloadedContexts) && !isLoopback(parsed)) {
      throw new FetchError(parsed, `this test peer loads nothing beyond loopback: ${parsed.href}`);
    }
    return await loader(url, options);
  };
}

const received = [];
const sent = [];
const errors = [];

const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const request = input instanceof Request ? input : new Request(input, init);
  const url = new URL(request.url);
  if (!isLoopback(url)) {
    throw new TypeError(`this test peer reaches nothing beyond loopback: ${url.href}`);
  }
  if (request.method !== "POST") return await realFetch(input, init);
  const body = await request.clone().text();
  const response = await realFetch(input, init);
  const spec = request.headers.has("signature-input")
    ? "rfc9421"
    : request.headers.has("signature")
      ? "draft-cavage-http-signatures-12"
      : null;
  let activity = null;
  try {
    activity = JSON.parse(body);
  } catch {
    // not JSON: keep the text
  }
  sent.push({
    url: url.href,
    spec,
    signature_input: request.headers.get("signature-input"),
    signature: spec === "draft-cavage-http-signatures-12" ? request.headers.get("signature") : null,
    status: response.status,
    activity,
    body: activity === null ? body : null,
  });
  return response;
};

// ---------------------------------------------------------------- keys and state

const rsa = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
const ed25519 = await generateCryptoKeyPair("Ed25519");
const keyPairs = [rsa, ed25519]; // the first RSA key signs requests; Ed25519 makes the proofs
const groupKeyPairs = GROUP === null ? [] : [await generateCryptoKeyPair("RSASSA-PKCS1-v1_5")];
const groupFollowers = new Map(); // actor URI → { id, inboxId, endpoints }

const followers = new Map(); // actor URI → { id, inboxId, endpoints }
const notes = new Map(); // note id (path segment) → Note
const rawInbox = new Map(); // activity id → { raw, spec } as the inbox received it

// ---------------------------------------------------------------- federation

const federation = createFederation({
  kv: new MemoryKvStore(),
  queue: new InProcessMessageQueue(),
  origin: ORIGIN,
  documentLoaderFactory: (options) =>
    loopbackOnly(getDocumentLoader({ ...options, allowPrivateAddress: true })),
  contextLoaderFactory: (options) =>
    loopbackOnly(getDocumentLoader({ ...options, allowPrivateAddress: true })),
  authenticatedDocumentLoaderFactory: (identity, options) =>
    loopbackOnly(getAuthenticatedDocumentLoader(identity, { ...options, allowPrivateAddress: true })),
  // Quick retries: a test waits seconds, not Fedify's default hours.
  outboxRetryPolicy: (ctx) => (ctx.attempts < 5 ? Temporal.Duration.from({ seconds: 1 }) : null),
  inboxRetryPolicy: (ctx) => (ctx.attempts < 5 ? Temporal.Duration.from({ seconds: 1 }) : null),
  onOutboxError: (error, activity) => {
    errors.push({ where: "outbox", activity: activity?.id?.href ?? null, error: String(error) });
  },
});

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (GROUP !== null && identifier === GROUP) {
      const keys = await ctx.getActorKeyPairs(identifier);
      return new Group({
        id: ctx.getActorUri(identifier),
        preferredUsername: identifier,
        name: "Fedify community",
        summary: "<p>A Lemmy-style community on Fedify</p>",
        url: ctx.getActorUri(identifier),
        inbox: ctx.getInboxUri(identifier),
        endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
        followers: ctx.getFollowersUri(identifier),
        manuallyApprovesFollowers: false,
        publicKey: keys[0].cryptographicKey,
      });
    }
    if (identifier !== IDENT) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Fedify peer",
      summary: "<p>A Fedify 2.3.6 test peer</p>",
      url: ctx.getActorUri(identifier),
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      followers: ctx.getFollowersUri(identifier),
      manuallyApprovesFollowers: false,
      publicKey: keys[0].cryptographicKey, // RSA, #main-key: what Mastodon-style peers read
      assertionMethods: keys.map((k) => k.multikey), // both, as Multikey (FEP-521a)
    });
  })
  .mapHandle((_ctx, username) => (username === IDENT || (GROUP !== null && username === GROUP) ? username : null))
  .setKeyPairsDispatcher(async (_ctx, identifier) =>
    identifier === IDENT ? keyPairs : GROUP !== null && identifier === GROUP ? groupKeyPairs : []);

federation.setFollowersDispatcher("/users/{identifier}/followers", async (_ctx, identifier) => {
  if (GROUP !== null && identifier === GROUP) return { items: [...groupFollowers.values()] };
  if (identifier !== IDENT) return null;
  return { items: [...followers.values()] };
});

federation.setObjectDispatcher(Note, "/users/{identifier}/notes/{id}", async (_ctx, values) => {
  if (values.identifier !== IDENT) return null;
  return notes.get(values.id) ?? null;
});

function record(activity) {
  const id = activity.id?.href ?? null;
  const raw = id === null ? undefined : rawInbox.get(id);
  received.push({
    id,
    type: raw?.raw?.type ?? activity.constructor.name,
    actor: activity.actorId?.href ?? null,
    object_id: activity.objectId?.href ?? null,
    spec: raw?.spec ?? null, // how the request that brought it was signed
    raw: raw?.raw ?? null,
  });
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Follow, async (ctx, follow) => {
    record(follow);
    if (follow.id == null || follow.actorId == null || follow.objectId == null) return;
    const target = ctx.parseUri(follow.objectId);
    const followed = target?.type === "actor" ? target.identifier : null;
    if (followed !== IDENT && (GROUP === null || followed !== GROUP)) return;
    const follower = await follow.getActor(ctx);
    if (!isActor(follower) || follower.id == null || follower.inboxId == null) return;
    (followed === IDENT ? followers : groupFollowers)
      .set(follower.id.href, { id: follower.id, inboxId: follower.inboxId, endpoints: follower.endpoints });
    await ctx.sendActivity(
      { identifier: followed },
      follower,
      new Accept({
        id: new URL(`${ctx.getActorUri(followed).href}#accepts/${crypto.randomUUID()}`),
        actor: ctx.getActorUri(followed),
        to: follower.id,
        object: follow, // the Follow itself, embedded
      }),
    );
  })
  .on(Undo, async (_ctx, undo) => {
    record(undo);
    if (undo.actorId != null) followers.delete(undo.actorId.href);
    if (undo.actorId != null) groupFollowers.delete(undo.actorId.href);
  })
  .on(Activity, async (_ctx, activity) => {
    record(activity);
  })
  .onError((_ctx, error) => {
    errors.push({ where: "inbox", error: String(error) });
  });

// ---------------------------------------------------------------- control routes

function json(value, status = 200) {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

async function follow(request) {
  const { target } = await request.json();
  const ctx = federation.createContext(request, undefined);
  const actor = await ctx.lookupObject(target);
  if (!isActor(actor)) return json({ error: `${target} is not an actor` }, 400);
  const me = ctx.getActorUri(IDENT);
  const id = new URL(`${me.href}#follows/${crypto.randomUUID()}`);
  await ctx.sendActivity({ identifier: IDENT }, actor, new Follow({ id, actor: me, object: actor.id, to: actor.id }));
  return json({ follow_id: id.href });
}

async function post(request) {
  const { to, content, attachments = [] } = await request.json();
  const ctx = federation.createContext(request, undefined);
  const actor = await ctx.lookupObject(to);
  if (!isActor(actor)) return json({ error: `${to} is not an actor` }, 400);
  const me = ctx.getActorUri(IDENT);
  const key = crypto.randomUUID();
  const noteId = ctx.getObjectUri(Note, { identifier: IDENT, id: key });
  const handle = `@${actor.preferredUsername}@${actor.id.host}`;
  const note = new Note({
    id: noteId,
    attribution: me,
    content: `<p><a href="${actor.url?.href ?? actor.id.href}" class="mention">${handle}</a> ${content}</p>`,
    to: PUBLIC_COLLECTION,
    ccs: [ctx.getFollowersUri(IDENT), actor.id],
    tags: [new Mention({ href: actor.id, name: handle })],
    attachments: attachments.map((a) => {
      const Kind = a.type === "Document" ? Document : Image;
      return new Kind({
        url: new URL(a.url),
        mediaType: a.mediaType,
        name: a.name,
        width: a.width,
        height: a.height,
      });
    }),
    published: Temporal.Now.instant(),
  });
  notes.set(key, note);
  const activityId = new URL(`${noteId.href}#create`);
  await ctx.sendActivity(
    { identifier: IDENT },
    actor,
    new Create({
      id: activityId,
      actor: me,
      object: note,
      to: PUBLIC_COLLECTION,
      ccs: [ctx.getFollowersUri(IDENT), actor.id],
      published: note.published,
    }),
  );
  return json({ note_id: noteId.href, activity_id: activityId.href });
}

// The actor writes to the group; the group announces the Create, embedded (Lemmy's shape).
async function groupPost(request) {
  if (GROUP === null) return json({ error: "no group: start with FEDIFY_GROUP" }, 400);
  const { content } = await request.json();
  const ctx = federation.createContext(request, undefined);
  const me = ctx.getActorUri(IDENT);
  const group = ctx.getActorUri(GROUP);
  const key = crypto.randomUUID();
  const noteId = ctx.getObjectUri(Note, { identifier: IDENT, id: key });
  const note = new Note({
    id: noteId,
    attribution: me,
    content: `<p>${content}</p>`,
    to: PUBLIC_COLLECTION,
    ccs: [group],
    audience: group,
    published: Temporal.Now.instant(),
  });
  notes.set(key, note);
  const create = new Create({
    id: new URL(`${noteId.href}#create`),
    actor: me,
    object: note,
    to: PUBLIC_COLLECTION,
    ccs: [group],
    audience: group,
    published: note.published,
  });
  const announce = new Announce({
    id: new URL(`${group.href}#announces/${key}`),
    actor: group,
    object: create,
    to: PUBLIC_COLLECTION,
    ccs: [ctx.getFollowersUri(GROUP)],
    published: note.published,
  });
  await ctx.sendActivity({ identifier: GROUP }, "followers", announce);
  return json({ note_id: noteId.href, create_id: create.id.href, announce_id: announce.id.href });
}

async function handle(request, body) {
  const url = new URL(request.url);
  if (request.method === "GET" && url.pathname === "/_received") return json(received);
  if (request.method === "GET" && url.pathname === "/_sent") return json(sent);
  if (request.method === "GET" && url.pathname === "/_errors") return json(errors);
  if (request.method === "POST" && url.pathname === "/_follow") return await follow(request);
  if (request.method === "POST" && url.pathname === "/_post") return await post(request);
  if (request.method === "POST" && url.pathname === "/_group_post") return await groupPost(request);
  if (request.method === "POST" && body.length > 0) {
    // Keep the inbox's raw JSON and how it was signed, for `record` once Fedify has verified it.
    try {
      const doc = JSON.parse(body.toString("utf8"));
      if (typeof doc?.id === "string") {
        const spec = request.headers.has("signature-input")
          ? "rfc9421"
          : request.headers.has("signature")
            ? "draft-cavage-http-signatures-12"
            : null;
        rawInbox.set(doc.id, { raw: doc, spec });
      }
    } catch {
      // Fedify answers a malformed body itself
    }
  }
  return await federation.fetch(request, { contextData: undefined });
}

const server = http.createServer(async (req, res) => {
  try {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
    const request = new Request(new URL(req.url, ORIGIN), {
      method: req.method,
      headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
    });
    const response = await handle(request, body);
    const out = Buffer.from(await response.arrayBuffer());
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(out);
  } catch (error) {
    errors.push({ where: "http", url: req.url, error: String(error?.stack ?? error) });
    console.error(error);
    if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
    res.end(String(error));
  }
});

server.listen(PORT, HOST, () => {
  console.log(`fedify peer ${IDENT} listening on ${ORIGIN} (node ${process.version})`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
