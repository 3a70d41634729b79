"""The code's shape, as issue 23 asks: a thin CLI, no module doing three jobs' worth of lines, no import circle."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "voicecoach"
# listening/ is split by its own issue (24).
NOT_YET = ("voicecoach/listening/",)


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The voicecoach modules `path` imports, at the top or inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return {name for name in names if name in known and name != "voicecoach"}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in graph[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                other = stack.pop()
                group.append(other)
                if other == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in graph:
        if module not in index:
            visit(module)
    return found


def relative(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def test_the_cli_only_parses_and_dispatches():
    assert len((PACKAGE / "cli.py").read_text("utf-8").splitlines()) < 250


def test_no_module_is_over_450_lines():
    long = {relative(path): len(path.read_text("utf-8").splitlines()) for path in modules().values()
            if not relative(path).startswith(NOT_YET)}
    assert {name: count for name, count in long.items() if count > 450} == {}


def test_no_import_circle():
    known = modules()
    graph = {name: imports(path, known) for name, path in known.items()}
    assert circles(graph) == []
