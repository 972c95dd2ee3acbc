"""Exceptions raised by the classifier package.

Hierarchy::

    ClassifierError
    ├── DataError                 unreadable, empty, unlabelled or malformed training data
    └── ModelLoadError            a model file cannot be used
        ├── UntrustedModelError   not a skops file, a pickle, or a tampered file
        └── IncompatibleModelError made by another scikit-learn version

Every message is one line meant for people; the CLI prints it and exits non-zero.
"""

from __future__ import annotations


class ClassifierError(Exception):
    """Base class of the classifier's errors."""


class DataError(ClassifierError):
    """Training or scoring data is missing, empty, unlabelled or malformed."""


class ModelLoadError(ClassifierError):
    """A model file cannot be loaded."""


class UntrustedModelError(ModelLoadError):
    """The file is not a clean skops model (a pickle, or a tampered file)."""


class IncompatibleModelError(ModelLoadError):
    """The model was made by a scikit-learn version other than the installed one."""
