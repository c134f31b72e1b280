// A cover for every tune, made in the browser: deterministic from the tune's MD5 (pattern
// and colours from the C64's 16-colour palette), with its title and author. Used on the
// now-playing card and as the lock screen's artwork. Returns a PNG data: URL (the page's
// CSP allows data: images, not blob: ones).
const PALETTE = ["#000000", "#ffffff", "#883932", "#67b6bd", "#8b3f96", "#55a049", "#40318d", "#bfce72",
  "#8b5429", "#574200", "#b86962", "#505050", "#787878", "#94e089", "#7869c4", "#9f9f9f"];
const cache = new Map();

function bytes(md5) {
  const out = [];
  for (let i = 0; i + 1 < md5.length; i += 2) out.push(parseInt(md5.slice(i, i + 2), 16) || 0);
  while (out.length < 16) out.push(out.length * 37 & 255);
  return out;
}

export function coverURL(tune, size = 256) {
  const key = `${tune.md5}:${size}`;
  if (cache.has(key)) return cache.get(key);
  const b = bytes(tune.md5 || "");
  const c = document.createElement("canvas");
  c.width = c.height = size;
  const g = c.getContext("2d");
  const bg = b[0] & 15, fg = (b[1] & 15) === bg ? (bg + 7) & 15 : b[1] & 15, ac = (b[2] & 15) === bg ? (bg + 3) & 15 : b[2] & 15;
  g.fillStyle = PALETTE[bg];
  g.fillRect(0, 0, size, size);
  // An 8x8 mirrored block pattern (as C64 character graphics), top two thirds.
  const cell = size / 8, rows = 5;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < 4; x++) {
      const bit = (b[3 + ((y * 4 + x) >> 3)] >> ((y * 4 + x) & 7)) & 1;
      if (!bit) continue;
      g.fillStyle = (b[8 + y] >> x) & 1 ? PALETTE[ac] : PALETTE[fg];
      g.fillRect(x * cell, y * cell, cell, cell);
      g.fillRect((7 - x) * cell, y * cell, cell, cell);
    }
  }
  // Title and author on a band, in the C64's blues.
  g.fillStyle = "#40318d";
  g.fillRect(0, rows * cell, size, size - rows * cell);
  g.fillStyle = "#ffffff";
  g.textBaseline = "top";
  const fit = (text, px, y) => {
    g.font = `bold ${px}px monospace`;
    let t = text || "";
    while (t.length > 1 && g.measureText(t).width > size - cell) t = t.slice(0, -2) + "…";
    g.fillText(t, cell / 2, y);
  };
  fit(tune.title || tune.path, Math.round(size / 11), rows * cell + cell * 0.35);
  g.fillStyle = "#a5a0e8";
  fit(tune.author || "", Math.round(size / 15), rows * cell + cell * 1.6);
  const url = c.toDataURL("image/png");
  if (cache.size > 32) cache.delete(cache.keys().next().value);
  cache.set(key, url);
  return url;
}
