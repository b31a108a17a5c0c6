// Amplify v6 in headless Chromium against the real idpool binary: a page served from another
// loopback origin gets a guest session with fetchAuthSession, so every call to idpool is a real
// cross-origin request that passes or fails on the server's CORS answers.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { chromium } from 'playwright-core';

import { buildPage } from './page/build.mjs';
import { IDENTITY_ID_PATTERN, IdpoolServer, createGuestPool, withServerLog } from './support.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// As root on a machine with no outside network: no sandbox, and none of Chromium's own
// background connections (which would be refused, many at a time).
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const LAUNCH_TIMEOUT_MS = 30_000;
const PAGE_TIMEOUT_MS = 30_000;

const CONTENT_TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

/** Serves the built page's files (and nothing else) on a loopback port of its own. */
function startStaticServer(root) {
  const files = new Map(['index.html', 'app.js'].map((name) => [`/${name}`, path.join(root, name)]));
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url, 'http://127.0.0.1').pathname;
    if (pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const file = files.get(pathname === '/' ? '/index.html' : pathname);
    if (req.method !== 'GET' || !file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': CONTENT_TYPES[path.extname(file)], 'cache-control': 'no-store' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const idpool = new IdpoolServer();
const scratch = mkdtempSync(path.join(os.tmpdir(), 'idpool-js-browser-'));
let pageServer;
let context;
let guestPool;

describe('Amplify v6 in headless Chromium', { timeout: 180_000 }, () => {
  before(async () => {
    await idpool.start();
    guestPool = await createGuestPool(idpool.endpoint, { poolName: 'js_amplify_guests', roleName: 'js-amplify-guest-role' });
    pageServer = await startStaticServer(await buildPage(path.join(scratch, 'page')));
    context = await chromium.launchPersistentContext(path.join(scratch, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: LAUNCH_TIMEOUT_MS,
    });
  });

  after(async () => {
    await context?.close();
    if (pageServer) {
      pageServer.closeAllConnections();
      await new Promise((resolve) => pageServer.close(resolve));
    }
    await idpool.stop();
    idpool.removeWorkdir();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('C: fetchAuthSession gets a guest identity and ASIA credentials across origins', withServerLog(idpool, async (t) => {
    const pageOrigin = `http://127.0.0.1:${pageServer.address().port}`;
    assert.notEqual(pageOrigin, idpool.endpoint, 'the page must come from another origin than idpool');

    const page = await context.newPage();
    const consoleLines = [];
    page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => consoleLines.push(`pageerror: ${error.message}`));
    // Every answer idpool gave the page; headers are read later, as Chromium adds Origin itself.
    const idpoolResponses = [];
    page.on('response', (response) => {
      if (response.url().startsWith(idpool.endpoint)) {
        idpoolResponses.push({ status: response.status(), headers: response.request().allHeaders() });
      }
    });
    const failedRequests = [];
    page.on('requestfailed', (request) => {
      if (request.url().startsWith(idpool.endpoint)) failedRequests.push(request.failure()?.errorText);
    });
    const idpoolCalls = async () => Promise.all(idpoolResponses.map(async ({ status, headers }) => {
      const h = await headers;
      return { target: h['x-amz-target'], origin: h.origin, status };
    }));

    try {
      const query = new URLSearchParams({ identityPoolId: guestPool.identityPoolId, endpoint: idpool.endpoint });
      await page.goto(`${pageOrigin}/index.html?${query}`, { timeout: PAGE_TIMEOUT_MS });
      await page.waitForFunction(() => window.idpoolResult !== undefined, null, { timeout: PAGE_TIMEOUT_MS });
      const result = await page.evaluate(() => window.idpoolResult);
      const shown = JSON.parse(await page.textContent('#result'));

      assert.equal(result.error, undefined, `the page reported ${result.error}`);
      assert.match(result.identityId, IDENTITY_ID_PATTERN);
      assert.match(result.accessKeyId, /^ASIA[A-Z0-9]{16}$/);
      assert.ok(result.hasSecretAccessKey && result.hasSessionToken, 'credentials without secret or session token');
      assert.deepEqual(shown, result);

      const calls = await idpoolCalls();
      const targets = calls.map((call) => call.target);
      assert.ok(targets.includes('AWSCognitoIdentityService.GetId'), `no GetId call seen: ${JSON.stringify(calls)}`);
      assert.ok(
        targets.includes('AWSCognitoIdentityService.GetCredentialsForIdentity'),
        `no GetCredentialsForIdentity call seen: ${JSON.stringify(calls)}`,
      );
      for (const call of calls) {
        assert.equal(call.origin, pageOrigin, `a call to idpool was not cross-origin: ${JSON.stringify(call)}`);
        assert.equal(call.status, 200, `a call to idpool failed: ${JSON.stringify(call)}`);
      }
    } catch (error) {
      t.diagnostic(`calls to idpool: ${JSON.stringify(await idpoolCalls().catch((e) => e.message))}`);
      if (failedRequests.length) t.diagnostic(`failed requests to idpool: ${JSON.stringify(failedRequests)}`);
      for (const line of consoleLines) t.diagnostic(`browser ${line}`);
      throw error;
    } finally {
      await page.close();
    }
  }));
});
