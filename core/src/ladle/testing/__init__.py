"""Conformance suites that ladle's own plugins and third parties run against themselves.

Importing this package needs pytest (a test dependency, not a dependency of ladle).
"""

from ladle.testing.adapter_suite import AdapterSuite, Orchestrate, Orchestration, Outcome
from ladle.testing.destination_suite import DestinationSuite

__all__ = ["AdapterSuite", "DestinationSuite", "Orchestrate", "Orchestration", "Outcome"]
