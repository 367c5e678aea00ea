"""The documentation holds together: every relative link in README.md and docs/ resolves to a file of
the repository, the README stays a front door, and nothing points at folders outside the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import unquote

REPO = Path(__file__).resolve().parents[1]
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
STAGE_PAGES = ["extraction", "cleaning-langid", "dedup", "embed", "benchmarks", "bitext", "hard-negatives", "training"]


def markdown_files() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def relative_links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)  # code blocks hold no links
    return [t for t in LINK.findall(text) if not re.match(r"[a-z][a-z0-9+.-]*:|#", t)]


def tracked(path: Path) -> bool:
    rel = path.resolve().relative_to(REPO)
    done = subprocess.run(["git", "-C", str(REPO), "ls-files", "--error-unmatch", str(rel)], capture_output=True)
    return done.returncode == 0 or not (REPO / ".git").exists()


def test_every_relative_link_resolves_to_a_file_of_the_repository():
    broken = []
    checked = 0
    for page in markdown_files():
        for target in relative_links(page):
            file_part = unquote(target.split("#", 1)[0])
            resolved = (page.parent / file_part).resolve()
            checked += 1
            if not resolved.is_relative_to(REPO) or not resolved.exists() or not tracked(resolved):
                broken.append(f"{page.relative_to(REPO)}: {target}")
    assert not broken, "links that do not resolve to a file of the repository:\n" + "\n".join(broken)
    assert checked > 50


def test_readme_is_a_front_door_with_the_two_commands():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    assert "make demo" in readme and "make test" in readme
    linked = set(relative_links(REPO / "README.md"))
    for page in [*STAGE_PAGES, "architecture", "datasets", "airflow", "cluster", "reliability", "performance",
                 "setup"]:
        assert (REPO / "docs" / f"{page}.md").exists(), page
        assert f"docs/{page}.md" in linked, f"README.md does not link docs/{page}.md"


def test_no_file_refers_to_a_shared_folder_outside_the_repository():
    pattern = re.compile(r"\.\./shared|shared folder|DESIGN\.md|parent\s*/\s*\"shared\"")
    files = subprocess.run(["git", "-C", str(REPO), "ls-files"], capture_output=True, text=True).stdout.split()
    offending = []
    for name in files:
        path = REPO / name
        if path.suffix not in {".md", ".py", ".sh", ".toml", ".yaml", ".yml", ".cfg", ".txt", ".json"} \
                and path.name not in {"Makefile", "Dockerfile"}:
            continue
        if name == "tests/test_docs.py" or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        offending += [f"{name}: {m.group(0)}" for m in pattern.finditer(text)]
    assert not offending, "\n".join(offending)
