// What every browser script of tests/web shares: checks counted for the "N passed, N failed"
// line, and screenshots checked not to be blank.
import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';

export const tally = { passed: 0, failed: 0 };

// Count one check; a failure prints its name and, when given, the tail of info.
export function check(name, cond, info) {
  if (cond) tally.passed++;
  else {
    tally.failed++;
    console.log('FAIL: ' + name + (info !== undefined ? '\n  ' + String(info).slice(-900) : ''));
  }
}

// A PNG is "not blank" when it is large enough and its decoded rows hold many distinct byte values.
export function pngNotBlank(file) {
  const b = readFileSync(file);
  const idat = [];
  for (let off = 8; off < b.length;) {
    const len = b.readUInt32BE(off), type = b.toString('latin1', off + 4, off + 8);
    if (type === 'IDAT') idat.push(b.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const seen = new Set();
  for (let i = 0; i < raw.length; i += 7) seen.add(raw[i]);
  return { ok: b.length > 8000 && seen.size > 24, size: b.length, distinct: seen.size };
}

// shot(page, name): a full-page screenshot OUT_DIR/PREFIX-NAME.png, checked not blank.
export function makeShot(outDir, prefix) {
  return async function shot(page, name) {
    const file = `${outDir}/${prefix}-${name}.png`;
    await page.screenshot({ path: file, fullPage: true });
    const r = pngNotBlank(file);
    check(`screenshot ${name} is not blank`, r.ok, JSON.stringify(r));
  };
}
