"""The documentation site stays whole without building it (CI also runs `mkdocs build --strict`):
every page in the navigation exists and every page is in the navigation; the README stays a short
front door whose links all resolve, anchors included."""

import re
from pathlib import Path

import yaml
from markdown.extensions.toc import slugify

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README_MAX_LINES = 250


class _MkDocsLoader(yaml.SafeLoader):
    """mkdocs.yml names Python callables with `!!python/name:`; read them as plain strings."""


_MkDocsLoader.add_multi_constructor("tag:yaml.org,2002:python/name:", lambda loader, suffix, node: suffix)


def mkdocs_config() -> dict:
    return yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=_MkDocsLoader)  # noqa: S506 (safe loader subclass)


def nav_pages(nav) -> list[str]:
    pages = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages += nav_pages(value) if isinstance(value, list) else [value]
    return pages


def anchors(page: Path) -> set[str]:
    """The ids MkDocs' toc extension gives the page's headings (code fences skipped)."""
    ids, fence = set(), False
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and (m := re.match(r"#{1,6} (.+)", line)):
            ids.add(slugify(m.group(1).replace("`", ""), "-"))
    return ids


def test_every_page_in_the_navigation_exists_and_every_page_is_in_it():
    config = mkdocs_config()
    assert config["theme"]["name"] == "material"
    listed = nav_pages(config["nav"])
    assert len(listed) == len(set(listed)), "a page is listed twice"
    missing = [page for page in listed if not (DOCS / page).is_file()]
    assert not missing, f"in mkdocs.yml nav but not in docs/: {missing}"
    on_disk = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert on_disk == set(listed), f"pages not in the navigation: {sorted(on_disk - set(listed))}"


def test_the_site_has_the_pages_the_issue_asks_for():
    listed = set(nav_pages(mkdocs_config()["nav"]))
    for page in (
        "getting-started.md",
        "guides/qa-lead.md",
        "guides/engineering-manager.md",
        "guides/release-manager.md",
        "guides/ci-integrator.md",
        "contract.md",
        "reference/api.md",
        "reference/cli.md",
        "operations/deployment.md",
        "architecture.md",
        "benchmarks.md",
        "security.md",
        "glossary.md",
    ):
        assert page in listed, page


def test_the_build_fetches_nothing():
    config = mkdocs_config()
    assert config["theme"].get("font") is False, "web fonts would be fetched from a CDN"
    plugins = [p if isinstance(p, str) else next(iter(p)) for p in config.get("plugins", [])]
    assert set(plugins) <= {"search"}, f"plugins that may fetch or need network: {plugins}"
    assert "```mermaid" in (DOCS / "architecture.md").read_text(), "the data-flow diagram"
    # Material loads Mermaid from a CDN unless the site brings its own copy
    scripts = config.get("extra_javascript", [])
    assert "assets/javascripts/mermaid.min.js" in scripts
    for script in scripts:
        assert (DOCS / script).is_file(), script


def test_readme_stays_short():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) < README_MAX_LINES, f"README.md has {len(lines)} lines; move detail into docs/"


def test_readme_links_resolve():
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [t for t in targets if not re.match(r"[a-z]+:", t)]
    assert len(local) >= 10, local  # the README is mostly a map of the docs
    for target in local:
        path, _, anchor = target.partition("#")
        file = ROOT / path
        assert file.is_file(), f"README links to {target}, which does not exist"
        if anchor:
            assert anchor in anchors(file), f"README links to {target}: no such heading"


def test_readme_screenshot_is_small():
    image = DOCS / "img" / "release-dashboard.png"
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.stat().st_size < 300_000


def documented_endpoints() -> list[tuple[list[str], str]]:
    """(methods, path) of every entry of the API reference's "Endpoints at a glance" table."""
    text = (DOCS / "reference" / "api.md").read_text()
    table = text[text.index("## Endpoints at a glance") :].split("\n## ", 1)[0]
    found = re.findall(
        r"`((?:GET|POST|PUT|PATCH|DELETE)(?:, (?:GET|POST|PUT|PATCH|DELETE))*) (/api/v1/[^`]*)`", table
    )
    return [(methods.split(", "), path) for methods, path in found]


def test_documented_endpoints_exist_with_their_methods():
    from django.urls import resolve

    endpoints = documented_endpoints()
    assert len(endpoints) >= 50, len(endpoints)
    samples = {
        "{id}": "12",
        "{key}": "PAY",
        "{ref}": "PAY-12",
        "{username}": "qa",
        "{metric}": "stability_index",
        "{measure_key}": "line_coverage",
    }
    for methods, path in endpoints:
        url = re.sub(r"\{\w+\}", lambda m: samples[m.group(0)], path)
        view = resolve(url).func
        view_class = getattr(view, "view_class", None) or getattr(view, "cls", None)
        actions = getattr(view, "actions", None)  # DRF router: {"get": "list", ...}
        for method in methods:
            if actions is not None:
                assert method.lower() in actions, f"{method} {path} is documented but not routed"
            else:
                assert hasattr(view_class, method.lower()), (
                    f"{method} {path} is documented but not implemented"
                )


def test_the_schema_the_docs_point_to_is_served(client):
    assert client.get("/api/schema/").status_code == 200
    answer = client.get("/api/schema/?format=json")
    assert answer.status_code == 200 and answer.json()["openapi"].startswith("3.")
