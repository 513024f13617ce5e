"""Notebook machinery: execution, workpaper tables, charts, Excel packs and reviewer HTML."""

from closelib.nb.lazyimports import install as _install_lazy_imports

# Before anything here imports nbformat (and through it jsonschema): see lazyimports.
_install_lazy_imports()
