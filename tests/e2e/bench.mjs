// Browser benchmark of the release build: input-to-pixels time for β slider
// steps and a point drag, the time for the full-resolution map to settle
// after each kind of gesture ends, and the longest main-thread task.
//   node tests/e2e/bench.mjs [--scene iris|lecture|large] [--gamma VALUE]
// The lecture scene is 300 blobs points in 4 classes with k = 10; the large
// scene imports 10,000 uniform points in 4 classes (a fixed pseudo-random
// sequence) and sets k = 10.
import { launchChromium, mapState, openApp, plotArea, serveDist, toPage, waitForSettledMap } from './harness.mjs';

const sceneName = process.argv.includes('--scene') ? process.argv[process.argv.indexOf('--scene') + 1] : 'iris';
const scenes = ['iris', 'lecture', 'large'];
if (!scenes.includes(sceneName)) {
  console.error(`unknown scene '${sceneName}': use --scene with one of ${scenes.join(', ')}`);
  process.exit(2);
}
// An optional γ typed into the app after the scene loads; the app's default otherwise.
const gammaText = process.argv.includes('--gamma') ? process.argv[process.argv.indexOf('--gamma') + 1] : null;

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summary(label, samples) {
  const line = (name, values) =>
    `${name} p50=${percentile(values, 50).toFixed(1)} p95=${percentile(values, 95).toFixed(1)} max=${Math.max(...values).toFixed(1)} ms`;
  return [
    `${label} (n=${samples.length}, coarse grid ${percentile(samples.map((s) => s.resolution), 50)} cells a side):`,
    `  input to pixels: ${line('', samples.map((s) => s.total))}`,
    `  from the event's time stamp: ${line('', samples.map((s) => s.sinceStamp))}`,
    `  compute:         ${line('', samples.map((s) => s.compute))}`,
    `  draw:            ${line('', samples.map((s) => s.draw))}`,
  ].join('\n');
}

// Records in the page whether the current task is inside a frame's
// rendering update. An animation frame callback that runs before the app's
// callbacks sets the flag. A zero timeout clears it, and that timeout runs
// once the frame's style, layout, paint and commit are done.
// `frameClock.afterRender(callback)` calls back once the frame that shows a
// change made now has been rendered: this frame inside a rendering update,
// the next one otherwise.
async function installFrameClock(page) {
  await page.evaluate(() => {
    if (window.frameClock) return;
    const clock = { inFrame: false };
    clock.afterRender = (callback) => {
      if (clock.inFrame) setTimeout(callback, 0);
      else requestAnimationFrame(() => setTimeout(callback, 0));
    };
    window.frameClock = clock;
    requestAnimationFrame(function tick() {
      requestAnimationFrame(tick);
      clock.inFrame = true;
      setTimeout(() => { clock.inFrame = false; }, 0);
    });
  });
}

// Arms a clock in the page for the next `eventType` event. It starts when the
// event reaches the window and stops once the frame that shows the new map
// has been rendered. A map drawn inside a frame's rendering update is shown
// by that frame, and a map drawn in an event task by the next one. Read the
// clock with readStepClock after sending the input.
async function armStepClock(page, eventType) {
  await page.evaluate((eventType) => {
    const frame = document.querySelector('.map-frame');
    const clock = { dispatched: null, stamp: null, version: null };
    const onEvent = (event) => {
      if (clock.dispatched === null) {
        clock.dispatched = performance.now();
        clock.stamp = event.timeStamp;
        clock.version = frame.dataset.version;
      }
    };
    window.addEventListener(eventType, onEvent, { capture: true });
    window.stepClock = new Promise((resolve, reject) => {
      const observer = new MutationObserver(() => {
        // A map that lands before the event, such as one the workers
        // finished during a rest, is not the event's map.
        if (clock.dispatched === null || frame.dataset.version === clock.version) return;
        observer.disconnect();
        const finish = () => {
          window.removeEventListener(eventType, onEvent, { capture: true });
          const now = performance.now();
          const canvas = document.querySelector('canvas.decision-map');
          resolve({
            total: now - clock.dispatched,
            sinceStamp: now - clock.stamp,
            compute: Number(frame.dataset.computeMs),
            draw: Number(canvas.dataset.drawMs),
            resolution: Number(frame.dataset.resolution),
          });
        };
        window.frameClock.afterRender(finish);
      });
      observer.observe(frame, { attributes: true, attributeFilter: ['data-version'] });
      setTimeout(() => reject(new Error(`timed out: no new map 5 s after ${eventType}`)), 5000);
    });
  }, eventType);
}

async function readStepClock(page) {
  return page.evaluate(() => window.stepClock);
}

// Times one input: `send` makes the page receive an `eventType` event, either
// as real mouse or key input through Chromium's input pipeline or from a script.
async function timeInput(page, eventType, send) {
  await armStepClock(page, eventType);
  await send();
  return readStepClock(page);
}

// Starts a clock in the page: it records when the next `eventType` event
// reaches the window (the end of a gesture) and when, after that, a newer map
// at full resolution has been drawn. Read it with readSettleClock.
async function armSettleClock(page, eventType) {
  await page.evaluate((eventType) => {
    const frame = document.querySelector('.map-frame');
    const clock = { ended: null, versionAtEnd: null, settled: null, computeMs: null };
    window.settleClock = clock;
    window.addEventListener(
      eventType,
      () => {
        clock.ended = performance.now();
        clock.versionAtEnd = Number(frame.dataset.version);
        // After a pause the workers may have drawn the full map for these
        // very inputs before the release: then it is settled at the release.
        if (frame.dataset.resolution === '200') {
          clock.computeMs = Number(frame.dataset.computeMs);
          clock.settled = clock.ended;
        }
      },
      { capture: true, once: true },
    );
    const observer = new MutationObserver(() => {
      const newer = clock.ended !== null && Number(frame.dataset.version) > clock.versionAtEnd;
      if (clock.settled === null && newer && frame.dataset.resolution === '200') {
        observer.disconnect();
        clock.computeMs = Number(frame.dataset.computeMs);
        window.frameClock.afterRender(() => { clock.settled = performance.now(); });
      }
    });
    observer.observe(frame, { attributes: true, attributeFilter: ['data-version', 'data-resolution'] });
  }, eventType);
}

/**
 * Waits for the armed clock. Returns { total, computeMs }: milliseconds from
 * the gesture's end to the settled map, and the compute time the app reports
 * for that map (for the workers: from posting the job to its last part).
 */
async function readSettleClock(page) {
  await page.waitForFunction(() => window.settleClock.settled !== null, null, { timeout: 20000 });
  return page.evaluate(() => ({
    total: window.settleClock.settled - window.settleClock.ended,
    computeMs: window.settleClock.computeMs,
  }));
}

// Page coordinates of the β slider's thumb, from its value and its box.
async function betaThumb(page) {
  return page.getByRole('slider', { name: 'beta' }).evaluate((slider) => {
    const box = slider.getBoundingClientRect();
    const share = (Number(slider.value) - Number(slider.min)) / (Number(slider.max) - Number(slider.min));
    // The thumb's centre runs from half a thumb inside the left edge to half a thumb inside the right.
    const thumb = box.height;
    return { x: box.left + thumb / 2 + share * (box.width - thumb), y: box.top + box.height / 2 };
  });
}

// Times pointer moves on a blank page whose listener only bumps the version.
// There the time from an event's time stamp to its dispatch is the browser's
// own wait, because Chromium dispatches pointer moves at the next frame.
async function blankPageSteps(browser) {
  const page = await browser.newPage();
  await page.setContent(`<div class="map-frame" data-version="0" style="width: 400px; height: 400px">
    <canvas class="decision-map" data-draw-ms="0"></canvas></div>
    <script>
      const frame = document.querySelector('.map-frame');
      frame.addEventListener('pointermove', () => { frame.dataset.version = Number(frame.dataset.version) + 1; });
    </script>`);
  await installFrameClock(page);
  const steps = [];
  for (let i = 1; i <= 60; i += 1) {
    steps.push(await timeInput(page, 'pointermove', () => page.mouse.move(50 + 4 * i, 50 + 2 * i)));
  }
  const afterRest = [];
  for (let i = 1; i <= 15; i += 1) {
    await page.waitForTimeout(80);
    afterRest.push(await timeInput(page, 'pointermove', () => page.mouse.move(300 - 4 * i, 200 - 2 * i)));
  }
  await page.close();
  return { steps, afterRest };
}

const server = await serveDist();
const browser = await launchChromium();
try {
  const { page } = await openApp(browser, server.url);
  if (sceneName === 'lecture') {
    await page.getByRole('combobox', { name: 'data set' }).selectOption('blobs');
    for (const [name, value] of [['number of points', '300'], ['number of classes', '4']]) {
      const input = page.getByRole('spinbutton', { name });
      await input.fill(value);
      await input.press('Enter');
    }
    const k = page.getByRole('slider', { name: 'k' });
    await k.evaluate((slider) => {
      slider.value = '10';
      slider.dispatchEvent(new Event('input', { bubbles: true }));
      slider.dispatchEvent(new Event('change', { bubbles: true }));
    });
  }
  if (sceneName === 'large') {
    // A linear congruential sequence: the same 10,000 points on every run.
    let seed = 12345;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const rows = ['x,y,label'];
    for (let i = 0; i < 10000; i += 1) rows.push(`${next() * 2 - 1},${next() * 2 - 1},c${Math.floor(next() * 4)}`);
    await page.getByLabel('import CSV').setInputFiles({ name: 'large.csv', mimeType: 'text/csv', buffer: Buffer.from(rows.join('\n')) });
    await page.getByRole('combobox', { name: 'label column' }).waitFor({ state: 'visible' });
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.waitForFunction(() => document.querySelector('.map-frame').dataset.points === '10000');
    const k = page.getByRole('slider', { name: 'k' });
    await k.evaluate((slider) => {
      slider.value = '10';
      slider.dispatchEvent(new Event('input', { bubbles: true }));
      slider.dispatchEvent(new Event('change', { bubbles: true }));
    });
  }
  if (gammaText !== null) {
    const gamma = page.getByRole('textbox', { name: 'gamma value' });
    await gamma.fill(gammaText);
    await gamma.press('Enter');
  }
  await waitForSettledMap(page, -1);
  const state = await mapState(page);
  const beta = await page.getByRole('textbox', { name: 'beta value' }).inputValue();
  const gamma = await page.getByRole('textbox', { name: 'gamma value' }).inputValue();
  const k = await page.getByRole('slider', { name: 'k' }).inputValue();
  console.log(`scene ${sceneName}: ${state.points} points, k = ${k}, starting at β = ${beta}, γ = ${gamma}`);

  await page.evaluate(() => {
    window.longTasks = [];
    new PerformanceObserver((list) => window.longTasks.push(...list.getEntries().map((e) => e.duration))).observe({ type: 'longtask' });
  });
  const settle = {};

  await installFrameClock(page);

  // 60 β steps by dragging the slider's thumb with the mouse, 2 px a step:
  // 15 to the left, 30 to the right and 15 back, so β stays within about 30
  // slider steps of where it began. On release Chromium sends change.
  const sliderSteps = [];
  const thumb = await betaThumb(page);
  await page.mouse.move(thumb.x, thumb.y);
  await page.mouse.down();
  for (let i = 1; i <= 60; i += 1) {
    let offset = -i;
    if (i > 45) offset = 60 - i;
    else if (i > 15) offset = i - 30;
    const x = thumb.x + 2 * offset;
    sliderSteps.push(await timeInput(page, 'input', () => page.mouse.move(x, thumb.y)));
  }
  await page.mouse.move(thumb.x - 8, thumb.y);
  await armSettleClock(page, 'pointerup');
  await page.mouse.up();
  settle['beta slider, pointer release'] = await readSettleClock(page);

  // Input events sent by script, then the slider's change event.
  const scriptStep = (delta) => () => page.getByRole('slider', { name: 'beta' }).evaluate((slider, delta) => {
    slider.value = String(Number(slider.value) + delta);
    slider.dispatchEvent(new Event('input', { bubbles: true }));
  }, delta);
  for (let i = 0; i < 5; i += 1) await timeInput(page, 'input', scriptStep(-2));
  await armSettleClock(page, 'change');
  await page.getByRole('slider', { name: 'beta' }).evaluate((slider) => slider.dispatchEvent(new Event('change', { bubbles: true })));
  settle['beta slider, after its change event'] = await readSettleClock(page);

  // The same without a change event: the gesture ends when input has been quiet for a while.
  for (let i = 0; i < 5; i += 1) await timeInput(page, 'input', scriptStep(-2));
  await armSettleClock(page, 'input');
  await scriptStep(2)();
  settle['beta slider, input only (quiet-time fallback)'] = await readSettleClock(page);

  // Away and back to where the drag began: Chromium sends no change event on this release.
  const back = await betaThumb(page);
  await page.mouse.move(back.x, back.y);
  await page.mouse.down();
  for (let i = 1; i <= 5; i += 1) await page.mouse.move(back.x - i * 6, back.y);
  await page.mouse.move(back.x, back.y);
  await armSettleClock(page, 'pointerup');
  await page.mouse.up();
  settle['beta slider, pointer release at the start value'] = await readSettleClock(page);

  // Arrow keys on the focused slider: Chromium sends input and change for every key.
  await page.getByRole('slider', { name: 'beta' }).focus();
  for (let i = 0; i < 5; i += 1) await page.keyboard.press('ArrowRight');
  await armSettleClock(page, 'keydown');
  await page.keyboard.press('ArrowRight');
  settle['beta slider, last arrow key'] = await readSettleClock(page);

  // Drag the first point in 60 steps along a line.
  await page.getByRole('img', { name: 'decision map' }).focus();
  await page.keyboard.press('n');
  const text = await page.locator('.selection').textContent();
  const [, x, y] = /at \((-?[\d.]+), (-?[\d.]+)\)/.exec(text).map(Number);
  const area = await plotArea(page);
  const start = toPage(area, x, y);
  // The drag goes towards the middle of the plot, so the point never stops at its edge.
  const towards = { x: x > 0 ? -1 : 1, y: y > 0 ? 1 : -1 };
  await page.mouse.move(start.x, start.y);
  await page.mouse.down();
  const dragSteps = [];
  for (let i = 1; i <= 60; i += 1) {
    dragSteps.push(await timeInput(page, 'pointermove', () => page.mouse.move(start.x + towards.x * i * 4, start.y + towards.y * i * 2)));
  }
  await armSettleClock(page, 'pointerup');
  await page.mouse.up();
  settle['point drag, pointer release'] = await readSettleClock(page);

  // The same drag back, but the pointer rests before the release, as a
  // lecturer's hand does when the point has reached its place.
  await page.waitForTimeout(500);
  const end = { x: start.x + towards.x * 60 * 4, y: start.y + towards.y * 60 * 2 };
  await page.mouse.move(end.x, end.y);
  await page.mouse.down();
  for (let i = 29; i >= 0; i -= 1) {
    await timeInput(page, 'pointermove', () => page.mouse.move(start.x + towards.x * i * 8, start.y + towards.y * i * 4));
  }
  for (const pause of [50, 150]) {
    await page.waitForTimeout(pause);
    await armSettleClock(page, 'pointerup');
    await page.mouse.up();
    settle[`point drag, ${pause} ms rest, pointer release`] = await readSettleClock(page);
    if (pause !== 150) {
      // Grab the point again and nudge it, so the next rest starts from a coarse map.
      await page.mouse.down();
      await timeInput(page, 'pointermove', () => page.mouse.move(start.x + towards.x * 6, start.y + towards.y * 4));
      await timeInput(page, 'pointermove', () => page.mouse.move(start.x, start.y));
    }
  }

  // A drag with rests long enough for the workers to start on the full
  // resolution, so each step after a rest shares the cores with their parts.
  const afterRestSteps = [];
  await page.mouse.down();
  for (let i = 1; i <= 15; i += 1) {
    await page.waitForTimeout(80);
    afterRestSteps.push(await timeInput(page, 'pointermove', () => page.mouse.move(start.x + towards.x * i * 4, start.y + towards.y * i * 2)));
    await timeInput(page, 'pointermove', () => page.mouse.move(start.x + towards.x * (i * 4 + 2), start.y + towards.y * (i * 2 + 3)));
  }
  await page.mouse.up();

  // A drag that stops without a release, timed from its last move.
  await page.mouse.down();
  await timeInput(page, 'pointermove', () => page.mouse.move(start.x + towards.x * 6, start.y + towards.y * 4));
  await armSettleClock(page, 'pointermove');
  await page.mouse.move(start.x, start.y);
  settle['point drag, held still after the last move'] = await readSettleClock(page);
  await page.mouse.up();

  // Arrow keys on the map move the selected point. Key events are not
  // aligned to frames, so they arrive at any time within one.
  await page.getByRole('img', { name: 'decision map' }).focus();
  const keySteps = [];
  for (let i = 0; i < 30; i += 1) {
    const key = i % 10 < 5 ? 'ArrowRight' : 'ArrowLeft';
    keySteps.push(await timeInput(page, 'keydown', () => page.keyboard.press(key)));
  }

  const longTasks = await page.evaluate(() => window.longTasks);
  const blankSteps = await blankPageSteps(browser);
  console.log(summary('beta slider step, input to pixels', sliderSteps));
  console.log(summary('drag step, input to pixels', dragSteps));
  console.log(summary('drag step after an 80 ms rest, input to pixels', afterRestSteps));
  console.log(summary('arrow key moving a point, input to pixels', keySteps));
  const blankLine = (values) => `p50=${percentile(values, 50).toFixed(1)} p95=${percentile(values, 95).toFixed(1)} ms`;
  console.log('pointer moves on a blank page, for comparison:');
  console.log(`  input to pixels: ${blankLine(blankSteps.steps.map((s) => s.total))}`);
  console.log(`  from the event's time stamp: ${blankLine(blankSteps.steps.map((s) => s.sinceStamp))}`);
  console.log(`  after an 80 ms rest, input to pixels: ${blankLine(blankSteps.afterRest.map((s) => s.total))}`);
  console.log(`  after an 80 ms rest, from the event's time stamp: ${blankLine(blankSteps.afterRest.map((s) => s.sinceStamp))}`);
  console.log('full-resolution map on screen after the gesture ends:');
  for (const [name, { total, computeMs }] of Object.entries(settle)) {
    console.log(`  ${name}: ${total.toFixed(0)} ms (full-resolution compute ${computeMs.toFixed(0)} ms)`);
  }
  console.log(`main-thread tasks over 50 ms: ${longTasks.length}, longest ${longTasks.length ? Math.max(...longTasks).toFixed(0) : 0} ms`);
} finally {
  await browser.close();
  await server.close();
}
