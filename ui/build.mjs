// Build the dashboard into src/multimonx/web/static/ (generated, gitignored), as
// scripts/setup runs it (`npm run build`):
//   index.html        ui/index.html, its /assets/app.{js,css} references given ?v=<content hash>
//   assets/app.js     src/main.js and everything it imports, one minified ES module
//   assets/app.css    uPlot's stylesheet, src/app.css and the pages' stylesheets, minified
//                     (pages never import CSS from JavaScript: it would be a second bundle)
//   assets/*.map      source maps
// MMX_UI_MINIFY=0 builds without minifying (readable names in a browser's profiles).
// The server sends /assets/* with a long cache lifetime when the URL carries ?v= and
// index.html with no-cache, so a rebuild reaches browsers on their next page load.
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "src", "multimonx", "web", "static");
const assets = join(out, "assets");

const common = {
  bundle: true,
  minify: process.env.MMX_UI_MINIFY !== "0",
  sourcemap: "linked",
  logLevel: "warning",
  target: ["es2022"],
  legalComments: "linked",
};

async function main() {
  await rm(out, { recursive: true, force: true });
  await mkdir(assets, { recursive: true });
  await esbuild.build({
    ...common,
    entryPoints: [join(here, "src", "main.js")],
    outfile: join(assets, "app.js"),
    format: "esm",
  });
  await esbuild.build({
    ...common,
    stdin: {
      contents:
        '@import "uplot/dist/uPlot.min.css";\n@import "./src/app.css";\n' +
        '@import "./src/pages/alerts.css";\n',
      resolveDir: here,
      loader: "css",
      sourcefile: "app-entry.css",
    },
    outfile: join(assets, "app.css"),
  });
  let html = await readFile(join(here, "index.html"), "utf8");
  for (const name of ["app.js", "app.css"]) {
    const reference = `/assets/${name}`;
    if (!html.includes(`"${reference}"`)) {
      throw new Error(`ui/index.html must reference "${reference}"`);
    }
    const hash = createHash("sha256")
      .update(await readFile(join(assets, name)))
      .digest("hex")
      .slice(0, 16);
    html = html.replaceAll(`"${reference}"`, `"${reference}?v=${hash}"`);
  }
  await writeFile(join(out, "index.html"), html);
}

main().catch((err) => {
  console.error(`build: ${err.message}`);
  process.exit(1);
});
