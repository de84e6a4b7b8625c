/**
 * JSON.parse that keeps integers beyond 2^53 exact: such literals become strings before parsing,
 * so an int64 from a legacy service is never silently rounded. Only number tokens outside strings
 * with more than 15 digits and no fraction or exponent are touched.
 */
export function parseJsonLossless(text: string): unknown {
  let out: string | undefined;
  let last = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      i += 1;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i += 2;
        else if (d === 34) break;
        else i += 1;
      }
      i += 1;
      continue;
    }
    if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      const start = i;
      i += 1;
      while (i < n) {
        const d = text.charCodeAt(i);
        if ((d >= 48 && d <= 57) || d === 46 || d === 101 || d === 69 || d === 43 || d === 45) i += 1;
        else break;
      }
      const token = text.slice(start, i);
      const digits = token.startsWith('-') ? token.length - 1 : token.length;
      if (digits > 15 && /^-?\d+$/.test(token) && !Number.isSafeInteger(Number(token))) {
        out = (out ?? '') + text.slice(last, start) + `"${token}"`;
        last = i;
      }
      continue;
    }
    i += 1;
  }
  return JSON.parse(out === undefined ? text : out + text.slice(last));
}

/** JSON.stringify that writes bigint values (int64 fields) as exact number literals. */
export function stringifyJsonLossless(value: unknown): string {
  let found = false;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'bigint') return v;
    found = true;
    return `\u0000int64:${v.toString()}\u0000`;
  });
  return found ? text.replace(/"\\u0000int64:(-?\d+)\\u0000"/g, '$1') : text;
}
