"""The layers of the house, checked on the code's imports, as test_access.py walks the routes.

Every import in hub/, blueprints/, search_index/ and wsgi.py counts: at module level, inside a
function, under ``if TYPE_CHECKING``. An import names one file (``from hub.services import notes``
names hub/services/notes.py, ``from hub.models import Note`` names hub/models/__init__.py); the
package ``__init__`` files Python runs on the way are not counted as arrows, or every module would
import the app factory.

The arrows the design allows (README, "Layout"; A -> B: A imports B):

    wsgi -> hub (the app factory) -> blueprints (blueprints.init_app: the web side)
    blueprints.<face> -> blueprints.web -> hub.services -> hub.models -> hub.extensions
    blueprints -> search_index (its door, search_index/__init__.py)
    hub.services.vocabulary -> search_index (its door: admins' glossary rows follow search's rules)
    search_index -> hub.models, hub.events, hub.text, hub.worker, and of the services only
                    hub.services.visibility (search re-checks who may see each note it found)
    inside search_index: searcher -> query -> engine -> schema -> analysis -> concepts -> glossary
                         -> folding; engine and schema -> postings; excerpts -> folding

and never: the core (hub/, search_index/) to the web side (blueprints, or Flask's request globals,
directly or through another module), models to anything but models and the extensions, anything
but the factory to a blueprint, one face to another face's modules, a name with a leading
underscore across files, or a cycle between files.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hub", "blueprints", "search_index")
FACTORY = "hub"
WEB = "blueprints"
SHARED_WEB = "blueprints.web"
SEARCH_DOOR = "search_index"
# What only exists while a request is handled: the core must never need it.
REQUEST_TIME = {
    "flask": {"request", "session", "g", "flash", "render_template", "render_template_string", "redirect",
              "url_for", "abort", "make_response", "has_request_context", "after_this_request", "stream_with_context"},
    "flask.globals": {"request", "session", "g", "request_ctx"},
    "flask_login": {"current_user", "login_user", "logout_user", "login_required"},
}


@dataclass(frozen=True)
class Import:
    """One import statement's arrow from a project file to a project file, or to an outside module."""

    source: str
    target: str
    names: tuple[str, ...]
    line: int
    internal: bool

    def __str__(self) -> str:
        names = f" ({', '.join(self.names)})" if self.names else ""
        return f"{self.source}:{self.line} -> {self.target}{names}"


@cache
def modules() -> dict[str, Path]:
    """Return every project module by its dotted name."""
    found = {"wsgi": ROOT / "wsgi.py"}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _package_of(name: str) -> str:
    return name if modules()[name].name == "__init__.py" else name.rpartition(".")[0]


def _resolve(module: str) -> str | None:
    """Return the longest prefix of ``module`` that is a project module."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules():
            return candidate
    return None


def _imports_in(name: str) -> Iterator[Import]:
    tree = ast.parse(modules()[name].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _resolve(alias.name) if alias.name.split(".")[0] in PACKAGES + ("wsgi",) else None
                yield Import(name, target or alias.name, (), node.lineno, target is not None)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = _package_of(name).split(".")
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] not in PACKAGES + ("wsgi",):
                yield Import(name, base, tuple(a.name for a in node.names), node.lineno, False)
                continue
            plain: list[str] = []
            for alias in node.names:
                if f"{base}.{alias.name}" in modules():
                    yield Import(name, f"{base}.{alias.name}", (), node.lineno, True)
                else:
                    plain.append(alias.name)
            if plain:
                yield Import(name, _resolve(base) or base, tuple(plain), node.lineno, True)


@cache
def imports() -> tuple[Import, ...]:
    """Return every import of every project file."""
    return tuple(found for name in sorted(modules()) for found in _imports_in(name))


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _core(name: str) -> bool:
    return (_within(name, "hub") or _within(name, "search_index")) and name != FACTORY


def _request_time(found: Import) -> bool:
    return not found.internal and bool(set(found.names) & REQUEST_TIME.get(found.target, set()))


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules()}
    for found in imports():
        if found.internal and found.target != found.source:
            graph[found.source].add(found.target)
    return graph


def _reach(start: str, graph: dict[str, set[str]]) -> dict[str, str]:
    """Return each module reachable from ``start`` with the module that first led there."""
    came_from = {start: start}
    todo = [start]
    while todo:
        here = todo.pop()
        for there in sorted(graph[here]):
            if there not in came_from:
                came_from[there] = here
                todo.append(there)
    return came_from


def _path(came_from: dict[str, str], end: str) -> str:
    steps = [end]
    while came_from[steps[-1]] != steps[-1]:
        steps.append(came_from[steps[-1]])
    return " -> ".join(reversed(steps))


def test_the_core_never_reaches_the_web_or_request_globals():
    """hub/ and search_index/ import no blueprint and no request global, directly or through another module."""
    graph = _graph()
    web = {found.source for found in imports() if _request_time(found)} | {n for n in modules() if _within(n, WEB)}
    problems = []
    for name in sorted(filter(_core, modules())):
        came_from = _reach(name, graph)
        for bad in sorted(web & came_from.keys()):
            problems.append(_path(came_from, bad))
        if FACTORY in came_from:
            problems.append(_path(came_from, FACTORY) + " (the app factory)")
    assert not problems, "\n".join(problems)


def test_the_factory_reaches_the_web_side_only_through_blueprints_init_app():
    """Only hub/__init__.py imports the web side, and only the package blueprints (its init_app)."""
    wrong = [str(f) for f in imports() if f.internal and _within(f.target, WEB) and not _within(f.source, WEB)
             and (f.source != FACTORY or f.target != WEB)]
    assert not wrong, "\n".join(wrong)


def test_models_import_only_models_and_the_extensions():
    """Models know nothing of services, federation, events or search."""
    wrong = [str(f) for f in imports() if _within(f.source, "hub.models") and f.internal
             and not (_within(f.target, "hub.models") or f.target == "hub.extensions")]
    assert not wrong, "\n".join(wrong)


def test_a_blueprint_borrows_nothing_from_another():
    """A face imports its own modules and the shared web side; only blueprints/__init__.py gathers them."""
    wrong = []
    for found in imports():
        if not (found.internal and _within(found.source, WEB) and _within(found.target, WEB)):
            continue
        if found.source == WEB or _within(found.target, SHARED_WEB):
            continue
        face = ".".join(found.source.split(".")[:2])
        if _within(found.source, SHARED_WEB) or not _within(found.target, face):
            wrong.append(str(found))
    assert not wrong, "\n".join(wrong)


def test_search_is_reached_only_through_its_door():
    """Outside search_index/, code imports search_index (its __init__), never a module behind it."""
    wrong = [str(f) for f in imports() if f.internal and _within(f.target, SEARCH_DOOR) and f.target != SEARCH_DOOR
             and not _within(f.source, SEARCH_DOOR)]
    assert not wrong, "\n".join(wrong)


# Search re-checks who may see a note with the one visibility rule, and blanks contact data out of
# what it indexes with the one privacy scanner (a pure text function); it uses no other service.
SEARCH_SERVICES = {"hub.services.visibility", "hub.services.privacy"}


def test_search_reads_only_the_visibility_and_privacy_services():
    """search_index/ uses no service but the visibility rule and the privacy scanner."""
    wrong = [str(f) for f in imports() if _within(f.source, SEARCH_DOOR) and _within(f.target, "hub.services")
             and f.target not in SEARCH_SERVICES]
    assert not wrong, "\n".join(wrong)


def test_text_folding_is_the_leaf_of_search():
    """Search's text normalisation imports no other module of the project."""
    assert "search_index.folding" in modules()
    wrong = [str(f) for f in imports() if f.source == "search_index.folding" and f.internal]
    assert not wrong, "\n".join(wrong)


def test_no_private_name_crosses_files():
    """A name with a leading underscore is used only in the file that defines it."""
    wrong = [str(f) for f in imports() if f.internal and any(n.startswith("_") and not n.startswith("__")
                                                              for n in f.names)]
    assert not wrong, "\n".join(wrong)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components with more than one file (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for there in sorted(graph[node]):
            if there not in index:
                visit(there)
                low[node] = min(low[node], low[there])
            elif there in on_stack:
                low[node] = min(low[node], index[there])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_files():
    """No file reaches itself through imports, at module level or inside functions."""
    cycles = _cycles(_graph())
    assert not cycles, "\n".join(" <-> ".join(component) for component in cycles)
