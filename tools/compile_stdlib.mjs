// Compile a stdlib zip's modules to bytecode with Pyodide's own CPython (run by tools/vendor.py).
//
//   node tools/compile_stdlib.mjs <folder with pyodide.mjs> <in.zip> <out.zip>
//
// Pyodide's python_stdlib.zip holds sources: a page that boots without the memory snapshot
// compiles every module it imports, about 1 s of its start on these cores (bench/README.md).
// The out zip holds `name.pyc` in place of each `name.py` (sourceless: zipimport loads it
// without looking for a source), in the same order, stored, with the same dates and
// attributes; other members are copied. The bytecode is CPython's for this very Pyodide
// (its magic number), written as unchecked hash-based .pyc files (PEP 552: no timestamps),
// so the same input gives the same bytes.

import { readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const COMPILE = `
import importlib._bootstrap_external as bootstrap
import importlib.util
import sys
import zipfile

# Where Pyodide puts its stdlib zip (Python 3.14: /lib/python314.zip): the path zipimport
# gives the modules of this zip, which tracebacks name.
ARCHIVE = "/lib/python%d%d.zip" % sys.version_info[:2]

with zipfile.ZipFile(SOURCE) as src, zipfile.ZipFile(TARGET, "w", zipfile.ZIP_STORED) as out:
    for info in src.infolist():
        data = src.read(info)
        name = info.filename
        if name.endswith(".py"):
            code = compile(data, ARCHIVE + "/" + name, "exec", dont_inherit=True)
            data = bytes(bootstrap._code_to_hash_pyc(code, importlib.util.source_hash(data), checked=False))
            name += "c"
        member = zipfile.ZipInfo(name, info.date_time)
        member.external_attr = info.external_attr
        member.create_system = info.create_system
        out.writestr(member, data)
`;

async function main(folder, source, target) {
  if (!folder || !source || !target) {
    throw new Error("usage: node tools/compile_stdlib.mjs <folder with pyodide.mjs> <in.zip> <out.zip>");
  }
  const indexURL = path.resolve(folder) + path.sep;
  const { loadPyodide } = await import(pathToFileURL(indexURL + "pyodide.mjs").href);
  const pyodide = await loadPyodide({ indexURL, stdout: () => {}, stderr: (line) => process.stderr.write(line + "\n") });
  pyodide.FS.mkdirTree("/work");
  pyodide.FS.writeFile("/work/in.zip", new Uint8Array(readFileSync(source)));
  const globals = pyodide.toPy({ SOURCE: "/work/in.zip", TARGET: "/work/out.zip" });
  pyodide.runPython(COMPILE, { globals });
  globals.destroy();
  writeFileSync(target + ".tmp", pyodide.FS.readFile("/work/out.zip"));
  renameSync(target + ".tmp", target);
}

main(process.argv[2], process.argv[3], process.argv[4]).catch((err) => {
  console.error(`compile_stdlib: ${err.stack || err}`);
  process.exit(1);
});
