"""The metadata is in setup.cfg.  ``WX_SERVICE_WITHOUT_DEV=1`` builds a production wheel without ``wx_service/dev/``.

``WX_SERVICE_WITHOUT_DEV=1 pip wheel --no-deps -w dist .`` leaves out the sandbox, the demo city and
``flask dev``: production never imports them (``create_app`` loads ``wx_service.dev`` only with the
sandbox enabled, which the configuration refuses in production).
"""

import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

DEV_PACKAGE = "wx_service.dev"


class BuildPy(build_py):
    """Drops every module and data file of ``wx_service.dev`` when ``WX_SERVICE_WITHOUT_DEV`` is set."""

    def finalize_options(self):
        super().finalize_options()
        if self._without_dev():
            self.packages = [p for p in self.packages if not self._is_dev(p)]

    def run(self):
        if self._without_dev():  # a previous full build leaves its copy in build/lib, which the wheel would take
            shutil.rmtree(os.path.join(self.build_lib, *DEV_PACKAGE.split(".")), ignore_errors=True)
        super().run()

    def _get_data_files(self):
        files = super()._get_data_files()
        if not self._without_dev():
            return files
        kept = []
        for package, src_dir, build_dir, filenames in files:
            if self._is_dev(package):
                continue
            inside = [f for f in filenames if not self._is_dev(".".join([package, *f.split(os.sep)[:-1]]))]
            kept.append((package, src_dir, build_dir, inside))
        return kept

    @staticmethod
    def _without_dev() -> bool:
        return bool(os.environ.get("WX_SERVICE_WITHOUT_DEV"))

    @staticmethod
    def _is_dev(package: str) -> bool:
        return package == DEV_PACKAGE or package.startswith(DEV_PACKAGE + ".")


setup(cmdclass={"build_py": BuildPy})
