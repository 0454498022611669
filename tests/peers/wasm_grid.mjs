// The wasm side of the peer comparison: the release build's exported
// benchmark_map in Debian's Chromium. Usage: wasm_grid.mjs SCENE.csv BETA GAMMA K RESOLUTION REPEATS
import { readFile } from 'node:fs/promises';

import { launchChromium, serveDist } from '../e2e/harness.mjs';

const [path, beta, gamma, k, resolution, repeats] = process.argv.slice(2);
const csv = await readFile(path, 'utf8');
const server = await serveDist();
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => window.wasmBindings?.benchmark_map);
  const fastest = await page.evaluate(
    (args) => window.wasmBindings.benchmark_map(args.csv, args.beta, args.gamma, BigInt(args.k), args.resolution, args.repeats),
    { csv, beta: Number(beta), gamma: Number(gamma), k: Number(k), resolution: Number(resolution), repeats: Number(repeats) },
  );
  console.log(fastest);
} finally {
  await browser.close();
  await server.close();
}
