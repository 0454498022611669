// Browser tests of the map workers in the release build: run `trunk build
// --release --offline` first (.ci/test does).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  mapState,
  openApp,
  plotDigest,
  useServerAndBrowser,
  waitForSettledMap,
} from './harness.mjs';

const shared = useServerAndBrowser();

/** Moves β one step with the keyboard and returns the digest of the full-resolution map that follows. */
async function digestAfterBetaStep(page) {
  const { version } = await mapState(page);
  await page.getByRole('slider', { name: 'beta' }).focus();
  await page.keyboard.press('ArrowRight');
  await waitForSettledMap(page, version);
  return plotDigest(page);
}

/** Resolves once `predicate()` holds, polling every 20 ms for at most `timeout` ms. */
async function waitUntil(predicate, timeout, description) {
  const deadline = Date.now() + timeout;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('workers and page fallback draw the same map', async () => {
  const workerContext = await shared.browser.newContext();
  const readyMessages = [];
  workerContext.on('console', (message) => {
    if (/map worker \d+ is ready/.test(message.text())) readyMessages.push(message.text());
  });
  const { page, problems } = await openApp(workerContext, shared.server.url);
  // The first map may come before the workers are ready.
  await waitUntil(() => readyMessages.length > 0, 10000, 'a map worker to report ready');
  const fromWorkers = await digestAfterBetaStep(page);
  assert.deepEqual(problems.consoleErrors, []);

  // Without the worker's files the app must compute the maps in the page.
  const fallbackContext = await shared.browser.newContext();
  const fallbackMessages = [];
  fallbackContext.on('console', (message) => fallbackMessages.push(message.text()));
  await fallbackContext.route(/map-worker/, (route) => route.abort());
  const { page: fallbackPage } = await openApp(fallbackContext, shared.server.url);
  const fromPage = await digestAfterBetaStep(fallbackPage);
  assert.ok(
    fallbackMessages.some((text) => text.includes('no map worker is left')),
    `fallback page console: ${fallbackMessages.join(' | ')}`,
  );

  assert.equal(fromWorkers, fromPage, 'map digests from the workers and from the page');
  await workerContext.close();
  await fallbackContext.close();
});
