"""mlops-ladder: scaffold an ML project at an MLOps maturity level, and climb one level at a time."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mlops-ladder")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
