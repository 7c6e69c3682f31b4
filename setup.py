"""The one build step setup.cfg cannot declare: compile the interface catalogues into the package.

The source catalogues stay in the top-level ``translations/`` folder (a fixed place: ``flask
translate`` and translators work there). A wheel has no such folder, so building one compiles
every ``translations/<locale>/LC_MESSAGES/messages.po`` into ``hub/translations/`` inside the
package (fuzzy entries left out, as ``flask translate compile`` does). An editable install reads
the checkout's catalogues instead and skips this.
"""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SOURCE = Path(__file__).resolve().parent / "translations"


class BuildWithCatalogues(build_py):
    """Build the packages, then compile the catalogues into ``hub/translations/`` of the build."""

    def run(self) -> None:
        """Build as usual, then compile the catalogues (failing when there are none)."""
        super().run()
        if getattr(self, "editable_mode", False):
            return
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        sources = sorted(SOURCE.glob("*/LC_MESSAGES/messages.po"))
        if not sources:
            raise SystemExit(f"no catalogues under {SOURCE}: an installed hub would show English only")
        for po_path in sources:
            target = Path(self.build_lib, "hub", "translations", po_path.relative_to(SOURCE)).with_suffix(".mo")
            target.parent.mkdir(parents=True, exist_ok=True)
            with po_path.open("rb") as handle:
                catalog = read_po(handle, locale=po_path.parent.parent.name)
            with target.open("wb") as handle:
                write_mo(handle, catalog, use_fuzzy=False)


setup(cmdclass={"build_py": BuildWithCatalogues})
