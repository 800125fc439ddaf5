// Bundles the dashboard with esbuild into OUT_DIR:
//   OUT_DIR/index.html                     (names the hashed files below)
//   OUT_DIR/assets/app-<hash>.js           (ES module: the views)
//   OUT_DIR/assets/charts-<hash>.js        (the charts and Observable Plot,
//                                           imported when a view draws one)
//   OUT_DIR/assets/chunk-<hash>.js         (code both share, if any)
//   OUT_DIR/assets/app-<hash>.css
//   OUT_DIR/assets/favicon-<hash>.svg
//   OUT_DIR/assets/third-party-licenses.txt (of the npm packages bundled)
// and the esbuild metafile (what each output holds) beside OUT_DIR.
//
//   node build.mjs [--npm DIR] [--out DIR] [--metafile FILE]
// --npm: the directory whose node_modules holds the locked packages (npm ci
// --ignore-scripts there; default: this directory). CMake passes its build
// directory's copy, so the source tree stays clean.
import {createRequire} from 'node:module';
import {mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? path.resolve(args[i + 1]) : fallback;
};
const npmDir = option('--npm', here);
const outDir = option('--out', path.join(here, 'dist'));
const metafilePath = option('--metafile', path.join(path.dirname(outDir), `${path.basename(outDir)}.meta.json`));
const nodeModules = path.join(npmDir, 'node_modules');
const require = createRequire(path.join(nodeModules, 'noop.js'));
const esbuild = require('esbuild');

const started = Date.now();
rmSync(outDir, {recursive: true, force: true});
mkdirSync(path.join(outDir, 'assets'), {recursive: true});

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: {app: path.join(here, 'src/main.js')},
  bundle: true,
  format: 'esm',
  // src/charts/load.js imports the charts (and Plot) on demand: a chunk of
  // their own, fetched while the first view waits for its API answers.
  splitting: true,
  minify: true,
  target: 'chrome120',
  platform: 'browser',
  outdir: path.join(outDir, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  chunkNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',  // the licences are in third-party-licenses.txt
  nodePaths: [nodeModules],
  charset: 'utf8',
  loader: {'.svg': 'file'},
  logLevel: 'warning',
  // No eval or new Function in the bundle (the CSP has no 'unsafe-eval').
  supported: {},
});

const outputs = Object.entries(result.metafile.outputs);
const js = outputs.find(([, o]) => o.entryPoint === 'src/main.js') ??
  outputs.find(([file]) => /app-[A-Z0-9]+\.js$/.test(file));
const jsFile = path.basename(js[0]);
const cssFile = js[1].cssBundle ? path.basename(js[1].cssBundle) : null;
if (!cssFile) throw new Error('esbuild produced no CSS bundle for src/main.js');

// The charts' chunk, and what the first script loads before it runs: the
// entry and its static imports, none of which may hold npm code (Plot and
// d3 are the charts'; in the first script they delay every view's
// requests).
const charts = outputs.find(([, o]) => o.entryPoint === 'src/charts/charts.js');
if (!charts) throw new Error('esbuild produced no chunk for src/charts/charts.js (src/charts/load.js imports it)');
const firstScript = new Set();
const addStatic = (file) => {
  if (firstScript.has(file)) return;
  firstScript.add(file);
  for (const i of result.metafile.outputs[file].imports) if (i.kind === 'import-statement') addStatic(i.path);
};
addStatic(js[0]);
// Fetched from the start, not when the script that imports them is parsed.
const preloads = [...firstScript].filter((f) => f !== js[0])
  .map((f) => `<link rel="modulepreload" href="assets/${path.basename(f)}">`).join('\n');
for (const file of firstScript) {
  const npm = Object.keys(result.metafile.outputs[file].inputs).filter((i) => i.includes('node_modules/'));
  if (npm.length) throw new Error(`the first script (${path.basename(file)}) holds npm code, which belongs in the charts' chunk: ${npm.slice(0, 3).join(', ')}`);
}

// The favicon: esbuild's content-hashed copy (app.css uses it too).
const faviconOut = outputs.find(([file, o]) => /favicon-[A-Z0-9]+\.svg$/.test(file) && o.inputs['src/favicon.svg']);
if (!faviconOut) throw new Error('esbuild produced no favicon (app.css must use src/favicon.svg)');
const faviconFile = path.basename(faviconOut[0]);

// Licences of the npm packages inside the bundle (Observable Plot, d3, ...).
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (m && !packages.has(m[1])) packages.set(m[1], path.join(nodeModules, m[1]));
}
const licences = [...packages].sort(([a], [b]) => a.localeCompare(b)).map(([pkg, dir]) => {
  const meta = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
  return `${pkg} ${meta.version} (${meta.license ?? 'see below'})\n${'-'.repeat(60)}\n${file ? readFileSync(path.join(dir, file), 'utf8').trim() : '(no licence file in the package)'}\n`;
});
writeFileSync(path.join(outDir, 'assets', 'third-party-licenses.txt'),
  `Third-party packages bundled into the aesignal dashboard (${jsFile}):\n\n${licences.join('\n')}`);

const html = readFileSync(path.join(here, 'src/index.html'), 'utf8')
  .replace('%APP_JS%', jsFile)
  .replace('%APP_CSS%', cssFile)
  .replace('%PRELOADS%', preloads)
  .replace('%FAVICON%', faviconFile);
if (/%[A-Z_]+%/.test(html)) throw new Error('index.html: unreplaced placeholder');
writeFileSync(path.join(outDir, 'index.html'), html);

// What the page must never need under its CSP, in any of its scripts.
for (const [file] of outputs.filter(([f]) => f.endsWith('.js'))) {
  const script = readFileSync(path.resolve(here, file), 'utf8');
  for (const [what, re] of [['eval', /\beval\(/], ['new Function', /new Function\(/], ['inline style attribute', /setAttribute\(\s*["']style["']/]]) {
    if (re.test(script)) throw new Error(`${path.basename(file)} uses ${what}, which the Content-Security-Policy refuses`);
  }
}
writeFileSync(metafilePath, JSON.stringify(result.metafile, null, 1));
const sizes = outputs.map(([file, o]) => `${path.basename(file)} ${(o.bytes / 1024).toFixed(1)} KiB`);
console.log(`web: ${sizes.join(', ')}, index.html -> ${jsFile} (${Date.now() - started} ms)`);
