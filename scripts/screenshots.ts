/**
 * Screenshots of the demo page for the README: docs/demo-desktop.png (1280 px wide) and
 * docs/demo-narrow.png (a 390 px phone width, at twice the pixels). Builds and serves the page,
 * trains the default model on the default text in Debian's Chromium for a while, then shoots.
 *
 *   npm run screenshots [-- --seconds 60]
 */
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { openDemo, root } from '../test/web/browser.js'

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' } } })
const seconds = Number(values.seconds)
if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, got ${values.seconds}`)

const demo = await openDemo({ width: 1280, height: 1000 }, 2)
try {
  const { page } = demo
  await page.click('#train')
  process.stdout.write(`Training the default model for ${seconds} s...\n`)
  await page.waitForTimeout(seconds * 1000)
  await page.fill('#prime', 'The whale ')
  await page.fill('#temperature', '0.7')
  await page.fill('#sample-seed', '7')
  const before = Number((await page.getAttribute('#sample', 'data-count')) ?? 0)
  await page.click('#sample-now')
  await page.waitForFunction(`Number(document.querySelector('#sample').dataset.count) > ${before}`)
  await page.waitForTimeout(300) // the chart is drawn on the next animation frame

  const desktop = join(root, 'docs', 'demo-desktop.png')
  await page.screenshot({ path: desktop, scale: 'css' })
  await page.setViewportSize({ width: 390, height: 844 })
  await page.evaluate('window.scrollTo(0, 0)')
  await page.waitForTimeout(500)
  // The phone view from the top down to the sample controls (the older samples below are left out).
  const controls = await page.locator('.sample-controls').boundingBox()
  if (controls === null) throw new Error('the sample controls are not on the page')
  const narrow = join(root, 'docs', 'demo-narrow.png')
  await page.screenshot({ path: narrow, fullPage: true, clip: { x: 0, y: 0, width: 390, height: Math.ceil(controls.y + controls.height + 12) } })
  const step = await page.textContent('#stat-step')
  process.stdout.write(`Wrote ${desktop} and ${narrow} (step ${step}).\n`)
  if (demo.problems.length > 0) throw new Error(`the page reported problems:\n${demo.problems.join('\n')}`)
} finally {
  await demo.close()
}
