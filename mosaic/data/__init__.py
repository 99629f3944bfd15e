"""Data layer: canonical records, format loaders, hub registry, bundled data, prompt templates."""
from .errors import DataError, ErrorReport
from .loaders import load_examples, load_records, to_examples
from .records import Conversation, Example, Turn

__all__ = ["DataError", "ErrorReport", "Example", "Conversation", "Turn", "load_examples",
           "load_records", "to_examples"]
