"""Run pytest-style test modules under MicroPython; one JSON line per test on stdout.

    node tests/micropython/run.mjs TREE tests/micropython/runner.py MANIFEST [MODULE ...]

MANIFEST (JSON, written by test_micropython.py) maps each module to its module-level
functions' parameter names. A test's parameters are filled from its ``parametrize`` marks,
then from fixtures (the module's, then its package's ``conftest``), a fixture with ``params``
running the test once per param, a generator fixture finishing after the test. A test marked
``anyio`` is awaited. A test asking for a fixture only pytest has (``tmp_path``, ``caplog``...)
is reported as skipped with that reason, never silently dropped.
"""

import json
import sys

if sys.implementation.name == "micropython":
    import cpython_compat  # noqa: F401 - as web/main.py does on MicroPython pages

import pytest

manifest = json.load(open(sys.argv[1]))
modules = sys.argv[2:]


def print_exception(error):
    if hasattr(sys, "print_exception"):  # MicroPython
        sys.print_exception(error)
    else:
        import traceback

        traceback.print_exception(error)


def emit(test_id, outcome, detail=""):
    print(json.dumps({"id": test_id, "outcome": outcome, "detail": detail}))


class Unavailable(Exception):
    pass


def fixtures_of(module_name):
    """name -> (function, FixtureDef), the conftest's first, the module's over them."""
    found = {}
    package = module_name.rpartition(".")[0]
    for name in (package + ".conftest", module_name):
        if name not in manifest:
            continue
        try:
            module = __import__(name, None, None, ["x"])
        except ImportError as error:
            if name == module_name:
                raise
            print(json.dumps({"id": name, "outcome": "unimportable", "detail": str(error)}))
            continue
        for attr in manifest[name]:
            func = getattr(module, attr, None)
            if func in pytest.FIXTURES:
                found[attr] = (name, func, pytest.FIXTURES[func])
    return found


def marks_of(func, module):
    own = list(pytest.MARKS.get(func, []))
    extra = getattr(module, "pytestmark", [])
    if not isinstance(extra, list):
        extra = [extra]
    return own + extra


def split_names(names):
    if isinstance(names, str):
        return [n.strip() for n in names.split(",") if n.strip()]
    return list(names)


def parametrizations(marks):
    """[(id suffix, {name: value})] from the parametrize marks (their cartesian product)."""
    combos = [("", {})]
    for m in reversed(marks):
        if m.name != "parametrize":
            continue
        names = split_names(m.args[0])
        values = list(m.args[1])
        ids = m.kwargs.get("ids")
        new = []
        for i, value in enumerate(values):
            if isinstance(value, pytest.param):
                label, value = value.id, value.values
            else:
                label = None
            row = value if len(names) > 1 else (value,)
            if label is None:
                label = str(ids[i]) if ids is not None and not callable(ids) else _label(row, names[0], i)
            for suffix, bound in combos:
                merged = dict(bound)
                merged.update(zip(names, row))
                new.append((suffix + ("-" if suffix else "") + label, merged))
        combos = new
    return combos


def _label(row, name, index):
    simple = all(v is None or isinstance(v, (str, int, float)) for v in row)
    return "-".join(str(v) for v in row) if simple else name + str(index)


BUILTIN_ONLY = ("tmp_path", "caplog", "monkeypatch", "capsys", "tmp_path_factory", "recwarn")


def closure(name, fixtures, seen):
    """The fixtures ``name`` needs, itself last, each once."""
    if name in seen:
        return []
    seen.add(name)
    if name in BUILTIN_ONLY or name not in fixtures:
        raise Unavailable(name)
    module = fixtures[name][0]
    out = []
    for dep in manifest[module][name]:
        if dep != "request":
            out.extend(closure(dep, fixtures, seen))
    out.append(name)
    return out


async def run_one(test_id, func, args, bound, fixtures, is_async):
    values = dict(bound)
    finish = []
    try:
        needed = []
        seen = set(bound)
        for name in args:
            if name not in values:
                needed.extend(closure(name, fixtures, seen))
        for name in needed:
            module, fixture_func, _ = fixtures[name]
            kwargs = {}
            for dep in manifest[module][name]:
                kwargs[dep] = pytest.FixtureRequest() if dep == "request" else values[dep]
            result = fixture_func(**kwargs)
            if type(result).__name__ == "generator":
                finish.append(result)
                result = next(result)
            values[name] = result
        result = func(**{name: values[name] for name in args})
        if is_async and type(result).__name__ in ("generator", "coroutine"):  # MicroPython's are generators
            await result
        emit(test_id, "passed")
    except Unavailable as missing:
        emit(test_id, "skipped", "needs pytest's %s fixture" % missing.args[0])
    except pytest.Skipped as why:
        emit(test_id, "skipped", str(why))
    except Exception as error:
        emit(test_id, "failed", "%s: %s" % (type(error).__name__, error))
        print_exception(error)
    finally:
        for gen in reversed(finish):
            try:
                next(gen)
            except StopIteration:
                pass


def fixture_param_runs(args, fixtures, bound):
    """[(suffix, {fixture name: param})] for fixtures with params among what the test needs."""
    runs = [("", {})]
    try:
        seen = set(bound)
        names = []
        for name in args:
            if name not in bound:
                names.extend(closure(name, fixtures, seen))
    except Unavailable:
        return runs
    for name in names:
        spec = fixtures[name][2]
        if spec.params:
            runs = [(s + ("-" if s else "") + str(p), dict(d, **{name: p})) for s, d in runs for p in spec.params]
    return runs


async def main():
    for module_name in modules:
        try:
            module = __import__(module_name, None, None, ["x"])
            fixtures = fixtures_of(module_name)
        except Exception as error:  # reported, and the next module still runs
            emit(module_name, "unimportable", "%s: %s" % (type(error).__name__, error))
            print_exception(error)
            continue
        for name, args in manifest[module_name].items():
            func = getattr(module, name, None)
            if not name.startswith("test") or func is None or func in pytest.FIXTURES:
                continue
            marks = marks_of(func, module)
            if any(m.name == "skipif" and m.args and m.args[0] for m in marks):
                emit(module_name + "::" + name, "skipped", "skipif")
                continue
            is_async = any(m.name == "anyio" for m in marks)
            for suffix, bound in parametrizations(marks):
                for psuffix, fparams in fixture_param_runs(args, fixtures, bound):
                    label = "-".join(x for x in (suffix, psuffix) if x)
                    test_id = module_name + "::" + name + ("[" + label + "]" if label else "")
                    await run_one_with_params(test_id, func, args, bound, fixtures, is_async, fparams)


async def run_one_with_params(test_id, func, args, bound, fixtures, is_async, fparams):
    if not fparams:
        await run_one(test_id, func, args, bound, fixtures, is_async)
        return
    # A fixture with params gets its param through ``request.param``.
    patched = {}
    for name, value in fparams.items():
        module, fixture_func, spec = fixtures[name]

        def with_param(_f=fixture_func, _v=value, **kwargs):
            if "request" in kwargs:
                kwargs["request"] = pytest.FixtureRequest(_v)
            return _f(**kwargs)

        patched[name] = (module, with_param, spec)
    merged = dict(fixtures)
    merged.update(patched)
    await run_one(test_id, func, args, bound, merged, is_async)


await main()  # noqa: F704 - run.mjs awaits the script
