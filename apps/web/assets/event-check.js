/* global document, crypto, TextEncoder, atob */
// Checks one custody event in the browser, with the browser's own WebCrypto, against the
// service's signed checkpoint (docs/web.md, "Checking a custody event"). Written by hand, in a
// few dozen lines, so the check is small enough to read: the encodings are the API's published
// ones (libs/ledger: RFC 8785 canonical JSON, SHA-256 chain, RFC 9162 Merkle log, C2SP signed note).

const root = document.getElementById('event-check');
const list = document.getElementById('event-check-results');
const outcome = document.getElementById('event-check-outcome');
const keyLine = document.getElementById('event-check-key');
const utf8 = new TextEncoder();

const hex = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
const fromHex = (s) => new Uint8Array(s.match(/../g).map((h) => parseInt(h, 16)));
const fromBase64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const sha256 = async (...parts) => new Uint8Array(await crypto.subtle.digest('SHA-256', concat(...parts)));
const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

/** RFC 8785: object keys sorted by UTF-16 code units, ECMAScript number and string forms. */
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/** RFC 9162 §2.1.3.2: the root the inclusion proof leads to from the leaf. */
async function rootFromInclusion(leafIndex, treeSize, leaf, proof) {
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(Uint8Array.of(1), p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await sha256(Uint8Array.of(1), r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}

/** C2SP signed note: verifies the signature line made by the verifier key; returns the signed text's lines. */
async function openCheckpoint(note, verifierKey) {
  // <name>+<key id>+<base64 key>: the base64 may itself contain '+', so split at the first two only.
  const [, name, keyIdHex, keyB64] = /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(verifierKey) ?? [];
  if (!keyB64) throw new Error('the verifier key is malformed');
  const key = fromBase64(keyB64);
  if (key[0] !== 1 || key.length !== 33) throw new Error('the verifier key is not an Ed25519 key');
  const pub = key.slice(1);
  const keyId = (await sha256(utf8.encode(name), Uint8Array.of(0x0a, 1), pub)).slice(0, 4);
  if (hex(keyId) !== keyIdHex) throw new Error('the verifier key does not match its own key id');
  const split = note.lastIndexOf('\n\n');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2).split('\n').filter((l) => l !== '');
  const ours = lines.map((l) => l.match(/^\u2014 (\S+) (\S+)$/)).find((m) => m && m[1] === name && same(fromBase64(m[2]).slice(0, 4), keyId));
  if (!ours) throw new Error(`the checkpoint carries no signature by ${name}`);
  const signature = fromBase64(ours[2]).slice(4);
  const cryptoKey = await crypto.subtle.importKey('raw', pub, { name: 'Ed25519' }, false, ['verify']);
  if (!(await crypto.subtle.verify({ name: 'Ed25519' }, cryptoKey, signature, utf8.encode(text)))) throw new Error('the checkpoint signature does not verify');
  const [origin, size, rootB64] = text.split('\n');
  return { origin, size: Number(size), root: fromBase64(rootB64), name, keyIdHex };
}

function say(text, ok) {
  const li = document.createElement('li');
  li.textContent = `${ok ? 'Passed' : 'Failed'}: ${text}`;
  li.dataset.result = ok ? 'pass' : 'fail';
  list.append(li);
}

async function getJson(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${path} answered ${res.status}`);
  return res.json();
}

async function check() {
  const event = JSON.parse(root.dataset.event);
  const bytes = utf8.encode(canonical(event));
  const chain = await sha256(fromHex(event.prevHash), bytes);
  const chainOk = hex(chain) === root.dataset.hash;
  say(`chain link: SHA-256 of the previous event's hash and this event's canonical form is ${hex(chain)}${chainOk ? ', the hash the ledger records' : `, not the stated ${root.dataset.hash}`}.`, chainOk);
  if (!chainOk) return 'Not verified: the event does not match its chain hash.';

  const { verifierKey } = await getJson('/ledger/public-key');
  const cp = await openCheckpoint((await getJson('/ledger/checkpoint')).note, verifierKey);
  keyLine.textContent = `Checked with the verifier key ${verifierKey}. Compare it with the key your force publishes: a check is only as good as the key it uses.`;
  say(`checkpoint signature: the checkpoint of ${cp.size} events (${cp.origin}) is signed by ${cp.name} (key ${cp.keyIdHex}) with Ed25519.`, true);
  if (event.leafIndex >= cp.size) return `Not yet verifiable: the latest signed checkpoint covers ${cp.size} events and this is event ${event.leafIndex}. Check again after the next checkpoint.`;

  const leaf = await sha256(Uint8Array.of(0), bytes);
  const proof = await getJson(`/ledger/proofs/inclusion?leafIndex=${event.leafIndex}&treeSize=${cp.size}`);
  const computed = await rootFromInclusion(event.leafIndex, cp.size, leaf, proof.proof.map(fromHex));
  const included = computed !== undefined && same(computed, cp.root);
  say(`inclusion proof: ${proof.proof.length} hashes lead from this event's leaf to ${included ? 'the signed root' : 'a root the checkpoint does not sign'}.`, included);
  return included ? `Verified: event ${event.leafIndex} is unchanged and is part of the signed log of ${cp.size} events.` : 'Not verified: the event is not in the signed log.';
}

check()
  .then((text) => {
    outcome.textContent = text;
    outcome.dataset.verified = String(text.startsWith('Verified'));
  })
  .catch((e) => {
    say(e.message, false);
    outcome.textContent = `Not verified: ${e.message}.`;
    outcome.dataset.verified = 'false';
  });
