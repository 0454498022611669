// Saves a screenshot of the release build for the README:
//   node tests/e2e/screenshot.mjs [output.png]
import { launchChromium, openApp, serveDist } from './harness.mjs';

const output = process.argv[2] ?? 'docs/screenshot.png';
const server = await serveDist();
const browser = await launchChromium();
try {
  const { page, problems } = await openApp(browser, server.url);
  await page.screenshot({ path: output, fullPage: true });
  console.log(`saved ${output}; console errors: ${problems.consoleErrors.length}`);
  for (const error of problems.consoleErrors) console.log(`  ${error}`);
} finally {
  await browser.close();
  await server.close();
}
