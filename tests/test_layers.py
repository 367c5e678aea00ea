"""The direction of imports, read from the source (ast) of every module: dags -> jobs -> spark layer -> library.

- Only faqmine.spark imports pyspark or airflow; nothing else in src/faqmine does, not even lazily
  inside a function.
- Only faqmine.simulate itself and the commands (faqmine.commands) import faqmine.simulate: the
  library never depends on the crawl simulator that tests it.
- Only faqmine.spark imports faqmine.spark: the library does not know the Spark layer.
- Nothing in src imports jobs/ or dags/ (by name, or by loading a file); jobs/ imports no dags/,
  no Airflow; dags/ import no jobs/, no pyspark and no Spark layer.

Every import counts: top level, inside functions, under `if TYPE_CHECKING`, and
`importlib.import_module`/`__import__` with a literal (or the literal start of an f-string) name.
An exception is allowed only in ALLOWED, with the reason, and an exception that no longer occurs
fails too, so the list cannot outlive what it excuses.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from helpers.paths import REPO

SRC = REPO / "src"
LOADERS = {"spec_from_file_location", "run_path", "SourceFileLoader", "exec_module"}

# (importing module, imported package) -> why it is allowed. Empty: every rule holds without exceptions.
ALLOWED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted (faqmine.core.schemas), or a path for jobs/ and dags/
    target: str  # the imported module, dotted
    line: int

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _literal_prefix(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return str(node.values[0].value).rstrip(".")
    return None


def imports_of(path: Path, module: str, package: str) -> tuple[list[Import], list[Import]]:
    """(imports, code loaded from files) of one source file; `package` resolves relative imports."""
    found, loaders = [], []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join([*parts, *([base] if base else [])])
            found.append(Import(module, base, node.lineno))
            # `from faqmine import simulate` imports faqmine.simulate: count each name as a possible submodule
            found += [Import(module, f"{base}.{alias.name}", node.lineno) for alias in node.names if alias.name != "*"]
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("import_module", "__import__") and node.args:
                target = _literal_prefix(node.args[0])
                if target:
                    found.append(Import(module, target, node.lineno))
            elif name in LOADERS:
                loaders.append(Import(module, f"<code loaded by {name}>", node.lineno))
    return found, loaders


def library_imports() -> tuple[list[Import], list[Import], int]:
    found, loaders, n = [], [], 0
    for path in sorted((SRC / "faqmine").rglob("*.py")):
        module = module_name(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        imports, loaded = imports_of(path, module, package)
        found += imports
        loaders += loaded
        n += 1
    return found, loaders, n


def script_imports(folder: str) -> list[Import]:
    found = []
    for path in sorted((REPO / folder).glob("*.py")):
        found += imports_of(path, f"{folder}/{path.name}", "")[0]
    return found


def within(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def library_violations(imports: list[Import]) -> list[Import]:
    """The imports in src/faqmine that break a rule of the module docstring."""
    bad = []
    for imp in imports:
        in_spark = within(imp.module, "faqmine.spark")
        if within(imp.target, "pyspark", "airflow") and not in_spark:
            bad.append(imp)
        elif within(imp.target, "faqmine.spark") and not in_spark:
            bad.append(imp)
        elif within(imp.target, "faqmine.simulate") and not within(imp.module, "faqmine.simulate", "faqmine.commands"):
            bad.append(imp)
        elif within(imp.target, "jobs", "dags"):
            bad.append(imp)
    return bad


def test_the_library_imports_only_downwards():
    imports, loaders, n = library_imports()
    assert n >= 50 and len(imports) >= 200, (n, len(imports))  # the walk saw the whole package
    # the checks can see what they look for: the Spark layer does import pyspark and the library
    assert any(within(i.module, "faqmine.spark") and within(i.target, "pyspark") for i in imports)
    assert any(within(i.module, "faqmine.spark") and within(i.target, "faqmine.core") for i in imports)
    bad = library_violations(imports) + loaders

    def excused(imp: Import, key: tuple[str, str]) -> bool:
        return imp.module == key[0] and within(imp.target, key[1])

    unexcused = [str(i) for i in bad if not any(excused(i, key) for key in ALLOWED)]
    assert not unexcused, "imports against the direction dags -> jobs -> spark -> library:\n" + "\n".join(unexcused)
    stale = [key for key in ALLOWED if not any(excused(i, key) for i in bad)]
    assert not stale, f"ALLOWED lists exceptions that no longer occur: {stale}"


def test_a_violating_import_is_found(tmp_path):
    """The rules catch each kind of violation, also inside a function and relative."""
    source = tmp_path / "bad.py"
    source.write_text("def f():\n    import pyspark.sql\n    from ..spark import session\n"
                      "    from faqmine import simulate\n    import jobs.extract\n"
                      "    importlib.import_module(f'airflow.{x}')\n", encoding="utf-8")
    imports, _ = imports_of(source, "faqmine.dedup.bad", "faqmine.dedup")
    targets = sorted({i.target for i in library_violations(imports)})
    assert targets == ["airflow", "faqmine.simulate", "faqmine.spark", "faqmine.spark.session",
                       "jobs.extract", "pyspark.sql"], targets
    assert library_violations([Import("faqmine.spark.dedup", "pyspark.sql", 1),
                               Import("faqmine.commands.simulate", "faqmine.simulate.crawl", 1),
                               Import("faqmine.simulate.crawl", "faqmine.simulate.xquad", 1)]) == []


def test_jobs_and_dags_keep_their_direction():
    jobs, dags = script_imports("jobs"), script_imports("dags")
    assert jobs and dags  # the folders were read
    bad = [str(i) for i in jobs if within(i.target, "dags", "airflow")]
    bad += [str(i) for i in dags if within(i.target, "jobs", "pyspark", "faqmine.spark")]
    assert not bad, "\n".join(bad)
