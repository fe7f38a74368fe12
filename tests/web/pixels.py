"""Read pixels of a screenshot, decoded by the browser itself (no image library).

Screenshots are what the user sees (WebGL canvas composited with the page),
so checks on them are checks of the rendering, not of the DOM.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from playwright.sync_api import Browser

_STATS_JS = """
async ({url, points}) => {
  const img = new Image();
  img.src = url;
  await img.decode();
  const c = document.createElement('canvas');
  c.width = img.width; c.height = img.height;
  const g = c.getContext('2d');
  g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let bright = 0, cyan = 0, roof = 0, magenta = 0;
  const colours = new Set();
  for (let i = 0; i < d.length; i += 4) {
    const r = d[i], gr = d[i + 1], b = d[i + 2];
    if (Math.max(r, gr, b) > 100) bright++;
    if (gr > 170 && b > 150 && r < 70) cyan++;
    if (r > 90 && b > 90 && gr < 0.5 * Math.min(r, b)) magenta++;  // the test backdrop's tower
    // The sand tone of modelled roofs (web/cockpit/model3d.js ROOF_COLOR), lit or shaded.
    if (r >= gr && gr > b && b > 0.45 * r && r - b > 18 && r > 60) roof++;
    colours.add((r >> 3) << 10 | (gr >> 3) << 5 | (b >> 3));
  }
  // Mean colour of a 5x5 patch around each probe point.
  const probe = ({x, y}) => {
    let n = 0, sr = 0, sg = 0, sb = 0;
    for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) {
      const px = Math.round(x) + dx, py = Math.round(y) + dy;
      if (px < 0 || py < 0 || px >= c.width || py >= c.height) continue;
      const k = (py * c.width + px) * 4;
      sr += d[k]; sg += d[k + 1]; sb += d[k + 2]; n++;
    }
    return n ? [sr / n, sg / n, sb / n] : [0, 0, 0];
  };
  return {width: c.width, height: c.height, bright: bright / (c.width * c.height),
          cyan, roof, magenta, colours: colours.size, probes: points.map(probe)};
}
"""


@dataclass(frozen=True)
class PixelStats:
    width: int
    height: int
    bright_fraction: float  # pixels with a channel above 100: lit building faces
    distinct_colours: int  # at 5 bits per channel
    cyan_pixels: int  # the colour of grid outlines
    roof_pixels: int  # the sand tone of modelled roofs
    magenta_pixels: int  # the browser tests' backdrop tower
    probes: list[tuple[float, float, float]]


def pixel_stats(
    browser: Browser, png: bytes, points: Sequence[tuple[float, float]] = ()
) -> PixelStats:
    page = browser.new_page()
    try:
        url = "data:image/png;base64," + base64.b64encode(png).decode()
        probes = [{"x": x, "y": y} for x, y in points]
        raw = page.evaluate(_STATS_JS, {"url": url, "points": probes})
    finally:
        page.close()
    return PixelStats(
        width=raw["width"],
        height=raw["height"],
        bright_fraction=raw["bright"],
        distinct_colours=raw["colours"],
        cyan_pixels=raw["cyan"],
        roof_pixels=raw["roof"],
        magenta_pixels=raw["magenta"],
        probes=[tuple(p) for p in raw["probes"]],
    )


def hue(rgb: tuple[float, float, float]) -> str:
    """Rough name of a shaded status colour: red, amber, blue, grey or dark.

    >>> hue((200, 40, 50)), hue((230, 160, 10)), hue((40, 100, 150)), hue((100, 105, 112))
    ('red', 'amber', 'blue', 'grey')
    """
    r, g, b = rgb
    if max(r, g, b) < 45:
        return "dark"
    if r > 1.8 * g and r > 1.8 * b:
        return "red"
    if r > 1.4 * b and g > 1.4 * b and r >= g:
        return "amber"
    if b > 1.25 * r and b > g:
        return "blue"
    return "grey"
