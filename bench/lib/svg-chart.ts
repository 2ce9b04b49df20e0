// A line chart as a standalone SVG file, from our own few lines (no chart library): one or more
// series over shared x positions, linear y from zero, values printed at each point.

export interface Series {
  name: string;
  values: number[];
}

export interface LineChart {
  title: string;
  subtitle: string;
  /** Labels of the x positions, evenly spaced (e.g. account sizes on a log scale). */
  x: string[];
  xTitle: string;
  yTitle: string;
  series: Series[];
  /** A horizontal line, e.g. a target. */
  limit?: { value: number; label: string };
}

const COLORS = ['#3b6fd8', '#d8563b', '#2e9e5b', '#8a4fd0', '#c9a227', '#555555'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v >= 10 ? v.toFixed(1) : v.toFixed(2));

export function lineChartSvg(c: LineChart): string {
  const width = 760;
  const height = 420;
  const left = 70;
  const right = 170;
  const top = 70;
  const bottom = 60;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const max = Math.max(1e-9, ...c.series.flatMap((s) => s.values.filter(Number.isFinite)), c.limit?.value ?? 0) * 1.15;
  const xAt = (i: number) => left + (c.x.length === 1 ? plotW / 2 : (i * plotW) / (c.x.length - 1));
  const yAt = (v: number) => top + plotH - (v / max) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${left}" y="26" font-size="16" font-weight="bold" fill="#222">${esc(c.title)}</text>`,
    `<text x="${left}" y="46" font-size="11" fill="#666">${esc(c.subtitle)}</text>`,
  ];
  for (let k = 0; k <= 4; k++) {
    const v = (max / 1.15) * (k / 4);
    const y = yAt(v);
    parts.push(
      `<line x1="${left}" y1="${y}" x2="${left + plotW}" y2="${y}" stroke="#e5e5e5"/>`,
      `<text x="${left - 8}" y="${y + 4}" font-size="11" text-anchor="end" fill="#666">${fmt(v)}</text>`,
    );
  }
  parts.push(
    `<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#999"/>`,
    `<text x="${left + plotW / 2}" y="${height - 14}" font-size="12" text-anchor="middle" fill="#444">${esc(c.xTitle)}</text>`,
    `<text x="16" y="${top + plotH / 2}" font-size="12" text-anchor="middle" fill="#444" transform="rotate(-90 16 ${top + plotH / 2})">${esc(c.yTitle)}</text>`,
  );
  c.x.forEach((label, i) => {
    parts.push(`<text x="${xAt(i)}" y="${top + plotH + 18}" font-size="11" text-anchor="middle" fill="#444">${esc(label)}</text>`);
  });
  if (c.limit) {
    const y = yAt(c.limit.value);
    parts.push(
      `<line x1="${left}" y1="${y}" x2="${left + plotW}" y2="${y}" stroke="#c00" stroke-dasharray="6 4"/>`,
      `<text x="${left + plotW - 4}" y="${y - 6}" font-size="11" text-anchor="end" fill="#c00">${esc(c.limit.label)}</text>`,
    );
  }
  const dense = c.x.length > 12;
  c.series.forEach((s, n) => {
    const color = COLORS[n % COLORS.length]!;
    const points = s.values.map((v, i) => [xAt(i), yAt(v)] as const).filter(([, y]) => Number.isFinite(y));
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`);
    if (!dense) {
      s.values.forEach((v, i) => {
        parts.push(
          `<circle cx="${xAt(i)}" cy="${yAt(v)}" r="3.5" fill="${color}"/>`,
          `<text x="${xAt(i)}" y="${yAt(v) - 8}" font-size="11" text-anchor="middle" fill="${color}">${fmt(v)}</text>`,
        );
      });
    }
    const ly = top + 10 + n * 20;
    parts.push(
      `<line x1="${left + plotW + 16}" y1="${ly}" x2="${left + plotW + 36}" y2="${ly}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${left + plotW + 42}" y="${ly + 4}" font-size="12" fill="#333">${esc(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
