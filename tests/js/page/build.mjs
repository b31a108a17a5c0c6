// Bundles page/app.js with esbuild into a folder that also gets index.html, ready to serve.
// As a script: `node page/build.mjs OUTDIR`; the browser test imports buildPage().

import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));

export async function buildPage(outdir) {
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: [path.join(here, 'app.js')],
    outfile: path.join(outdir, 'app.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    sourcemap: 'inline',
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  copyFileSync(path.join(here, 'index.html'), path.join(outdir, 'index.html'));
  return outdir;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = process.argv[2];
  if (!outdir) {
    console.error('usage: node page/build.mjs OUTDIR');
    process.exit(2);
  }
  await buildPage(path.resolve(outdir));
  console.log(`page built in ${outdir}`);
}
