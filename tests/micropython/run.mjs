// Run Python under MicroPython (the npm build PyScript pages load) in Node.
//
//   node tests/micropython/run.mjs TREE SCRIPT.py [ARG ...]
//
// TREE (a folder) is copied into the interpreter's file system at /app, which goes first on
// sys.path; SCRIPT.py runs as __main__ with sys.argv = [SCRIPT.py, ARG ...], awaited, so it
// may use top-level await. The exit code is 0 unless the script raises (SystemExit(n): n).
import { loadMicroPython } from '../../node_modules/@micropython/micropython-webassembly-pyscript/micropython.mjs';
import fs from 'node:fs';
import path from 'node:path';

const [tree, script, ...args] = process.argv.slice(2);
const mp = await loadMicroPython({
  stdout: (line) => process.stdout.write(line + '\n'),
  stderr: (line) => process.stderr.write(line + '\n'),
  linebuffer: true,
});

function copyInto(src, dest) {
  mp.FS.mkdirTree(dest);
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    const from = path.join(src, entry.name);
    const to = `${dest}/${entry.name}`;
    if (entry.isDirectory()) copyInto(from, to);
    else if (entry.isFile()) mp.FS.writeFile(to, fs.readFileSync(from));
  }
}
copyInto(path.resolve(tree), '/app');

const exitCode = new Promise((resolve) => { globalThis.__mpExit = resolve; });
mp.registerJsModule('_node', { exit: (code) => globalThis.__mpExit(code), env: process.env });
const source = fs.readFileSync(script, 'utf8');
const prelude = [
  'import sys',
  "sys.path.insert(0, '/app')",
  `sys.argv[:] = ${JSON.stringify([script, ...args])}`,
].join('\n');
try {
  await mp.runPythonAsync(prelude);
  await mp.runPythonAsync(source);
  process.exitCode = 0;
} catch (error) {
  const text = String(error && error.message || error);
  const code = text.match(/SystemExit: (\d+)/);
  if (!code) process.stderr.write(text + '\n');
  process.exitCode = code ? Number(code[1]) : 1;
}
