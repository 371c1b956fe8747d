"""The package's shape (docs/architecture.md): no import cycle among acdc_bench modules,
function-local imports included; no module over 450 lines; the leaf modules import nothing
of the project; the trainer never names a method's keys."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from acdc_bench.provenance import parse_source

PKG = Path(__file__).resolve().parent.parent / "acdc_bench"
MAX_LINES = 450


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PKG.rglob("*.py")}


def _is_package(name: str, modules: dict[str, Path]) -> bool:
    return name in modules and modules[name].name == "__init__.py"


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every acdc_bench module ``name`` imports anywhere (top level or inside functions),
    with the packages whose ``__init__`` Python runs on the way (except ``name``'s own)."""
    tree = parse_source(path.read_text(), filename=str(path))
    package = name if _is_package(name, modules) else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                targets.add(full if full in modules else base)
    found: set[str] = set()
    for t in targets:
        if not t.startswith("acdc_bench"):
            continue
        while t and t not in modules:
            t = t.rpartition(".")[0]
        parts = t.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix in modules and not (name == prefix or name.startswith(prefix + ".")):
                found.add(prefix)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set(), "c": {"a"}}) is None


def test_no_import_cycle():
    graph = _graph()
    assert "acdc_bench.errors" in graph
    assert "acdc_bench.errors" in graph["acdc_bench.validation"]  # the walker sees real imports
    cycle = _find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_leaf_modules_import_nothing_of_the_project():
    graph = _graph()
    assert graph["acdc_bench.errors"] == set()
    assert graph["acdc_bench.schedules"] <= {"acdc_bench.errors"}


def test_no_module_is_too_long():
    long = {str(p.relative_to(PKG.parent)): n for p in PKG.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_trainer_names_no_method_key():
    for path in (PKG / "trainer").rglob("*.py") if (PKG / "trainer").is_dir() else [PKG / "trainer.py"]:
        text = path.read_text()
        assert not re.search(r"[\"']dense[\"']", text), path
        assert not re.search(r"method\.name\s*==|\.name\s+in\s*\(", text), path


def test_checkpoints_load_as_data():
    offenders = [str(p) for p in PKG.rglob("*.py") if "weights_only=False" in p.read_text()]
    assert not offenders


# Modules that may read ``cfg.dataset`` itself: the data settings read it once; fingerprint.py
# edits a twin's config (the text cache folder) before the run starts.
DATASET_READERS = {"acdc_bench.data.datasets", "acdc_bench.fingerprint"}


def _raw_dataset_reads(tree: ast.AST) -> list[int]:
    """Lines with ``<...>cfg.dataset`` attribute reads (``cfg.dataset.eval_res``, ``run.cfg.dataset``)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "dataset":
            owner = node.value
            name = getattr(owner, "id", None) or getattr(owner, "attr", "")
            if name == "cfg":
                lines.append(node.lineno)
    return lines


def test_raw_dataset_read_finder_finds_one():
    assert _raw_dataset_reads(ast.parse("x = int(run.cfg.dataset.eval_res)\ny = cfg.model.name")) == [1]


def test_settings_are_read_once_no_raw_dataset_reads():
    """``cfg.dataset`` is read once into ``DataSettings`` (docs/architecture.md, Settings); every
    other module takes the fields of that object, handed down by the task or the loaded run."""
    found = {name: lines for name, path in _modules().items() if name not in DATASET_READERS
             and (lines := _raw_dataset_reads(parse_source(path.read_text())))}
    assert found == {}
