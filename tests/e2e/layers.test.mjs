// Browser tests of the layer-by-layer views: the probe, the formulas, the
// layer strip modes, the large layer view and the suppression rule switch.
// Run `trunk build --release --offline` first (.ci/test does).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  mapState,
  openApp,
  plotArea,
  plotDigest,
  toPage,
  useServerAndBrowser,
  waitForSettledMap,
} from './harness.mjs';

const MATHML = 'http://www.w3.org/1998/Math/MathML';

const shared = useServerAndBrowser();

/** Moves the mouse over the plane point (x, y) and waits for the probe to follow. */
async function hover(page, x, y) {
  const area = await plotArea(page);
  const point = toPage(area, x, y);
  await page.mouse.move(point.x, point.y);
  await page.waitForFunction(
    ([x, y]) => {
      const text = document.querySelector('.probe-query')?.textContent ?? '';
      const match = /\((-?[\d.]+), (-?[\d.]+)\)/.exec(text);
      return match && Math.abs(Number(match[1]) - x) < 0.02 && Math.abs(Number(match[2]) - y) < 0.02;
    },
    [x, y],
    { timeout: 5000 },
  );
}

/** Reads the probe's query coordinates from the panel. */
async function probeQuery(page) {
  const text = await page.locator('.probe-query').textContent();
  const match = /\((-?[\d.]+), (-?[\d.]+)\)/.exec(text);
  assert.ok(match, `probe query reads: ${text}`);
  return { x: Number(match[1]), y: Number(match[2]) };
}

/** RGBA of layer map `layer` (0-based) at the plane point (x, y). */
async function layerPixel(page, layer, x, y) {
  // Every layer's map is painted into its slot on the strip's one canvas.
  return page.locator('.layer-view').nth(layer).evaluate(
    (slot, [x, y]) => {
      const canvas = document.querySelector('.layer-strip-canvas');
      const ratio = canvas.width / canvas.getBoundingClientRect().width;
      const origin = canvas.getBoundingClientRect();
      const box = slot.getBoundingClientRect();
      const left = box.left - origin.left + slot.clientLeft;
      const top = box.top - origin.top + slot.clientTop;
      const column = Math.floor((left + Math.min(0.999, (x + 1) / 2) * slot.clientWidth) * ratio);
      const row = Math.floor((top + Math.min(0.999, (1 - y) / 2) * slot.clientHeight) * ratio);
      return Array.from(canvas.getContext('2d').getImageData(column, row, 1, 1).data);
    },
    [x, y],
  );
}

const isWhite = (pixel) => pixel.slice(0, 3).every((c) => c >= 250);

test('hovering map shows probe panel', async () => {
  const { page } = await openApp(shared.browser, shared.server.url);
  const panel = page.getByRole('region', { name: 'probe' });
  assert.match(await panel.textContent(), /Point at the map/);

  const before = await plotDigest(page);
  await hover(page, 0.1, 0.1);
  const k = Number(await page.getByRole('slider', { name: 'k' }).inputValue());
  assert.equal(await panel.locator('tbody tr').count(), k, 'one row per layer');
  assert.ok((await panel.locator('.weight').count()) >= k, 'at least one weighted point per layer');
  assert.match(await panel.textContent(), /Predicted: (setosa|versicolor|virginica)/);
  assert.notEqual(await plotDigest(page), before, 'the probe and its lines are drawn on the map');

  await hover(page, -0.6, -0.6);
  assert.match(await panel.textContent(), /Predicted: setosa/, 'setosa region at the lower left');
  await page.close();
});

test('pinned probe stays and follows sliders', async () => {
  const { page } = await openApp(shared.browser, shared.server.url);
  await hover(page, 0.2, 0.2);
  const panel = page.getByRole('region', { name: 'probe' });
  await panel.getByRole('checkbox', { name: 'Pin the probe' }).check();
  const pinned = await probeQuery(page);

  const area = await plotArea(page);
  const elsewhere = toPage(area, -0.7, 0.7);
  await page.mouse.move(elsewhere.x, elsewhere.y);
  await page.waitForTimeout(200);
  assert.deepEqual(await probeQuery(page), pinned, 'a pinned probe ignores the pointer');

  const weightsBefore = await panel.locator('.weight-label').allTextContents();
  const beta = page.getByRole('textbox', { name: 'beta value' });
  await beta.fill('2');
  await beta.press('Enter');
  await page.waitForFunction(
    (before) => {
      const labels = [...document.querySelectorAll('.probe-panel .weight-label')].map((e) => e.textContent);
      return labels.join('|') !== before;
    },
    weightsBefore.join('|'),
    { timeout: 5000 },
  );
  assert.deepEqual(await probeQuery(page), pinned, 'the query stays while β changes');
  await page.close();
});

test('formula panel is MathML and updates with probe', async () => {
  const { page } = await openApp(shared.browser, shared.server.url);
  const panel = page.getByRole('region', { name: 'formulas' });
  const blocks = panel.locator('math[display="block"]');
  assert.ok((await blocks.count()) >= 4, 'distance, residual, activation, vote and output');
  const namespaces = await blocks.evaluateAll((elements) => elements.map((e) => e.namespaceURI));
  assert.ok(namespaces.every((ns) => ns === MATHML), `namespaces: ${namespaces}`);
  assert.equal(await panel.locator('.equation-values math').count(), 0, 'no values without a probe');

  await hover(page, 0.1, 0.1);
  const first = await panel.locator('.equation-values').allTextContents();
  assert.ok(first.join('').length > 0, 'the probe fills in values');
  await hover(page, -0.5, 0.5);
  const second = await panel.locator('.equation-values').allTextContents();
  assert.notDeepEqual(second, first, 'values follow the probe');
  await page.close();
});

test('selected point switches layer map to activation', async () => {
  const { page } = await openApp(shared.browser, shared.server.url);
  const softVersion = (await mapState(page)).version;
  await page.getByRole('checkbox', { name: /Hard mode/ }).check();
  await waitForSettledMap(page, softVersion);

  // Iris leaves the lower right corner empty: a point added there is the
  // nearest point to that corner, so layer 1's Voronoi cell contains it.
  const area = await plotArea(page);
  const corner = { x: 0.9, y: -0.9 };
  const version = (await mapState(page)).version;
  const at = toPage(area, corner.x, corner.y);
  await page.mouse.click(at.x, at.y);
  await waitForSettledMap(page, version);
  assert.match(await page.locator('.selection').textContent(), /point 151/);

  const far = { x: -0.9, y: 0.9 };
  const farVote = await layerPixel(page, 0, far.x, far.y);
  assert.ok(!isWhite(farVote), `layer 1 votes for some class far away: ${farVote}`);
  const voteVersion = (await mapState(page)).version;
  await page.getByRole('radio', { name: "the selected point's activation" }).check();
  await waitForSettledMap(page, voteVersion);

  const ownCell = await layerPixel(page, 0, corner.x, corner.y);
  assert.ok(!isWhite(ownCell), `layer 1 gives the point weight at its own place: ${ownCell}`);
  assert.ok(isWhite(await layerPixel(page, 0, far.x, far.y)), 'layer 1 gives it no weight far away');
  assert.ok(isWhite(await layerPixel(page, 1, corner.x, corner.y)), 'at its own place it is not the 2nd nearest');
  await page.close();
});

test('layer map opens large and closes', async () => {
  const { page } = await openApp(shared.browser, shared.server.url);
  const decision = await plotDigest(page);
  await page.locator('.layer-open').first().click();
  const banner = page.locator('.enlarged-banner');
  await banner.waitFor();
  assert.match(await banner.textContent(), /k = 1/);
  assert.notEqual(await plotDigest(page), decision, 'layer 1 replaces the decision map');

  await banner.getByRole('button', { name: 'Back to the decision map' }).click();
  await banner.waitFor({ state: 'detached' });
  assert.equal(await plotDigest(page), decision, 'the decision map is back');

  // Escape on the focused layer button closes the large map too.
  await page.locator('.layer-open').first().click();
  await banner.waitFor();
  await page.keyboard.press('Escape');
  await banner.waitFor({ state: 'detached' });
  await page.close();
});

test('layer strip repaints on a new width', async () => {
  const { page } = await openApp(shared.browser, shared.server.url);
  await waitForSettledMap(page, -1);
  const k = Number(await page.getByRole('slider', { name: 'k' }).inputValue());
  // A narrower strip without a window resize, as when a scrollbar appears.
  await page.locator('.layer-strip').evaluate((strip) => { strip.style.width = '300px'; });
  await page.waitForFunction(() => {
    const canvas = document.querySelector('.layer-strip-canvas');
    return canvas.width === Math.round(canvas.getBoundingClientRect().width * window.devicePixelRatio);
  });
  for (let layer = 0; layer < k; layer += 1) {
    const pixel = await layerPixel(page, layer, -0.6, -0.6);
    assert.ok(!isWhite(pixel), `layer ${layer + 1} is painted in its slot after the new width: ${pixel}`);
  }
  await page.close();
});

test('suppression rule switch changes maps', async () => {
  const { page } = await openApp(shared.browser, shared.server.url);
  const gammaSlider = page.getByRole('slider', { name: 'gamma' });
  assert.equal(await gammaSlider.isDisabled(), false);
  // Sharp layers at small γ: the additive rule re-selects, the multiplicative one does not.
  const beta = page.getByRole('textbox', { name: 'beta value' });
  const defaultVersion = (await mapState(page)).version;
  await beta.fill('5000');
  await beta.press('Enter');
  await waitForSettledMap(page, defaultVersion);
  const additive = await plotDigest(page);

  const version = (await mapState(page)).version;
  await page.getByRole('radio', { name: /multiplicative/ }).check();
  await waitForSettledMap(page, version);
  assert.notEqual(await plotDigest(page), additive, 'the rule changes the map');
  assert.equal(await gammaSlider.isDisabled(), true, 'the multiplicative rule has no γ');
  assert.equal(await page.getByRole('textbox', { name: 'gamma value' }).inputValue(), 'unused');
  await page.close();
});
