// Tiny DOM helpers. Text from the API only ever goes in through textContent,
// never innerHTML, so a device name cannot inject markup into the screen.

/** el("div", {class: "x", dataset: {id: 1}}, "text", childNode, ...) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function byId(id) {
  return document.getElementById(id);
}

/** Set text only when it changed, so unchanged numbers do not repaint. */
export function setText(node, text) {
  const value = String(text);
  if (node && node.textContent !== value) node.textContent = value;
}

export function fmtNumber(n, digits = 0) {
  return Number.isFinite(n) ? n.toFixed(digits) : "–";
}

export function fmtPercent(fraction) {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(1)}%` : "–";
}
