// Shared set-up for the browser tests: a static server for dist/ on 127.0.0.1
// and Debian's Chromium driven by playwright-core (installed by .ci/setup).
import { createServer } from 'node:http';
import { after, before } from 'node:test';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(new URL('../../.ci/package.json', import.meta.url));
const { chromium } = require('playwright-core');

export const distDir = fileURLToPath(new URL('../../dist/', import.meta.url));

const contentTypes = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
};

/** Serves dist/ on 127.0.0.1 at a free port; resolves to { url, close }. */
export async function serveDist() {
  const server = createServer(async (request, response) => {
    const path = new URL(request.url, 'http://127.0.0.1').pathname;
    const relative = normalize(path === '/' ? 'index.html' : path.slice(1));
    if (relative.startsWith('..')) {
      response.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(join(distDir, relative));
      response.writeHead(200, { 'content-type': contentTypes[extname(relative)] ?? 'application/octet-stream' });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** Starts Debian's Chromium headless with the flags this machine needs. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * Starts the test server and Chromium before the calling file's tests and
 * stops them after. Returns an object whose `server` and `browser` are set
 * once the `before` hook has run.
 */
export function useServerAndBrowser() {
  const shared = { server: null, browser: null };
  before(async () => {
    shared.server = await serveDist();
    shared.browser = await launchChromium();
  });
  after(async () => {
    await shared.browser?.close();
    await shared.server?.close();
  });
  return shared;
}

/**
 * Opens the app and records console errors, page errors and every request
 * that leaves the test server.
 */
export async function openApp(browser, url) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = { consoleErrors: [], foreignRequests: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') problems.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => problems.consoleErrors.push(String(error)));
  page.on('request', (request) => {
    if (!request.url().startsWith(url)) problems.foreignRequests.push(request.url());
  });
  await page.goto(url);
  await waitForSettledMap(page, 0);
  return { page, problems };
}

/** The map frame's data attributes: version, resolution, points. */
export async function mapState(page) {
  return page.locator('.map-frame').evaluate((frame) => ({
    version: Number(frame.dataset.version),
    resolution: Number(frame.dataset.resolution),
    points: Number(frame.dataset.points),
  }));
}

/** Waits until a map newer than `afterVersion` is on screen at full resolution. */
export async function waitForSettledMap(page, afterVersion) {
  await page.waitForFunction(
    (after) => {
      const frame = document.querySelector('.map-frame');
      return frame && Number(frame.dataset.version) > after && frame.dataset.resolution === '200';
    },
    afterVersion,
    { timeout: 20000 },
  );
}

/** Returns the plot area of the decision map in CSS pixels of the page. */
export async function plotArea(page) {
  return page.getByRole('img', { name: 'decision map' }).evaluate((canvas) => {
    const [left, top, width, height] = canvas.dataset.plot.split(',').map(Number);
    const box = canvas.getBoundingClientRect();
    return { left: box.left + left, top: box.top + top, width, height };
  });
}

/** Page coordinates of the plane point (x, y), given the plot area and the domain [-1, 1]². */
export function toPage(area, x, y) {
  return { x: area.left + ((x + 1) / 2) * area.width, y: area.top + ((1 - y) / 2) * area.height };
}

/** RGBA of the decision map at page coordinates. */
export async function pixelAt(page, point) {
  return page.getByRole('img', { name: 'decision map' }).evaluate((canvas, p) => {
    const box = canvas.getBoundingClientRect();
    const scale = canvas.width / box.width;
    const data = canvas.getContext('2d').getImageData(Math.round((p.x - box.left) * scale), Math.round((p.y - box.top) * scale), 1, 1).data;
    return Array.from(data);
  }, point);
}

/** Returns a digest of the whole plot area's pixels, to tell whether the map changed. */
export async function plotDigest(page) {
  return page.getByRole('img', { name: 'decision map' }).evaluate((canvas) => {
    const [left, top, width, height] = canvas.dataset.plot.split(',').map(Number);
    const scale = canvas.width / canvas.getBoundingClientRect().width;
    const data = canvas.getContext('2d').getImageData(left * scale, top * scale, width * scale, height * scale).data;
    let hash = 0;
    for (let i = 0; i < data.length; i += 1) hash = (Math.imul(hash, 31) + data[i]) | 0;
    return hash;
  });
}

// Okabe–Ito colours of classes 0, 1, 2 as the app paints them.
export const CLASS_COLOURS = [
  [230, 159, 0],
  [86, 180, 233],
  [0, 158, 115],
];

/** Returns the class whose colour direction from white best matches `pixel`. */
export function closestClass(pixel, colours) {
  const away = pixel.slice(0, 3).map((c) => 255 - c);
  let best = -1;
  let bestCosine = -Infinity;
  colours.forEach((colour, index) => {
    const direction = colour.map((c) => 255 - c);
    const dot = away.reduce((sum, v, i) => sum + v * direction[i], 0);
    const cosine = dot / (Math.hypot(...away) * Math.hypot(...direction) || 1);
    if (cosine > bestCosine) {
      bestCosine = cosine;
      best = index;
    }
  });
  return best;
}
