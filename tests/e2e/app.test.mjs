// Browser tests of the release build in Debian's Chromium: run `trunk build
// --release --offline` first (.ci/test does).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  CLASS_COLOURS,
  closestClass,
  mapState,
  openApp,
  pixelAt,
  plotArea,
  plotDigest,
  toPage,
  useServerAndBrowser,
  waitForSettledMap,
} from './harness.mjs';

const shared = useServerAndBrowser();

/** Reads the selected point's plane coordinates and class from the status line. */
async function selectedPoint(page) {
  const text = await page.locator('.selection').textContent();
  const match = /point (\d+) \((.+)\) at \((-?[\d.]+), (-?[\d.]+)\)/.exec(text);
  assert.ok(match, `selection status reads: ${text}`);
  return { index: Number(match[1]), className: match[2], x: Number(match[3]), y: Number(match[4]) };
}

test('page loads without console errors or foreign requests', async () => {
  const { page, problems } = await openApp(shared.browser, shared.server.url);
  assert.deepEqual(problems.consoleErrors, []);
  assert.deepEqual(problems.foreignRequests, []);
  const state = await mapState(page);
  assert.equal(state.points, 150, 'iris has 150 points');
  await page.close();
});

test('map shows setosa colour inside the setosa region', async () => {
  const { page } = await openApp(shared.browser, shared.server.url);
  // Iris point 1 is a setosa; setosa's small petals sit at the lower left of the plane.
  await page.getByRole('img', { name: 'decision map' }).focus();
  await page.keyboard.press('n');
  const point = await selectedPoint(page);
  assert.equal(point.className, 'setosa');

  assert.ok(point.x < 0, `setosa x ${point.x} should be on the left`);
  assert.ok(point.y < 0, `setosa y ${point.y} should be at the bottom`);

  // The plot's lower-left corner lies beyond the setosa cluster, clear of any drawn point.
  const area = await plotArea(page);
  const inside = toPage(area, -0.95, -0.95);
  const pixel = await pixelAt(page, inside);
  assert.equal(closestClass(pixel, CLASS_COLOURS), 0, `pixel ${pixel} should be setosa orange`);
  await page.close();
});

test('changing beta changes the map', async () => {
  const { page } = await openApp(shared.browser, shared.server.url);
  const before = await plotDigest(page);
  const { version } = await mapState(page);

  const typed = page.getByRole('textbox', { name: 'beta value' });
  await typed.fill('0.05');
  await typed.press('Enter');
  await waitForSettledMap(page, version);

  assert.notEqual(await plotDigest(page), before);
  await page.close();
});

test('typed beta out of range is rejected and kept', async () => {
  const { page } = await openApp(shared.browser, shared.server.url);
  const typed = page.getByRole('textbox', { name: 'beta value' });
  const previous = await typed.inputValue();

  await typed.fill('-4');
  await typed.press('Enter');

  const alert = page.locator('#beta-error');
  await alert.waitFor({ state: 'visible' });
  assert.match(await alert.textContent(), /beta must be 0 or more, got -4/);
  await typed.fill(previous);
  await typed.press('Enter');
  assert.equal(await page.locator('#beta-error').textContent(), '');
  await page.close();
});

test('clicking empty space adds a point and changes the map there', async () => {
  const { page } = await openApp(shared.browser, shared.server.url);
  await page.getByRole('radio', { name: 'virginica' }).check();
  const area = await plotArea(page);
  // The upper left of the iris plane (long petals, narrow ones) is empty.
  const spot = toPage(area, -0.8, 0.8);
  const nearby = toPage(area, -0.72, 0.8);
  const before = await pixelAt(page, nearby);
  const { version, points } = await mapState(page);

  await page.mouse.click(spot.x, spot.y);
  await waitForSettledMap(page, version);

  const state = await mapState(page);
  assert.equal(state.points, points + 1);
  const added = await selectedPoint(page);
  assert.equal(added.className, 'virginica');
  assert.ok(Math.abs(added.x + 0.8) < 0.02, `added at x ${added.x}`);
  assert.ok(Math.abs(added.y - 0.8) < 0.02, `added at y ${added.y}`);
  assert.notDeepEqual(await pixelAt(page, nearby), before, 'the map near the new point changed');
  await page.close();
});

test('dragging a point moves it', async () => {
  const { page } = await openApp(shared.browser, shared.server.url);
  const area = await plotArea(page);
  const spot = toPage(area, -0.8, 0.8);
  let { version } = await mapState(page);
  await page.mouse.click(spot.x, spot.y);
  await waitForSettledMap(page, version);
  ({ version } = await mapState(page));
  const count = (await mapState(page)).points;

  const target = toPage(area, -0.3, 0.6);
  await page.mouse.move(spot.x, spot.y);
  await page.mouse.down();
  for (let step = 1; step <= 10; step += 1) {
    await page.mouse.move(spot.x + ((target.x - spot.x) * step) / 10, spot.y + ((target.y - spot.y) * step) / 10);
  }
  await page.mouse.up();
  await waitForSettledMap(page, version);

  const moved = await selectedPoint(page);
  assert.ok(Math.abs(moved.x + 0.3) < 0.02, `moved to x ${moved.x}`);
  assert.ok(Math.abs(moved.y - 0.6) < 0.02, `moved to y ${moved.y}`);
  assert.equal((await mapState(page)).points, count, 'a drag adds no point');
  await page.close();
});

test('right click removes a point', async () => {
  const { page } = await openApp(shared.browser, shared.server.url);
  const area = await plotArea(page);
  const spot = toPage(area, -0.8, 0.8);
  let { version, points } = await mapState(page);
  await page.mouse.click(spot.x, spot.y);
  await waitForSettledMap(page, version);
  ({ version } = await mapState(page));

  await page.mouse.click(spot.x, spot.y, { button: 'right' });
  await waitForSettledMap(page, version);
  assert.equal((await mapState(page)).points, points);
  await page.close();
});

test('sliders respond to the keyboard', async () => {
  const { page } = await openApp(shared.browser, shared.server.url);
  const cases = [
    ['beta', 'beta value'],
    ['gamma', 'gamma value'],
  ];
  for (const [slider, valueName] of cases) {
    const value = page.getByRole('textbox', { name: valueName });
    const before = Number(await value.inputValue());
    await page.getByRole('slider', { name: slider }).focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    const after = Number(await value.inputValue());
    assert.ok(after > before, `${slider}: ${before} -> ${after}`);
  }

  const k = page.getByRole('slider', { name: 'k' });
  const kBefore = Number(await k.inputValue());
  await k.focus();
  await page.keyboard.press('ArrowRight');
  assert.equal(Number(await k.inputValue()), kBefore + 1);
  assert.equal(await page.getByRole('figure').count(), kBefore + 1, 'one layer map per layer');
  await page.close();
});

test('keyboard adds, moves and deletes points on the map', async () => {
  const { page } = await openApp(shared.browser, shared.server.url);
  const map = page.getByRole('img', { name: 'decision map' });
  const { points } = await mapState(page);
  await map.focus();
  await page.keyboard.press('Enter');
  const added = await selectedPoint(page);
  assert.equal((await mapState(page)).points, points + 1);

  await page.keyboard.press('Shift+ArrowRight');
  const moved = await selectedPoint(page);
  assert.ok(Math.abs(moved.x - added.x - 0.1) < 0.011, `moved from ${added.x} to ${moved.x}`);

  await page.keyboard.press('Delete');
  await page.waitForFunction((n) => Number(document.querySelector('.map-frame').dataset.points) === n, points);
  await page.close();
});

test('hard mode disables beta and gamma and changes the map', async () => {
  const { page } = await openApp(shared.browser, shared.server.url);
  const before = await plotDigest(page);
  const { version } = await mapState(page);

  await page.getByRole('checkbox', { name: /Hard mode/ }).check();
  await waitForSettledMap(page, version);

  assert.ok(await page.getByRole('slider', { name: 'beta' }).isDisabled());
  assert.ok(await page.getByRole('slider', { name: 'gamma' }).isDisabled());
  assert.equal(await page.getByRole('textbox', { name: 'beta value' }).inputValue(), '∞');
  assert.equal(await page.getByRole('textbox', { name: 'gamma value' }).inputValue(), '∞');
  assert.notEqual(await plotDigest(page), before);

  // Leaving hard mode shows the soft values again.
  await page.getByRole('checkbox', { name: /Hard mode/ }).uncheck();
  assert.notEqual(await page.getByRole('textbox', { name: 'beta value' }).inputValue(), '∞');
  await page.close();
});

test('generated data set follows its seed', async () => {
  const { page } = await openApp(shared.browser, shared.server.url);
  let { version } = await mapState(page);
  await page.getByRole('combobox', { name: 'data set' }).selectOption('moons');
  await waitForSettledMap(page, version);
  assert.equal((await mapState(page)).points, 200);
  const first = await plotDigest(page);

  ({ version } = await mapState(page));
  await page.getByRole('button', { name: 'Regenerate' }).click();
  await waitForSettledMap(page, version);
  assert.equal(await page.getByRole('spinbutton', { name: 'seed' }).inputValue(), '2');
  assert.notEqual(await plotDigest(page), first, 'seed 2 draws other points');

  ({ version } = await mapState(page));
  const seed = page.getByRole('spinbutton', { name: 'seed' });
  await seed.fill('1');
  await seed.press('Enter');
  await waitForSettledMap(page, version);
  assert.equal(await plotDigest(page), first, 'seed 1 again gives the same map');
  await page.close();
});

test('CSV import loads chosen columns and reports bad files', async () => {
  const { page } = await openApp(shared.browser, shared.server.url);
  const rows = ['a,b,c,species', '1,2,9,cat', '2,1,9,dog', '3,3,NA,cat', 'NA,4,9,dog', '4,5,9,cat'];
  await page.getByLabel('import CSV').setInputFiles({
    name: 'pets.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from(rows.join('\n')),
  });
  await page.getByRole('combobox', { name: 'label column' }).waitFor({ state: 'visible' });
  assert.equal(await page.getByRole('combobox', { name: 'x column' }).inputValue(), 'a');
  assert.equal(await page.getByRole('combobox', { name: 'label column' }).inputValue(), 'species');

  const { version } = await mapState(page);
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await waitForSettledMap(page, version);
  // Rows 4 and 5 lack a value in a chosen column (a, b or species), so 4 of 5 rows stay.
  assert.equal((await mapState(page)).points, 4);
  assert.match(await page.locator('.source').textContent(), /pets\.csv: 4 of 5 rows kept; 1 skipped/);
  assert.equal(await page.getByRole('radio', { name: 'dog' }).count(), 1);

  await page.getByLabel('import CSV').setInputFiles({
    name: 'broken.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from('a,b,species\n1,oops,cat\n'),
  });
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.locator('.notice').waitFor({ state: 'visible' });
  assert.match(await page.locator('.notice').textContent(), /line 2: column 'b' holds 'oops', which is not a number.*current points are kept/);
  assert.equal((await mapState(page)).points, 4, 'the imported points stay');
  await page.close();
});
