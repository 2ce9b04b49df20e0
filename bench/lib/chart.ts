// The bench chart: an SVG bar chart (req/s and p99 per scenario, ours against the bare SDK) in a
// plain HTML page, screenshotted to PNG with playwright-core's Chromium. No chart library.
import { writeFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';

export interface ChartBar {
  label: string;
  reqPerSec: number;
  p99: number;
  baseline: boolean;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function panel(title: string, unit: string, bars: ChartBar[], value: (b: ChartBar) => number, x0: number, width: number): string {
  const max = Math.max(1, ...bars.map(value)) * 1.15;
  const top = 70;
  const height = 300;
  const slot = width / bars.length;
  const barWidth = Math.min(90, slot * 0.62);
  const parts = [
    `<text x="${x0 + width / 2}" y="40" class="title">${esc(title)}</text>`,
    `<line x1="${x0}" y1="${top + height}" x2="${x0 + width}" y2="${top + height}" class="axis"/>`,
  ];
  bars.forEach((b, i) => {
    const v = value(b);
    const h = (v / max) * height;
    const x = x0 + i * slot + (slot - barWidth) / 2;
    parts.push(
      `<rect x="${x}" y="${top + height - h}" width="${barWidth}" height="${h}" class="${b.baseline ? 'base' : 'ours'}"/>`,
      `<text x="${x + barWidth / 2}" y="${top + height - h - 8}" class="value">${esc(v.toLocaleString('en-US'))}${unit}</text>`,
      `<text x="${x + barWidth / 2}" y="${top + height + 22}" class="label">${esc(b.label)}</text>`,
    );
  });
  return parts.join('\n');
}

export function chartHtml(title: string, subtitle: string, bars: ChartBar[]): string {
  const width = 1200;
  return `<!doctype html><html><head><meta charset="utf-8"><style>
  body { margin: 0; background: #fff; font-family: 'DejaVu Sans', Arial, sans-serif; }
  .title { font-size: 18px; font-weight: bold; text-anchor: middle; fill: #222; }
  .value { font-size: 13px; text-anchor: middle; fill: #222; }
  .label { font-size: 12px; text-anchor: middle; fill: #444; }
  .axis { stroke: #999; }
  .ours { fill: #3b6fd8; } .base { fill: #a0a0a0; }
  h1 { font-size: 20px; margin: 16px 24px 0; } p { margin: 4px 24px; color: #555; font-size: 13px; }
  </style></head><body>
  <h1>${esc(title)}</h1><p>${esc(subtitle)}</p>
  <svg width="${width}" height="420" xmlns="http://www.w3.org/2000/svg">
  ${panel('Requests per second (higher is better)', '', bars, (b) => b.reqPerSec, 20, width / 2 - 40)}
  ${panel('p99 latency (lower is better)', ' ms', bars, (b) => b.p99, width / 2 + 20, width / 2 - 40)}
  </svg>
  <p><svg width="14" height="12"><rect width="14" height="12" class="ours"/></svg> Pictor (authenticated, Postgres)
  &nbsp; <svg width="14" height="12"><rect width="14" height="12" class="base"/></svg> bare MCP SDK, stateless, no auth, in-memory tool</p>
  </body></html>`;
}

/** Renders the page and writes a PNG; returns false (and writes nothing) when Chromium is missing. */
export async function renderPng(html: string, file: string, executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'): Promise<boolean> {
  let browser: Awaited<ReturnType<typeof chromium.launch>> | undefined;
  try {
    browser = await chromium.launch({
      executablePath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
  } catch (error) {
    console.warn(`chart: Chromium not available (${(error as Error).message.split('\n')[0]}); PNG skipped`);
    return false;
  }
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 520 } });
    await page.setContent(html);
    await writeFile(file, await page.screenshot({ fullPage: true, type: 'png' }));
    return true;
  } finally {
    await browser.close();
  }
}
