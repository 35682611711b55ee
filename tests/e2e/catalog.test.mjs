// The page's copy of the network list (www/state.js NET_CATALOG, and the network selector
// in index.html) against the wasm module's netCatalog() (the Rust `Net`, src/choices.rs):
// the module runs in node, no browser. Needs pkg/ (make build).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { NET_CATALOG, TRAINABLE_NETS, SNAPSHOT_NETS, FIELDS, snapshotFile } from '../../www/state.js';
import { initSync, netCatalog, defaultConfig, encodeLink } from '../../pkg/agq.js';

const root = new URL('../../', import.meta.url);
initSync({ module: readFileSync(new URL('pkg/agq_bg.wasm', root)) });
const rust = netCatalog();

test('www/state.js lists the networks exactly as the Rust side does', () => {
  assert.deepEqual(NET_CATALOG, rust);
  assert.deepEqual([...TRAINABLE_NETS], rust.filter((n) => n.trainsInPage).map((n) => n.net));
  assert.deepEqual([...SNAPSHOT_NETS], rust.filter((n) => n.fromSnapshot).map((n) => n.net));
  for (const n of rust) {
    for (const method of ['none', 'ptq', 'itq', 'combined']) {
      assert.equal(snapshotFile({ net: n.net, method }), n.snapshotFiles?.[method] ?? null, `${n.net} ${method}`);
    }
  }
});

test('the network selector offers every network, in order, under its name', () => {
  const html = readFileSync(new URL('index.html', root), 'utf8');
  const select = html.match(/<select id="f-net"[^>]*>([\s\S]*?)<\/select>/)[1];
  const options = [...select.matchAll(/<option value="([^"]+)"[^>]*>([^<]*)<\/option>/g)];
  assert.deepEqual(options.map((o) => o[1]), rust.map((n) => n.net));
  options.forEach((o, i) => assert.ok(o[2].startsWith(`${rust[i].name} (${rust[i].dataset}`), o[2]));
});

test('the page has a control for every field of the link, in the link\'s order, and each select offers its words', () => {
  const keys = [...new URLSearchParams(encodeLink(defaultConfig())).keys()].filter((k) => k !== 'v');
  assert.deepEqual(FIELDS.map((f) => f.key), keys);
  const html = readFileSync(new URL('index.html', root), 'utf8');
  for (const f of FIELDS) assert.match(html, new RegExp(`id="${f.id}"`), `index.html has #${f.id}`);
  // a select's options are link words the module reads back without an issue
  for (const [, id, body] of html.matchAll(/<select id="(f-[a-z-]+)"[^>]*>([\s\S]*?)<\/select>/g)) {
    const field = FIELDS.find((f) => f.id === id);
    if (!field || field.key === 'net') continue;
    for (const [, word] of body.matchAll(/<option value="([^"]+)"/g)) {
      const config = { ...defaultConfig(), [field.key]: word };
      assert.ok(encodeLink(config).includes(`${field.key}=${encodeURIComponent(word).replace(/%2C/g, ',')}`), `${field.key}=${word}`);
    }
  }
});
