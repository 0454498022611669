// Saves the README's screenshots of the release build into a folder:
//   node tests/e2e/screenshot.mjs [folder]      (default: docs)
// screenshot.png: the whole page with the probe at a query on the map;
// probe.png: the map with the probe's lines at sharp layers and a small γ;
// formulas.png: the probe and formula panels for that probe;
// voronoi.png: in hard mode, the layer maps of one point's activation;
// measures.png: the measures panel with a held-out share.
import { launchChromium, mapState, openApp, plotArea, serveDist, toPage, waitForSettledMap } from './harness.mjs';

const folder = process.argv[2] ?? 'docs';
const server = await serveDist();
const browser = await launchChromium();

/** Moves the mouse over the plane point (x, y) and gives the panels time to follow. */
async function hover(page, x, y) {
  const area = await plotArea(page);
  const point = toPage(area, x, y);
  await page.mouse.move(point.x, point.y);
  await page.waitForTimeout(300);
}

try {
  const { page, problems } = await openApp(browser, server.url);
  await hover(page, 0.12, 0.08);
  await page.screenshot({ path: `${folder}/screenshot.png`, fullPage: true });

  // Sharp layers with a small γ, so layer 2 picks the nearest point again.
  const beta = page.getByRole('textbox', { name: 'beta value' });
  const gamma = page.getByRole('textbox', { name: 'gamma value' });
  let version = (await mapState(page)).version;
  await beta.fill('3000');
  await beta.press('Enter');
  await gamma.fill('0.0005');
  await gamma.press('Enter');
  await waitForSettledMap(page, version);
  await hover(page, 0.3, 0.25);
  await page.getByRole('checkbox', { name: 'Pin the probe' }).check();
  await page.waitForTimeout(300);
  await page.locator('main').screenshot({ path: `${folder}/probe.png` });
  await page.locator('.explain').screenshot({ path: `${folder}/formulas.png` });
  await page.getByRole('checkbox', { name: 'Pin the probe' }).uncheck();

  // Hard mode on 30 uniform points: layer k's map of one point's activation
  // is its k-th order Voronoi cell.
  version = (await mapState(page)).version;
  await page.getByRole('checkbox', { name: /Hard mode/ }).check();
  await page.getByRole('combobox', { name: 'data set' }).selectOption('noise');
  await page.getByRole('spinbutton', { name: 'number of points' }).fill('30');
  await page.getByRole('spinbutton', { name: 'number of points' }).press('Enter');
  await waitForSettledMap(page, version);
  await page.getByRole('img', { name: 'decision map' }).focus();
  for (let i = 0; i < 4; i += 1) await page.keyboard.press('n');
  await page.getByRole('radio', { name: "the selected point's activation" }).check();
  await page.waitForTimeout(1500);
  await page.locator('.layer-strip').screenshot({ path: `${folder}/voronoi.png` });

  // Measures on iris with 30 % of the points held out.
  version = (await mapState(page)).version;
  await page.getByRole('checkbox', { name: /Hard mode/ }).uncheck();
  await page.getByRole('combobox', { name: 'data set' }).selectOption('iris');
  await waitForSettledMap(page, version);
  const share = page.getByRole('textbox', { name: /held-out share/i });
  await share.fill('0.3');
  await share.press('Enter');
  await page.waitForTimeout(4000);
  await page.locator('section[aria-label="measures"]').screenshot({ path: `${folder}/measures.png` });

  console.log(`saved 5 screenshots in ${folder}; console errors: ${problems.consoleErrors.length}`);
  for (const error of problems.consoleErrors) console.log(`  ${error}`);
} finally {
  await browser.close();
  await server.close();
}
