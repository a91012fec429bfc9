// Run Python under one of the page's interpreters, in Node: MicroPython (the npm build PyScript
// pages load) or Pyodide (npm, CPython 3.14).
//
//   node tests/micropython/run.mjs [--runtime micropython|pyodide] TREE SCRIPT.py [ARG ...]
//
// TREE (a folder) is copied into the interpreter's file system at /app, which goes first on
// sys.path; SCRIPT.py runs with sys.argv = [SCRIPT.py, ARG ...], awaited, so it may use
// top-level await. The exit code is 0 unless the script raises (SystemExit(n): n).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const modules = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../node_modules');
let argv = process.argv.slice(2);
let runtime = 'micropython';
if (argv[0] === '--runtime') {
  runtime = argv[1];
  argv = argv.slice(2);
}
const [tree, script, ...args] = argv;
const print = {
  stdout: (line) => process.stdout.write(line + '\n'),
  stderr: (line) => process.stderr.write(line + '\n'),
};

let py;
if (runtime === 'micropython') {
  const { loadMicroPython } = await import(`${modules}/@micropython/micropython-webassembly-pyscript/micropython.mjs`);
  py = await loadMicroPython({ ...print, linebuffer: true });
} else if (runtime === 'pyodide') {
  const { loadPyodide } = await import(`${modules}/pyodide/pyodide.mjs`);
  py = await loadPyodide({ indexURL: `${modules}/pyodide/`, stdout: print.stdout, stderr: print.stderr });
} else {
  process.stderr.write(`run.mjs: --runtime wants micropython or pyodide, not ${runtime}\n`);
  process.exit(2);
}

function copyInto(src, dest) {
  py.FS.mkdirTree(dest);
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    const from = path.join(src, entry.name);
    const to = `${dest}/${entry.name}`;
    if (entry.isDirectory()) copyInto(from, to);
    else if (entry.isFile()) py.FS.writeFile(to, fs.readFileSync(from));
  }
}
copyInto(path.resolve(tree), '/app');

const source = fs.readFileSync(script, 'utf8');
const prelude = [
  'import sys',
  "sys.path.insert(0, '/app')",
  `sys.argv[:] = ${JSON.stringify([script, ...args])}`,
].join('\n');
try {
  await py.runPythonAsync(prelude);
  await py.runPythonAsync(source);
  process.exitCode = 0;
} catch (error) {
  const text = String((error && error.message) || error);
  const code = text.match(/SystemExit: (\d+)/);
  if (!code) process.stderr.write(text + '\n');
  process.exitCode = code ? Number(code[1]) : 1;
}
