// DOM helpers. Every piece of text from the server (label values, annotations, host names)
// goes into the page through text nodes or attributes set by these helpers, never as HTML:
// a label containing <script> shows as those characters.

/**
 * Create an element. `attrs`: attributes and properties (`class`, `title`, `href`, `type`,
 * `value`, `disabled`, data-*, aria-*); keys starting with "on" attach event listeners
 * (`onclick: fn`). Children: strings (as text nodes), nodes, arrays of either; null and false
 * are skipped.
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      node.className = String(value);
    } else if (key in node && !key.includes("-")) {
      node[key] = value;
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

/** Append children (strings become text nodes). */
export function append(node, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Remove every child of `node`, then append `children`. */
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

/**
 * Name each cell of `table` after its column (`data-label`: the head's text, sort arrows left
 * out), for the one-column layout of a phone. Returns the table.
 */
export function labelCells(table) {
  const heads = [...(table.tHead?.rows[0]?.cells || [])].map((th) => th.textContent.replace(/[▲▼]/g, "").trim());
  for (const body of table.tBodies) {
    for (const row of body.rows) [...row.cells].forEach((td, i) => td.setAttribute("data-label", heads[i] ?? ""));
  }
  return table;
}
